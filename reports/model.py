"""The report documents: typed, frozen models whose JSON form is the report.

Builders (``reports.e2e``, ``reports.testing_plan``, ``reports.backtest``) compute these from
plain records; the HTML, CSV and PNG renderers read them back from the JSON with
:func:`load_report`. Field order is the JSON key order. Everything taken from the wall clock
sits in the seed's top-level time fields (e2e) or in the ``wall_clock`` section, so two runs of
the same inputs differ only there (``reports.jsonio.strip_wall_clock``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, PlainSerializer, ValidationError

from reports.jsonio import dumps, loads

__all__ = [
    "SCHEMA_VERSION",
    "E2E_PHASES",
    "E2E_PHASE_LABELS",
    "TradeRow",
    "EquityRow",
    "HistogramRow",
    "SymbolTableRow",
    "HeatmapCell",
    "LatencyRow",
    "TradeStats",
    "WallClock",
    "E2ESummary",
    "E2EPhase",
    "E2ECheck",
    "E2EKpis",
    "E2EReport",
    "ScenarioRow",
    "PhaseRow",
    "PlanTotals",
    "PlanKpis",
    "TestingPlanReport",
    "FillRow",
    "RiskWinnerRow",
    "RiskActionRow",
    "QueueEventRow",
    "ExposureRow",
    "LegsPerPyramidRow",
    "FeeRow",
    "BacktestPeriod",
    "BacktestMetrics",
    "BacktestReport",
    "Report",
    "ReportLoadError",
    "load_report",
    "parse_report",
]

SCHEMA_VERSION = 1

# The e2e flow's nine phases, in the seed's order, with the seed's completion labels.
E2E_PHASES = (
    "initialization",
    "prediction",
    "signal_generation",
    "entry_logic",
    "order_placement",
    "fill_verification",
    "position_monitoring",
    "profit_taking",
    "settlement",
)
E2E_PHASE_LABELS = {"complete": "✅ COMPLETE", "failed": "❌ FAILED", "not_run": "⏹ NOT RUN"}


# JSON serialisation goes through pydantic's fast serialiser. It can only write a Decimal as a
# string, so each Decimal is written as a marked string and the marks are then stripped, which
# leaves the exact digits as a JSON number (reports.jsonio.dumps writes the same bytes, slowly).
_MARK = "\x00#"
_MARKED = re.compile(r'"\\u0000#(-?[0-9]+(?:\.[0-9]+)?)"')


def _mark(value: Decimal) -> str:
    return _MARK + format(value.copy_abs() if value.is_zero() else value, "f")


Num = Annotated[Decimal, PlainSerializer(_mark, when_used="json")]


class _Doc(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class _Report(_Doc):
    def to_dict(self) -> dict[str, Any]:
        """The document as plain Python values (Decimals stay Decimals)."""
        return self.model_dump(mode="python")

    def to_json(self) -> str:
        """Canonical JSON text: Decimals as exact numbers, keys in declaration order."""
        if _has_extras(self):
            # unknown keys kept from a loaded file may hold Decimals pydantic cannot mark
            return dumps(self.to_dict())
        return _MARKED.sub(r"\1", self.model_dump_json(indent=2)) + "\n"


# ---------------------------------------------------------------- shared rows


class TradeRow(_Doc):
    """The seed's trade object, then extra keys. Times are ISO 8601 UTC."""

    trade_id: str
    symbol: str
    side: Literal["BUY", "SELL"]
    status: Literal["OPEN", "CLOSED"]
    entry_price: Num
    entry_fill_time: str
    exit_price: Num | None
    exit_time: str | None
    quantity: Num
    profit_pnl: Num | None
    profit_percent: Num | None
    exchange: str = ""
    timeframe: int | None = None
    position_side: Literal["long", "short"] = "long"
    fees: Num = Decimal(0)
    realised_pnl: Num = Decimal(0)
    exit_reason: str | None = None
    pyramids: int | None = None
    entry_time_ms: int | None = None
    exit_time_ms: int | None = None


class EquityRow(_Doc):
    at_ms: int
    time: str
    total: Num
    realised: Num | None
    drawdown: Num
    drawdown_percent: Num | None


class HistogramRow(_Doc):
    lower: Num
    upper: Num
    count: int


class SymbolTableRow(_Doc):
    exchange: str
    symbol: str
    trades: int
    closed: int
    wins: int
    losses: int
    win_rate: Num | None
    realised_pnl: Num
    fees: Num


class HeatmapCell(_Doc):
    symbol: str
    timeframe: int | None
    trades: int
    realised_pnl: Num


class LatencyRow(_Doc):
    name: str
    count: int
    p50_ms: int | None
    p95_ms: int | None
    p99_ms: int | None
    max_ms: int | None


class TradeStats(_Doc):
    total_trades: int
    closed_trades: int
    open_trades: int
    wins: int
    losses: int
    win_rate: Num | None
    average_win: Num | None
    average_loss: Num | None
    profit_factor: Num | None
    total_realised_pnl: Num
    average_return_percent: Num | None
    fees_paid: Num


class WallClock(_Doc):
    """Every wall-clock value of a report (the only part allowed to differ between runs)."""

    started: str | None = None
    completed: str | None = None
    duration_seconds: Num | None = None
    phase_seconds: dict[str, Num] = {}
    scenario_seconds: dict[str, Num] = {}
    latencies: list[LatencyRow] = []


# ---------------------------------------------------------------- e2e (seed schema)


class E2ESummary(_Doc):
    model_config = ConfigDict(frozen=True, extra="allow", allow_inf_nan=False)

    total_trades: int
    closed_trades: int
    total_profit: Num
    average_profit_percent: Num | None
    passed_tests: int
    failed_tests: int
    win_rate: Num | None
    profit_factor: Num | None


class E2EPhase(_Doc):
    name: str
    state: Literal["complete", "failed", "not_run"]
    fallback: str | None = None
    passed_tests: int = 0
    failed_tests: int = 0


class E2ECheck(_Doc):
    phase: str
    name: str
    passed: bool
    message: str = ""


class E2EKpis(_Doc):
    pass_rate: Num | None
    orders_placed: int
    orders_filled: int
    fill_rate: Num | None
    tp_hit_rate: Num | None
    win_rate: Num | None
    profit_factor: Num | None
    average_profit: Num | None
    max_drawdown: Num
    max_drawdown_percent: Num | None
    latencies: list[LatencyRow] = []


class E2EReport(_Report):
    """``e2e_report.json``: the seed's keys first and unchanged in meaning, then extras."""

    model_config = ConfigDict(frozen=True, extra="allow", allow_inf_nan=False)

    status: Literal["SUCCESS", "PARTIAL", "FAILURE"]
    test_started: str
    test_completed: str
    duration_seconds: Num
    phases_completed: dict[str, str]
    summary: E2ESummary
    trades: list[TradeRow]
    report_type: Literal["e2e"] = "e2e"
    schema_version: int = SCHEMA_VERSION
    title: str = "E2E prediction-to-profit flow"
    phases: list[E2EPhase] = []
    checks: list[E2ECheck] = []
    kpis: E2EKpis | None = None
    equity: list[EquityRow] = []
    histogram: list[HistogramRow] = []
    per_symbol: list[SymbolTableRow] = []
    wall_clock: WallClock = WallClock()


# ---------------------------------------------------------------- testing plan


class ScenarioRow(_Doc):
    key: str
    id: str
    name: str
    feature: str
    tags: list[str]
    status: Literal["passed", "failed", "skipped"]
    steps_total: int
    steps_passed: int
    failing_step: str | None
    message: str | None
    location: str | None


class PhaseRow(_Doc):
    phase: str
    title: str
    status: Literal["passed", "failed", "skipped"]
    scenarios_total: int
    passed: int
    failed: int
    skipped: int
    scenarios: list[ScenarioRow]


class PlanTotals(_Doc):
    scenarios: int
    passed: int
    failed: int
    skipped: int
    pass_rate: Num | None


class PlanKpis(_Doc):
    orders_placed: int
    orders_filled: int
    fill_rate: Num | None
    win_rate: Num | None
    profit_factor: Num | None
    max_drawdown: Num
    max_drawdown_percent: Num | None
    latencies: list[LatencyRow]


class TestingPlanReport(_Report):
    """``testing_plan.json``: phases → scenarios, KPIs, trades, equity, per-symbol table."""

    __test__: ClassVar[bool] = False  # not a pytest test class despite the name

    report_type: Literal["testing_plan"] = "testing_plan"
    schema_version: int = SCHEMA_VERSION
    title: str
    status: Literal["passed", "failed"]
    totals: PlanTotals
    phases: list[PhaseRow]
    kpis: PlanKpis
    trade_stats: TradeStats
    trades: list[TradeRow]
    equity: list[EquityRow]
    histogram: list[HistogramRow]
    per_symbol: list[SymbolTableRow]
    e2e: E2EReport | None = None
    wall_clock: WallClock = WallClock()


# ---------------------------------------------------------------- backtest


class FillRow(_Doc):
    at_ms: int
    time: str
    group_id: str
    symbol: str
    pyramid_index: int
    leg_index: int
    purpose: str
    side: Literal["buy", "sell"]
    price: Num
    quantity: Num
    fee: Num
    fee_currency: str
    client_order_id: str


class RiskWinnerRow(_Doc):
    group_id: str
    quantity: Num
    realised_usd: Num


class RiskActionRow(_Doc):
    action_id: str
    at_ms: int
    time: str
    user_id: str
    loser_group_id: str
    loser_loss_percent: Num
    loser_loss_usd: Num
    loser_close_quantity: Num
    covered_usd: Num
    net_usd: Num
    winners: list[RiskWinnerRow]


class QueueEventRow(_Doc):
    at_ms: int
    time: str
    action: str
    signal_id: str
    exchange: str
    symbol: str
    side: str
    timeframe: int | None
    reason: str | None
    queue_length: int | None


class ExposureRow(_Doc):
    at_ms: int
    time: str
    exposure_usd: Num
    open_groups: int
    pool_size: int | None
    pool_usage_percent: Num | None


class LegsPerPyramidRow(_Doc):
    legs_filled: int
    pyramids: int


class FeeRow(_Doc):
    currency: str
    amount: Num


class BacktestPeriod(_Doc):
    start_ms: int | None
    end_ms: int | None
    start: str | None
    end: str | None


class BacktestMetrics(_Doc):
    starting_equity: Num
    ending_equity: Num
    total_return_percent: Num | None
    total_realised_pnl: Num
    total_trades: int
    closed_trades: int
    open_trades: int
    wins: int
    losses: int
    win_rate: Num | None
    average_win: Num | None
    average_loss: Num | None
    profit_factor: Num | None
    sharpe: Num | None
    sortino: Num | None
    return_period: str
    periods_per_year: int
    max_drawdown: Num
    max_drawdown_percent: Num | None
    current_drawdown: Num
    current_drawdown_percent: Num | None
    fees_paid: Num
    max_exposure_usd: Num | None
    peak_open_groups: int | None
    risk_actions: int
    queue_events: int


class BacktestReport(_Report):
    """The backtest report (issue 6). ``equity``/``exposure`` may be thinned for charts
    (``equity_points_total`` says how many the run produced); metrics use every point."""

    report_type: Literal["backtest"] = "backtest"
    schema_version: int = SCHEMA_VERSION
    title: str
    parameters: dict[str, str]
    period: BacktestPeriod
    metrics: BacktestMetrics
    best_trades: list[TradeRow]
    worst_trades: list[TradeRow]
    histogram: list[HistogramRow]
    per_symbol: list[SymbolTableRow]
    pnl_heatmap: list[HeatmapCell]
    legs_per_pyramid: list[LegsPerPyramidRow]
    fees: list[FeeRow]
    equity_points_total: int
    equity: list[EquityRow]
    exposure: list[ExposureRow]
    trades: list[TradeRow]
    fills_total: int
    fills: list[FillRow]
    risk_actions: list[RiskActionRow]
    queue_history: list[QueueEventRow]
    wall_clock: WallClock = WallClock()


Report = E2EReport | TestingPlanReport | BacktestReport


def _has_extras(report: _Report) -> bool:
    e2e = report if isinstance(report, E2EReport) else getattr(report, "e2e", None)
    if not isinstance(e2e, E2EReport):
        return False
    return bool(e2e.model_extra) or bool(e2e.summary.model_extra)


class ReportLoadError(ValueError):
    """The JSON is not a report this package can read; the message names the field."""


def parse_report(document: Any) -> Report:
    """Validate a decoded JSON document into its report model (by ``report_type``; a document
    with the seed's ``phases_completed`` and no type is an e2e report)."""
    if not isinstance(document, dict):
        raise ReportLoadError("report: the top level must be a JSON object")
    kind = document.get("report_type", "e2e" if "phases_completed" in document else None)
    models: dict[str, type[_Report]] = {
        "e2e": E2EReport,
        "testing_plan": TestingPlanReport,
        "backtest": BacktestReport,
    }
    if kind not in models:
        raise ReportLoadError(f"report_type: unknown report type {kind!r}")
    try:
        report = models[kind].model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ReportLoadError(f"{where}: {first['msg']} ({exc.error_count()} errors)") from None
    assert isinstance(report, E2EReport | TestingPlanReport | BacktestReport)
    return report


def load_report(text: str | bytes) -> Report:
    """Parse report JSON text (numbers as Decimal) and validate it."""
    try:
        document = loads(text)
    except ValueError as exc:
        raise ReportLoadError(f"report: not valid JSON: {exc}") from None
    return parse_report(document)
