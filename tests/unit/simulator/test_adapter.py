"""The in-process adapter against the engine's exchange ports, and its error translation."""

from __future__ import annotations

import inspect

import pytest

from engine.domain import (
    CancelOrder,
    MarketRules,
    OrderPurpose,
    OrderSide,
    OrderStatus,
    OrderType,
    PlaceOrder,
)
from engine.errors import (
    AuthFailed,
    InsufficientBalance,
    NotFound,
    OrderRejectedError,
    RateLimited,
    TransientError,
)
from engine.ports import ExchangePort, SyncExchangePort
from simulator.adapter import AsyncSimExchangeAdapter, SimExchangeAdapter
from tests.kit.simulator import KEY, D, funded_sim


def command(**overrides: object) -> PlaceOrder:
    fields: dict[str, object] = {
        "client_order_id": "q-g1-p0-l0-entry-0",
        "user_id": "maaz",
        "exchange": "binance",
        "symbol": "BTC/USDT",
        "side": OrderSide.BUY,
        "type": OrderType.MARKET,
        "quantity": D("0.001"),
        "price": None,
        "purpose": OrderPurpose.ENTRY,
        "group_id": "g1",
    }
    fields.update(overrides)
    return PlaceOrder(**fields)  # type: ignore[arg-type]


def cancel(client_order_id: str) -> CancelOrder:
    return CancelOrder(client_order_id, "maaz", "binance", "BTCUSDT")


@pytest.mark.parametrize(
    ("port", "adapter"),
    [(SyncExchangePort, SimExchangeAdapter), (ExchangePort, AsyncSimExchangeAdapter)],
)
def test_adapters_have_every_port_method_with_its_parameters(port: type, adapter: type) -> None:
    for name, member in inspect.getmembers(port, inspect.isfunction):
        if name.startswith("_"):
            continue
        ours = getattr(adapter, name)
        assert list(inspect.signature(ours).parameters) == list(
            inspect.signature(member).parameters
        ), name
        assert inspect.iscoroutinefunction(ours) == inspect.iscoroutinefunction(member), name


def test_markets_price_and_a_market_order() -> None:
    sim = funded_sim()
    adapter = SimExchangeAdapter(sim, "binance", KEY)
    rules = {r.symbol: r for r in adapter.load_markets()}
    assert isinstance(rules["BTCUSDT"], MarketRules) and len(rules) == 9
    assert rules["GALAUSDT"].exchange == "binance" and rules["GALAUSDT"].step_size == D(1)
    assert adapter.fetch_price("BTC/USDT") == D("95992.30")
    report = adapter.place_order(command())
    assert report.status == OrderStatus.FILLED
    assert report.client_order_id == "q-g1-p0-l0-entry-0"
    assert report.exchange_order_id == "5000000001"
    assert (report.quantity, report.filled_quantity, report.average_price) == (
        D("0.001"), D("0.001"), D("95992.30"),
    )  # fmt: skip
    (fill,) = report.fills
    assert (fill.price, fill.fee, fill.fee_asset) == (D("95992.30"), D("0.000001"), "BTC")


def test_limit_order_lifecycle_and_cancel_after_fill() -> None:
    sim = funded_sim()
    adapter = SimExchangeAdapter(sim, "binance", KEY)
    rest = command(client_order_id="q-g1-p0-l1-dca-0", type=OrderType.LIMIT, price=D("95000"))
    assert adapter.place_order(rest).status == OrderStatus.OPEN
    other = command(client_order_id="q-g1-p0-l2-dca-0", type=OrderType.LIMIT, price=D("90000"))
    adapter.place_order(other)
    assert {r.client_order_id for r in adapter.fetch_open_orders("BTCUSDT")} == {
        "q-g1-p0-l1-dca-0", "q-g1-p0-l2-dca-0",
    }  # fmt: skip
    sim.set_price("binance", "BTCUSDT", D("94999"))
    filled = adapter.fetch_order("BTCUSDT", "q-g1-p0-l1-dca-0")
    assert filled is not None and filled.status == OrderStatus.FILLED
    # cancelling an order that already filled books it as filled
    assert adapter.cancel_order(cancel("q-g1-p0-l1-dca-0")).status == OrderStatus.FILLED
    assert adapter.cancel_order(cancel("q-g1-p0-l2-dca-0")).status == OrderStatus.CANCELLED
    with pytest.raises(NotFound):
        adapter.cancel_order(cancel("never-sent"))
    assert adapter.fetch_order("BTCUSDT", "never-sent") is None
    assert adapter.fetch_open_orders() == []


def test_error_translation() -> None:
    sim = funded_sim(balances={"USDT": D(50)})
    adapter = SimExchangeAdapter(sim, "binance", KEY)
    with pytest.raises(InsufficientBalance) as poor:
        adapter.place_order(command())
    assert poor.value.code == "-2010" and poor.value.reason == "insufficient_balance"
    with pytest.raises(OrderRejectedError) as small:
        adapter.place_order(command(quantity=D("0.00001")))
    assert (small.value.reason, small.value.code) == ("below_min_notional", "-1013")
    with pytest.raises(OrderRejectedError) as unknown:
        adapter.place_order(command(symbol="BTC1USDT"))
    assert unknown.value.reason == "unknown_symbol"
    with pytest.raises(OrderRejectedError) as lot:
        adapter.place_order(command(quantity=D("0.000015")))
    assert lot.value.reason == "filter_failure"
    sim.faults.add("rate_limit", exchange="binance", count=1, retry_after_s=3)
    with pytest.raises(RateLimited) as limited:
        adapter.fetch_price("BTCUSDT")
    assert limited.value.retry_after_seconds == 3.0
    sim.faults.add("down", exchange="binance", count=1)
    with pytest.raises(TransientError):
        adapter.load_markets()
    sim.faults.add("bad_keys", exchange="binance", count=1)
    with pytest.raises(AuthFailed):
        adapter.fetch_open_orders()
    with pytest.raises(AuthFailed):
        SimExchangeAdapter(sim, "binance", "stranger").fetch_open_orders()


def test_response_lost_is_transient_and_the_order_can_be_found_by_client_id() -> None:
    sim = funded_sim()
    adapter = SimExchangeAdapter(sim, "bybit", KEY)
    sim.faults.add("response_lost", exchange="bybit", count=1)
    with pytest.raises(TransientError):
        adapter.place_order(command(exchange="bybit"))
    found = adapter.fetch_order("BTCUSDT", "q-g1-p0-l0-entry-0")
    assert found is not None and found.status == OrderStatus.FILLED


async def test_async_adapter() -> None:
    sim = funded_sim()
    adapter = AsyncSimExchangeAdapter(sim, "bybit", KEY)
    assert adapter.name == "bybit"
    assert len(await adapter.load_markets()) == 9
    assert await adapter.fetch_price("ETHUSDT") == D("3394.00")
    limit = command(exchange="bybit", type=OrderType.LIMIT, price=D(90000))
    assert (await adapter.place_order(limit)).status == OrderStatus.OPEN
    assert len(await adapter.fetch_open_orders("BTCUSDT")) == 1
    report = await adapter.fetch_order("BTCUSDT", limit.client_order_id)
    assert report is not None and report.exchange_order_id == "1800000000000000001"
    cancelled = await adapter.cancel_order(CancelOrder(limit.client_order_id, "maaz", "bybit",
                                                       "BTCUSDT"))  # fmt: skip
    assert cancelled.status == OrderStatus.CANCELLED
