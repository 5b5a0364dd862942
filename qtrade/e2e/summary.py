"""The per-phase summary table ``qtrade run`` prints: the testing plan's phases (scenarios
passed / failed / skipped, wall time) and the e2e flow's nine phases (state, checks,
fallback, wall time), then the report files and the overall result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from qtrade.e2e.suite import SuiteRun
from reports import E2EReport, TestingPlanReport

__all__ = ["summary_text", "table"]


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    """Plain-text columns; ``right`` holds the indexes of right-aligned columns."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(c).rjust(widths[i]) if i in right else str(c).ljust(widths[i])
            for i, c in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _seconds(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def _plan_lines(plan: TestingPlanReport, suite: SuiteRun | None) -> list[str]:
    seconds: Mapping[str, Decimal] = plan.wall_clock.phase_seconds
    rows = [
        [
            phase.phase,
            phase.title,
            str(phase.passed),
            str(phase.failed),
            str(phase.skipped),
            phase.status.upper(),
            _seconds(seconds.get(phase.phase)),
        ]
        for phase in plan.phases
    ]
    totals = plan.totals
    rows.append(
        [
            "total",
            f"{totals.scenarios} scenarios",
            str(totals.passed),
            str(totals.failed),
            str(totals.skipped),
            plan.status.upper(),
            _seconds(suite.seconds if suite is not None else None),
        ]
    )
    header = ["phase", "title", "passed", "failed", "skipped", "status", "time"]
    lines = ["", "Testing plan (features)", *table(header, rows, {2, 3, 4, 6})]
    for phase in plan.phases:
        for scenario in phase.scenarios:
            if scenario.status == "failed":
                first = (scenario.message or "").splitlines()[:1]
                lines.append(
                    f"  FAILED {scenario.id} {scenario.name}: {scenario.failing_step}"
                    + (f" -> {first[0]}" if first else "")
                )
    return lines


def _e2e_lines(e2e: E2EReport) -> list[str]:
    seconds = e2e.wall_clock.phase_seconds
    rows = [
        [
            phase.name,
            phase.state.upper(),
            f"{phase.passed_tests}/{phase.passed_tests + phase.failed_tests}",
            phase.fallback or "-",
            _seconds(seconds.get(phase.name)),
        ]
        for phase in e2e.phases
    ]
    summary = e2e.summary
    done = sum(1 for phase in e2e.phases if phase.state == "complete")
    head = (
        f"E2E prediction-to-profit flow: {e2e.status} - {done}/{len(e2e.phases)} phases, "
        f"{summary.passed_tests}/{summary.passed_tests + summary.failed_tests} checks, "
        f"{summary.closed_trades}/{summary.total_trades} trades closed, "
        f"realised PnL {summary.total_profit}"
    )
    lines = ["", head, *table(["phase", "state", "checks", "fallback", "time"], rows, {2, 4})]
    lines += [
        f"  FAILED check [{c.phase}] {c.name}: {c.message}" for c in e2e.checks if not c.passed
    ]
    return lines


def summary_text(
    status: str,
    plan: TestingPlanReport,
    e2e: E2EReport | None,
    suite: SuiteRun | None,
    files: Mapping[str, Path],
    problems: Sequence[str],
) -> str:
    lines: list[str] = []
    if suite is not None:
        lines += _plan_lines(plan, suite)
    if e2e is not None:
        lines += _e2e_lines(e2e)
    lines += ["", "Reports:"]
    lines += [f"  {kind:<13} {path}" for kind, path in sorted(files.items())]
    lines += [f"problem: {text}" for text in problems]
    lines += ["", f"qtrade run: {status}"]
    return "\n".join(lines)
