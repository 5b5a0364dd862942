"""How the flow talks to the service: the :class:`ServiceApi` port, an httpx implementation
over a base URL, and :class:`Calls`, which decodes answers (numbers as ``Decimal``), checks
status codes and times every call on the wall clock for the report's latency KPIs.

Anything with ``request``/``admin``/``after_admin`` fits the port, so the feature suite's
backends (tests/steps/backends.py) can hand themselves to :func:`qtrade.e2e.run_flow`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection
from decimal import Decimal
from typing import Any, Protocol

import httpx

__all__ = ["ServiceApi", "ServiceCallError", "HttpServiceApi", "Calls", "decode"]

_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DETAIL_CHARS = 300


class ServiceApi(Protocol):
    """The service's HTTP contract (bearer routes) plus the simulator's admin API."""

    def request(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> httpx.Response: ...

    def admin(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> httpx.Response: ...

    def after_admin(self) -> None:
        """Called after every state-changing admin call (a service that does not sync on its
        own, e.g. one trading the simulator over REST, syncs here)."""


class ServiceCallError(Exception):
    """A call that failed: transport error (``status`` None) or an unexpected status."""

    def __init__(self, route: str, status: int | None, detail: str) -> None:
        where = f"HTTP {status}" if status is not None else "no answer"
        super().__init__(f"{route}: {where}: {detail}")
        self.route = route
        self.status = status
        self.detail = detail


class HttpServiceApi:
    """The service at ``base_url`` (bearer ``token``); admin routes on ``admin_url`` (default:
    the same server, as ``qtrade serve`` mounts them in sim mode)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        admin_url: str | None = None,
        timeout_seconds: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_seconds,
            transport=transport,
        )
        self._admin = httpx.Client(
            base_url=admin_url or base_url, timeout=timeout_seconds, transport=transport
        )

    def request(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> httpx.Response:
        return self._client.request(method, path, params=params, json=json)

    def admin(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> httpx.Response:
        return self._admin.request(method, path, params=params, json=json)

    def after_admin(self) -> None:
        """Nothing: a sim-mode service syncs before it answers an admin change."""

    def close(self) -> None:
        self._client.close()
        self._admin.close()


def decode(response: httpx.Response, route: str) -> Any:
    """The JSON body with every non-integer number as a ``Decimal``."""
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:
        raise ServiceCallError(
            route, response.status_code, f"not JSON: {response.text[:_DETAIL_CHARS]!r}"
        ) from None


class Calls:
    """Timed, checked calls through a :class:`ServiceApi`.

    ``latencies_ms`` collects wall-clock milliseconds per kind: ``backend_response`` (service
    routes) and ``simulator_admin``; ``perf_counter`` is injectable for tests."""

    def __init__(self, api: ServiceApi, perf_counter: Callable[[], float] = time.perf_counter):
        self.api = api
        self._perf = perf_counter
        self.latencies_ms: dict[str, list[int]] = {"backend_response": [], "simulator_admin": []}

    def _timed(
        self,
        kind: str,
        call: Callable[[], httpx.Response],
        route: str,
        expect: Collection[int],
    ) -> Any:
        started = self._perf()
        try:
            response = call()
        except httpx.HTTPError as exc:
            raise ServiceCallError(route, None, f"{type(exc).__name__}: {exc}") from exc
        finally:
            elapsed = self._perf() - started
            self.latencies_ms[kind].append(max(0, round(elapsed * 1000)))
        if response.status_code not in expect:
            raise ServiceCallError(route, response.status_code, response.text[:_DETAIL_CHARS])
        return decode(response, route)

    def service(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        expect: Collection[int] = (200,),
    ) -> Any:
        """A service route; raises :class:`ServiceCallError` unless the status is expected."""
        return self._timed(
            "backend_response",
            lambda: self.api.request(method, path, params=params, json=json),
            f"{method} {path}",
            expect,
        )

    def admin(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        expect: Collection[int] = (200,),
    ) -> Any:
        """A simulator admin route; state-changing calls are followed by ``after_admin``."""
        answer = self._timed(
            "simulator_admin",
            lambda: self.api.admin(method, path, params=params, json=json),
            f"{method} {path}",
            expect,
        )
        if method.upper() in _STATE_CHANGING:
            self.api.after_admin()
        return answer
