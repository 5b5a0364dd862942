"""Run the Gherkin feature suite in a subprocess (pytest-bdd) and read its results.

``python -m pytest <tests> --cucumberjson=OUT/cucumber.json -p no:cacheprovider`` with
``QTRADE_BACKEND`` set and ``bdd_features_base_dir`` pointed at the features folder; the
plugin :mod:`qtrade.e2e.pytest_outcomes` records every scenario's outcome so that scenarios
pytest-bdd leaves out of the cucumber file (skipped before their first step) or misreports
(skipped inside a step, written as passed; a missing step definition or a failing teardown,
written as passed) are reported as they ended.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from reports import ScenarioResult, parse_cucumber_json, parse_cucumber_text
from reports.cucumber import failure_summary
from reports.records import ReportInputError

__all__ = [
    "CUCUMBER_FILE",
    "OUTCOMES_FILE",
    "LOG_FILE",
    "SuiteRun",
    "project_root",
    "merge_outcomes",
    "run_feature_suite",
]

CUCUMBER_FILE = "cucumber.json"
OUTCOMES_FILE = "scenario_outcomes.json"
LOG_FILE = "features.log"
_SUMMARY_MARK = "short test summary info"


@dataclass(frozen=True)
class SuiteRun:
    """The suite's scenarios, pytest's exit code, wall seconds, its log and any error that
    kept the results from being read."""

    scenarios: tuple[ScenarioResult, ...]
    exit_code: int
    seconds: Decimal
    log_path: Path
    error: str | None = None

    @property
    def failed(self) -> int:
        return sum(1 for s in self.scenarios if s.status == "failed")


def project_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding ``pyproject.toml`` (pytest's
    configuration), else the current directory."""
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return Path.cwd()


def _as_cucumber(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One outcome row as a one-scenario cucumber document (so the report package derives
    test id and phase exactly as it does for the real file)."""
    steps: list[dict[str, Any]] = []
    if row["outcome"] == "failed":
        steps = [
            {
                "keyword": "Before",
                "name": f"the scenario ({row['when']})",
                "result": {"status": "failed", "error_message": row.get("message") or ""},
            }
        ]
    return [
        {
            "uri": row["feature"],
            "name": row.get("feature_name") or row["feature"],
            "tags": [],
            "elements": [
                {
                    "id": row["key"].split("::", 1)[1],
                    "name": row["name"],
                    "tags": [{"name": tag} for tag in row["tags"]],
                    "type": "scenario",
                    "steps": steps,
                }
            ],
        }
    ]


def merge_outcomes(
    scenarios: Sequence[ScenarioResult], outcomes: Sequence[Mapping[str, Any]]
) -> list[ScenarioResult]:
    """The cucumber results corrected by the recorded outcomes: scenarios missing from the
    cucumber file are added (skipped, or failed before their first step), a skip written as
    passed becomes skipped, a failure pytest-bdd did not report becomes failed."""
    merged = list(scenarios)
    index = {result.key: i for i, result in enumerate(merged)}
    for row in outcomes:
        position = index.get(str(row["key"]))
        outcome = row["outcome"]
        if position is None:
            if outcome == "passed":
                continue  # a scenario without steps: nothing to report
            (added,) = parse_cucumber_json(_as_cucumber(row))
            if outcome == "skipped":
                added = replace(added, message=row.get("message"))
            index[added.key] = len(merged)
            merged.append(added)
        elif outcome == "skipped" and merged[position].status == "passed":
            merged[position] = replace(
                merged[position], status="skipped", message=row.get("message")
            )
        elif outcome == "failed" and merged[position].status != "failed":
            # e.g. a missing step definition or a failing teardown: pytest-bdd reports the
            # steps it ran as passed and nothing about the failure
            message, location = failure_summary(str(row.get("message") or ""))
            merged[position] = replace(
                merged[position],
                status="failed",
                failing_step=f"{row['when']}: after the steps pytest-bdd reported",
                message=message,
                location=location,
            )
    return merged


def _summary_lines(log: str) -> list[str]:
    lines = log.rstrip().splitlines()
    for i, line in enumerate(lines):
        if _SUMMARY_MARK in line:
            return lines[i:]
    return lines[-1:]


def run_feature_suite(
    *,
    tests: Path,
    features: Path,
    backend: str,
    out_dir: Path,
    pytest_args: Sequence[str] = (),
    echo: TextIO | None = None,
    python: str = sys.executable,
) -> SuiteRun:
    """Run the suite; write ``cucumber.json``, ``scenario_outcomes.json`` and
    ``features.log`` into ``out_dir``; return the merged scenario results."""
    tests, features, out_dir = tests.resolve(), features.resolve(), out_dir.resolve()
    cucumber, outcomes, log_path = (
        out_dir / CUCUMBER_FILE,
        out_dir / OUTCOMES_FILE,
        out_dir / LOG_FILE,
    )
    for stale in (cucumber, outcomes, log_path):
        stale.unlink(missing_ok=True)
    if not features.is_dir():
        return SuiteRun((), 4, Decimal(0), log_path, f"features: no such folder: {features}")
    if not tests.exists():
        return SuiteRun((), 4, Decimal(0), log_path, f"tests: no such path: {tests}")
    command = [
        python,
        "-m",
        "pytest",
        str(tests),
        f"--cucumberjson={cucumber}",
        "-p",
        "no:cacheprovider",
        "-p",
        "qtrade.e2e.pytest_outcomes",
        f"--qtrade-outcomes={outcomes}",
        "-o",
        f"bdd_features_base_dir={features}",
        "-q",
        *pytest_args,
    ]
    env = {**os.environ, "QTRADE_BACKEND": backend}
    started = time.perf_counter()
    with log_path.open("w", encoding="utf-8") as log:
        done = subprocess.run(
            command, cwd=project_root(tests), env=env, stdout=log, stderr=subprocess.STDOUT
        )
    seconds = Decimal(round((time.perf_counter() - started) * 1000)) / 1000
    text = log_path.read_text(encoding="utf-8", errors="replace")
    if echo is not None:
        print("\n".join(_summary_lines(text)), file=echo)
    error = None
    try:
        results = parse_cucumber_text(cucumber.read_bytes()) if cucumber.is_file() else []
        recorded = json.loads(outcomes.read_text(encoding="utf-8")) if outcomes.is_file() else []
        merged = merge_outcomes(results, recorded)
    except (ReportInputError, ValueError, KeyError) as exc:
        merged, error = [], f"cannot read the suite's results: {exc}"
    if done.returncode not in (0, 1) and error is None:
        error = f"pytest exited with {done.returncode} (see {log_path})"
    if not merged and error is None:
        error = f"no scenario ran (pytest exit code {done.returncode})"
    return SuiteRun(tuple(merged), done.returncode, seconds, log_path, error)
