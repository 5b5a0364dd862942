"""Run a backtest end to end: load prices, signals and configs, replay them, write the report.

:func:`run_backtest` is what ``qtrade backtest`` and ``qtrade sweep`` call. Outputs in the
``out`` folder: ``backtest_report.json`` (the report: trades, fills, risk actions, queue
history, equity and exposure series, metrics), ``run.json`` (status, skipped signals,
rejections, outcome counts), and from the report JSON alone ``report.html``, ``trades.csv``,
``equity.csv``, ``equity.png`` and ``drawdown.png`` (:func:`reports.render_report_files`).

Ctrl-C during the replay stops it cleanly: the report covers what was replayed and says
``interrupted``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from backtest.prices import load_price_folder
from backtest.replay import ProgressCallback, ReplayResult
from backtest.report import backtest_report, run_summary
from backtest.setup import ReplayOptions, UserSetup, build_replay
from backtest.signal_sources import TimedPayload, load_jsonl_signals, load_tradingview_trades
from engine.config import UserConfig, load_user_config
from reports.exports import render_report_files
from reports.model import BacktestReport
from simulator.slippage import FixedBpsSlippage

__all__ = [
    "SIGNAL_FORMATS",
    "BacktestRequest",
    "BacktestOutcome",
    "ProgressBar",
    "load_signals",
    "load_users",
    "run_backtest",
    "run_loaded",
    "write_outputs",
    "default_progress_stream",
]

SIGNAL_FORMATS = ("jsonl", "tradingview")


@dataclass(frozen=True, slots=True)
class BacktestRequest:
    """Everything ``qtrade backtest`` takes."""

    prices: Path
    signals: Path
    configs: Sequence[Path]
    out: Path | None = None
    signals_format: str = "jsonl"
    symbol: str | None = None  # TradingView trade lists name no symbol
    timeframe: str = "60"
    exchange: str = "binance"
    balance: Decimal = Decimal(10_000)
    step: bool = False
    slippage_bps: Decimal = Decimal(0)
    fee_asset: str = "quote"
    bar_ms: int | None = None
    sample_ms: int | None = None
    markets_dir: Path | None = None
    title: str = "Backtest"
    render: bool = True
    config_overrides: Sequence[UserConfig] | None = None  # sweeps: configs already built


@dataclass(slots=True)
class BacktestOutcome:
    report: BacktestReport
    result: ReplayResult
    summary: dict[str, Any]
    paths: dict[str, Path] = field(default_factory=dict)


class ProgressBar:
    """A one-line progress bar on a stream (stderr), redrawn at most every 0.2 s of wall
    time (the runner is the only place that reads the wall clock)."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self._last = 0.0

    def __call__(self, now_ms: int, start_ms: int, end_ms: int) -> None:
        clock = time.monotonic()
        if clock - self._last < 0.2 and now_ms < end_ms:
            return
        self._last = clock
        span = max(end_ms - start_ms, 1)
        share = min(max((now_ms - start_ms) / span, 0.0), 1.0)
        filled = int(share * self.width)
        day = datetime.fromtimestamp(now_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\rbacktest [{bar}] {share * 100:5.1f}% {day}")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def load_users(configs: Sequence[Path], balance: Decimal) -> list[UserSetup]:
    """One user per config file; the id is the config's ``username`` (else ``id``, else
    the file name)."""
    users = []
    for path in configs:
        config = load_user_config(path)
        user_id = config.username or config.id or Path(path).stem
        users.append(UserSetup(user_id, config, {"USDT": balance}))
    return users


def load_signals(request: BacktestRequest) -> list[TimedPayload]:
    if request.signals_format == "jsonl":
        return load_jsonl_signals(request.signals)
    if request.signals_format == "tradingview":
        if not request.symbol:
            raise ValueError("--symbol: required with --signals-format tradingview")
        return load_tradingview_trades(
            request.signals,
            exchange=request.exchange,
            symbol=request.symbol,
            timeframe=request.timeframe,
        )
    raise ValueError(
        f"--signals-format: expected one of {', '.join(SIGNAL_FORMATS)}, "
        f"got {request.signals_format!r}"
    )


def _parameters(request: BacktestRequest, users: Sequence[UserSetup]) -> dict[str, str]:
    return {
        "prices": str(request.prices),
        "signals": f"{request.signals} ({request.signals_format})",
        "configs": ", ".join(str(path) for path in request.configs),
        "users": ", ".join(user.user_id for user in users),
        "tp_mode": ", ".join(sorted({u.config.dca_grid_config.tp_mode for u in users})),
        "mode": "step" if request.step else "fast",
        "starting_balance": f"{request.balance} USDT per user and exchange",
        "slippage": f"{request.slippage_bps} bps on market orders",
        "spot_buy_fees": f"in {request.fee_asset}",
    }


def run_loaded(
    request: BacktestRequest,
    frames: dict[str, pd.DataFrame],
    payloads: Sequence[TimedPayload],
    users: Sequence[UserSetup],
    *,
    progress: ProgressCallback | None = None,
) -> BacktestOutcome:
    """Replay already-loaded inputs and build the report (no files written)."""
    started = datetime.now(UTC)
    slippage = FixedBpsSlippage(request.slippage_bps) if request.slippage_bps else None
    replay = build_replay(
        frames=frames,
        payloads=payloads,
        users=users,
        options=ReplayOptions(
            step=request.step,
            bar_ms=request.bar_ms,
            sample_ms=request.sample_ms,
            markets_dir=request.markets_dir,
            slippage=slippage,
            spot_buy_fee_asset=request.fee_asset,
        ),
        signal_source=str(request.signals),
        progress=progress,
    )
    result = replay.run()
    completed = datetime.now(UTC)
    report = backtest_report(
        result,
        starting_equity=replay.starting_equity,
        parameters=_parameters(request, users),
        title=request.title,
        started=started,
        completed=completed,
    )
    return BacktestOutcome(report, result, run_summary(result))


def write_outputs(outcome: BacktestOutcome, out: Path, *, render: bool = True) -> dict[str, Path]:
    """The report JSON, the run summary and (``render``) the HTML/CSV/PNG exports."""
    out.mkdir(parents=True, exist_ok=True)
    report_path = out / "backtest_report.json"
    report_path.write_text(outcome.report.to_json(), encoding="utf-8")
    summary_path = out / "run.json"
    summary_path.write_text(json.dumps(outcome.summary, indent=2) + "\n", encoding="utf-8")
    paths = {"report_json": report_path, "run_json": summary_path}
    if render:
        paths.update(render_report_files(report_path, out))
    outcome.paths = paths
    return paths


def run_backtest(
    request: BacktestRequest, *, progress_stream: TextIO | None = None
) -> BacktestOutcome:
    """Load, replay, report and (with ``request.out``) write the outputs. A progress bar goes
    to ``progress_stream`` when one is given."""
    frames = load_price_folder(request.prices)
    payloads = load_signals(request)
    if request.config_overrides is not None:
        users = [
            UserSetup(config.username or config.id or f"user{index}", config,
                      {"USDT": request.balance})
            for index, config in enumerate(request.config_overrides)
        ]  # fmt: skip
    else:
        users = load_users(request.configs, request.balance)
    bar = ProgressBar(progress_stream) if progress_stream is not None else None
    try:
        outcome = run_loaded(request, frames, payloads, users, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    if request.out is not None:
        write_outputs(outcome, request.out, render=request.render)
    return outcome


def default_progress_stream(force: bool) -> TextIO | None:
    """stderr when it is a terminal (or ``force``), else no progress bar."""
    return sys.stderr if force or sys.stderr.isatty() else None
