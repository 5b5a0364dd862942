"""The self-contained HTML report, rendered only from a report's JSON.

``render_html_from_json(text)`` loads the JSON (``reports.model.load_report``) and renders it;
``render_html(report)`` renders an already loaded model. The page has inline CSS and inline
SVG charts only — no script, no font, no link, no URL — so it opens offline, and a
Content-Security-Policy forbids fetching anything. The same JSON always gives the same bytes.
"""

from __future__ import annotations

from reports.html_backtest import backtest_body
from reports.html_common import (
    drawdown_chart,
    equity_chart,
    histogram_chart,
    latency_table,
    per_symbol_table,
    trades_table,
    wall_clock_footer,
)
from reports.htmlkit import (
    Cell,
    badge,
    esc,
    fmt_int,
    fmt_money,
    fmt_percent,
    fmt_plain,
    fmt_profit_factor,
    fmt_rate,
    kpi_grid,
    page,
    section,
    table,
)
from reports.model import E2EPhase, E2EReport, PhaseRow, Report, TestingPlanReport, load_report

__all__ = ["render_html", "render_html_from_json"]


def render_html_from_json(text: str | bytes) -> str:
    return render_html(load_report(text))


def render_html(report: Report) -> str:
    if isinstance(report, E2EReport):
        body = _e2e_body(report, level=1)
    elif isinstance(report, TestingPlanReport):
        body = _plan_body(report)
    else:
        body = backtest_body(report)
    return page(report.title, body)


# ---------------------------------------------------------------- e2e


def _e2e_body(report: E2EReport, level: int) -> str:
    summary = report.summary
    kpis = report.kpis
    heading = "h1" if level == 1 else "h2"
    parts = [
        f'<{heading} id="e2e-title">{esc(report.title)} {badge(report.status)}</{heading}>',
        f'<p class="sub">Started {esc(report.test_started)} · completed '
        f"{esc(report.test_completed)} · {esc(fmt_plain(report.duration_seconds))} s</p>",
    ]
    cards = [
        ("status", "Status", report.status),
        ("total_profit", "Total profit", fmt_money(summary.total_profit)),
        ("trades", "Closed / total trades", f"{summary.closed_trades} / {summary.total_trades}"),
        ("win_rate", "Win rate", fmt_rate(summary.win_rate)),
        ("profit_factor", "Profit factor", fmt_profit_factor(summary.profit_factor)),
        (
            "average_profit_percent",
            "Avg profit / trade",
            fmt_percent(summary.average_profit_percent),
        ),
        ("tests", "Checks passed / failed", f"{summary.passed_tests} / {summary.failed_tests}"),
    ]
    if kpis is not None:
        cards += [
            ("pass_rate", "Pass rate", fmt_rate(kpis.pass_rate)),
            ("fill_rate", "Order fill rate", fmt_rate(kpis.fill_rate)),
            ("tp_hit_rate", "TP hit rate", fmt_rate(kpis.tp_hit_rate)),
            ("max_drawdown", "Max drawdown", fmt_money(kpis.max_drawdown)),
        ]
    parts.append(kpi_grid(cards))

    phase_rows = [[name, label] for name, label in report.phases_completed.items()]
    details = {p.name: p for p in report.phases}
    parts.append(
        section(
            "e2e-phases",
            "Phases",
            table(
                ["Phase", "State", "Fallback used", "Checks passed", "Checks failed"],
                [
                    [
                        name,
                        Cell("", raw_html=badge(_phase_state(name, label, details))),
                        fmt_plain(details[name].fallback) if name in details else "—",
                        Cell(
                            fmt_int(details[name].passed_tests if name in details else None),
                            numeric=True,
                        ),
                        Cell(
                            fmt_int(details[name].failed_tests if name in details else None),
                            numeric=True,
                        ),
                    ]
                    for name, label in phase_rows
                ],
                row_classes=[
                    "failed" if name in details and details[name].state == "failed" else ""
                    for name, _ in phase_rows
                ],
                table_id="e2e-phase-table",
            ),
        )
    )
    if report.checks:
        parts.append(
            section(
                "e2e-checks",
                "Checks",
                table(
                    ["Phase", "Check", "Result", "Message"],
                    [
                        [c.phase, c.name, "passed" if c.passed else "FAILED", c.message]
                        for c in report.checks
                    ],
                    row_classes=["" if c.passed else "failed" for c in report.checks],
                    table_id="e2e-check-table",
                ),
            )
        )
    if kpis is not None and kpis.latencies:
        parts.append(
            section("e2e-latency", "Latencies", latency_table(kpis.latencies, "e2e-latency-table"))
        )
    parts.append(
        section(
            "e2e-charts",
            "Equity, drawdown, returns",
            '<div class="charts">',
            equity_chart(report.equity),
            drawdown_chart(report.equity),
            histogram_chart(report.histogram),
            "</div>",
        )
    )
    parts.append(section("e2e-symbols", "Per symbol", per_symbol_table(report.per_symbol)))
    parts.append(section("e2e-trades", "Trades", trades_table(report.trades, "e2e-trade-table")))
    if level == 1:
        parts.append(wall_clock_footer(report.wall_clock))
    return "".join(parts)


# ---------------------------------------------------------------- testing plan


def _plan_body(report: TestingPlanReport) -> str:
    totals = report.totals
    kpis = report.kpis
    stats = report.trade_stats
    wall = report.wall_clock
    parts = [
        f'<h1 id="plan-title">{esc(report.title)} {badge(report.status)}</h1>',
        f'<p class="sub">{totals.scenarios} scenarios in {len(report.phases)} phases</p>',
        kpi_grid(
            [
                ("status", "Status", report.status),
                (
                    "scenarios",
                    "Passed / failed / skipped",
                    f"{totals.passed} / {totals.failed} / {totals.skipped}",
                ),
                ("pass_rate", "Pass rate", fmt_rate(totals.pass_rate)),
                ("duration", "Duration (wall)", f"{fmt_plain(wall.duration_seconds)} s"),
                ("fill_rate", "Order fill rate", fmt_rate(kpis.fill_rate)),
                ("win_rate", "Win rate", fmt_rate(kpis.win_rate)),
                ("profit_factor", "Profit factor", fmt_profit_factor(kpis.profit_factor)),
                ("max_drawdown", "Max drawdown", fmt_money(kpis.max_drawdown)),
                ("max_drawdown_percent", "Max drawdown %", fmt_percent(kpis.max_drawdown_percent)),
                ("total_pnl", "Realised PnL", fmt_money(stats.total_realised_pnl)),
                ("closed_trades", "Closed trades", fmt_int(stats.closed_trades)),
            ]
        ),
    ]
    parts.append(
        section(
            "phases",
            "Phases",
            table(
                ["Phase", "Status", "Scenarios", "Passed", "Failed", "Skipped", "Duration (wall)"],
                [
                    [
                        p.title,
                        p.status,
                        Cell(fmt_int(p.scenarios_total), numeric=True),
                        Cell(fmt_int(p.passed), numeric=True),
                        Cell(fmt_int(p.failed), numeric=True),
                        Cell(fmt_int(p.skipped), numeric=True),
                        Cell(_seconds(wall.phase_seconds.get(p.phase)), numeric=True),
                    ]
                    for p in report.phases
                ],
                row_classes=[p.status if p.status != "passed" else "" for p in report.phases],
                table_id="phase-table",
            ),
            *(_phase_detail(p, report) for p in report.phases),
        )
    )
    latencies = list(kpis.latencies)
    parts.append(
        section(
            "latency",
            "Latencies",
            "<h3>Engine time</h3>",
            latency_table(latencies, "latency-table"),
            "<h3>Wall clock</h3>",
            latency_table(wall.latencies, "wall-latency-table"),
        )
    )
    parts.append(
        section(
            "charts",
            "Equity, drawdown, returns",
            '<div class="charts">',
            equity_chart(report.equity),
            drawdown_chart(report.equity),
            histogram_chart(report.histogram),
            "</div>",
        )
    )
    parts.append(section("symbols", "Per symbol", per_symbol_table(report.per_symbol)))
    parts.append(section("trades", "Trades", trades_table(report.trades, "trade-table")))
    if report.e2e is not None:
        parts.append(f'<section id="e2e">{_e2e_body(report.e2e, level=2)}</section>')
    parts.append(wall_clock_footer(wall))
    return "".join(parts)


def _phase_state(name: str, label: str, details: dict[str, E2EPhase]) -> str:
    """The machine state of an e2e phase (the seed's emoji labels need an emoji font)."""
    if name in details:
        return details[name].state
    upper = label.upper()
    if "COMPLETE" in upper:
        return "complete"
    return "failed" if "FAIL" in upper else "not_run"


def _seconds(value: object) -> str:
    return "—" if value is None else f"{fmt_plain(value)} s"


def _phase_detail(phase: PhaseRow, report: TestingPlanReport) -> str:
    rows = []
    classes = []
    for s in phase.scenarios:
        failure = ""
        if s.status == "failed":
            where = f" at {s.location}" if s.location else ""
            failure = (
                f"<div><strong>Failing step:</strong> {esc(s.failing_step or '')}{esc(where)}</div>"
                f"<pre>{esc(s.message or '')}</pre>"
            )
        rows.append(
            [
                s.id,
                s.name,
                Cell(s.status),
                Cell(f"{s.steps_passed}/{s.steps_total}", numeric=True),
                Cell(_seconds(report.wall_clock.scenario_seconds.get(s.key)), numeric=True),
                Cell(" ".join(f"@{t}" for t in s.tags), raw_html=failure),
            ]
        )
        classes.append("" if s.status == "passed" else s.status)
    return (
        f'<h3 id="phase-{esc(phase.phase)}">{esc(phase.title)} {badge(phase.status)}</h3>'
        + table(
            ["Id", "Scenario", "Status", "Steps", "Duration", "Tags / failure"],
            rows,
            row_classes=classes,
            table_id=f"scenarios-{phase.phase}",
        )
    )
