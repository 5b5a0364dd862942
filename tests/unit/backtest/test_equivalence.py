"""The fast replay makes exactly the step replay's decisions.

Each case replays the same prices and signals twice, once visiting every tick (``step``) and
once skipping from event to event, and compares every order placed (time, id, quantity,
price), every fill, every signal outcome, every rejection, every risk action and each
group's final figures. The cases cover the take-profit modes, engine-watched TPs, stops,
exits, risk offsets (partial and whole), a full pool with a queue, rejections for lack of
balance (with retries), two users with different risk-cycle intervals on two exchanges,
shorts on spot, tick data, 5-minute bars and spot buy fees taken in the base asset; each
asserts that what it is about happened.
Both runs also check at every moment that the engine's last risk cycle is the schedule's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd
import pytest

from backtest.recorder import Recording
from backtest.setup import UserSetup
from backtest.signal_sources import TimedPayload
from tests.kit.backtest import (
    MINUTE,
    T0,
    config_with,
    entry,
    payload_stream,
    replay,
    volatile_frames,
)

MINUTES = 360
SYMBOLS = ("BTCUSDT", "ETHUSDT", "DOGEUSDT")


def _outcomes(recording: Recording) -> Counter[str]:
    return Counter(entry.outcome.outcome for entry in recording.outcomes)


def _purposes(recording: Recording) -> Counter[str]:
    return Counter(fill.purpose for fill in recording.fills)


@dataclass(frozen=True)
class Case:
    users: list[UserSetup]
    payloads: list[TimedPayload]
    check: Callable[[Recording], bool]
    frames: dict[str, pd.DataFrame] | None = None
    fee_asset: str = "quote"


def _user(changes: dict[str, object] | None = None, balance: str = "10000", name: str = "maaz"):  # type: ignore[no-untyped-def]
    return UserSetup(name, config_with(changes or {}), {"USDT": Decimal(balance)})


def _ticks_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Irregular ticks: each bar's close, 13 s + (minute mod 7) s after its open."""
    offsets = 13_000 + (frame.index.to_numpy() % 7) * 1_000
    return pd.DataFrame({"ts_ms": frame["ts_ms"].to_numpy() + offsets, "price": frame["close"]})


def _five_minute(frame: pd.DataFrame) -> pd.DataFrame:
    groups = frame.groupby(frame.index // 5)
    return pd.DataFrame(
        {
            "ts_ms": groups["ts_ms"].first(),
            "open": groups["open"].first(),
            "high": groups["high"].max(),
            "low": groups["low"].min(),
            "close": groups["close"].last(),
            "volume": groups["volume"].sum(),
        }
    ).reset_index(drop=True)


def _cases() -> dict[str, Case]:
    stream = payload_stream(MINUTES, SYMBOLS, every_minutes=15)
    dense = payload_stream(MINUTES, SYMBOLS, every_minutes=10)
    risk = {
        "dca_grid_config.max_pyramids": 2,
        "risk_config.loss_threshold_percent": "-0.5",
        "risk_config.post_full_wait_minutes": 1,
        "risk_config.max_open_positions_global": 4,
        "risk_config.max_total_exposure_usd": "5000",
    }
    frames = volatile_frames(MINUTES, SYMBOLS)
    mixed = dict(frames)
    mixed["ETHUSDT"] = _ticks_frame(frames["ETHUSDT"])
    mixed["DOGEUSDT"] = _five_minute(frames["DOGEUSDT"])
    two_exchanges = [
        item if item.line % 2 else TimedPayload(
            item.at_ms,
            {**item.payload, "tv": {**item.payload["tv"], "exchange": "bybit"}},
            item.line,
        )
        for item in payload_stream(MINUTES, SYMBOLS, every_minutes=12, short_every=7)
    ]  # fmt: skip
    protected = [
        TimedPayload(
            T0 + minute * MINUTE + 3_000,
            entry(
                T0 + minute * MINUTE + 3_000,
                "BTCUSDT",
                risk={"stop_loss": "94800", "take_profit": "96900"},
            ),
            index + 1,
        )
        for index, minute in enumerate(range(0, MINUTES, 45))
    ]
    return {
        "per_leg_limit_tps": Case(
            [_user()], stream, lambda r: _purposes(r)["tp"] > 0 and _purposes(r)["dca"] > 0
        ),
        "aggregate": Case(
            [
                _user(
                    {
                        "dca_grid_config.tp_mode": "aggregate",
                        "dca_grid_config.tp_aggregate_percent": "0.8",
                    }
                )
            ],
            stream,
            lambda r: _purposes(r)["atp"] > 0,
        ),
        "hybrid_market_tps_and_exits": Case(
            [
                _user(
                    {
                        "dca_grid_config.tp_mode": "hybrid",
                        "dca_grid_config.tp_aggregate_percent": "1.2",
                        "dca_grid_config.tp_order_type": "market",
                    }
                )
            ],
            payload_stream(MINUTES, SYMBOLS, every_minutes=15, exit_every=9),
            lambda r: _purposes(r)["tp"] > 0 and _purposes(r)["exit"] > 0,
        ),
        "pyramid_aggregate_with_stop": Case(
            [
                _user(
                    {
                        "dca_grid_config.tp_mode": "pyramid_aggregate",
                        "dca_grid_config.tp_aggregate_percent": "0.6",
                        "dca_grid_config.stop_loss_percent": "1.5",
                    }
                )
            ],
            stream,
            lambda r: _purposes(r)["atp"] > 0 and _purposes(r)["stop"] > 0,
        ),
        "risk_offsets": Case([_user(risk)], dense, lambda r: len(r.risk_actions) > 0),
        "risk_whole_groups_45s_cycle": Case(
            [
                _user(
                    {
                        **risk,
                        "dca_grid_config.max_pyramids": 1,
                        "dca_grid_config.tp_mode": "aggregate",
                        "dca_grid_config.tp_aggregate_percent": "5",
                        "risk_config.loss_threshold_percent": "-0.3",
                        "risk_config.max_open_positions_global": 6,
                        "risk_config.max_open_positions_per_symbol": 2,
                        "risk_config.require_full_pyramids": False,
                        "risk_config.partial_close_enabled": False,
                        "risk_config.evaluate_interval_seconds": 45,
                    }
                )
            ],
            dense,
            lambda r: len(r.risk_actions) > 0,
        ),
        "queue_full": Case(
            [
                _user(
                    {
                        "risk_config.max_open_positions_global": 1,
                        "dca_grid_config.tp_mode": "aggregate",
                        "dca_grid_config.tp_aggregate_percent": "0.5",
                    }
                )
            ],
            payload_stream(MINUTES, SYMBOLS, every_minutes=5),
            lambda r: (
                _outcomes(r)["queued"] > 0
                and _outcomes(r)["replaced"] > 0
                and any(e.action == "promoted" for e in r.queue_events)
            ),
        ),
        "low_balance_rejections": Case(
            [_user(balance="150")], dense, lambda r: len(r.rejections) > 0
        ),
        "two_users_two_exchanges_shorts": Case(
            [
                _user(risk, name="alice"),
                _user({**risk, "risk_config.evaluate_interval_seconds": 25}, name="bob"),
            ],
            two_exchanges,
            lambda r: (
                {f.exchange for f in r.fills} == {"binance", "bybit"}
                and {f.user_id for f in r.fills} == {"alice", "bob"}
                and any(e.outcome.reason == "short_not_supported_on_spot" for e in r.outcomes)
            ),
        ),
        "ticks_and_5m_bars": Case([_user(risk)], dense, lambda r: len(r.fills) > 20, mixed),
        "base_asset_fees_leave_dust": Case(
            [_user(risk)],
            dense,
            lambda r: any(f.fee_asset == "BTC" for f in r.fills) and _purposes(r)["tp"] > 0,
            fee_asset="base",
        ),
        "signal_stop_and_take_profit": Case(
            [_user()],
            protected,
            lambda r: _purposes(r)["stop"] + _purposes(r)["atp"] > 0,
        ),
    }


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_fast_replay_makes_the_step_replays_decisions(name: str) -> None:
    case = CASES[name]
    frames = case.frames or volatile_frames(MINUTES, SYMBOLS)
    fees = case.fee_asset
    fast = replay(frames, case.payloads, case.users, spot_buy_fee_asset=fees)
    step = replay(frames, case.payloads, case.users, step=True, spot_buy_fee_asset=fees)
    assert fast.status == step.status == "completed"
    assert case.check(step.recording), f"{name}: the case did not exercise its feature"
    assert fast.recording.decisions() == step.recording.decisions()
    assert fast.moments < step.moments  # and it did skip
