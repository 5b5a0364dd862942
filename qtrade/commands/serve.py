"""``qtrade serve``: the engine service (webhooks, management API, ``/health``).

Modes (``--exchange``):

- ``sim`` (default): the simulator runs in-process; its Binance/Bybit REST faces and admin API
  are served on the same port; engine time is the simulator's clock, and every ``/admin``
  change is followed by an order/price sync before it returns. ``--realtime`` makes the
  simulator's clock follow wall time (advanced every second).
- ``sim`` with ``--sim-url URL``: the ccxt adapter trades against a running
  ``qtrade sim serve`` (keys: ``--api-key/--api-secret`` or the simulator's default account
  for ``--seed``); wall-clock time and a periodic sync.
- ``binance-testnet`` / ``bybit-testnet``: ccxt in sandbox mode with keys from
  ``BINANCE_TESTNET_API_KEY``/``_SECRET`` or ``BYBIT_TESTNET_API_KEY``/``_SECRET``.

The database is ``--db``, else ``DATABASE_URL``, else ``sqlite:///var/qtrade.db``. The bearer
token is ``QTRADE_API_TOKEN`` or ``<data dir>/api_token`` (generated on first start and printed
once). ``--workers N`` (not with the in-process simulator) runs N uvicorn worker processes
that share the database (state changes take a database lock).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import secrets
import string
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.config import ConfigError, load_user_config
from engine.domain import MarketType
from engine.service.accounts import PortFactory, UserAccounts
from engine.service.auth import ApiToken, TokenError, load_or_create_api_token
from engine.service.settings import DEFAULT_DATABASE_URL, ServiceSettings
from engine.store import ExchangeCredentials, Store, UserRecord

# FastAPI, SQLAlchemy and ccxt are imported where they are used, so ``qtrade --help`` and the
# light sub-commands start fast.
if TYPE_CHECKING:
    from fastapi import FastAPI

    from engine.ports import Clock, ExchangePort
    from engine.service.runtime import Runtime

__all__ = [
    "KEEP_ALIVE_SECONDS",
    "OPTIONS_ENV",
    "WallClock",
    "ServeOptions",
    "Service",
    "register",
    "database_url",
    "build_service",
    "sync_user_files",
    "worker_app",
    "run",
]

OPTIONS_ENV = "QTRADE_SERVE_OPTIONS"
# uvicorn's default (5 s) drops idle keep-alive connections of clients whose next request
# waits behind a burst: they see a ReadError and their signal is lost
KEEP_ALIVE_SECONDS = 60
EXCHANGES = ("binance", "bybit")
MODES = ("sim", "binance-testnet", "bybit-testnet")
_TESTNET_KEYS = {
    "binance": ("BINANCE_TESTNET_API_KEY", "BINANCE_TESTNET_API_SECRET"),
    "bybit": ("BYBIT_TESTNET_API_KEY", "BYBIT_TESTNET_API_SECRET"),
}


class WallClock:
    """UTC epoch milliseconds of the wall clock (the live service's engine time)."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """Everything ``qtrade serve`` was asked for (JSON-able, handed to worker processes)."""

    exchange: str = "sim"
    sim_url: str | None = None
    db: str | None = None
    db_schema: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    users: tuple[str, ...] = ()
    data_dir: str = "var"
    workers: int = 1
    seed: int = 0
    path: str | None = None
    realtime: bool = False
    sync_interval: float = 5.0
    api_key: str | None = None
    api_secret: str | None = None
    log_file: str | None = None
    namespace: str | None = None
    exchanges: tuple[str, ...] = field(default=EXCHANGES)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeOptions:
        data = json.loads(text)
        data["users"] = tuple(data.get("users", ()))
        data["exchanges"] = tuple(data.get("exchanges", EXCHANGES))
        return cls(**data)

    @property
    def in_process_sim(self) -> bool:
        return self.exchange == "sim" and not self.sim_url


@dataclass
class Service:
    """A built service: the app and what it is made of."""

    app: FastAPI
    runtime: Runtime
    store: Store
    settings: ServiceSettings
    token: ApiToken
    simulator: Any = None
    database_url: str = DEFAULT_DATABASE_URL


# --------------------------------------------------------------------------- building


def database_url(options: ServeOptions, environ: Mapping[str, str]) -> str:
    if options.db:
        return options.db
    if environ.get("DATABASE_URL"):
        return environ["DATABASE_URL"]
    if options.data_dir != "var":
        return f"sqlite:///{Path(options.data_dir) / 'qtrade.db'}"
    return DEFAULT_DATABASE_URL


def _namespace(options: ServeOptions) -> str:
    if options.namespace:
        return options.namespace
    alphabet = string.ascii_lowercase + string.digits
    # a fresh deployment's order-id namespace; a restored snapshot keeps its own
    return "q" + "".join(secrets.choice(alphabet) for _ in range(5))


def sync_user_files(store: Store, files: Sequence[str], now_ms: int) -> list[UserRecord]:
    """Create (or update) the users of config files; returns their records."""
    from engine.service.users import config_document, user_record_from_config

    records: list[UserRecord] = []
    for name in files:
        config = load_user_config(name)
        existing = store.get_user(config.id) if config.id else None
        if existing is None:
            user = user_record_from_config(config, now_ms=now_ms)
            store.create_user(user)
            records.append(user)
            continue
        document = config_document(config)
        secret = config.webhook_secret or existing.webhook_secret
        if document != existing.config or secret != existing.webhook_secret:
            updated = UserRecord(
                existing.user_id,
                config.username or existing.username,
                secret,
                document,
                existing.created_at_ms,
                max(now_ms, existing.updated_at_ms + 1),
            )
            store.update_user(updated)
            existing = updated
        records.append(existing)
    return records


def _sim_exchanges(
    options: ServeOptions,
) -> tuple[dict[str, ExchangePort], Clock, Any, list[Any]]:
    from simulator.adapter import AsyncSimExchangeAdapter
    from simulator.exchange import Simulator
    from simulator.server import create_app as create_sim_app
    from simulator.server import install_default_account

    simulator = Simulator(seed=options.seed)
    if options.path:
        simulator.load_path(options.path)
    key, _secret = install_default_account(simulator)
    ports: dict[str, ExchangePort] = {
        name: AsyncSimExchangeAdapter(simulator, name, key) for name in options.exchanges
    }
    sim_app = create_sim_app(simulator)
    return ports, simulator, simulator, list(sim_app.router.routes)


# The simulator's faces list its perpetuals too (a market is spot or linear there, never both);
# the testnets list most symbols under both types, so there the ports load spot only.
_SIM_LINEAR = (MarketType.LINEAR,)


def _user_port_factory(options: ServeOptions, clock: Clock) -> PortFactory:
    """Ports of users' own accounts (their stored keys), pointed where the service's are:
    the simulator's REST faces (``--sim-url``), or the testnet."""
    from engine.adapters.ccxt_exchange import CcxtExchange

    rng = random.Random(options.seed)

    def build(exchange: str, credentials: ExchangeCredentials) -> ExchangePort:
        return CcxtExchange(
            exchange,
            clock=clock,
            rng=random.Random(rng.random()),
            api_key=credentials.api_key,
            api_secret=credentials.api_secret,
            testnet=options.exchange != "sim",
            base_url=options.sim_url if options.exchange == "sim" else None,
            also_market_types=_SIM_LINEAR if options.exchange == "sim" else (),
        )

    return build


def _ccxt_exchanges(
    options: ServeOptions, environ: Mapping[str, str], clock: Clock
) -> dict[str, ExchangePort]:
    from engine.adapters.ccxt_exchange import CcxtExchange

    rng = random.Random(options.seed)
    ports: dict[str, ExchangePort] = {}
    if options.exchange == "sim":
        from simulator.server import default_credentials

        key, secret = default_credentials(options.seed)
        for name in options.exchanges:
            ports[name] = CcxtExchange(
                name,
                clock=clock,
                rng=rng,
                api_key=options.api_key or key,
                api_secret=options.api_secret or secret,
                base_url=options.sim_url,
                also_market_types=_SIM_LINEAR,
            )
        return ports
    venue = options.exchange.split("-", 1)[0]
    key_env, secret_env = _TESTNET_KEYS[venue]
    api_key = options.api_key or environ.get(key_env, "")
    api_secret = options.api_secret or environ.get(secret_env, "")
    if not api_key or not api_secret:
        raise SystemExit(f"{options.exchange}: set {key_env} and {secret_env} (missing_keys)")
    ports[venue] = CcxtExchange(
        venue, clock=clock, rng=rng, api_key=api_key, api_secret=api_secret, testnet=True
    )
    return ports


def build_service(
    options: ServeOptions,
    *,
    environ: Mapping[str, str] | None = None,
    store: Store | None = None,
    shared_database: bool | None = None,
) -> Service:
    """Wire a service from ``options``: store, exchanges, clock, runtime, app."""
    from engine.adapters.sql_store import SqlStore
    from engine.api.app import create_app
    from engine.core import Engine
    from engine.service.coordination import state_lock_for
    from engine.service.runtime import Runtime

    env = os.environ if environ is None else environ
    data_dir = Path(options.data_dir)
    token = load_or_create_api_token(data_dir, env)
    url = database_url(options, env)
    if store is None:
        store = SqlStore(url, data_dir=data_dir, schema=options.db_schema)
    shared = options.workers > 1 if shared_database is None else shared_database
    routes: list[Any] = []
    simulator = None
    startup = []
    shutdown = []
    factory: PortFactory | None = None  # the in-process simulator: one account for everyone
    if options.in_process_sim:
        exchanges, clock, simulator, routes = _sim_exchanges(options)
        mode = "sim"
    else:
        clock = WallClock()
        exchanges = _ccxt_exchanges(options, env, clock)
        factory = _user_port_factory(options, clock)
        mode = "live"
    settings = ServiceSettings(
        mode=mode,
        data_dir=data_dir,
        database_url=url,
        api_token=token.value,
        sync_interval_seconds=options.sync_interval,
        shared_database=shared,
        exchanges=tuple(exchanges),
        log_file=Path(options.log_file) if options.log_file else None,
    )
    sync_user_files(store, options.users, clock.now_ms())
    runtime = Runtime(
        Engine(_namespace(options)),
        store,
        exchanges,
        clock,
        settings,
        state_lock=state_lock_for(store, shared=shared, data_dir=data_dir),
        rng=random.Random(options.seed),
        accounts=UserAccounts(store, factory),
    )
    if simulator is not None and options.realtime:
        driver = _RealtimeDriver(simulator, runtime)
        startup.append(driver.start)
        shutdown.append(driver.stop)
    app = create_app(runtime, settings, extra_routes=routes, startup=startup, shutdown=shutdown)
    return Service(app, runtime, store, settings, token, simulator, url)


class _RealtimeDriver:
    """Advances the in-process simulator by the wall time elapsed, every second."""

    def __init__(self, simulator: Any, runtime: Runtime) -> None:
        self.simulator = simulator
        self.runtime = runtime
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            self.simulator.advance(by_ms=int((now - last) * 1000))
            last = now
            with contextlib.suppress(Exception):
                await self.runtime.sync()

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def settle_heap() -> None:
    """Collect once, then freeze what start-up built (modules, ccxt's exchange classes, the
    app) out of the garbage collector's view: a full collection otherwise walks those
    hundreds of thousands of objects while a webhook waits (stalls of 50-100 ms measured
    with ``benchmarks/webhook.py``)."""
    gc.collect()
    gc.freeze()


def worker_app() -> FastAPI:
    """The app of one uvicorn worker process (``--workers N``): options from the environment."""
    options = ServeOptions.from_json(os.environ[OPTIONS_ENV])
    app = build_service(options, shared_database=True).app
    settle_heap()
    return app


# --------------------------------------------------------------------------- CLI


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve", help="run the engine service", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--exchange", choices=MODES, default="sim")
    parser.add_argument("--sim-url", help="trade with ccxt against a running qtrade sim serve")
    parser.add_argument("--db", help="SQLAlchemy URL (default: DATABASE_URL or sqlite)")
    parser.add_argument("--db-schema", help="PostgreSQL schema for every table")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--users", nargs="*", default=[], metavar="FILE", help="user configs")
    parser.add_argument("--data-dir", default=os.environ.get("QTRADE_DATA_DIR", "var"))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="simulator seed")
    parser.add_argument("--path", help="simulator price path file (yaml/csv)")
    parser.add_argument("--realtime", action="store_true", help="sim clock follows wall time")
    parser.add_argument("--sync-interval", type=float, default=5.0, help="seconds (live)")
    parser.add_argument("--api-key")
    parser.add_argument("--api-secret")
    parser.add_argument("--log-file", help="rotating JSON log file")
    parser.add_argument("--namespace", help="client order id namespace (1-8 letters/digits)")
    parser.set_defaults(handler=run)


def _options(args: argparse.Namespace) -> ServeOptions:
    return ServeOptions(
        exchange=args.exchange,
        sim_url=args.sim_url,
        db=args.db,
        db_schema=args.db_schema,
        host=args.host,
        port=args.port,
        users=tuple(args.users or ()),
        data_dir=args.data_dir,
        workers=args.workers,
        seed=args.seed,
        path=args.path,
        realtime=args.realtime,
        sync_interval=args.sync_interval,
        api_key=args.api_key,
        api_secret=args.api_secret,
        log_file=args.log_file,
        namespace=args.namespace,
    )


def _announce(options: ServeOptions, token: ApiToken, url: str) -> None:
    """One JSON line: where the service listens, and the token the one time it was made."""
    line = {
        "base_url": f"http://{options.host}:{options.port}",
        "mode": options.exchange if not options.sim_url else "sim-url",
        "database": url.split("@")[-1] if "@" in url else url,
        "workers": options.workers,
        "api_token": token.value if token.created else None,
        "api_token_source": token.source,
    }
    print(json.dumps(line), flush=True)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from engine.adapters.sql_store import SqlStore
    from engine.service.logs import configure_logging

    options = _options(args)
    if options.workers < 1:
        print("--workers: must be >= 1 (not_positive)", file=sys.stderr)
        return 2
    if options.workers > 1 and options.in_process_sim:
        print(
            "--workers: several processes cannot share an in-process simulator; use --sim-url "
            "(invalid_combination)",
            file=sys.stderr,
        )
        return 2
    configure_logging(log_file=Path(options.log_file) if options.log_file else None)
    try:
        if options.workers == 1:
            service = build_service(options)
            _announce(options, service.token, service.database_url)
            settle_heap()
            uvicorn.run(
                service.app,
                host=options.host,
                port=options.port,
                log_level="warning",
                timeout_keep_alive=KEEP_ALIVE_SECONDS,
            )
            return 0
        env = dict(os.environ)
        token = load_or_create_api_token(Path(options.data_dir), env)
        url = database_url(options, env)
        store = SqlStore(url, data_dir=Path(options.data_dir), schema=options.db_schema)
        sync_user_files(store, options.users, WallClock().now_ms())
        store.close()
        _announce(options, token, url)
        os.environ[OPTIONS_ENV] = options.to_json()
        uvicorn.run(
            "qtrade.commands.serve:worker_app",
            factory=True,
            host=options.host,
            port=options.port,
            workers=options.workers,
            log_level="warning",
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
        return 0
    except (ConfigError, TokenError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
