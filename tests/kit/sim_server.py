"""Serve the simulator over HTTP for tests: uvicorn on an ephemeral 127.0.0.1 port in a thread.

Use :func:`serving_simulator` in a module-scoped fixture of your own, or the ready-made
``sim_server`` fixture (import it into a conftest or test module). Also builds ccxt clients
pointed at the server the way ``../shared/reference/ccxt_contract.md`` §1 shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest

from simulator.exchange import Simulator
from simulator.server import ServerThread, create_app, install_default_account

__all__ = [
    "SimServer",
    "serving_simulator",
    "sim_server",
    "redirect_ccxt",
    "binance_options",
    "bybit_options",
]


@dataclass
class SimServer:
    """A running server: its base URL, the simulator behind it and the default account."""

    base_url: str
    sim: Simulator
    api_key: str
    api_secret: str
    thread: ServerThread
    http: httpx.Client

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Call the admin API (``path`` like ``/admin/price``) over one kept-alive client."""
        return self.http.request(method, path, **kwargs)


@contextmanager
def serving_simulator(
    sim: Simulator | None = None,
    *,
    balances: dict[str, Decimal] | None = None,
    response_lost_delay_ms: int = 1500,
) -> Iterator[SimServer]:
    """Start a server over ``sim`` (default: ``Simulator(seed=0)``) with the seed's default
    account; stop it on exit (afterwards the port refuses connections)."""
    simulator = sim if sim is not None else Simulator(seed=0)
    key, secret = install_default_account(simulator, balances)
    app = create_app(simulator, response_lost_delay_ms=response_lost_delay_ms)
    thread = ServerThread(app)
    thread.start()
    http = httpx.Client(base_url=thread.base_url, timeout=30)
    try:
        yield SimServer(thread.base_url, simulator, key, secret, thread, http)
    finally:
        http.close()
        thread.stop()


@pytest.fixture(scope="module")
def sim_server() -> Iterator[SimServer]:
    with serving_simulator() as server:
        yield server


def redirect_ccxt(exchange: Any, base_url: str) -> Any:
    """Point every REST base URL of a ccxt instance at ``base_url`` (keep path prefixes)."""

    def rewrite(urls: Any) -> Any:
        if isinstance(urls, dict):
            return {k: rewrite(v) for k, v in urls.items()}
        if isinstance(urls, str) and urls.startswith("http"):
            return re.sub(r"^https?://[^/]+", base_url, urls)
        return urls

    exchange.urls["api"] = rewrite(exchange.urls["api"])
    return exchange


def binance_options(api_key: str, api_secret: str, **extra: Any) -> dict[str, Any]:
    """ccxt binance config without the sapi/fapi/dapi calls (contract §2)."""
    config: dict[str, Any] = {
        "apiKey": api_key,
        "secret": api_secret,
        "enableRateLimit": False,
        "options": {
            "fetchCurrencies": False,
            "fetchMargins": False,
            "fetchMarkets": {"types": ["spot"]},
        },
    }
    config.update(extra)
    return config


def bybit_options(api_key: str, api_secret: str, **extra: Any) -> dict[str, Any]:
    """ccxt bybit config for a spot UTA account without extra calls (contract §2)."""
    config: dict[str, Any] = {
        "apiKey": api_key,
        "secret": api_secret,
        "enableRateLimit": False,
        "has": {"fetchCurrencies": False},
        "options": {
            "defaultType": "spot",
            "fetchMarkets": {"types": ["spot"]},
            "enableUnifiedAccount": True,
            "enableUnifiedMargin": False,
            "fetchOrder": {"acknowledged": True},
        },
    }
    config.update(extra)
    return config
