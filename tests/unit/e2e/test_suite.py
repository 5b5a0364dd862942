"""Merging pytest-bdd's cucumber results with the recorded outcomes of every scenario."""

from __future__ import annotations

from typing import Any

from qtrade.e2e.suite import merge_outcomes, project_root
from reports import parse_cucumber_json


def cucumber(*elements: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "uri": "phase1/entry.feature",
            "name": "Entry",
            "tags": [{"name": "phase1"}],
            "elements": list(elements),
        }
    ]


def element(item: str, tag: str, status: str = "passed") -> dict[str, Any]:
    return {
        "id": item,
        "name": item.replace("_", " "),
        "tags": [{"name": tag}],
        "type": "scenario",
        "steps": [{"keyword": "Given", "name": "a step", "result": {"status": status}}],
    }


def outcome(
    item: str, tag: str, result: str, message: str | None = None, when: str = "call"
) -> dict[str, Any]:
    return {
        "key": f"phase1/entry.feature::{item}",
        "feature": "phase1/entry.feature",
        "feature_name": "Entry",
        "name": item.replace("_", " "),
        "tags": ["phase1", tag],
        "outcome": result,
        "when": when,
        "message": message,
        "duration_seconds": 0.1,
    }


def test_results_already_right_are_kept() -> None:
    results = parse_cucumber_json(cucumber(element("test_a", "t1_1")))
    merged = merge_outcomes(results, [outcome("test_a", "t1_1", "passed")])
    assert merged == results


def test_a_scenario_skipped_before_its_first_step_is_added_as_skipped() -> None:
    results = parse_cucumber_json(cucumber(element("test_a", "t1_1")))
    merged = merge_outcomes(
        results, [outcome("test_b", "t1_2", "skipped", "needs_price_control", when="setup")]
    )
    added = merged[1]
    assert (added.key, added.test_id, added.phase, added.status, added.message) == (
        "phase1/entry.feature::test_b",
        "t1_2",
        "phase1",
        "skipped",
        "needs_price_control",
    )


def test_a_skip_inside_a_step_written_as_passed_becomes_skipped() -> None:
    results = parse_cucumber_json(cucumber(element("test_a", "t1_1")))
    (merged,) = merge_outcomes(results, [outcome("test_a", "t1_1", "skipped", "no testnet keys")])
    assert (merged.status, merged.message) == ("skipped", "no testnet keys")


def test_a_failure_pytest_bdd_did_not_report_becomes_failed() -> None:
    results = parse_cucumber_json(cucumber(element("test_a", "t1_1")))
    message = (
        "E   pytest_bdd.exceptions.StepDefinitionNotFoundError: Step definition is not "
        'found: When "24 hours pass"\nAll traceback entries are hidden.'
    )
    (merged,) = merge_outcomes(results, [outcome("test_a", "t1_1", "failed", message)])
    assert merged.status == "failed"
    assert merged.failing_step == "call: after the steps pytest-bdd reported"
    assert merged.message == (
        "pytest_bdd.exceptions.StepDefinitionNotFoundError: Step definition is not found: "
        'When "24 hours pass"'
    )


def test_a_scenario_failing_before_its_first_step_is_added_as_failed() -> None:
    merged = merge_outcomes(
        [], [outcome("test_c", "t1_3", "failed", "E   fixture 'world' not found", when="setup")]
    )
    (added,) = merged
    assert (added.status, added.failing_step, added.message) == (
        "failed",
        "Before the scenario (setup)",
        "fixture 'world' not found",
    )


def test_a_passed_scenario_without_steps_is_not_invented() -> None:
    assert merge_outcomes([], [outcome("test_d", "t1_4", "passed")]) == []


def test_project_root_is_where_pyproject_lives(tmp_path: Any) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    deep = tmp_path / "tests" / "features"
    deep.mkdir(parents=True)
    assert project_root(deep) == tmp_path
