"""Users with API keys of their own trade on their own account; the others on the service's.
Health is kept per account, so one user's refused keys stop only that user."""

from __future__ import annotations

from decimal import Decimal

from engine.adapters.memory_store import MemoryStore
from engine.domain import (
    ConnectionState,
    OrderPurpose,
    OrderSide,
    OrderStatus,
    OrderType,
    PlaceOrder,
)
from engine.domain.events import ExchangeStateChanged, OrderAccepted
from engine.errors import AuthFailed
from engine.ports import OrderReport
from engine.service.accounts import UserAccounts
from engine.service.execution import Executor
from engine.store import ExchangeCredentials
from tests.kit.store_builders import user


class _Clock:
    def now_ms(self) -> int:
        return 1_767_225_600_000


class _Port:
    """Records which account an order reached; refuses keys when told to."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.placed: list[str] = []
        self.refuse = False
        self.closed = False

    async def place_order(self, command: PlaceOrder) -> OrderReport:
        if self.refuse:
            raise AuthFailed(f"{self.name}: invalid API key")
        self.placed.append(command.client_order_id)
        return OrderReport(
            client_order_id=command.client_order_id,
            exchange_order_id=f"{self.name}-{len(self.placed)}",
            symbol=command.symbol,
            status=OrderStatus.OPEN,
            quantity=command.quantity,
            filled_quantity=Decimal(0),
            average_price=None,
        )

    async def close(self) -> None:
        self.closed = True


def _order(user_id: str, cid: str) -> PlaceOrder:
    return PlaceOrder(
        client_order_id=cid,
        user_id=user_id,
        exchange="binance",
        symbol="BTCUSDT",
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        quantity=Decimal("0.001"),
        price=Decimal("90000"),
        purpose=OrderPurpose.DCA,
        group_id="g1",
    )


def _setup() -> tuple[Executor, _Port, dict[str, _Port], UserAccounts]:
    store = MemoryStore()
    for user_id in ("alice", "bob"):
        store.create_user(user(user_id, username=user_id))
    store.set_exchange_credentials(
        "alice", ExchangeCredentials("binance", "alice-key", "alice-secret"), 1
    )
    built: dict[str, _Port] = {}

    def factory(exchange: str, credentials: ExchangeCredentials) -> _Port:
        port = _Port(f"{exchange}/{credentials.api_key}")
        built[credentials.api_key] = port
        return port

    accounts = UserAccounts(store, factory)  # type: ignore[arg-type]
    shared = _Port("binance/service")
    executor = Executor(
        {"binance": shared},  # type: ignore[dict-item]
        _Clock(),
        users_of=lambda exchange: ["alice", "bob"],
        accounts=accounts,
    )
    return executor, shared, built, accounts


async def test_a_user_with_keys_trades_on_their_own_account_the_others_on_the_services() -> None:
    executor, shared, built, _ = _setup()
    alice = await executor.place(_order("alice", "t-g1-p0-l1-dca-0"), None, lookup_first=False)
    bob = await executor.place(_order("bob", "t-g2-p0-l1-dca-0"), None, lookup_first=False)
    assert built["alice-key"].placed == ["t-g1-p0-l1-dca-0"]
    assert shared.placed == ["t-g2-p0-l1-dca-0"]
    assert isinstance(alice.events[0], OrderAccepted)
    assert alice.events[0].exchange_order_id == "binance/alice-key-1"
    assert isinstance(bob.events[0], OrderAccepted)
    assert bob.events[0].exchange_order_id == "binance/service-1"
    assert executor.account_of("binance", "alice") == "binance:alice"
    assert executor.account_of("binance", "bob") == "binance"


async def test_refused_keys_mark_only_that_users_account_and_tell_only_that_user() -> None:
    executor, shared, built, _ = _setup()
    await executor.place(_order("alice", "t-g1-p0-l0-entry-0"), None, lookup_first=False)
    built["alice-key"].refuse = True
    result = await executor.place(_order("alice", "t-g1-p0-l1-dca-0"), None, lookup_first=False)
    changed = [e for e in result.events if isinstance(e, ExchangeStateChanged)]
    assert [(e.user_id, e.exchange, e.state) for e in changed] == [
        ("alice", "binance", "auth_failed")
    ]
    [alert] = [a for a in result.alerts if a.severity.value == "critical"]
    assert alert.data["account"] == "binance:alice" and alert.exchange == "binance"
    assert executor.health.state("binance:alice") is ConnectionState.AUTH_FAILED
    assert executor.health.state("binance") is ConnectionState.OK
    # the public view names no user: the service's account, and counts of users' accounts
    assert executor.health.states() == {"binance": "ok"}
    assert executor.health.user_account_states() == {"binance": {"auth_failed": 1}}
    # bob still trades on the service's account
    bob = await executor.place(_order("bob", "t-g2-p0-l0-entry-0"), None, lookup_first=False)
    assert isinstance(bob.events[0], OrderAccepted) and shared.placed == ["t-g2-p0-l0-entry-0"]
    # new keys stored: forgetting alice's account closes its port and drops its health record
    refused_port = built["alice-key"]
    await executor.forget_accounts("alice")
    assert refused_port.closed
    assert executor.health.user_account_states() == {}
    assert executor.health.state("binance:alice") is ConnectionState.OK  # not tried yet


async def test_the_services_refused_keys_reach_only_users_without_their_own() -> None:
    executor, shared, _, _ = _setup()
    shared.refuse = True
    result = await executor.place(_order("bob", "t-g2-p0-l0-entry-0"), None, lookup_first=False)
    changed = [e.user_id for e in result.events if isinstance(e, ExchangeStateChanged)]
    assert changed == ["bob"]  # alice trades with her own keys


async def test_forgetting_a_user_closes_their_port_and_reads_the_keys_again() -> None:
    executor, _, built, accounts = _setup()
    await executor.place(_order("alice", "t-g1-p0-l0-entry-0"), None, lookup_first=False)
    first = built["alice-key"]
    await accounts.forget("alice")
    assert first.closed
    await executor.place(_order("alice", "t-g1-p0-l1-dca-0"), None, lookup_first=False)
    assert built["alice-key"] is not first and built["alice-key"].placed == ["t-g1-p0-l1-dca-0"]


async def test_without_a_factory_everyone_uses_the_services_account() -> None:
    store = MemoryStore()
    store.create_user(user("alice", username="alice"))
    store.set_exchange_credentials("alice", ExchangeCredentials("binance", "k", "s"), 1)
    shared = _Port("binance/service")
    executor = Executor(
        {"binance": shared},  # type: ignore[dict-item]
        _Clock(),
        users_of=lambda exchange: ["alice"],
        accounts=UserAccounts(store, None),
    )
    await executor.place(_order("alice", "t-g1-p0-l0-entry-0"), None, lookup_first=False)
    assert shared.placed == ["t-g1-p0-l0-entry-0"]
