"""The testing-plan report: phases and scenarios in a fixed order, totals, KPIs, wall clock."""

from __future__ import annotations

import json

import pytest

from reports.jsonio import strip_wall_clock
from reports.model import TestingPlanReport, load_report
from reports.records import EquityPoint, ReportInputError
from reports.testing_plan import build_testing_plan_report, natural_key, phase_sort_key
from tests.kit.reports import T0, D, plan_report, scenario


def test_phases_and_scenarios_are_ordered_naturally() -> None:
    report = build_testing_plan_report(
        scenarios=[
            scenario("k1", test_id="t10_1", phase="phase10"),
            scenario("k2", test_id="t1_10", phase="phase1"),
            scenario("k3", test_id="e2e", phase="e2e"),
            scenario("k4", test_id="t1_2", phase="phase1"),
            scenario("k5", test_id="x", phase="misc"),
            scenario("k6", test_id="t2_1", phase="phase2"),
            scenario("k7", test_id="y", phase="unassigned"),
        ]
    )
    assert [p.phase for p in report.phases] == [
        "phase1",
        "phase2",
        "phase10",
        "e2e",
        "misc",
        "unassigned",
    ]
    assert [s.id for s in report.phases[0].scenarios] == ["t1_2", "t1_10"]
    assert natural_key("t1_2") < natural_key("t1_10")
    assert phase_sort_key("phase9") < phase_sort_key("phase10") < phase_sort_key("e2e")


def test_totals_statuses_and_pass_rate() -> None:
    report = build_testing_plan_report(
        scenarios=[
            scenario("a", "passed"),
            scenario("b", "failed", message="expected 15 legs, found 14"),
            scenario("c", "passed"),
            scenario("d", "skipped", phase="phase2", test_id="t2_1"),
        ]
    )
    assert (report.totals.passed, report.totals.failed, report.totals.skipped) == (2, 1, 1)
    assert report.totals.pass_rate == D("0.666667")  # 2 of the 3 that ran
    assert report.status == "failed"
    phase1, phase2 = report.phases
    assert (phase1.status, phase2.status) == ("failed", "skipped")
    failed = next(s for s in phase1.scenarios if s.status == "failed")
    assert failed.failing_step == "Then it fails"
    assert failed.message == "expected 15 legs, found 14"
    passing = build_testing_plan_report(scenarios=[scenario("a"), scenario("b", "skipped")])
    assert passing.status == "passed"
    assert build_testing_plan_report(scenarios=[scenario("a", "skipped")]).status == "failed"


def test_kpis_from_trades_orders_and_latencies() -> None:
    report = plan_report()
    # seed trades: three winners, no loss
    assert report.kpis.win_rate == D(1)
    assert report.kpis.profit_factor is None
    assert report.kpis.fill_rate == D("0.75")  # 3 of 4 orders
    latency = report.kpis.latencies[0]
    # 10, 20, 30, 40: p50 rank 2 -> 20; p95 and p99 rank 4 -> 40
    assert (latency.name, latency.p50_ms, latency.p95_ms, latency.p99_ms) == (
        "signal_to_fill",
        20,
        40,
        40,
    )
    assert report.trade_stats.total_realised_pnl == D("5.9497335")  # 1.9622735 + 1.9968 + 1.99066
    assert report.e2e is not None
    assert report.e2e.status == "SUCCESS"


def test_given_equity_is_used_for_drawdown() -> None:
    equity = [EquityPoint(T0, D(1000)), EquityPoint(T0 + 1, D(1200)), EquityPoint(T0 + 2, D(900))]
    report = plan_report(equity=equity)
    # 1200 -> 900: 300, 300 / 1200 = 25 %
    assert report.kpis.max_drawdown == D(300)
    assert report.kpis.max_drawdown_percent == D(25)
    assert [row.drawdown for row in report.equity] == [D(0), D(0), D(300)]


def test_wall_clock_is_isolated_and_round_trip_is_exact() -> None:
    report = plan_report()
    other = plan_report(wall_latencies_ms={"webhook_response": [900]})
    first, second = json.loads(report.to_json()), json.loads(other.to_json())
    assert first != second
    assert strip_wall_clock(first) == strip_wall_clock(second)
    scenario_seconds = first["wall_clock"]["scenario_seconds"]
    assert set(scenario_seconds) == {s["key"] for p in first["phases"] for s in p["scenarios"]}
    assert "duration_seconds" not in first["phases"][0]["scenarios"][0]
    loaded = load_report(report.to_json())
    assert isinstance(loaded, TestingPlanReport)
    assert loaded.to_json() == report.to_json()


def test_duplicate_scenario_keys_are_refused() -> None:
    with pytest.raises(ReportInputError) as caught:
        build_testing_plan_report(scenarios=[scenario("a"), scenario("a")])
    assert (caught.value.field, caught.value.reason) == ("scenarios", "duplicate_scenario")
