"""``qtrade run``: the main job - every feature of the testing plan (pytest-bdd) and the e2e
prediction-to-profit flow against the simulator on SQLite, then the reports
(``e2e_report.json``, ``testing_plan.json``, ``cucumber.json``, ``report.html`` and the
equity curve's CSV/PNG exports) and a per-phase summary. Exits 1 on FAILURE.

``--backend`` chooses where the features run (``sim``: in-process simulator; ``sim-rest``:
ccxt against the simulator's REST faces; ``testnet``: Binance/Bybit testnets, keys from the
environment); the e2e flow always runs against a fresh in-process simulator service, whose
prices it must move. See docs/e2e.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from qtrade.e2e.job import BACKENDS, JobOptions, run_main_job

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="the main job: every feature and the e2e flow, then the reports",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--features", type=Path, default=Path("features"), help="Gherkin folder")
    parser.add_argument(
        "--tests",
        type=Path,
        default=Path("tests/features"),
        help="the pytest modules that bind the features (default tests/features)",
    )
    parser.add_argument("--backend", choices=BACKENDS, default="sim")
    parser.add_argument("--out", type=Path, default=Path("out"), help="report folder")
    parser.add_argument(
        "--ai-url",
        help="the AI engine (POST {url}/signals/predict); default: the service's own route",
    )
    parser.add_argument(
        "--no-ai", action="store_true", help="no AI engine: the built-in predictor only"
    )
    parser.add_argument("--seed", type=int, default=0, help="simulator seed of the e2e flow")
    parser.add_argument("--skip-features", action="store_true", help="run the e2e flow only")
    parser.add_argument("--skip-e2e", action="store_true", help="run the features only")
    parser.add_argument(
        "--pytest-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for the feature suite's pytest (repeatable)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        options = JobOptions(
            features=args.features,
            tests=args.tests,
            backend=args.backend,
            out_dir=args.out,
            ai_url=args.ai_url,
            use_ai=not args.no_ai,
            seed=args.seed,
            run_features=not args.skip_features,
            run_e2e=not args.skip_e2e,
            pytest_args=tuple(args.pytest_arg),
        )
    except ValueError as exc:
        print(f"qtrade run: {exc}", file=sys.stderr)
        return 2
    return run_main_job(options, echo=sys.stdout).exit_code
