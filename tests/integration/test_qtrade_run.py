"""``qtrade run`` as a user runs it (a subprocess), on the tiny feature folders of
tests/unit/e2e/data/: the reports on disk, the summary, the exit code, and two runs giving
the same reports apart from wall-clock fields."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qtrade.cli import main
from reports import TestingPlanReport, load_report, loads, strip_wall_clock

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "unit" / "e2e" / "data"
SUITE = DATA / "suite" / "tiny_suite.py"
REPORTS = (
    "e2e_report.json",
    "testing_plan.json",
    "cucumber.json",
    "report.html",
    "trades.csv",
    "equity.csv",
    "equity.png",
    "drawdown.png",
)


def start(out: Path, features: Path, *extra: str) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "qtrade.cli", "run",
        "--features", str(features), "--tests", str(SUITE), "--out", str(out), *extra,
    ]  # fmt: skip
    return subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=300)
    return process.returncode, stdout, stderr


def plan_of(path: Path) -> TestingPlanReport:
    report = load_report(path.read_bytes())
    assert isinstance(report, TestingPlanReport)
    return report


def comparable(path: Path) -> dict[str, Any]:
    document = strip_wall_clock(loads(path.read_bytes()))
    if isinstance(document.get("e2e"), dict):  # the testing plan embeds the e2e report
        document["e2e"] = strip_wall_clock(document["e2e"])
    return document


def test_two_runs_write_the_same_reports(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    # two independent runs, side by side (each its own service, port and database)
    runs = [start(first, DATA / "features"), start(second, DATA / "features")]
    (code, output, errors), (code_again, output_again, errors_again) = map(finish, runs)
    assert code == 0, output + errors
    assert code_again == 0, output_again + errors_again
    for name in REPORTS:
        assert (first / name).is_file(), name

    assert "qtrade run: SUCCESS" in output
    # the per-phase table: phase1 has 1 passed and 2 skipped scenarios (one skipped by its
    # @skip tag before any step, one by pytest.skip inside a step), phase2 the outline's
    # two rows
    assert any(
        line.split()[:1] == ["phase1"] and "1       0        2" in line
        for line in output.splitlines()
    )
    assert "E2E prediction-to-profit flow: SUCCESS - 9/9 phases, 29/29 checks" in output

    plan = plan_of(first / "testing_plan.json")
    rows = {(s.id, s.status) for p in plan.phases for s in p.scenarios}
    assert rows == {
        ("t1_1", "passed"),
        ("t1_2", "skipped"),
        ("t1_3", "skipped"),
        ("t2_1", "passed"),
    }
    assert plan.status == "passed"
    # the plan's trades are the e2e flow's
    assert [t.symbol for t in plan.trades] == ["BTCUSDT", "SOLUSDT"]

    for name in ("e2e_report.json", "testing_plan.json"):
        assert comparable(first / name) == comparable(second / name), name
    for name in ("trades.csv", "equity.csv", "equity.png", "drawdown.png"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_a_failing_scenario_makes_the_run_fail(tmp_path: Path) -> None:
    code, output, errors = finish(start(tmp_path, DATA / "failing", "--skip-e2e"))
    assert code == 1, output + errors
    assert "qtrade run: FAILURE" in output
    # the failing step and the expectation it names
    assert "FAILED t1_1 Leg 0 is sized wrong: Then leg 0 buys 0.00021 at 96472.26" in output
    plan = plan_of(tmp_path / "testing_plan.json")
    (failed,) = [s for p in plan.phases for s in p.scenarios if s.status == "failed"]
    assert "leg 0: (Decimal('0.00020'), Decimal('96472.26'))" in (failed.message or "")
    assert not (tmp_path / "e2e_report.json").exists()
    assert (tmp_path / "report.html").is_file()


def test_bad_options_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--out", str(tmp_path), "--ai-url", "localhost:8001"]) == 2
    assert "ai_url: not an http(s) URL" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # refused before anything ran
