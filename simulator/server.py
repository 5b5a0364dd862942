"""One HTTP server for the simulator: the Binance spot v3 face (``/api/v3``...), the Bybit v5
face (``/v5``...) and the admin API (``/admin``), over one :class:`Simulator`.

This module is an adapter at the edge: it owns the real clock (wall time for signature
windows) and real sleeps (injected latency faults), which the simulator itself never uses.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from decimal import Decimal
from types import TracebackType
from typing import Any

import uvicorn
from fastapi import FastAPI

from engine.ports import Clock
from simulator.exchange import Simulator
from simulator.rest.admin import admin_router
from simulator.rest.binance import BinanceFace
from simulator.rest.bybit import BybitFace
from simulator.rest.common import ConnectionControl, LatencyCollector, RestContext

__all__ = [
    "DEFAULT_RESPONSE_LOST_DELAY_MS",
    "SystemClock",
    "bind_socket",
    "describe",
    "ServerThread",
    "create_app",
    "default_credentials",
    "install_default_account",
    "serve_forever",
]

DEFAULT_RESPONSE_LOST_DELAY_MS = 11_000  # past ccxt's default 10 s timeout


class SystemClock:
    """Wall-clock UTC epoch milliseconds (what real clients sign their requests with)."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


def _sleep_ms(latency_ms: int) -> None:
    time.sleep(latency_ms / 1000)


def default_credentials(seed: int) -> tuple[str, str]:
    """The default account's API key and secret for ``seed``: deterministic, so a script can
    rely on them; ``key = "qtsim" + sha256("qtrade-sim-key:<seed>")[:27]`` (32 chars) and
    ``secret = sha256("qtrade-sim-secret:<seed>")`` (64 hex chars)."""
    key = "qtsim" + hashlib.sha256(f"qtrade-sim-key:{seed}".encode()).hexdigest()[:27]
    secret = hashlib.sha256(f"qtrade-sim-secret:{seed}".encode()).hexdigest()
    return key, secret


def install_default_account(
    sim: Simulator, balances: dict[str, Decimal] | None = None
) -> tuple[str, str]:
    """Create the seed's default account on every venue (if missing); return (key, secret)."""
    key, secret = default_credentials(sim.seed)
    with sim.lock:
        missing = [name for name, venue in sim.venues.items() if key not in venue.accounts]
        if missing:
            sim.create_account(key, secret, balances, exchanges=missing)
    return key, secret


def create_app(
    sim: Simulator,
    *,
    wall_clock: Clock | None = None,
    response_lost_delay_ms: int = DEFAULT_RESPONSE_LOST_DELAY_MS,
) -> FastAPI:
    """The ASGI app serving both exchange faces and the admin API over ``sim``.

    Installs a :class:`LatencyCollector` as the simulator's latency hook: a latency fault met
    by an HTTP request delays its answer without blocking the server; other callers get the
    previous hook (default: a real sleep). ``app.state.rest`` holds the :class:`RestContext`.
    """
    if response_lost_delay_ms < 0:
        raise ValueError("response_lost_delay_ms: must be >= 0")
    previous = sim.latency_hook
    if isinstance(previous, LatencyCollector):  # served again: keep the original hook
        previous = previous.previous
    latency = LatencyCollector(previous if previous is not None else _sleep_ms)
    sim.latency_hook = latency
    context = RestContext(
        sim=sim,
        wall_clock=wall_clock or SystemClock(),
        response_lost_delay_ms=response_lost_delay_ms,
        connections=ConnectionControl(),
        latency=latency,
    )
    app = FastAPI(
        title="qtrade exchange simulator",
        description="Binance spot v3 and Bybit v5 subsets plus an admin API "
        "(docs/simulator_rest.md).",
        openapi_url="/admin/openapi.json",
        docs_url="/admin/docs",
        redoc_url=None,
    )
    app.state.rest = context
    app.router.routes.extend(BinanceFace(context).routes())
    app.router.routes.extend(BybitFace(context).routes())
    app.include_router(admin_router(context))
    return app


def _uvicorn_config(app: FastAPI, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        loop="auto",  # uvloop when installed (ccxt depends on it), else asyncio
        http="h11",
        timeout_graceful_shutdown=1,
        timeout_keep_alive=30,
    )


def _attach(app: FastAPI, server: uvicorn.Server) -> None:
    context: RestContext = app.state.rest
    context.connections.attach(lambda: server.server_state.connections)


class ServerThread:
    """Serve an app with uvicorn on ``host:port`` (port 0: an ephemeral port) in a
    background thread. Use as a context manager or call :meth:`start`/:meth:`stop`.

    After :meth:`stop` the port is closed: connecting to it is refused.
    """

    def __init__(
        self, app: FastAPI, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"
    ) -> None:
        self.app = app
        self.host = host
        self._socket = bind_socket(host, port)
        self.port: int = self._socket.getsockname()[1]
        self.server = uvicorn.Server(_uvicorn_config(app, host, self.port, log_level))
        _attach(app, self.server)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> ServerThread:
        if self._thread is not None:
            raise RuntimeError("server: already started")
        self._thread = threading.Thread(
            target=self._run, name=f"sim-server-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("server: failed to start")
            if time.monotonic() > deadline:
                raise RuntimeError(f"server: not started after {timeout_s} s")
            time.sleep(0.005)
        return self

    def _run(self) -> None:
        self.server.run(sockets=[self._socket])

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._thread is None:
            self._socket.close()
            return
        self.server.should_exit = True
        self._thread.join(timeout_s)
        self._socket.close()
        self._thread = None

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket for the server (port 0: ephemeral).

    ``TCP_NODELAY`` is set on it (accepted connections inherit it): uvicorn writes the
    response head and body separately, and with Nagle's algorithm the body would wait for
    the client's delayed ACK, about 40 ms per request on loopback.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)  # connections queue from now on, before the server starts accepting
    return sock


def serve_forever(app: FastAPI, sock: socket.socket, *, log_level: str = "warning") -> None:
    """Serve on ``sock`` (from :func:`bind_socket`) in the calling thread until interrupted
    (``qtrade sim serve``)."""
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(_uvicorn_config(app, host, port, log_level))
    _attach(app, server)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


def describe(base_url: str, api_key: str, api_secret: str) -> dict[str, Any]:
    """The one-line JSON ``qtrade sim serve`` prints."""
    return {"base_url": base_url, "api_key": api_key, "api_secret": api_secret}
