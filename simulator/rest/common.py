"""Plumbing shared by the REST faces: the server context, raw request reading, running
simulator calls off the event loop, and the transport-level faults (down, response lost).

How transport faults are produced (documented in docs/simulator_rest.md):

- ``down`` with mode ``503``: an HTTP 503 with a plain-text body (ccxt: ExchangeNotAvailable).
- ``down`` with mode ``refused``: the server keeps listening (the other exchange and the admin
  API stay up) but resets this connection without answering (TCP RST). Clients see what they
  see for a refused connection: ccxt sync ``NetworkError``, ccxt async
  ``ExchangeNotAvailable``. A truly refused connection happens when the server is stopped.
- ``latency``: the answer is delayed by the fault's milliseconds (an ``asyncio.sleep`` after
  the simulator call, so other requests are served meanwhile).
- ``response_lost``: the simulator carries the request out (the order exists), then the
  server waits ``response_lost_delay_ms`` (past the client's timeout: ``RequestTimeout``) and
  resets the connection, so no answer ever arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from engine.ports import Clock
from simulator.exchange import Simulator
from simulator.markets import SimMarket

__all__ = [
    "ConnectionControl",
    "RawRequest",
    "RestContext",
    "LatencyCollector",
    "JSON_MEDIA_TYPE",
    "json_response",
    "plain_response",
    "read_raw",
    "run_sim",
    "drop_connection",
    "lose_response",
    "display_depth",
]

JSON_MEDIA_TYPE = "application/json"
T = TypeVar("T")

_LINGER_RESET = struct.pack("ii", 1, 0)


class _Transport(Protocol):
    def get_extra_info(self, name: str) -> Any: ...

    def abort(self) -> None: ...


class ConnectionControl:
    """Finds the server-side connection of a request so a fault can reset it.

    The HTTP server that runs the app registers its live-connection set with
    :meth:`attach` (uvicorn: ``server.server_state.connections``; each connection object
    has ``client`` and ``transport``). Without it, :meth:`reset` returns False and the
    caller falls back to an HTTP answer.
    """

    def __init__(self) -> None:
        self._connections: Callable[[], Any] | None = None

    def attach(self, connections: Callable[[], Any]) -> None:
        self._connections = connections

    def reset(self, scope: Mapping[str, Any]) -> bool:
        """Reset (TCP RST) the connection that carried ``scope``; True when it was found."""
        if self._connections is None:
            return False
        client = scope.get("client")
        if client is None:
            return False
        wanted = tuple(client)
        for connection in list(self._connections()):
            peer = getattr(connection, "client", None)
            transport: _Transport | None = getattr(connection, "transport", None)
            if peer is None or transport is None or tuple(peer) != wanted:
                continue
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):  # already closed
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
            transport.abort()
            return True
        return False


@dataclass(slots=True)
class _Pending:
    ms: int = 0


class LatencyCollector:
    """The simulator's latency hook while the server runs: inside :meth:`collecting` (a
    face request on the event-loop thread) injected latency is added up for the request to
    sleep asynchronously; elsewhere (admin threads, in-process callers) the previous hook, if
    any, is called."""

    def __init__(self, previous: Callable[[int], None] | None = None) -> None:
        self.previous = previous
        self._local = threading.local()

    def __call__(self, latency_ms: int) -> None:
        pending: _Pending | None = getattr(self._local, "pending", None)
        if pending is not None:
            pending.ms += latency_ms
        elif self.previous is not None:
            self.previous(latency_ms)

    @contextlib.contextmanager
    def collecting(self) -> Iterator[_Pending]:
        pending = _Pending()
        self._local.pending = pending
        try:
            yield pending
        finally:
            self._local.pending = None


@dataclass(slots=True)
class RestContext:
    """What every REST face needs: the simulator, the caller's wall clock (for signature
    windows and server-time answers) and the transport-fault settings."""

    sim: Simulator
    wall_clock: Clock
    response_lost_delay_ms: int = 11_000
    connections: ConnectionControl = field(default_factory=ConnectionControl)
    latency: LatencyCollector = field(default_factory=LatencyCollector)

    def secret_of(self, exchange: str) -> Callable[[str], str | None]:
        accounts = self.sim.venue(exchange).accounts

        def lookup(api_key: str) -> str | None:
            account = accounts.get(api_key)
            return account.api_secret if account is not None else None

        return lookup


@dataclass(frozen=True, slots=True)
class RawRequest:
    """The request as the client sent it: raw query and body (for signatures) plus parsed
    parameters (query and form or JSON body merged; body wins)."""

    method: str
    query: str
    body: str
    params: dict[str, str]
    headers: dict[str, str]


def _json_params(body: str) -> dict[str, str]:
    # Numbers keep their source text (never a float); nested values are re-serialised.
    data = json.loads(body, parse_float=str, parse_int=str)
    if not isinstance(data, dict):
        raise ValueError("body: expected a JSON object")
    params: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, str):
            params[str(key)] = value
        elif value is None:
            continue
        else:
            params[str(key)] = json.dumps(value)
    return params


async def read_raw(request: Request) -> RawRequest:
    """Read the raw query/body once; parse form or JSON bodies into ``params``.

    A body that is not valid for its content type raises ``ValueError`` naming ``body``.
    """
    query = request.url.query
    body_bytes = await request.body()
    body = body_bytes.decode("utf-8", errors="replace")
    params = dict(parse_qsl(query, keep_blank_values=True))
    if body:
        content_type = request.headers.get("content-type", "")
        if "json" in content_type or body.lstrip().startswith("{"):
            try:
                params.update(_json_params(body))
            except json.JSONDecodeError as exc:
                raise ValueError(f"body: not valid JSON ({exc.msg})") from None
        else:
            params.update(parse_qsl(body, keep_blank_values=True))
    headers = {key.lower(): value for key, value in request.headers.items()}
    return RawRequest(request.method, query, body, params, headers)


def json_response(
    body: object, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    content = json.dumps(body, separators=(",", ":"))
    return Response(content, status_code, headers=dict(headers or {}), media_type=JSON_MEDIA_TYPE)


def plain_response(text: str, status_code: int) -> Response:
    return Response(text, status_code, media_type="text/plain")


async def run_sim(context: RestContext, call: Callable[[], T]) -> T:
    """Run a simulator call on the event loop (it is fast and takes the simulator lock), then
    wait out any latency fault it met (``asyncio.sleep``: other requests go on meanwhile).

    The latency is served after the call rather than before it: to the client the answer
    is late either way, and no thread hop is paid on every request.
    """
    with context.latency.collecting() as pending:
        try:
            return call()
        finally:
            if pending.ms:
                await asyncio.sleep(pending.ms / 1000)


async def drop_connection(context: RestContext, request: Request) -> Response:
    """Reset the request's connection; answer 503 if the connection cannot be found."""
    if context.connections.reset(request.scope):
        # Let the server notice the lost connection so it does not try to answer.
        for _ in range(3):
            await asyncio.sleep(0)
        return Response(b"", 503)
    return plain_response("Service Unavailable", 503)


async def lose_response(context: RestContext, request: Request) -> Response:
    """Wait past the client's timeout, then reset the connection (no answer ever arrives)."""
    await asyncio.sleep(context.response_lost_delay_ms / 1000)
    return await drop_connection(context, request)


_DISPLAY_NOTIONAL = Decimal(1_000_000)


def display_depth(market: SimMarket, price: Decimal) -> Decimal:
    """The quantity shown at the top of the synthetic book: the simulator's depth is
    unlimited at the current price, shown (as the in-process order book does) as 1,000,000
    quote worth rounded to the step, at least one step."""
    if price <= 0:
        return market.step_size
    return max(market.step_size, (_DISPLAY_NOTIONAL / price).quantize(market.step_size))
