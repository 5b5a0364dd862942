"""A pytest plugin that writes every pytest-bdd scenario's outcome to a JSON file
(``-p qtrade.e2e.pytest_outcomes --qtrade-outcomes=PATH``).

pytest-bdd's ``--cucumberjson`` leaves out scenarios skipped before their first step and
writes a scenario skipped inside a step as passed (docs/reports.md); ``qtrade run`` merges
this file in so no scenario is lost or misreported. One row per test item::

    {"key": "<feature rel path>::<item name>", "feature": ..., "name": ..., "tags": [...],
     "outcome": "passed|failed|skipped", "when": "setup|call|teardown", "message": ...,
     "duration_seconds": ...}
"""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["OPTION", "OutcomeRecorder"]

OPTION = "--qtrade-outcomes"
_MESSAGE_CHARS = 2000


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(OPTION, default=None, help="write pytest-bdd scenario outcomes (JSON)")


def pytest_configure(config: pytest.Config) -> None:
    target = config.getoption(OPTION)
    if target:
        config.pluginmanager.register(OutcomeRecorder(Path(target)), "qtrade-outcomes")


def _message(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if report.skipped and isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    text = str(longrepr or "")
    return text[-_MESSAGE_CHARS:]


class OutcomeRecorder:
    """Collects one row per pytest-bdd item; writes them when the session ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: dict[str, dict[str, Any]] = {}

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        scenario = getattr(getattr(item, "obj", None), "__scenario__", None)
        if scenario is None:
            return report
        row = self.rows.setdefault(
            item.nodeid,
            {
                "key": f"{scenario.feature.rel_filename}::{item.name}",
                "feature": scenario.feature.rel_filename,
                "feature_name": scenario.feature.name or scenario.feature.rel_filename,
                "name": scenario.name,
                "tags": sorted(scenario.feature.tags) + sorted(scenario.tags),
                "outcome": "passed",
                "when": "call",
                "message": None,
                "duration_seconds": 0.0,
            },
        )
        row["duration_seconds"] += report.duration
        if report.failed and row["outcome"] != "failed":
            row.update(outcome="failed", when=report.when, message=_message(report))
        elif report.skipped and row["outcome"] == "passed":
            row.update(outcome="skipped", when=report.when, message=_message(report))
        return report

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        rows = [self.rows[nodeid] for nodeid in sorted(self.rows)]
        self.path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
