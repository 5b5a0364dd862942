"""Sweep grids, points, ranking and the table outputs."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from backtest.runner import BacktestRequest
from backtest.sweep import (
    PointTask,
    SweepError,
    SweepPoint,
    SweepResult,
    grid_points,
    load_grid,
    rank,
    run_point,
    sweep_csv,
    sweep_html,
    sweep_json,
)
from tests.kit.backtest import SEED_CONFIG


def _grid(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    return path


def test_grid_reads_numbers_as_decimals_in_file_order(tmp_path: Path) -> None:
    grid = load_grid(
        _grid(
            tmp_path,
            "grid:\n"
            "  risk_config.loss_threshold_percent: [-2.5, -3]\n"
            "  dca_grid_config.tp_mode: [per_leg, aggregate, hybrid]\n",
        )
    )
    assert grid == {
        "risk_config.loss_threshold_percent": [Decimal("-2.5"), -3],
        "dca_grid_config.tp_mode": ["per_leg", "aggregate", "hybrid"],
    }
    points = grid_points(grid)
    assert len(points) == 6 and points[0].point_id == "p000" and points[-1].point_id == "p005"
    # the last key varies fastest
    assert [dict(p.values)["dca_grid_config.tp_mode"] for p in points[:3]] == [
        "per_leg",
        "aggregate",
        "hybrid",
    ]
    assert (
        points[1].label()
        == "risk_config.loss_threshold_percent=-2.5, dca_grid_config.tp_mode=aggregate"
    )


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[1, 2]\n", "grid"),
        ("tp_mode: [per_leg]\n", "tp_mode"),
        ("webhook.secret: [a]\n", "webhook.secret"),
        ("risk_config.loss_threshold_percent: []\n", "risk_config.loss_threshold_percent"),
        ("risk_config.x: 5\n", "risk_config.x"),
        ("a: [\n", "grid"),
    ],
)
def test_bad_grids_name_the_key(tmp_path: Path, text: str, field: str) -> None:
    with pytest.raises(SweepError) as info:
        load_grid(_grid(tmp_path, text))
    assert info.value.field == field


def test_an_invalid_point_is_reported_not_run() -> None:
    point = SweepPoint("p000", (("risk_config.loss_threshold_percent", Decimal(4)),))
    request = BacktestRequest(prices=Path("unused"), signals=Path("unused"), configs=())
    base = json.dumps(json.loads(SEED_CONFIG.read_text()))
    result = run_point(PointTask(point, base, request))
    assert result.status == "invalid_config"
    assert result.error is not None and "risk_config.loss_threshold_percent" in result.error


def _result(point_id: str, value: str | None, status: str = "completed") -> SweepResult:
    return SweepResult(
        point_id,
        {"k": point_id},
        {"total_return_percent": value, "max_drawdown_percent": value},
        status,
    )


def test_ranking_best_first_failures_last_ties_by_id() -> None:
    results = [
        _result("p0", "1.5"),
        _result("p1", "-2"),
        _result("p2", None),
        _result("p3", "1.5"),
        _result("p4", "9", status="invalid_config"),
    ]
    ranked = rank(results, "total_return")  # alias of total_return_percent: higher first
    assert [r.point_id for r in ranked] == ["p0", "p3", "p1", "p2", "p4"]
    assert [r.rank for r in ranked] == [1, 2, 3, 4, 5]
    drawdown = rank(results, "max_drawdown_percent")  # lower is better
    assert [r.point_id for r in drawdown][:3] == ["p1", "p0", "p3"]
    with pytest.raises(SweepError, match="unknown metric"):
        rank(results, "luck")


def test_table_outputs() -> None:
    ranked = rank([_result("p0", "1.5"), _result("p1", "-2")], "total_return_percent")
    lines = sweep_csv(ranked).splitlines()
    assert lines[0].startswith("rank,point_id,k,status,total_return_percent")
    assert lines[1].startswith("1,p0,p0,completed,1.5")
    document = json.loads(sweep_json(ranked, "total_return"))
    assert document["metric"] == "total_return_percent"
    assert [p["point_id"] for p in document["points"]] == ["p0", "p1"]
    html = sweep_html(ranked, "total_return_percent")
    assert html.startswith("<!DOCTYPE html>") and 'id="sweep"' in html
    assert "higher is better" in html and html.index(">p0<") < html.index(">p1<")
