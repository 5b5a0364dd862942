"""The testing-plan report (``testing_plan.json``): the multi-exchange testing plan's phases
and scenarios with pass/fail, KPIs, trades, equity and the per-symbol table.

Ordering is fixed so two runs give the same document: phases ``phase1``..``phaseN`` by number,
then ``e2e``, then other names alphabetically; scenarios by test id in natural order
(``t1_2`` before ``t1_10``), then name, then key. A phase is failed when any scenario failed,
skipped when all were skipped, else passed; the report is ``passed`` only when nothing failed
and something passed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from engine.domain import ZERO
from reports import metrics
from reports.model import E2EReport, PhaseRow, PlanKpis, PlanTotals, ScenarioRow, TestingPlanReport
from reports.numbers import money, opt_ratio
from reports.records import EquityPoint, ReportInputError, ScenarioResult, TradeRecord
from reports.sections import (
    DEFAULT_MAX_CHART_POINTS,
    equity_rows,
    histogram_rows,
    latency_rows,
    per_symbol_rows,
    realised_equity_curve,
    trade_rows,
    trade_stats,
    wall_clock_section,
)

__all__ = ["PHASE_TITLES", "phase_sort_key", "natural_key", "build_testing_plan_report"]

PHASE_TITLES = {
    "phase1": "Phase 1: Single exchange, single position flow",
    "phase2": "Phase 2: Multi-exchange parallel operations",
    "phase3": "Phase 3: Risk engine",
    "phase4": "Phase 4: Edge cases and error handling",
    "phase5": "Phase 5: UI and dashboard validation",
    "phase6": "Phase 6: Data integrity and persistence",
    "phase7": "Phase 7: Stress testing",
    "e2e": "E2E prediction-to-profit flow",
}
_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key treating digit runs as numbers: ``t1_2`` < ``t1_10``."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(text) if part
    )


def phase_sort_key(phase: str) -> tuple[int, tuple[tuple[int, int | str], ...]]:
    if re.fullmatch(r"phase\d+", phase):
        return (0, natural_key(phase))
    if phase == "e2e":
        return (1, ())
    if phase == "unassigned":
        return (3, ())
    return (2, natural_key(phase))


def _scenario_row(result: ScenarioResult) -> ScenarioRow:
    return ScenarioRow(
        key=result.key,
        id=result.test_id,
        name=result.name,
        feature=result.feature,
        tags=list(result.tags),
        status=result.status,  # type: ignore[arg-type]
        steps_total=result.steps_total,
        steps_passed=result.steps_passed,
        failing_step=result.failing_step,
        message=result.message,
        location=result.location,
    )


def _phase_row(phase: str, results: Sequence[ScenarioResult]) -> PhaseRow:
    ordered = sorted(results, key=lambda r: (natural_key(r.test_id), r.name, r.key))
    passed = sum(1 for r in results if r.status == "passed")
    failed = sum(1 for r in results if r.status == "failed")
    skipped = len(results) - passed - failed
    status = "failed" if failed else ("skipped" if passed == 0 else "passed")
    return PhaseRow(
        phase=phase,
        title=PHASE_TITLES.get(phase, phase),
        status=status,  # type: ignore[arg-type]
        scenarios_total=len(results),
        passed=passed,
        failed=failed,
        skipped=skipped,
        scenarios=[_scenario_row(r) for r in ordered],
    )


def build_testing_plan_report(
    *,
    scenarios: Sequence[ScenarioResult],
    trades: Sequence[TradeRecord] = (),
    equity: Sequence[EquityPoint] | None = None,
    starting_equity: Decimal = ZERO,
    orders_placed: int = 0,
    orders_filled: int = 0,
    latencies_ms: Mapping[str, Sequence[int]] | None = None,
    wall_latencies_ms: Mapping[str, Sequence[int]] | None = None,
    started: datetime | None = None,
    completed: datetime | None = None,
    e2e: E2EReport | None = None,
    title: str = "Multi-exchange testing plan",
    max_chart_points: int = DEFAULT_MAX_CHART_POINTS,
) -> TestingPlanReport:
    """Build the report from scenario results (see ``reports.cucumber``), the run's trades and
    equity (when ``equity`` is ``None`` it is derived from the closed trades, starting at
    ``starting_equity``). ``e2e`` embeds the e2e flow's report as a section."""
    keys = [s.key for s in scenarios]
    if len(set(keys)) != len(keys):
        duplicate = next(k for k in keys if keys.count(k) > 1)
        raise ReportInputError("scenarios", "duplicate_scenario", duplicate)
    by_phase: dict[str, list[ScenarioResult]] = {}
    for result in scenarios:
        by_phase.setdefault(result.phase, []).append(result)
    phases = [_phase_row(p, by_phase[p]) for p in sorted(by_phase, key=phase_sort_key)]

    passed = sum(p.passed for p in phases)
    failed = sum(p.failed for p in phases)
    skipped = sum(p.skipped for p in phases)
    ran = passed + failed
    totals = PlanTotals(
        scenarios=len(scenarios),
        passed=passed,
        failed=failed,
        skipped=skipped,
        pass_rate=opt_ratio(Decimal(passed) / ran if ran else None),
    )

    curve = list(equity) if equity is not None else realised_equity_curve(trades, starting_equity)
    drawdown = metrics.max_drawdown([p.total for p in curve])
    stats = trade_stats(trades)
    kpis = PlanKpis(
        orders_placed=orders_placed,
        orders_filled=orders_filled,
        fill_rate=opt_ratio(metrics.fill_rate(orders_placed, orders_filled)),
        win_rate=stats.win_rate,
        profit_factor=stats.profit_factor,
        max_drawdown=money(drawdown.absolute),
        max_drawdown_percent=opt_ratio(drawdown.percent),
        latencies=latency_rows(latencies_ms or {}),
    )
    phase_seconds = {
        phase: sum((r.duration_seconds for r in results), ZERO)
        for phase, results in by_phase.items()
    }
    wall = wall_clock_section(
        started,
        completed,
        phase_seconds=phase_seconds,
        scenario_seconds={s.key: s.duration_seconds for s in scenarios},
        latencies_ms=wall_latencies_ms,
    )
    return TestingPlanReport(
        title=title,
        status="passed" if failed == 0 and passed > 0 else "failed",
        totals=totals,
        phases=phases,
        kpis=kpis,
        trade_stats=stats,
        trades=trade_rows(trades),
        equity=equity_rows(curve, max_chart_points),
        histogram=histogram_rows(trades),
        per_symbol=per_symbol_rows(trades),
        e2e=e2e,
        wall_clock=wall,
    )
