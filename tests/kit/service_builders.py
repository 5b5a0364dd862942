"""Builders for the service tests: a service over the in-process simulator (ASGI, no socket),
the seed user, TradingView payloads as the testing plan's script sends them, and a real
``qtrade serve`` process on an ephemeral port."""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from engine.adapters.memory_store import MemoryStore
from engine.api.app import create_app
from engine.config import load_user_config
from engine.core import Engine
from engine.ports import ExchangePort
from engine.service.runtime import Runtime
from engine.service.settings import ServiceSettings
from engine.service.users import create_user
from engine.store import Store, UserRecord
from simulator.adapter import AsyncSimExchangeAdapter
from simulator.exchange import Simulator
from simulator.server import create_app as create_sim_app
from simulator.server import install_default_account

__all__ = [
    "REPO_ROOT",
    "SEED_USER_FILE",
    "TOKEN",
    "AUTH",
    "BALANCES",
    "SimService",
    "build_sim_service",
    "plan_payload",
    "free_port",
    "ServeProcess",
    "serve_process",
    "decimal_field",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED_USER_FILE = REPO_ROOT / "scenarios" / "users" / "maaz.json"
TOKEN = "test-token"
# USDT only, as ``qtrade serve``'s default account: every base-asset sell (TP, exit, risk close)
# must come out of what the entries bought net of their base-asset fees.
BALANCES = {"USDT": Decimal(100_000)}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class SimService:
    """A service app over an in-process simulator, with the seed user registered."""

    sim: Simulator
    store: Store
    runtime: Runtime
    settings: ServiceSettings
    user: UserRecord
    api_key: str
    exchanges: dict[str, ExchangePort] = field(default_factory=dict)
    app: Any = None

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app)
        return httpx.AsyncClient(transport=transport, base_url="http://service", timeout=30)

    def sim_orders(self, exchange: str = "binance", symbol: str | None = None) -> list[Any]:
        """Every order the simulator holds for the service's account (the exchange's view)."""
        return self.sim.venue(exchange).all_orders(self.api_key, symbol)

    def rebuild(self, *, namespace: str = "t") -> SimService:
        """A new runtime and app over the same store and simulator (a restart)."""
        return _assemble(
            self.sim, self.store, self.settings, self.user, self.api_key, self.exchanges, namespace
        )


def _assemble(
    sim: Simulator,
    store: Store,
    settings: ServiceSettings,
    user: UserRecord,
    api_key: str,
    exchanges: dict[str, ExchangePort],
    namespace: str,
) -> SimService:
    runtime = Runtime(
        Engine(namespace),
        store,
        exchanges,
        sim,
        settings,
        rng=random.Random(0),
        sleep=_no_sleep,
    )
    routes = list(create_sim_app(sim).router.routes)
    app = create_app(runtime, settings, extra_routes=routes)
    return SimService(sim, store, runtime, settings, user, api_key, exchanges, app)


async def _no_sleep(_seconds: float) -> None:
    return None


def build_sim_service(
    *,
    store: Store | None = None,
    seed: int = 0,
    namespace: str = "t",
    config_file: Path = SEED_USER_FILE,
    settings: ServiceSettings | None = None,
) -> SimService:
    """The service in sim mode over a fresh simulator and (by default) a memory store, with
    the seed user created from its config file. Retries and Retry-After waits do not sleep."""
    sim = Simulator(seed=seed)
    api_key, _secret = install_default_account(sim, dict(BALANCES))
    chosen_store = store if store is not None else MemoryStore()
    user = create_user(chosen_store, load_user_config(config_file), now_ms=sim.now_ms())
    exchanges: dict[str, ExchangePort] = {
        name: AsyncSimExchangeAdapter(sim, name, api_key) for name in ("binance", "bybit")
    }
    chosen = settings or ServiceSettings(
        mode="sim", api_token=TOKEN, retry_base_seconds=0.0, retry_max_seconds=0.0
    )
    return _assemble(sim, chosen_store, chosen, user, api_key, exchanges, namespace)


def plan_payload(
    secret: str,
    *,
    exchange: str = "BINANCE",
    symbol: str = "BTCUSDT",
    timeframe: str = "60",
    action: str = "buy",
    side: str | None = "long",
    kind: str = "signal",
    entry_price: str | None = "95992.3",
    close_price: str | None = "95992.3",
    order_size: str | None = "0.001",
    timestamp: str = "2026-01-01T00:00:00.000Z",
) -> dict[str, Any]:
    """The JSON ``scripts/simulate_webhook.py`` sends for the plan's flags (Test 1.1 by
    default); numbers stay strings as typed on the command line."""
    tv: dict[str, Any] = {
        "exchange": exchange,
        "symbol": symbol,
        "timeframe": timeframe,
        "action": action,
    }
    for key, value in (
        ("entry_price", entry_price),
        ("close_price", close_price),
        ("order_size", order_size),
    ):
        if value is not None:
            tv[key] = value
    intent: dict[str, Any] = {"type": kind, "position_size_type": "contracts"}
    if side is not None:
        intent["side"] = side
    return {
        "secret": secret,
        "source": "tradingview",
        "timestamp": timestamp,
        "tv": tv,
        "execution_intent": intent,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServeProcess:
    base_url: str
    token: str
    process: subprocess.Popen[str]
    announce: dict[str, Any]

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.get(self.base_url + path, headers=headers, timeout=30, **kwargs)


@contextlib.contextmanager
def serve_process(
    args: list[str], *, env: dict[str, str] | None = None, timeout_s: float = 30.0
) -> Iterator[ServeProcess]:
    """Run ``qtrade serve <args> --port <free>`` and wait until ``/health`` answers."""
    port = free_port()
    command = [sys.executable, "-m", "qtrade.cli", "serve", *args, "--port", str(port)]
    full_env = {**os.environ, **(env or {})}
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        assert process.stdout is not None
        announce = json.loads(process.stdout.readline() or "{}")
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"qtrade serve exited: {process.stderr.read() if process.stderr else ''}"
                )
            try:
                if httpx.get(base_url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("qtrade serve did not answer /health in time")
            time.sleep(0.05)
        token = full_env.get("QTRADE_API_TOKEN") or str(announce.get("api_token") or "")
        yield ServeProcess(base_url, token, process, announce)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def decimal_field(row: dict[str, Any], name: str) -> Decimal | None:
    value = row.get(name)
    return None if value is None else Decimal(str(value))
