"""The snapshot benchmark script still runs and builds the state it describes."""

from __future__ import annotations

import json

from benchmarks.engine_snapshot import build_engine, run
from engine.core import Engine


def test_benchmark_state_and_report_shape() -> None:
    engine = build_engine(3)
    groups = engine.groups()
    assert [g.status for g in groups] == ["partially_filled"] * 3
    # per group: leg 0 (filled), leg 1 (filled), leg 2 (resting), a TP for each filled leg
    assert len(engine.orders()) == 3 * 5
    restored = Engine.restore(json.loads(json.dumps(engine.snapshot())))
    assert restored.groups() == groups
    report = run(sizes=(1,), repeat=2)
    row = report["results"]["1_groups"]
    assert (row["open_groups"], row["orders"]) == (1, 5)
    assert set(row) >= {"snapshot", "restore", "baseline_json_dumps", "baseline_json_loads"}
    assert row["snapshot"]["median_ms"] > 0
