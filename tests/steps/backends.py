"""Backends the World runs against (``--backend`` / ``QTRADE_BACKEND``):

- ``sim``: the engine service app in-process (starlette TestClient, so one event loop for the
  whole scenario) over the in-process simulator, on a fresh SQLite file per scenario; the
  simulator's admin API is mounted on the same app and drives the engine (api_contract.md).
- ``sim-rest``: the same service app, but its exchanges are the ccxt adapter talking to a
  separate simulator server (``qtrade sim serve``'s app on an ephemeral port, in a thread);
  after each admin call the World asks the runtime to sync (the scheduler's job in live mode).
- ``testnet``: Binance / Bybit testnets with keys from the environment; no price control.

Each backend builds its own composition root here, mirroring ``qtrade serve``.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from anyio.from_thread import start_blocking_portal

from tests.steps import database

if TYPE_CHECKING:
    from engine.ports import ExchangePort

# The service, engine and simulator are imported when a backend starts, not when pytest loads
# the step library: a unit-test run never pays for (or breaks on) the service's imports.

__all__ = [
    "API_TOKEN",
    "BACKENDS",
    "Backend",
    "SeedUser",
    "SimBackend",
    "SimRestBackend",
    "BackendUnsupported",
    "TestnetBackend",
    "load_seed_user",
    "make_backend",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
API_TOKEN = "features-token"
BACKENDS = ("sim", "sim-rest", "testnet")
LOG_MAX_BYTES = 16 * 1024  # small, so a simulated day of activity rotates the service log
# Spot buys pay their fee in the quote asset in the simulated venues of this suite, so the
# engine holds exactly what it bought and the SPEC §4 worked figures (TP quantity = filled
# quantity) hold; the accounts start with the simulator's default 100,000 USDT and nothing
# else, so the engine can never sell what it did not buy. A scenario switches to Binance's
# base-asset buy fees with "the exchanges charge spot buy fees in the base asset".
BUY_FEE_ASSET = "quote"


@dataclass(frozen=True)
class SeedUser:
    user_id: str
    username: str
    secret: str
    config: dict[str, Any] = field(repr=False)


def load_seed_user(name: str = "maaz") -> SeedUser:
    """The seed user's corrected config shipped in scenarios/users/<name>.json."""
    path = REPO_ROOT / "scenarios" / "users" / f"{name}.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    return SeedUser(
        str(config["id"]), str(config["username"]), str(config["webhook_secret"]), config
    )


def derived_user(seed: SeedUser, username: str) -> SeedUser:
    """Another user with the seed's configuration (its own id, name and secret)."""
    config = json.loads(json.dumps(seed.config))
    config["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"qtrade-features:{username}"))
    config["username"] = username
    config["webhook_secret"] = uuid.uuid5(uuid.NAMESPACE_DNS, username).hex
    return SeedUser(config["id"], username, config["webhook_secret"], config)


class Backend(Protocol):
    name: str
    price_control: bool
    database_url: str
    data_dir: Path

    def request(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> httpx.Response: ...

    def admin(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> httpx.Response: ...

    def after_admin(self) -> None: ...

    def clock_ms(self) -> int: ...

    def exchange_orders(
        self, exchange: str, symbol: str | None, open_only: bool
    ) -> list[dict[str, Any]]: ...

    def exchange_balances(self, exchange: str) -> dict[str, Decimal]: ...

    def set_buy_fee_asset(self, asset: str) -> None: ...

    def change_market(self, exchange: str, symbol: str, **fields: Any) -> None: ...

    def export(self, kind: str) -> list[dict[str, Any]]: ...

    def verify_database(self) -> list[str]: ...

    def cleanup_user(self, user: SeedUser) -> None: ...

    def close(self) -> None: ...


class _ServiceHarness:
    """The engine service app in-process: an httpx AsyncClient over the ASGI app, every call
    made on ONE event loop running in a portal thread (what a server process has), so the
    runtime's asyncio lock and tasks live as long as the scenario."""

    def __init__(
        self,
        data_dir: Path,
        exchanges: Mapping[str, ExchangePort],
        clock: Any,
        *,
        mode: str,
        extra_routers: list[Any],
        rate_limit_max_wait_seconds: float = 2.0,
    ) -> None:
        from engine.adapters.sql_store import SqlStore
        from engine.api.app import create_app
        from engine.core import Engine
        from engine.service.logs import configure_logging
        from engine.service.runtime import Runtime
        from engine.service.settings import ServiceSettings

        self.data_dir = data_dir
        self.database_url = f"sqlite:///{data_dir / 'qtrade.db'}"
        self.log_file = data_dir / "logs" / "qtrade.log"
        # the service's own rotating JSON log, as `qtrade serve` configures it
        configure_logging(log_file=self.log_file, max_bytes=LOG_MAX_BYTES, backups=3, stream=False)
        settings = ServiceSettings(
            mode=mode,
            data_dir=data_dir,
            database_url=self.database_url,
            api_token=API_TOKEN,
            retry_base_seconds=0.0,
            retry_max_seconds=0.0,
            rate_limit_max_wait_seconds=rate_limit_max_wait_seconds,
            exchanges=tuple(exchanges),
            log_file=self.log_file,
            log_max_bytes=LOG_MAX_BYTES,
            log_backups=3,
        )
        self.store = SqlStore(self.database_url, data_dir=data_dir)
        self.runtime = Runtime(
            Engine(), self.store, dict(exchanges), clock, settings, rng=random.Random(0)
        )
        self.app = create_app(self.runtime, settings, extra_routers=extra_routers)
        self._portal_context = start_blocking_portal()
        self.portal = self._portal_context.__enter__()
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://qtrade.test", timeout=120
        )
        self.headers = {"Authorization": f"Bearer {API_TOKEN}"}

    def request(self, method: str, path: str, *, params: Any, json: Any) -> httpx.Response:
        headers = self.headers if not path.startswith("/webhooks/") else None
        return self.raw(method, path, params=params, json=json, headers=headers)

    def raw(
        self, method: str, path: str, *, params: Any, json: Any, headers: Any = None
    ) -> httpx.Response:
        call = partial(self.client.request, method, path, params=params, json=json, headers=headers)
        response: httpx.Response = self.portal.call(call)
        return response

    def call(self, function: Callable[[], Any]) -> Any:
        """Run a coroutine function on the app's event loop."""
        return self.portal.call(function)

    def close(self) -> None:
        try:
            self.portal.call(self.client.aclose)
            if self.runtime.started:
                self.portal.call(self.runtime.close)
        finally:
            self._portal_context.__exit__(None, None, None)
            self.store.close()
            from engine.service.logs import configure_logging

            configure_logging(log_file=None, stream=False)


class SimBackend:
    """The service over the in-process simulator; admin routes on the same app."""

    name = "sim"
    price_control = True

    def __init__(self, data_dir: Path) -> None:
        from simulator.adapter import AsyncSimExchangeAdapter
        from simulator.exchange import Simulator
        from simulator.rest.admin import admin_router
        from simulator.rest.common import ConnectionControl, RestContext
        from simulator.server import SystemClock, install_default_account

        self.data_dir = data_dir
        self.sim = Simulator(seed=0, spot_buy_fee_asset=BUY_FEE_ASSET)
        self.api_key, _secret = install_default_account(self.sim)
        exchanges = {
            name: AsyncSimExchangeAdapter(self.sim, name, self.api_key)
            for name in ("binance", "bybit")
        }
        context = RestContext(
            sim=self.sim,
            wall_clock=SystemClock(),
            response_lost_delay_ms=0,
            connections=ConnectionControl(),
        )
        self.harness = _ServiceHarness(
            data_dir, exchanges, self.sim, mode="sim", extra_routers=[admin_router(context)]
        )
        self.database_url = self.harness.database_url

    def request(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> httpx.Response:
        return self.harness.request(method, path, params=params, json=json)

    def admin(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> httpx.Response:
        return self.harness.raw(method, path, params=params, json=json)

    def after_admin(self) -> None:
        """Nothing: the app syncs the runtime before answering an /admin change."""

    def clock_ms(self) -> int:
        return self.sim.clock_ms

    def exchange_orders(
        self, exchange: str, symbol: str | None, open_only: bool
    ) -> list[dict[str, Any]]:
        return _admin_orders(self.admin, exchange, symbol, open_only)

    def exchange_balances(self, exchange: str) -> dict[str, Decimal]:
        return _admin_balances(self.admin, exchange, self.api_key)

    def set_buy_fee_asset(self, asset: str) -> None:
        """Which asset spot buys pay their fee in ("base" as Binance does, or "quote")."""
        self.sim.spot_buy_fee_asset = asset

    def change_market(self, exchange: str, symbol: str, **fields: Any) -> None:
        """Relist one market with changed fields (a filter change, a perpetual listing);
        the engine learns about it only when it refreshes its market rules."""
        _relist(self.sim, exchange, symbol, fields)

    def export(self, kind: str) -> list[dict[str, Any]]:
        return database.export(self.database_url, kind, self.data_dir)

    def verify_database(self) -> list[str]:
        return database.verify(self.database_url, self.data_dir)

    def cleanup_user(self, user: SeedUser) -> None:
        database.cleanup_user(self.database_url, user.user_id, user.username, self.data_dir)

    def close(self) -> None:
        self.harness.close()


class _RemoteSimClock:
    """Engine time in sim-rest mode: the simulator server's clock, read after admin calls."""

    def __init__(self, start_ms: int) -> None:
        self.value = start_ms

    def now_ms(self) -> int:
        return self.value


class SimRestBackend:
    """The service with ccxt exchanges against a separate simulator server."""

    name = "sim-rest"
    price_control = True

    def __init__(self, data_dir: Path) -> None:
        from engine.adapters.ccxt_exchange import CcxtExchange
        from engine.domain import MarketType
        from simulator.exchange import Simulator
        from tests.kit.sim_server import serving_simulator

        self.data_dir = data_dir
        self.sim = Simulator(seed=0, spot_buy_fee_asset=BUY_FEE_ASSET)
        self._serving = serving_simulator(self.sim, response_lost_delay_ms=1500)
        self.server = self._serving.__enter__()
        self.http = httpx.Client(base_url=self.server.base_url, timeout=30)
        self.clock = _RemoteSimClock(self._status()["clock_ms"])
        # the adapters live at the HTTP edge: their rate limiter and market cache run on wall
        # time (a limiter on the simulated clock would wait for ever between admin calls)
        exchanges = {
            name: CcxtExchange(
                name,
                clock=_WallClock(),
                rng=random.Random(index),
                api_key=self.server.api_key,
                api_secret=self.server.api_secret,
                base_url=self.server.base_url,
                timeout_ms=1000,
                also_market_types=(MarketType.LINEAR,),  # the simulator's perpetuals too
            )
            for index, name in enumerate(("binance", "bybit"))
        }
        try:
            self.harness = _ServiceHarness(
                data_dir, exchanges, self.clock, mode="sim", extra_routers=[]
            )
        except BaseException:
            self._serving.__exit__(None, None, None)
            raise
        self.database_url = self.harness.database_url

    def _status(self) -> dict[str, Any]:
        return dict(self.http.get("/admin/status").json())

    def request(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> httpx.Response:
        return self.harness.request(method, path, params=params, json=json)

    def admin(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> httpx.Response:
        return self.http.request(method, path, params=params, json=json)

    def after_admin(self) -> None:
        """What the scheduler does in live mode, done now: engine time follows the
        simulator's clock, then orders, prices and timers are synchronised."""
        self.clock.value = int(self._status()["clock_ms"])
        self.harness.call(self.harness.runtime.sync)

    def clock_ms(self) -> int:
        return self.clock.value

    def exchange_orders(
        self, exchange: str, symbol: str | None, open_only: bool
    ) -> list[dict[str, Any]]:
        return _admin_orders(self.admin, exchange, symbol, open_only)

    def exchange_balances(self, exchange: str) -> dict[str, Decimal]:
        return _admin_balances(self.admin, exchange, self.server.api_key)

    def set_buy_fee_asset(self, asset: str) -> None:
        """The server runs in this process (a thread): its simulator is reachable directly."""
        self.sim.spot_buy_fee_asset = asset

    def change_market(self, exchange: str, symbol: str, **fields: Any) -> None:
        _relist(self.sim, exchange, symbol, fields)

    def export(self, kind: str) -> list[dict[str, Any]]:
        return database.export(self.database_url, kind, self.data_dir)

    def verify_database(self) -> list[str]:
        return database.verify(self.database_url, self.data_dir)

    def cleanup_user(self, user: SeedUser) -> None:
        database.cleanup_user(self.database_url, user.user_id, user.username, self.data_dir)

    def close(self) -> None:
        try:
            self.harness.close()
        finally:
            self.http.close()
            self._serving.__exit__(None, None, None)


class BackendUnsupported(AssertionError):
    """A step the selected backend cannot carry out (reported as a failure, never silent)."""


class _WallClock:
    def now_ms(self) -> int:
        import time

        return time.time_ns() // 1_000_000


class TestnetBackend:
    """The service against the real Binance and Bybit testnets (keys from the environment:
    QTRADE_BINANCE_TESTNET_KEY/_SECRET, QTRADE_BYBIT_TESTNET_KEY/_SECRET)."""

    __test__ = False  # not a pytest class
    name = "testnet"
    price_control = False

    def __init__(self, data_dir: Path) -> None:
        from engine.adapters.ccxt_exchange import CcxtExchange

        self.data_dir = data_dir
        self.clock = _WallClock()
        self.exchanges: dict[str, Any] = {}
        for index, name in enumerate(("binance", "bybit")):
            key = os.environ.get(f"QTRADE_{name.upper()}_TESTNET_KEY", "")
            secret = os.environ.get(f"QTRADE_{name.upper()}_TESTNET_SECRET", "")
            if not key or not secret:
                raise BackendUnsupported(
                    f"testnet backend: set QTRADE_{name.upper()}_TESTNET_KEY and _SECRET"
                )
            self.exchanges[name] = CcxtExchange(
                name, clock=self.clock, rng=random.Random(index), api_key=key,
                api_secret=secret, testnet=True,
            )  # fmt: skip
        self.harness = _ServiceHarness(
            data_dir, self.exchanges, self.clock, mode="live", extra_routers=[]
        )
        self.database_url = self.harness.database_url

    def request(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> httpx.Response:
        return self.harness.request(method, path, params=params, json=json)

    def admin(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> httpx.Response:
        raise BackendUnsupported("testnet backend: no simulator admin API")

    def after_admin(self) -> None:
        self.harness.call(self.harness.runtime.sync)

    def clock_ms(self) -> int:
        return self.clock.now_ms()

    def exchange_orders(
        self, exchange: str, symbol: str | None, open_only: bool
    ) -> list[dict[str, Any]]:
        """The exchange's own view through ccxt (fetch_open_orders / fetch_orders)."""
        client = self.exchanges[exchange]._client  # the adapter's ccxt instance

        async def fetch() -> list[dict[str, Any]]:
            await client.load_markets()
            ccxt_symbol = client.markets_by_id[symbol][0]["symbol"] if symbol else None
            if open_only:
                raw = await client.fetch_open_orders(ccxt_symbol)
            else:
                raw = await client.fetch_orders(ccxt_symbol)
            return [_from_ccxt(order, exchange) for order in raw]

        return list(self.harness.call(fetch))

    def exchange_balances(self, exchange: str) -> dict[str, Decimal]:
        client = self.exchanges[exchange]._client

        async def fetch() -> dict[str, Decimal]:
            balance = await client.fetch_balance()
            return {
                asset: Decimal(str(amount))
                for asset, amount in balance.get("total", {}).items()
                if amount is not None
            }

        return dict(self.harness.call(fetch))

    def set_buy_fee_asset(self, asset: str) -> None:
        raise BackendUnsupported("testnet backend: fees are what the exchange charges")

    def change_market(self, exchange: str, symbol: str, **fields: Any) -> None:
        raise BackendUnsupported("testnet backend: markets are what the exchange lists")

    def export(self, kind: str) -> list[dict[str, Any]]:
        return database.export(self.database_url, kind, self.data_dir)

    def verify_database(self) -> list[str]:
        return database.verify(self.database_url, self.data_dir)

    def cleanup_user(self, user: SeedUser) -> None:
        database.cleanup_user(self.database_url, user.user_id, user.username, self.data_dir)

    def close(self) -> None:
        self.harness.close()


def _relist(sim: Any, exchange: str, symbol: str, fields: dict[str, Any]) -> None:
    from engine.domain import MarketType

    if "market_type" in fields:
        fields["market_type"] = MarketType(fields["market_type"])
    venue = sim.venue(exchange)
    market = replace(venue.markets[symbol], **fields)
    sim.add_markets([market], exchanges=[exchange])


def _from_ccxt(order: Mapping[str, Any], exchange: str) -> dict[str, Any]:
    """A ccxt order in the simulator admin API's shape (strings for numbers)."""
    status = {"open": "NEW", "closed": "FILLED", "canceled": "CANCELED", "rejected": "REJECTED"}
    filled = Decimal(str(order.get("filled") or 0))
    average = order.get("average")
    return {
        "exchange": exchange,
        "order_id": str(order.get("id")),
        "client_order_id": order.get("clientOrderId"),
        "symbol": str(order.get("info", {}).get("symbol") or order.get("symbol", "")).replace(
            "/", ""
        ),
        "side": order.get("side"),
        "type": order.get("type"),
        "price": None if order.get("price") is None else str(order["price"]),
        "quantity": str(order.get("amount")),
        "filled_quantity": str(filled),
        "cumulative_quote": str(filled * Decimal(str(average))) if average else "0",
        "status": status.get(str(order.get("status")), str(order.get("status")).upper()),
        "fills": [],
    }


def _admin_orders(
    admin: Callable[..., httpx.Response], exchange: str, symbol: str | None, open_only: bool
) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"exchange": exchange, "open_only": str(open_only).lower()}
    if symbol:
        params["symbol"] = symbol
    response = admin("GET", "/admin/orders", params=params)
    response.raise_for_status()
    return list(response.json()["orders"])


def _admin_balances(
    admin: Callable[..., httpx.Response], exchange: str, api_key: str
) -> dict[str, Decimal]:
    response = admin("GET", "/admin/balances", params={"exchange": exchange, "api_key": api_key})
    response.raise_for_status()
    assets = response.json()[exchange][api_key]
    return {asset: Decimal(values["total"]) for asset, values in assets.items()}


def make_backend(name: str, data_dir: Path) -> Backend:
    if name == "sim":
        return SimBackend(data_dir)
    if name == "sim-rest":
        return SimRestBackend(data_dir)
    if name == "testnet":
        return TestnetBackend(data_dir)
    raise ValueError(f"--backend: unknown backend {name!r}; expected one of {BACKENDS}")
