"""Reports: typed JSON documents (e2e, testing plan, backtest), the metrics behind them, and
the HTML, CSV and PNG renderings made only from that JSON (SPEC §13, docs/reports.md).

Typical use::

    report = build_testing_plan_report(scenarios=parse_cucumber_text(text), trades=...)
    Path("out/testing_plan.json").write_text(report.to_json())
    render_report_files("out/testing_plan.json", "out")
"""

from reports.backtest import build_backtest_report
from reports.cucumber import parse_cucumber_json, parse_cucumber_text
from reports.e2e import build_e2e_report, e2e_status
from reports.exports import render_report_files
from reports.html import render_html, render_html_from_json
from reports.jsonio import dumps, loads, strip_wall_clock
from reports.model import (
    E2E_PHASES,
    BacktestReport,
    E2EReport,
    Report,
    ReportLoadError,
    TestingPlanReport,
    load_report,
    parse_report,
)
from reports.records import (
    CheckResult,
    EquityPoint,
    ExposurePoint,
    FillRecord,
    QueueEventRecord,
    ReportInputError,
    ScenarioResult,
    TradeRecord,
)
from reports.testing_plan import build_testing_plan_report

__all__ = [
    "E2E_PHASES",
    "BacktestReport",
    "CheckResult",
    "E2EReport",
    "EquityPoint",
    "ExposurePoint",
    "FillRecord",
    "QueueEventRecord",
    "Report",
    "ReportInputError",
    "ReportLoadError",
    "ScenarioResult",
    "TestingPlanReport",
    "TradeRecord",
    "build_backtest_report",
    "build_e2e_report",
    "build_testing_plan_report",
    "dumps",
    "e2e_status",
    "load_report",
    "loads",
    "parse_cucumber_json",
    "parse_cucumber_text",
    "parse_report",
    "render_html",
    "render_html_from_json",
    "render_report_files",
    "strip_wall_clock",
]
