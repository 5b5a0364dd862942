"""The service the flow runs against in ``qtrade run``: ``qtrade serve``'s own composition
(``build_service``, in-process simulator, SQLite in ``data_dir``) served by uvicorn on an
ephemeral 127.0.0.1 port in a background thread, so the flow talks real HTTP to it.

The simulated account is funded like the plan's testnet accounts (quote money plus some of
each traded base asset): on spot a buy pays its fee in the base asset, so a take-profit for
the engine's filled quantity needs a little more base asset than the buy delivered.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import uvicorn

from qtrade.commands.serve import ServeOptions, Service, build_service
from qtrade.e2e.api import HttpServiceApi

__all__ = [
    "SEED_USER_FILE",
    "FUNDED_BALANCES",
    "E2E_NAMESPACE",
    "RunningService",
    "running_sim_service",
]

SEED_USER_FILE = Path(__file__).resolve().parents[2] / "scenarios" / "users" / "maaz.json"
E2E_NAMESPACE = "e2e"  # fixed client order id namespace: the same run gives the same ids
FUNDED_BALANCES: Mapping[str, Decimal] = MappingProxyType(
    {
        "USDT": Decimal(100_000),
        "BTC": Decimal(1),
        "ETH": Decimal(10),
        "SOL": Decimal(100),
        "DOT": Decimal(1_000),
        "XRP": Decimal(10_000),
        "TRX": Decimal(10_000),
        "DOGE": Decimal(100_000),
        "ADA": Decimal(10_000),
        "GALA": Decimal(100_000),
    }
)
_START_TIMEOUT_S = 15.0


@dataclass
class RunningService:
    """A served service: its URL, bearer token, first user and an API client for the flow."""

    base_url: str
    token: str
    user_id: str
    service: Service
    api: HttpServiceApi


def _fund(service: Service, seed: int, balances: Mapping[str, Decimal]) -> None:
    from simulator.server import default_credentials

    key, secret = default_credentials(seed)
    # replaces the default account build_service created (nothing has traded yet)
    service.simulator.create_account(key, secret, dict(balances))


@contextmanager
def running_sim_service(
    data_dir: Path,
    *,
    token: str = "qtrade-run",
    users: tuple[Path, ...] = (SEED_USER_FILE,),
    seed: int = 0,
    balances: Mapping[str, Decimal] = FUNDED_BALANCES,
) -> Iterator[RunningService]:
    """Serve a fresh sim-mode service (database ``data_dir/qtrade.db``) until the block ends."""
    data_dir.mkdir(parents=True, exist_ok=True)
    options = ServeOptions(
        exchange="sim",
        db=f"sqlite:///{data_dir / 'qtrade.db'}",
        data_dir=str(data_dir),
        users=tuple(str(u) for u in users),
        seed=seed,
        namespace=E2E_NAMESPACE,
    )
    service = build_service(options, environ={"QTRADE_API_TOKEN": token})
    _fund(service, seed, balances)
    records = service.store.list_users()
    if not records:
        raise ValueError("users: the service has no user to trade with")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        service.app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        loop="asyncio",
        http="h11",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name="qtrade-e2e", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            service.store.close()
            raise RuntimeError("the e2e service did not start")
        time.sleep(0.01)
    base_url = f"http://127.0.0.1:{port}"
    api = HttpServiceApi(base_url, token)
    try:
        yield RunningService(base_url, token, records[0].user_id, service, api)
    finally:
        api.close()
        server.should_exit = True
        thread.join(_START_TIMEOUT_S)
        sock.close()
        service.store.close()
