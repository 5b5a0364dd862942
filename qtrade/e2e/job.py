"""``qtrade run``: the main job. Runs the feature suite (a subprocess, see
:mod:`qtrade.e2e.suite`) and the e2e flow against a fresh simulator service on SQLite, then
writes into the output folder:

- ``cucumber.json`` (pytest-bdd), ``scenario_outcomes.json`` and ``features.log``;
- ``e2e_report.json`` (the flow, seed schema);
- ``testing_plan.json`` — the scenarios per phase, with the e2e report embedded; its trades
  and equity curve are the e2e flow's (cumulative realised PnL over the flow's capital),
  the only trading of the run that is one account's (each scenario trades in its own
  throwaway system);
- ``report.html``, ``trades.csv``, ``equity.csv``, ``equity.png``, ``drawdown.png``
  rendered from ``testing_plan.json``;
- ``e2e/`` — the flow's service database and log.

The overall result is ``FAILURE`` when the suite could not run, a scenario failed, nothing
passed, or the e2e flow's status is FAILURE; ``PARTIAL`` when the flow is PARTIAL; else
``SUCCESS``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from engine.service.logs import configure_logging
from qtrade.e2e.flow import FlowResult, run_flow
from qtrade.e2e.report import flow_report, flow_starting_equity
from qtrade.e2e.service import SEED_USER_FILE, running_sim_service
from qtrade.e2e.settings import FlowSettings
from qtrade.e2e.suite import CUCUMBER_FILE, LOG_FILE, OUTCOMES_FILE, SuiteRun, run_feature_suite
from qtrade.e2e.summary import summary_text
from reports import E2EReport, TestingPlanReport, build_testing_plan_report, render_report_files

__all__ = [
    "BACKENDS",
    "REPORT_FILES",
    "JobOptions",
    "JobResult",
    "run_main_job",
]

BACKENDS = ("sim", "sim-rest", "testnet")
E2E_REPORT = "e2e_report.json"
PLAN_REPORT = "testing_plan.json"
REPORT_FILES = (
    E2E_REPORT,
    PLAN_REPORT,
    CUCUMBER_FILE,
    OUTCOMES_FILE,
    LOG_FILE,
    "report.html",
    "trades.csv",
    "equity.csv",
    "equity.png",
    "drawdown.png",
)


@dataclass(frozen=True)
class JobOptions:
    features: Path = Path("features")
    tests: Path = Path("tests/features")
    backend: str = "sim"
    out_dir: Path = Path("out")
    ai_url: str | None = None
    use_ai: bool = True
    seed: int = 0
    run_features: bool = True
    run_e2e: bool = True
    pytest_args: tuple[str, ...] = ()
    user_file: Path = SEED_USER_FILE

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend: must be one of {BACKENDS}, got {self.backend!r}")
        if self.ai_url is not None and not self.ai_url.startswith(("http://", "https://")):
            raise ValueError(f"ai_url: not an http(s) URL: {self.ai_url!r}")
        if not (self.run_features or self.run_e2e):
            raise ValueError("run_features/run_e2e: nothing to run")


@dataclass
class JobResult:
    status: str
    suite: SuiteRun | None = None
    flow: FlowResult | None = None
    e2e: E2EReport | None = None
    plan: TestingPlanReport | None = None
    files: dict[str, Path] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.status == "FAILURE" else 0


def _clean(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in REPORT_FILES:
        (out_dir / name).unlink(missing_ok=True)
    shutil.rmtree(out_dir / "e2e", ignore_errors=True)


def _run_e2e(options: JobOptions) -> FlowResult:
    data_dir = options.out_dir / "e2e"
    configure_logging(log_file=data_dir / "service.log", stream=False)
    try:
        with running_sim_service(
            data_dir, users=(options.user_file,), seed=options.seed
        ) as service:
            settings = FlowSettings(
                user_id=service.user_id, ai_url=options.ai_url, use_ai=options.use_ai
            )
            return run_flow(service.api, settings)
    finally:
        configure_logging(log_file=None, stream=False)


def _status(suite: SuiteRun | None, e2e: E2EReport | None, problems: list[str]) -> str:
    failure = bool(problems)
    if suite is not None:
        passed = sum(1 for s in suite.scenarios if s.status == "passed")
        failure = failure or suite.error is not None or suite.failed > 0 or passed == 0
    if e2e is not None:
        failure = failure or e2e.status == "FAILURE"
    if failure:
        return "FAILURE"
    return "PARTIAL" if e2e is not None and e2e.status == "PARTIAL" else "SUCCESS"


def run_main_job(options: JobOptions, echo: TextIO | None = None) -> JobResult:
    """Run the job (see the module docstring); ``echo`` receives progress and the summary."""
    out_dir = options.out_dir
    _clean(out_dir)
    started = datetime.now(UTC)
    suite = flow = e2e = None
    problems: list[str] = []
    if options.run_features:
        if echo is not None:
            print(
                f"qtrade run: features {options.features} ({options.tests}) on backend "
                f"{options.backend}; log {out_dir / LOG_FILE}",
                file=echo,
                flush=True,
            )
        suite = run_feature_suite(
            tests=options.tests,
            features=options.features,
            backend=options.backend,
            out_dir=out_dir,
            pytest_args=options.pytest_args,
            echo=echo,
        )
        if suite.error:
            problems.append(suite.error)
    if options.run_e2e:
        if echo is not None:
            print("qtrade run: e2e prediction-to-profit flow (simulator, SQLite)", file=echo)
        flow = _run_e2e(options)
        e2e = flow_report(flow)
        (out_dir / E2E_REPORT).write_text(e2e.to_json(), encoding="utf-8")
    plan = build_testing_plan_report(
        scenarios=list(suite.scenarios) if suite is not None else [],
        trades=flow.records if flow is not None else [],
        starting_equity=flow_starting_equity(flow) if flow is not None else Decimal(0),
        orders_placed=flow.orders_placed if flow is not None else 0,
        orders_filled=flow.orders_filled if flow is not None else 0,
        latencies_ms=flow.engine_latencies_ms if flow is not None else None,
        wall_latencies_ms=flow.wall_latencies_ms if flow is not None else None,
        started=started,
        completed=datetime.now(UTC),
        e2e=e2e,
    )
    (out_dir / PLAN_REPORT).write_text(plan.to_json(), encoding="utf-8")
    files = render_report_files(out_dir / PLAN_REPORT, out_dir)
    if e2e is not None:
        files["e2e_report"] = out_dir / E2E_REPORT
    files["testing_plan"] = out_dir / PLAN_REPORT
    if suite is not None and (out_dir / CUCUMBER_FILE).is_file():
        files["cucumber"] = out_dir / CUCUMBER_FILE
    result = JobResult(_status(suite, e2e, problems), suite, flow, e2e, plan, files, problems)
    if echo is not None:
        print(summary_text(result.status, plan, e2e, suite, files, problems), file=echo)
    return result
