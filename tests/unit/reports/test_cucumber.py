"""Parsing pytest-bdd's --cucumberjson output (a file recorded from a real pytest-bdd 8.1 run)."""

from __future__ import annotations

import json

import pytest

from reports.cucumber import failure_summary, parse_cucumber_json, parse_cucumber_text
from reports.records import ReportInputError
from tests.kit.reports import CUCUMBER_SAMPLE, cucumber_sample


def test_recorded_sample_parses_into_one_result_per_scenario_row() -> None:
    results = parse_cucumber_json(cucumber_sample())
    by_name = {r.name: r for r in results}
    assert sorted(by_name) == [
        "Basic entry signal on Binance",
        "DCA legs rest after the base fill",
        "Exit on binance",
        "Exit on bybit",
        "Pool full queues the signal",
    ]
    entry = by_name["Basic entry signal on Binance"]
    assert (entry.test_id, entry.phase, entry.status) == ("t1_1", "phase1", "passed")
    assert entry.tags == ("phase1", "t1_1")  # feature tag first, then the scenario's
    assert (entry.steps_total, entry.steps_passed) == (3, 3)
    assert entry.key == "phase1/entry.feature::test_basic_entry_signal_on_binance"
    assert entry.duration_seconds > 0
    outline_keys = {by_name["Exit on binance"].key, by_name["Exit on bybit"].key}
    assert outline_keys == {
        "phase1/entry.feature::test_exit_on_exchange[binance]",
        "phase1/entry.feature::test_exit_on_exchange[bybit]",
    }
    assert by_name["Exit on bybit"].test_id == "t1_10"


def test_failed_scenario_names_the_step_and_the_assertion() -> None:
    failed = next(r for r in parse_cucumber_json(cucumber_sample()) if r.status == "failed")
    assert failed.test_id == "t1_2"
    assert failed.failing_step == "Then 3 legs rest on the book"
    assert failed.message == ("AssertionError: expected 3 resting DCA legs, found 2\nassert 2 == 3")
    assert failed.location == "test_bdd.py:12: AssertionError"
    # two steps passed before the failure; the step after it did not run
    assert (failed.steps_total, failed.steps_passed) == (4, 2)


def test_phase_falls_back_to_the_feature_folder() -> None:
    queue = next(r for r in parse_cucumber_json(cucumber_sample()) if r.test_id == "t2_2")
    assert queue.phase == "phase2"  # no @phase tag; file phase2/queue.feature


def _feature(elements: list, uri: str = "x.feature", tags: list | None = None) -> list:
    return [{"uri": uri, "name": "F", "tags": tags or [], "elements": elements}]


def _element(name: str, statuses: list[str], tags: list[str] | None = None) -> dict:
    return {
        "id": name.lower().replace(" ", "_"),
        "name": name,
        "type": "scenario",
        "tags": [{"name": t, "line": 1} for t in (tags or [])],
        "steps": [
            {"keyword": "Given", "name": f"step {i}", "result": {"status": s, "duration": 1000}}
            for i, s in enumerate(statuses)
        ],
    }


def test_statuses_from_step_results() -> None:
    results = parse_cucumber_json(
        _feature(
            [
                _element("Skipped", ["passed", "skipped"], ["e2e"]),
                _element("Undefined", ["undefined"]),
                _element("No steps", []),
                _element("Fails late", ["passed", "passed", "failed"]),
            ]
        )
    )
    assert [r.status for r in results] == ["skipped", "skipped", "skipped", "failed"]
    assert results[0].phase == "e2e"
    assert results[0].test_id == "e2e"
    assert results[1].test_id == "Undefined"  # no id tag: the name stands in
    assert results[1].phase == "unassigned"
    assert results[3].message == "failed (no message)"


def test_malformed_documents_are_reported_with_their_path() -> None:
    with pytest.raises(ReportInputError) as caught:
        parse_cucumber_json({"not": "a list"})
    assert caught.value.reason == "not_a_list"
    with pytest.raises(ReportInputError) as caught:
        parse_cucumber_json(_feature([{"name": "", "steps": []}]))
    assert caught.value.field == "cucumber_json[0].elements[0].name"
    with pytest.raises(ReportInputError) as caught:
        parse_cucumber_json(_feature([_element("Odd", ["exploded"])]))
    assert caught.value.field == "cucumber_json[0].elements[0].steps[0].result.status"
    with pytest.raises(ReportInputError) as caught:
        parse_cucumber_json(
            _feature([_element("Twice", ["passed"]), _element("Twice", ["passed"])])
        )
    assert caught.value.reason == "duplicate_scenario"
    with pytest.raises(ReportInputError) as caught:
        parse_cucumber_text("{oops")
    assert caught.value.reason == "not_json"


def test_parse_text_reads_the_file() -> None:
    text = CUCUMBER_SAMPLE.read_text(encoding="utf-8")
    assert parse_cucumber_text(text) == parse_cucumber_json(json.loads(text))


def test_failure_summary_masks_memory_addresses_and_cuts_long_messages() -> None:
    message, location = failure_summary(
        "def f():\n>   assert x\nE   AssertionError: <Obj at 0x7f5d81f72e80>\n\n"
        "steps.py:7: AssertionError"
    )
    assert message == "AssertionError: <Obj at 0x…>"
    assert location == "steps.py:7: AssertionError"
    long_message, _ = failure_summary("E   " + "x" * 5000)
    assert len(long_message) == 2000
    assert long_message.endswith("…")
