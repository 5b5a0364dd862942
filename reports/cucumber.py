"""Read pytest-bdd ``--cucumberjson`` output into :class:`ScenarioResult` records.

The file is a list of features, each with ``elements`` (scenarios; one per Examples row of an
outline) holding ``steps`` with ``result.status`` and, on the failing step,
``result.error_message`` (pytest's whole failure report). Tags are feature tags plus scenario
tags, without ``@``.

- The test id is the first tag like ``t1_1`` (or ``e2e``); without one, the scenario's name.
- The phase is the first ``phaseN`` tag, else ``e2e`` for an ``e2e`` tag, else the feature's
  folder (``phase2/queue.feature`` → ``phase2``), else ``unassigned``.
- Status: any ``failed``/``ambiguous`` step → failed (steps listed after the first failure are
  reported as not run, whatever the file says); else any ``skipped``/``pending``/``undefined``
  step or no steps → skipped; else passed.
- The message is the failure's ``E   `` lines (the assertion and its explanation), with
  memory addresses masked so two runs give the same text, cut to 2,000 characters; the
  location is pytest's ``path:line: ErrorType`` line.

pytest-bdd 8 writes a scenario skipped with ``pytest.skip`` inside a step as all passed, and
leaves out scenarios skipped before their first step; a runner that needs those must add the
``ScenarioResult`` itself (see docs/reports.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

from engine.domain import ZERO
from reports.jsonio import loads
from reports.records import ReportInputError, ScenarioResult

__all__ = ["MAX_MESSAGE_CHARS", "parse_cucumber_json", "parse_cucumber_text", "failure_summary"]

MAX_MESSAGE_CHARS = 2000
_TEST_ID = re.compile(r"^t\d+_\d+$")
_PHASE = re.compile(r"^phase\d+$")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
_LOCATION = re.compile(r"^(\S+:\d+): (\w+)$")
_FAILED = {"failed", "ambiguous"}
_NOT_RUN = {"skipped", "pending", "undefined"}


def parse_cucumber_text(text: str | bytes) -> list[ScenarioResult]:
    try:
        document = loads(text)
    except ValueError as exc:
        raise ReportInputError("cucumber_json", "not_json", str(exc)) from None
    return parse_cucumber_json(document)


def parse_cucumber_json(document: Any) -> list[ScenarioResult]:
    """Scenario results in file order. Raises :class:`ReportInputError` naming the element
    path when the structure is not cucumber JSON."""
    if not isinstance(document, list):
        raise ReportInputError("cucumber_json", "not_a_list", "expected a list of features")
    results: list[ScenarioResult] = []
    for f_index, feature in enumerate(document):
        where = f"cucumber_json[{f_index}]"
        feature_map = _mapping(feature, where)
        uri = str(feature_map.get("uri") or feature_map.get("id") or f"feature-{f_index}")
        feature_tags = _tags(feature_map.get("tags", []), f"{where}.tags")
        elements = feature_map.get("elements", [])
        if not isinstance(elements, list):
            raise ReportInputError(f"{where}.elements", "not_a_list", type(elements).__name__)
        for e_index, element in enumerate(elements):
            element_where = f"{where}.elements[{e_index}]"
            element_map = _mapping(element, element_where)
            if element_map.get("type", "scenario") != "scenario":
                continue  # backgrounds are folded into their scenarios by pytest-bdd
            results.append(_scenario(uri, feature_tags, element_map, element_where))
    keys = [r.key for r in results]
    if len(set(keys)) != len(keys):
        duplicate = next(k for k in keys if keys.count(k) > 1)
        raise ReportInputError("cucumber_json", "duplicate_scenario", duplicate)
    return results


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ReportInputError(where, "not_an_object", type(value).__name__)
    return value


def _tags(raw: Any, where: str) -> list[str]:
    if not isinstance(raw, list):
        raise ReportInputError(where, "not_a_list", type(raw).__name__)
    names = []
    for index, tag in enumerate(raw):
        name = tag.get("name") if isinstance(tag, dict) else tag
        if not isinstance(name, str) or not name:
            raise ReportInputError(f"{where}[{index}]", "bad_tag", repr(tag))
        names.append(name.lstrip("@"))
    return names


def _scenario(
    uri: str, feature_tags: Sequence[str], element: Mapping[str, Any], where: str
) -> ScenarioResult:
    name = element.get("name")
    if not isinstance(name, str) or not name:
        raise ReportInputError(f"{where}.name", "empty", "a scenario needs a name")
    element_id = str(element.get("id") or name)
    tags: list[str] = []
    for tag in [*feature_tags, *_tags(element.get("tags", []), f"{where}.tags")]:
        if tag not in tags:
            tags.append(tag)
    steps = element.get("steps", [])
    if not isinstance(steps, list):
        raise ReportInputError(f"{where}.steps", "not_a_list", type(steps).__name__)

    status = "passed"
    passed_steps = 0
    failing_step: str | None = None
    error_text = ""
    duration_ns = 0
    for s_index, step in enumerate(steps):
        step_map = _mapping(step, f"{where}.steps[{s_index}]")
        result = step_map.get("result") or {}
        if not isinstance(result, dict):
            raise ReportInputError(f"{where}.steps[{s_index}].result", "not_an_object", "")
        step_status = str(result.get("status", "skipped"))
        duration = result.get("duration", 0)
        if isinstance(duration, int) and not isinstance(duration, bool) and duration > 0:
            duration_ns += duration
        if status == "failed":
            continue  # not run after the failure
        if step_status in _FAILED:
            status = "failed"
            failing_step = f"{step_map.get('keyword', '')} {step_map.get('name', '')}".strip()
            error_text = str(result.get("error_message") or "")
        elif step_status in _NOT_RUN:
            status = "skipped"
        elif step_status == "passed":
            passed_steps += 1
        else:
            raise ReportInputError(
                f"{where}.steps[{s_index}].result.status", "bad_status", step_status
            )
    if not steps:
        status = "skipped"

    message, location = failure_summary(error_text) if status == "failed" else (None, None)
    return ScenarioResult(
        key=f"{uri}::{element_id}",
        test_id=_test_id(tags) or name,
        name=name,
        phase=_phase(tags, uri),
        status=status,
        feature=uri,
        tags=tuple(tags),
        steps_total=len(steps),
        steps_passed=passed_steps,
        failing_step=failing_step,
        message=message if status == "failed" else None,
        location=location,
        duration_seconds=Decimal(duration_ns) / 1_000_000_000 if duration_ns else ZERO,
    )


def _test_id(tags: Sequence[str]) -> str | None:
    for tag in tags:
        if _TEST_ID.match(tag) or tag == "e2e":
            return tag
    return None


def _phase(tags: Sequence[str], uri: str) -> str:
    for tag in tags:
        if _PHASE.match(tag):
            return tag
    if "e2e" in tags:
        return "e2e"
    # pytest-bdd writes the path relative to bdd_features_base_dir: <phase>/<file>.feature
    parts = PurePosixPath(uri.replace("\\", "/")).parts
    if parts and parts[0] == "features":
        parts = parts[1:]
    if len(parts) >= 2:
        return parts[0]
    return "unassigned"


def failure_summary(error_message: str) -> tuple[str, str | None]:
    """(assertion message, ``path:line: ErrorType``) from pytest's failure report."""
    lines = error_message.splitlines()
    e_lines = [line[1:].strip() for line in lines if line.startswith("E ") or line == "E"]
    message = "\n".join(line for line in e_lines if line) if e_lines else ""
    if not message:
        message = next((line.strip() for line in reversed(lines) if line.strip()), "")
    message = _ADDRESS.sub("0x…", message)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    location = None
    for line in reversed(lines):
        match = _LOCATION.match(line.strip())
        if match:
            location = f"{match.group(1)}: {match.group(2)}"
            break
    return message or "failed (no message)", location
