"""Fault injection: scheduled by simulated time window and/or by request count, per exchange
and endpoint.

Every venue call passes through :meth:`FaultSchedule.check` with its endpoint name (see
:data:`ENDPOINTS`). Faults that refuse the request raise a :class:`~simulator.errors.SimError`
subclass; the others come back in :class:`FaultEffects` (added latency, response lost,
symbols whose metadata is hidden). Each time a fault fires it is appended to the log.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from simulator.errors import ErrorCatalog, SimError

__all__ = [
    "ENDPOINTS",
    "PRIVATE_ENDPOINTS",
    "FAULT_KINDS",
    "Fault",
    "FaultEffects",
    "FaultSchedule",
]

ENDPOINTS = (
    "time",
    "markets",
    "ticker",
    "klines",
    "depth",
    "balances",
    "order.create",
    "order.cancel",
    "order.get",
    "orders.open",
    "orders.all",
    "trades",
)
PRIVATE_ENDPOINTS = frozenset(
    {"balances", "order.create", "order.cancel", "order.get", "orders.open", "orders.all", "trades"}
)
FAULT_KINDS = (
    "down",
    "rate_limit",
    "bad_keys",
    "reject",
    "latency",
    "metadata_missing",
    "response_lost",
)


@dataclass(slots=True)
class Fault:
    """One scheduled fault.

    It applies to requests whose exchange and endpoint match the (fnmatch) patterns, whose
    simulated time is within ``[start_ms, end_ms)`` (either bound optional), and, counting
    only those matching requests, from the ``after_requests + 1``-th on, ``count`` times
    (``None``: without limit).

    Kind-specific fields: ``mode`` for ``down`` (``"503"`` or ``"refused"``) and for
    ``reject`` (``"error"``: the request fails with the code; ``"status"``: the order is
    accepted and stored with status REJECTED, as Bybit reports asynchronous rejections),
    ``retry_after_s`` for ``rate_limit``, ``code``/``message``/``http_status`` for ``reject``
    (defaults: the venue's generic order rejection), ``latency_ms`` for ``latency``, ``symbol``
    for ``metadata_missing`` (and to narrow ``reject`` to one symbol).
    """

    kind: str
    exchange: str = "*"
    endpoint: str = "*"
    start_ms: int | None = None
    end_ms: int | None = None
    after_requests: int = 0
    count: int | None = None
    mode: str = ""
    retry_after_s: int = 1
    code: str | None = None
    message: str | None = None
    http_status: int | None = None
    latency_ms: int = 0
    symbol: str | None = None
    fault_id: str = ""
    seen: int = 0  # matching requests seen so far
    fired: int = 0  # times applied

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"kind: must be one of {', '.join(FAULT_KINDS)}, got {self.kind!r}")
        if self.after_requests < 0:
            raise ValueError(f"after_requests: must be >= 0, got {self.after_requests}")
        if self.count is not None and self.count < 1:
            raise ValueError(f"count: must be >= 1 or null, got {self.count}")
        if self.start_ms is not None and self.end_ms is not None and self.end_ms <= self.start_ms:
            raise ValueError("end_ms: must be after start_ms")
        modes = {"down": ("503", "refused"), "reject": ("error", "status")}.get(self.kind, ("",))
        self.mode = self.mode or modes[0]
        if self.mode not in modes:
            allowed = " or ".join(repr(m) for m in modes)
            raise ValueError(f"mode: must be {allowed} for a {self.kind} fault, got {self.mode!r}")
        if self.kind == "latency" and self.latency_ms <= 0:
            raise ValueError("latency_ms: must be > 0 for a latency fault")
        if self.kind == "rate_limit" and self.retry_after_s < 0:
            raise ValueError("retry_after_s: must be >= 0")
        if self.kind == "metadata_missing" and not self.symbol:
            raise ValueError("symbol: required for a metadata_missing fault")
        if self.kind == "reject" and self.endpoint == "*":
            self.endpoint = "order.create"
        if self.kind == "metadata_missing" and self.endpoint == "*":
            self.endpoint = "markets"
        if self.kind == "response_lost" and self.endpoint == "*":
            self.endpoint = "order.create"
        if self.symbol:
            self.symbol = self.symbol.upper()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        """Build from JSON-like input (the admin API); errors name the field."""
        allowed = {
            "kind", "exchange", "endpoint", "start_ms", "end_ms", "after_requests", "count",
            "mode", "retry_after_s", "code", "message", "http_status", "latency_ms", "symbol",
        }  # fmt: skip
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown fault field")
        if "kind" not in data:
            raise ValueError("kind: required")
        ints = {"start_ms", "end_ms", "after_requests", "count", "retry_after_s", "http_status"}
        ints.add("latency_ms")
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if value is None:
                if key in ("kind", "exchange", "endpoint", "after_requests", "mode"):
                    raise ValueError(f"{key}: must not be null")
            elif key in ints and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{key}: must be an integer, got {value!r}")
            elif key not in ints and not isinstance(value, str):
                raise ValueError(f"{key}: must be a string, got {value!r}")
            kwargs[key] = value
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def matches(self, exchange: str, endpoint: str, now_ms: int) -> bool:
        if not fnmatch.fnmatchcase(exchange, self.exchange):
            return False
        if not fnmatch.fnmatchcase(endpoint, self.endpoint):
            return False
        if self.kind == "bad_keys" and endpoint not in PRIVATE_ENDPOINTS:
            return False
        if self.start_ms is not None and now_ms < self.start_ms:
            return False
        return not (self.end_ms is not None and now_ms >= self.end_ms)

    def due(self) -> bool:
        """Counting this matching request, does the fault apply to it?"""
        index = self.seen  # 0-based index of the current matching request
        self.seen += 1
        if index < self.after_requests:
            return False
        return self.count is None or index < self.after_requests + self.count


@dataclass(slots=True)
class FaultEffects:
    """Faults that do not refuse the request."""

    latency_ms: int = 0
    response_lost: bool = False
    rejected_status: tuple[str, str] | None = None  # (code, message) of a status-mode reject
    hidden_symbols: set[str] = field(default_factory=set)
    fault_ids: list[str] = field(default_factory=list)


class FaultSchedule:
    """The simulator's fault list. ``clock`` gives simulated time, ``log`` receives a record
    each time a fault fires, ``catalogs`` hold each venue's error codes."""

    def __init__(
        self,
        *,
        clock: Callable[[], int],
        log: Callable[[dict[str, Any]], None],
        catalogs: dict[str, ErrorCatalog],
    ) -> None:
        self._clock = clock
        self._log = log
        self._catalogs = catalogs
        self._faults: list[Fault] = []
        self._next_id = 1

    @property
    def faults(self) -> list[Fault]:
        return list(self._faults)

    def add(self, kind: str | Fault, **kwargs: Any) -> Fault:
        """Schedule a fault: ``add("rate_limit", exchange="binance", count=3)`` or
        ``add(Fault(...))``. Returns it with its ``fault_id`` set."""
        fault = kind if isinstance(kind, Fault) else Fault(kind=kind, **kwargs)
        if fault.exchange != "*" and not any(
            fnmatch.fnmatchcase(name, fault.exchange) for name in self._catalogs
        ):
            raise ValueError(f"exchange: no venue matches {fault.exchange!r}")
        if not any(fnmatch.fnmatchcase(name, fault.endpoint) for name in ENDPOINTS):
            raise ValueError(f"endpoint: no endpoint matches {fault.endpoint!r}")
        fault.fault_id = f"F{self._next_id}"
        self._next_id += 1
        self._faults.append(fault)
        return fault

    def remove(self, fault_id: str) -> None:
        before = len(self._faults)
        self._faults = [f for f in self._faults if f.fault_id != fault_id]
        if len(self._faults) == before:
            raise KeyError(f"fault_id: unknown fault {fault_id!r}")

    def clear(self, exchange: str | None = None) -> None:
        """Remove every fault, or only those scheduled for ``exchange``."""
        if exchange is None:
            self._faults = []
        else:
            self._faults = [f for f in self._faults if f.exchange != exchange]

    def check(self, exchange: str, endpoint: str, *, symbol: str | None = None) -> FaultEffects:
        """Apply the faults due for this request: raise for refusing ones, return the rest.

        Every matching fault counts the request, even when an earlier one refuses it.
        """
        now_ms = self._clock()
        effects = FaultEffects()
        refusal: SimError | None = None
        for fault in self._faults:
            if not fault.matches(exchange, endpoint, now_ms):
                continue
            if fault.kind == "reject" and fault.symbol and symbol != fault.symbol:
                continue
            if not fault.due():
                continue
            fault.fired += 1
            self._log(
                {
                    "time_ms": now_ms,
                    "kind": "fault",
                    "fault": fault.kind,
                    "fault_id": fault.fault_id,
                    "exchange": exchange,
                    "endpoint": endpoint,
                    "symbol": symbol,
                }
            )
            effects.fault_ids.append(fault.fault_id)
            if fault.kind == "latency":
                effects.latency_ms += fault.latency_ms
            elif fault.kind == "response_lost":
                effects.response_lost = True
            elif fault.kind == "metadata_missing":
                effects.hidden_symbols.add(str(fault.symbol))
            elif fault.kind == "reject" and fault.mode == "status":
                refused = self._refusal(fault, exchange)
                effects.rejected_status = (refused.code, refused.message)
            elif refusal is None:
                refusal = self._refusal(fault, exchange)
        if refusal is not None:
            raise refusal
        return effects

    def _refusal(self, fault: Fault, exchange: str) -> SimError:
        catalog = self._catalogs[exchange]
        if fault.kind == "down":
            return catalog.error("exchange_down", mode=fault.mode)
        if fault.kind == "rate_limit":
            return catalog.error("rate_limited", retry_after_s=fault.retry_after_s)
        if fault.kind == "bad_keys":
            return catalog.error("bad_api_key")
        base = catalog.specs["order_rejected"]
        return SimError(
            fault.code or base.code,
            fault.message or base.message,
            fault.http_status or base.http_status,
            reason="order_rejected",
            exchange=exchange,
        )
