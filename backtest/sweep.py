"""Parameter sweeps: the backtest over the cartesian grid of config values, on Dask.

The grid file (YAML) maps dotted config keys to lists of values, optionally under ``grid:``::

    dca_grid_config.tp_mode: [per_leg, aggregate, hybrid]
    dca_grid_config.tp_aggregate_percent: [0.8, 1.5]
    risk_config.loss_threshold_percent: [-2, -3]

Numbers are read as Decimals from their text. Each point is the base config with those keys
set, validated like any config (a bad point is reported with its field and ranked last).
Points run as independent Dask tasks (a ``LocalCluster`` by default, or an existing cluster
at ``scheduler``); each task loads the inputs itself, so a point's result depends only on
the inputs and its values, whichever worker runs it. Results are ranked by one report metric
(higher first, or lower first for drawdowns and fees; ties by point id) into one table
written as CSV, JSON and a self-contained HTML page.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from backtest.prices import load_price_folder
from backtest.runner import BacktestRequest, load_signals, run_loaded
from backtest.setup import UserSetup
from backtest.signal_sources import TimedPayload
from engine.config import ConfigError, load_user_config, parse_user_config, user_config_to_dict
from reports.htmlkit import Cell, esc, page, section, table
from reports.model import BacktestMetrics

__all__ = [
    "SweepError",
    "SweepPoint",
    "SweepResult",
    "METRICS",
    "LOWER_IS_BETTER",
    "load_grid",
    "grid_points",
    "run_point",
    "run_sweep",
    "rank",
    "sweep_csv",
    "sweep_json",
    "sweep_html",
    "write_sweep",
]

METRICS = tuple(
    name
    for name in BacktestMetrics.model_fields
    if name not in ("return_period", "periods_per_year")
)
ALIASES = {"total_return": "total_return_percent", "max_drawdown_pct": "max_drawdown_percent"}
LOWER_IS_BETTER = frozenset(
    {
        "max_drawdown",
        "max_drawdown_percent",
        "current_drawdown",
        "current_drawdown_percent",
        "fees_paid",
        "losses",
    }
)
_TABLE_METRICS = (
    "total_return_percent",
    "ending_equity",
    "total_realised_pnl",
    "closed_trades",
    "win_rate",
    "profit_factor",
    "sharpe",
    "sortino",
    "max_drawdown_percent",
    "fees_paid",
    "risk_actions",
)


class SweepError(ValueError):
    """A bad grid or metric; ``field`` names the offending key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class _DecimalLoader(yaml.SafeLoader):
    """YAML floats as Decimals from their text (never binary floats)."""


def _decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    return Decimal(str(loader.construct_scalar(node)).replace("_", ""))  # type: ignore[arg-type]


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _decimal)


def load_grid(path: Path) -> dict[str, list[Any]]:
    """The grid: ordered dotted keys to non-empty value lists."""
    try:
        document = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_DecimalLoader)
    except yaml.YAMLError as exc:
        raise SweepError("grid", f"invalid YAML: {exc}") from None
    if isinstance(document, Mapping) and set(document) == {"grid"}:
        document = document["grid"]
    if not isinstance(document, Mapping) or not document:
        raise SweepError("grid", "expected a mapping of dotted config keys to lists of values")
    grid: dict[str, list[Any]] = {}
    for key, values in document.items():
        name = str(key)
        parts = name.split(".")
        if len(parts) < 2 or parts[0] not in ("dca_grid_config", "risk_config") or "" in parts:
            raise SweepError(name, "expected a dotted key under dca_grid_config or risk_config")
        if not isinstance(values, list) or not values:
            raise SweepError(name, "expected a non-empty list of values")
        grid[name] = list(values)
    return grid


@dataclass(frozen=True, slots=True)
class SweepPoint:
    point_id: str
    values: tuple[tuple[str, Any], ...]

    def label(self) -> str:
        return ", ".join(f"{key}={_text(value)}" for key, value in self.values)


def _text(value: Any) -> str:
    """A grid value as the table shows it: numbers by their digits, text as is."""
    if isinstance(value, str):
        return value
    if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value, default=str)


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[SweepPoint]:
    """Every combination, in grid order (the last key varies fastest)."""
    keys = list(grid)
    width = max(3, len(str(max(1, _count(grid)) - 1)))
    return [
        SweepPoint(f"p{index:0{width}d}", tuple(zip(keys, combo, strict=True)))
        for index, combo in enumerate(itertools.product(*(grid[k] for k in keys)))
    ]


def _count(grid: Mapping[str, Sequence[Any]]) -> int:
    total = 1
    for values in grid.values():
        total *= len(values)
    return total


def _apply(base: Mapping[str, Any], values: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(json.dumps(base, default=str))  # a plain deep copy
    for key, value in values:
        parts = key.split(".")
        node = document
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = str(value) if isinstance(value, Decimal) else value
    return document


@dataclass(frozen=True, slots=True)
class PointTask:
    """Everything a worker needs to run one point (plain, picklable data)."""

    point: SweepPoint
    base_config: str  # JSON of the base user config
    request: BacktestRequest


@dataclass(slots=True)
class SweepResult:
    point_id: str
    values: dict[str, str]
    metrics: dict[str, str | None] = field(default_factory=dict)
    status: str = "completed"
    error: str | None = None
    rank: int | None = None


@lru_cache(maxsize=4)
def _inputs(request: BacktestRequest) -> tuple[dict[str, pd.DataFrame], list[TimedPayload]]:
    return load_price_folder(request.prices), load_signals(request)


def run_point(task: PointTask) -> SweepResult:
    """Run one point (in whatever worker); inputs are loaded once per worker process."""
    point = task.point
    values = {key: _text(value) for key, value in point.values}
    try:
        config = parse_user_config(_apply(json.loads(task.base_config), point.values))
    except ConfigError as exc:
        return SweepResult(point.point_id, values, status="invalid_config", error=str(exc))
    frames, payloads = _inputs(task.request)
    user_id = config.username or config.id or "sweep"
    user = UserSetup(user_id, config, {"USDT": task.request.balance})
    outcome = run_loaded(task.request, frames, payloads, [user])
    metrics = outcome.report.metrics.model_dump(mode="python")
    return SweepResult(
        point.point_id,
        values,
        {name: None if metrics[name] is None else str(metrics[name]) for name in METRICS},
        status=outcome.result.status,
    )


def metric_name(name: str) -> str:
    resolved = ALIASES.get(name, name)
    if resolved not in METRICS:
        raise SweepError("metric", f"unknown metric {name!r}; one of {', '.join(METRICS)}")
    return resolved


def rank(results: Sequence[SweepResult], metric: str) -> list[SweepResult]:
    """Best first by ``metric`` (missing values and failed points last); ties by point id."""
    metric = metric_name(metric)
    lower = metric in LOWER_IS_BETTER

    def key(result: SweepResult) -> tuple[int, Decimal, str]:
        raw = result.metrics.get(metric)
        if result.status != "completed" or raw is None:
            return (1, Decimal(0), result.point_id)
        value = Decimal(raw)
        return (0, value if lower else -value, result.point_id)

    ordered = sorted(results, key=key)
    for index, result in enumerate(ordered, start=1):
        result.rank = index
    return ordered


Executor = Callable[[Sequence[PointTask]], list[SweepResult]]


def dask_executor(
    scheduler: str | None = None, *, processes: bool = True, workers: int = 2
) -> Executor:
    """Run tasks on an existing Dask cluster (``scheduler`` address) or a LocalCluster."""

    def execute(tasks: Sequence[PointTask]) -> list[SweepResult]:
        from dask.distributed import Client, LocalCluster

        if scheduler is not None:
            with Client(scheduler) as client:  # type: ignore[no-untyped-call]
                return list(client.gather(client.map(run_point, tasks, pure=False)))
        with (
            LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=workers,
                threads_per_worker=1,
                processes=processes,
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,  # type: ignore[no-untyped-call]
        ):
            return list(client.gather(client.map(run_point, tasks, pure=False)))

    return execute


def serial_executor(tasks: Sequence[PointTask]) -> list[SweepResult]:
    """In this process, one point after the other (tests, debugging)."""
    return [run_point(task) for task in tasks]


def run_sweep(
    *,
    grid: Mapping[str, Sequence[Any]],
    base_config: Path,
    request: BacktestRequest,
    metric: str,
    executor: Executor | None = None,
) -> list[SweepResult]:
    """Run every grid point and return the ranked results."""
    metric = metric_name(metric)
    request = replace(request, configs=(base_config,), out=None, render=False)
    base = user_config_to_dict(load_user_config(base_config))
    base_json = json.dumps(base, default=str)
    points = grid_points(grid)
    tasks = [PointTask(point, base_json, request) for point in points]
    results = (executor or dask_executor())(tasks)
    return rank(results, metric)


def _rows(results: Sequence[SweepResult]) -> list[dict[str, Any]]:
    rows = []
    for result in results:
        row: dict[str, Any] = {"rank": result.rank, "point_id": result.point_id}
        row.update(result.values)
        row["status"] = result.status
        row.update(result.metrics)
        row["error"] = result.error
        rows.append(row)
    return rows


def sweep_json(results: Sequence[SweepResult], metric: str) -> str:
    document = {"metric": metric_name(metric), "points": _rows(results)}
    return json.dumps(document, indent=2) + "\n"


def sweep_csv(results: Sequence[SweepResult]) -> str:
    rows = _rows(results)
    columns: list[str] = []
    for row in rows:
        columns.extend(c for c in row if c not in columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return buffer.getvalue()


def sweep_html(results: Sequence[SweepResult], metric: str, title: str = "Sweep") -> str:
    metric = metric_name(metric)
    keys = list(results[0].values) if results else []
    shown = [metric] + [m for m in _TABLE_METRICS if m != metric]
    headers = ["rank", "point", *keys, "status", *shown]
    body_rows = []
    for result in results:
        cells: list[Cell | object] = [result.rank, result.point_id]
        cells += [result.values.get(k, "") for k in keys]
        cells.append(result.status if result.error is None else f"{result.status}: {result.error}")
        cells += [Cell(result.metrics.get(m) or "–", numeric=True) for m in shown]
        body_rows.append(cells)
    order = "lower" if metric in LOWER_IS_BETTER else "higher"
    intro = f"<p>{len(results)} points ranked by <b>{esc(metric)}</b> ({order} is better).</p>"
    body = f"<h1>{esc(title)}</h1>" + section(
        "ranking", "Ranking", intro, table(headers, body_rows, table_id="sweep")
    )
    return page(title, body)


def write_sweep(
    results: Sequence[SweepResult], metric: str, out: Path, title: str = "Sweep"
) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "sweep.csv", "json": out / "sweep.json", "html": out / "sweep.html"}
    paths["csv"].write_text(sweep_csv(results), encoding="utf-8")
    paths["json"].write_text(sweep_json(results, metric), encoding="utf-8")
    paths["html"].write_text(sweep_html(results, metric, title), encoding="utf-8")
    return paths
