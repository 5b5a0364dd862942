"""Builders for backtest tests: small bar sets, webhook payloads, config variants, replays."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from backtest.recorder import Recording
from backtest.replay import ReplayResult
from backtest.setup import ReplayOptions, UserSetup, build_replay
from backtest.signal_sources import TimedPayload
from backtest.synthetic import Regime, generate_bars
from engine.config import UserConfig, parse_user_config

__all__ = [
    "T0",
    "MINUTE",
    "HOUR",
    "SEED_CONFIG",
    "TICKS",
    "START_PRICES",
    "VOLATILE",
    "seed_config",
    "config_with",
    "bars_frame",
    "volatile_frames",
    "entry",
    "exit_signal",
    "payload_stream",
    "replay",
    "decisions",
]

ROOT = Path(__file__).resolve().parents[2]
SEED_CONFIG = ROOT / "scenarios" / "users" / "maaz.json"
T0 = 1_735_689_600_000  # 2025-01-01T00:00:00Z
MINUTE = 60_000
HOUR = 3_600_000
TICKS = {"BTCUSDT": 0.01, "ETHUSDT": 0.01, "SOLUSDT": 0.01, "DOGEUSDT": 0.00001}
START_PRICES = {"BTCUSDT": 95992.3, "ETHUSDT": 3394.0, "SOLUSDT": 125.97, "DOGEUSDT": 0.195}
# calm, trending up, trending down: a few percent per hour, so grids fill and TPs hit
VOLATILE = (
    Regime(0.0, 0.0015, 0.995),
    Regime(0.0002, 0.002, 0.99),
    Regime(-0.0002, 0.003, 0.99),
)


def seed_config() -> dict[str, Any]:
    """The seed user's config as a JSON document (numbers as Decimals)."""
    document: dict[str, Any] = json.loads(SEED_CONFIG.read_text(), parse_float=Decimal)
    return document


def config_with(changes: Mapping[str, Any] | None = None, **named: Any) -> UserConfig:
    """The seed config with dotted keys changed: ``{"risk_config.loss_threshold_percent":
    "-1"}`` (keyword form: ``risk_config__loss_threshold_percent="-1"``)."""
    document = copy.deepcopy(seed_config())
    merged = dict(changes or {})
    merged.update({key.replace("__", "."): value for key, value in named.items()})
    for key, value in merged.items():
        section, name = key.split(".")
        document[section][name] = value
    return parse_user_config(document)


def bars_frame(rows: Sequence[tuple[int, str, str, str, str]]) -> pd.DataFrame:
    """A bars frame from ``(ts_ms, open, high, low, close)`` rows (prices as text)."""
    return pd.DataFrame(
        {
            "ts_ms": [r[0] for r in rows],
            "open": [float(r[1]) for r in rows],
            "high": [float(r[2]) for r in rows],
            "low": [float(r[3]) for r in rows],
            "close": [float(r[4]) for r in rows],
            "volume": [1.0 for _ in rows],
        }
    )


def volatile_frames(
    minutes: int, symbols: Iterable[str] = ("BTCUSDT", "ETHUSDT", "DOGEUSDT"), seed: int = 11
) -> dict[str, pd.DataFrame]:
    """Seeded volatile 1-minute bars from ``T0`` (frames as ``load_price_folder`` gives)."""
    frames = {}
    for index, symbol in enumerate(symbols):
        bars = generate_bars(
            START_PRICES[symbol],
            minutes,
            seed=seed + index,
            tick_size=TICKS[symbol],
            regimes=VOLATILE,
            start_ms=T0,
        )
        frame = bars.rename(columns={"timestamp": "ts_ms"})
        frames[symbol] = frame
    return frames


def entry(
    at_ms: int,
    symbol: str,
    *,
    side: str = "buy",
    exchange: str = "binance",
    timeframe: int = 60,
    **extra: Any,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "timestamp": at_ms,
        "tv": {"exchange": exchange, "symbol": symbol, "timeframe": timeframe, "action": side},
        "execution_intent": {"type": "signal"},
    }
    payload.update(extra)
    return payload


def exit_signal(
    at_ms: int, symbol: str, *, exchange: str = "binance", timeframe: int = 60
) -> dict[str, Any]:
    payload = entry(at_ms, symbol, side="sell", exchange=exchange, timeframe=timeframe)
    payload["execution_intent"] = {"type": "exit"}
    return payload


def payload_stream(
    minutes: int,
    symbols: Sequence[str],
    *,
    every_minutes: int = 20,
    offset_ms: int = 7_000,
    exit_every: int = 0,
    short_every: int = 0,
    timeframes: Sequence[int] = (60, 15),
) -> list[TimedPayload]:
    """Entries for each symbol every ``every_minutes`` (symbol ``j`` arrives ``j × offset``
    after the minute, i.e. between ticks); every ``exit_every``-th payload is an exit and
    every ``short_every``-th a short entry."""
    items = []
    line = 0
    for minute in range(0, minutes, every_minutes):
        for index, symbol in enumerate(symbols):
            line += 1
            at_ms = T0 + minute * MINUTE + offset_ms * index
            timeframe = timeframes[index % len(timeframes)]
            if exit_every and line % exit_every == 0:
                payload = exit_signal(at_ms, symbol, timeframe=timeframe)
            else:
                side = "sell" if short_every and line % short_every == 0 else "buy"
                payload = entry(at_ms, symbol, side=side, timeframe=timeframe)
            items.append(TimedPayload(at_ms, payload, line))
    return items


def replay(
    frames: Mapping[str, pd.DataFrame],
    payloads: Sequence[TimedPayload],
    users: Sequence[UserSetup] | UserConfig,
    *,
    step: bool = False,
    check_invariants: bool = True,
    **options: Any,
) -> ReplayResult:
    """Build and run a replay; a single config becomes the user ``maaz`` with 10,000 USDT."""
    if isinstance(users, UserConfig):
        users = [UserSetup("maaz", users, {"USDT": Decimal(10_000)})]
    built = build_replay(
        frames=dict(frames),
        payloads=payloads,
        users=users,
        options=ReplayOptions(step=step, check_invariants=check_invariants, **options),
    )
    return built.run()


def decisions(recording: Recording) -> dict[str, Any]:
    return recording.decisions()
