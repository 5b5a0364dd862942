"""Plain input records the report builders take: trades, equity, exposure, fills, queue events,
e2e checks and scenario results. Each validates itself on construction and raises
:class:`ReportInputError` naming the field and a reason code; nothing bad is dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from engine.domain import ZERO, OrderPurpose, OrderSide, PositionSide, to_decimal

__all__ = [
    "ReportInputError",
    "TradeRecord",
    "EquityPoint",
    "ExposurePoint",
    "FillRecord",
    "QueueEventRecord",
    "CheckResult",
    "ScenarioResult",
    "SCENARIO_STATUSES",
]

SCENARIO_STATUSES = ("passed", "failed", "skipped")


class ReportInputError(ValueError):
    """Bad input to a report builder: ``field`` names the value, ``reason`` is a short code."""

    def __init__(self, field: str, reason: str, detail: str) -> None:
        super().__init__(f"{field}: {reason}: {detail}")
        self.field = field
        self.reason = reason


def _dec(value: object, field: str) -> Decimal:
    try:
        return to_decimal(value, field=field)
    except ValueError as exc:
        raise ReportInputError(field, "not_a_decimal", str(exc)) from None


def _positive(value: object, field: str) -> Decimal:
    result = _dec(value, field)
    if result <= 0:
        raise ReportInputError(field, "not_positive", f"must be > 0, got {result}")
    return result


def _int(value: object, field: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReportInputError(field, "not_an_int", f"expected an int, got {value!r}")
    if minimum is not None and value < minimum:
        raise ReportInputError(field, "out_of_range", f"must be >= {minimum}, got {value}")
    return value


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ReportInputError(field, "empty", f"expected a non-empty string, got {value!r}")
    return value


def _set(record: object, name: str, value: object) -> None:
    object.__setattr__(record, name, value)


def _position_side(value: object, field: str) -> PositionSide:
    if isinstance(value, PositionSide):
        return value
    aliases = {"long": PositionSide.LONG, "buy": PositionSide.LONG}
    aliases |= {"short": PositionSide.SHORT, "sell": PositionSide.SHORT}
    if isinstance(value, str) and value.lower() in aliases:
        return aliases[value.lower()]
    raise ReportInputError(field, "bad_side", f"expected long/short/buy/sell, got {value!r}")


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One trade (a position group, or a single e2e position), prices in quote currency.

    ``entry_price``/``exit_price`` are the quantity-weighted averages over all entry fills and
    all closes; ``fees`` is every fee paid on it, in quote currency. A trade with an
    ``exit_price`` is closed and its PnL is computed: long ``(exit − entry) × qty − fees``,
    short ``(entry − exit) × qty − fees``. An open trade's realised PnL so far (partial closes)
    cannot be derived from averages, so the caller gives it in ``open_realised_pnl``.
    ``closed_pnl`` is a closed trade's realised PnL when the averages cannot give it either:
    an exchange's quantity step left a sub-step remainder unsold (it stays open at cost), so
    less than ``quantity`` was sold at ``exit_price``.
    """

    trade_id: str
    symbol: str
    side: PositionSide
    entry_price: Decimal
    quantity: Decimal
    entry_time_ms: int
    exit_price: Decimal | None = None
    exit_time_ms: int | None = None
    fees: Decimal = ZERO
    exchange: str = ""
    timeframe: int | None = None
    exit_reason: str | None = None
    open_realised_pnl: Decimal = ZERO
    pyramids: int | None = None
    closed_pnl: Decimal | None = None

    def __post_init__(self) -> None:
        where = f"trade[{self.trade_id!r}]"
        _text(self.trade_id, "trade.trade_id")
        _text(self.symbol, f"{where}.symbol")
        _set(self, "side", _position_side(self.side, f"{where}.side"))
        _set(self, "entry_price", _positive(self.entry_price, f"{where}.entry_price"))
        _set(self, "quantity", _positive(self.quantity, f"{where}.quantity"))
        _int(self.entry_time_ms, f"{where}.entry_time_ms", minimum=0)
        _set(self, "fees", _dec(self.fees, f"{where}.fees"))
        _set(self, "open_realised_pnl", _dec(self.open_realised_pnl, f"{where}.open_realised_pnl"))
        if self.timeframe is not None:
            _int(self.timeframe, f"{where}.timeframe", minimum=1)
        if self.pyramids is not None:
            _int(self.pyramids, f"{where}.pyramids", minimum=1)
        if (self.exit_price is None) != (self.exit_time_ms is None):
            raise ReportInputError(
                f"{where}.exit_time_ms",
                "incomplete_exit",
                "exit_price and exit_time_ms go together",
            )
        if self.exit_price is not None:
            _set(self, "exit_price", _positive(self.exit_price, f"{where}.exit_price"))
            exit_ms = _int(self.exit_time_ms, f"{where}.exit_time_ms", minimum=0)
            if exit_ms < self.entry_time_ms:
                raise ReportInputError(
                    f"{where}.exit_time_ms",
                    "exit_before_entry",
                    f"{exit_ms} < {self.entry_time_ms}",
                )
            if self.open_realised_pnl != ZERO:
                raise ReportInputError(
                    f"{where}.open_realised_pnl",
                    "closed_trade",
                    "a closed trade's PnL is computed from its prices, not given",
                )
        if self.closed_pnl is not None:
            _set(self, "closed_pnl", _dec(self.closed_pnl, f"{where}.closed_pnl"))
            if self.exit_price is None:
                raise ReportInputError(
                    f"{where}.closed_pnl",
                    "open_trade",
                    "an open trade's realised PnL goes in open_realised_pnl",
                )

    @property
    def is_closed(self) -> bool:
        return self.exit_price is not None

    @property
    def entry_notional(self) -> Decimal:
        return self.entry_price * self.quantity

    @property
    def realised_pnl(self) -> Decimal:
        """Closed: ``closed_pnl`` when given, else computed from the prices, net of fees.
        Open: ``open_realised_pnl``."""
        if self.exit_price is None:
            return self.open_realised_pnl
        if self.closed_pnl is not None:
            return self.closed_pnl
        gross = (self.exit_price - self.entry_price) * self.quantity * self.side.sign
        return gross - self.fees

    @property
    def return_percent(self) -> Decimal | None:
        """Net PnL over the entry notional × 100; ``None`` while the trade is open."""
        if not self.is_closed:
            return None
        return self.realised_pnl / self.entry_notional * 100


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """Account equity at ``at_ms``: ``total`` = realised + unrealised; ``realised`` optional."""

    at_ms: int
    total: Decimal
    realised: Decimal | None = None

    def __post_init__(self) -> None:
        _int(self.at_ms, "equity.at_ms", minimum=0)
        _set(self, "total", _dec(self.total, f"equity[{self.at_ms}].total"))
        if self.realised is not None:
            _set(self, "realised", _dec(self.realised, f"equity[{self.at_ms}].realised"))


@dataclass(frozen=True, slots=True)
class ExposurePoint:
    """Committed capital (SPEC §8.1) and pool usage at ``at_ms``."""

    at_ms: int
    exposure_usd: Decimal
    open_groups: int
    pool_size: int | None = None

    def __post_init__(self) -> None:
        _int(self.at_ms, "exposure.at_ms", minimum=0)
        _set(self, "exposure_usd", _dec(self.exposure_usd, f"exposure[{self.at_ms}].exposure_usd"))
        _int(self.open_groups, f"exposure[{self.at_ms}].open_groups", minimum=0)
        if self.pool_size is not None:
            _int(self.pool_size, f"exposure[{self.at_ms}].pool_size", minimum=1)


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One fill of one order of a group (entry/DCA legs, TPs, exits, risk closes)."""

    at_ms: int
    group_id: str
    symbol: str
    pyramid_index: int
    leg_index: int
    purpose: OrderPurpose
    side: OrderSide
    price: Decimal
    quantity: Decimal
    fee: Decimal = ZERO
    fee_currency: str = "USDT"
    client_order_id: str = ""

    def __post_init__(self) -> None:
        where = f"fill[{self.group_id!r}/{self.client_order_id!r}]"
        _int(self.at_ms, f"{where}.at_ms", minimum=0)
        _text(self.group_id, "fill.group_id")
        _text(self.symbol, f"{where}.symbol")
        _int(self.pyramid_index, f"{where}.pyramid_index", minimum=0)
        _int(self.leg_index, f"{where}.leg_index", minimum=0)
        try:
            _set(self, "purpose", OrderPurpose(self.purpose))
        except ValueError:
            raise ReportInputError(f"{where}.purpose", "bad_purpose", repr(self.purpose)) from None
        try:
            _set(self, "side", OrderSide(self.side))
        except ValueError:
            raise ReportInputError(f"{where}.side", "bad_side", repr(self.side)) from None
        _set(self, "price", _positive(self.price, f"{where}.price"))
        _set(self, "quantity", _positive(self.quantity, f"{where}.quantity"))
        _set(self, "fee", _dec(self.fee, f"{where}.fee"))


@dataclass(frozen=True, slots=True)
class QueueEventRecord:
    """Something that happened to the waiting queue (queued, replaced, promoted, removed...)."""

    at_ms: int
    action: str
    signal_id: str
    symbol: str
    side: str = ""
    timeframe: int | None = None
    exchange: str = ""
    reason: str | None = None
    queue_length: int | None = None

    def __post_init__(self) -> None:
        _int(self.at_ms, "queue_event.at_ms", minimum=0)
        _text(self.action, f"queue_event[{self.signal_id!r}].action")
        _text(self.signal_id, "queue_event.signal_id")
        _text(self.symbol, f"queue_event[{self.signal_id!r}].symbol")
        if self.queue_length is not None:
            _int(self.queue_length, f"queue_event[{self.signal_id!r}].queue_length", minimum=0)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One verification of the e2e flow (a "test" in the seed's pass counts)."""

    phase: str
    name: str
    passed: bool
    message: str = ""

    def __post_init__(self) -> None:
        _text(self.phase, "check.phase")
        _text(self.name, f"check[{self.phase}].name")
        if not isinstance(self.passed, bool):
            raise ReportInputError(f"check[{self.name!r}].passed", "not_a_bool", repr(self.passed))


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """The outcome of one Gherkin scenario (one Examples row of an outline).

    ``key`` is unique in a run (feature path and pytest id); ``test_id`` is the testing plan's
    id taken from the tags (``t1_1``, ``e2e``); ``phase`` is ``phase1``... or ``e2e``.
    ``duration_seconds`` is wall-clock time and lands in the report's ``wall_clock`` section.
    """

    key: str
    test_id: str
    name: str
    phase: str
    status: str
    feature: str = ""
    tags: tuple[str, ...] = ()
    steps_total: int = 0
    steps_passed: int = 0
    failing_step: str | None = None
    message: str | None = None
    location: str | None = None
    duration_seconds: Decimal = ZERO

    def __post_init__(self) -> None:
        _text(self.key, "scenario.key")
        where = f"scenario[{self.key!r}]"
        _text(self.test_id, f"{where}.test_id")
        _text(self.name, f"{where}.name")
        _text(self.phase, f"{where}.phase")
        if self.status not in SCENARIO_STATUSES:
            raise ReportInputError(
                f"{where}.status", "bad_status", f"expected one of {SCENARIO_STATUSES}"
            )
        if self.status == "failed" and not self.failing_step:
            raise ReportInputError(
                f"{where}.failing_step", "missing", "a failed scenario names its failing step"
            )
        _int(self.steps_total, f"{where}.steps_total", minimum=0)
        _int(self.steps_passed, f"{where}.steps_passed", minimum=0)
        if self.steps_passed > self.steps_total:
            raise ReportInputError(f"{where}.steps_passed", "out_of_range", "more than total")
        _set(self, "tags", tuple(self.tags))
        seconds = _dec(self.duration_seconds, f"{where}.duration_seconds")
        if seconds < 0:
            raise ReportInputError(f"{where}.duration_seconds", "negative", str(seconds))
        _set(self, "duration_seconds", seconds)
