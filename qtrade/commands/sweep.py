"""``qtrade sweep``: the backtest over a grid of config values, ranked by one metric.

    qtrade sweep --grid grid.yaml --prices DIR --signals FILE --config FILE --out DIR
        [--metric total_return] [--scheduler tcp://HOST:8786] [--workers 2] [--threads]

The grid maps dotted config keys to value lists (see backtest/sweep.py and
docs/backtesting.md). Runs on Dask: a local cluster of ``--workers`` processes by default
(``--threads`` keeps the workers in this process), or the cluster at ``--scheduler``. Writes
``sweep.csv``, ``sweep.json`` and ``sweep.html`` and prints the top of the ranking.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from backtest.sweep import SweepError, dask_executor, load_grid, metric_name, run_sweep, write_sweep
from qtrade.commands.backtest import INPUT_ERRORS, add_input_arguments, request_from_args

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="run the backtest over a grid of config values and rank the results",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--grid", type=Path, required=True)
    add_input_arguments(parser)
    parser.add_argument("--config", type=Path, required=True, help="the base user config")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--metric", default="total_return_percent")
    parser.add_argument("--scheduler", help="address of an existing Dask scheduler")
    parser.add_argument("--workers", type=int, default=2, help="local cluster size")
    parser.add_argument("--threads", action="store_true", help="local workers as threads")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        metric = metric_name(args.metric)
        grid = load_grid(args.grid)
        request = request_from_args(args, configs=(args.config,), out=None, render=False)
        executor = dask_executor(
            args.scheduler, processes=not args.threads, workers=max(1, args.workers)
        )
        results = run_sweep(
            grid=grid, base_config=args.config, request=request, metric=metric, executor=executor
        )
    except (SweepError, *INPUT_ERRORS) as exc:
        print(f"qtrade sweep: {exc}", file=sys.stderr)
        return 2
    paths = write_sweep(results, metric, args.out, title=f"Sweep: {args.grid.name}")
    top = [
        {"rank": r.rank, "point": r.point_id, **r.values, metric: r.metrics.get(metric)}
        for r in results[:5]
    ]
    print(json.dumps({"points": len(results), "metric": metric, "top": top,
                      "files": {k: str(v) for k, v in paths.items()}}))  # fmt: skip
    return 0
