"""Builders for user configs and TradingView signal payloads (shared by engine tests).

Everything here is plain data: the seed user's grid, config dicts with overrides, and the
full scope-of-work webhook payload. Tests override only what they are about.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.config import DcaGridConfig, GridLevel, RiskConfig, UserConfig, parse_user_config
from engine.domain import Signal
from engine.signals import parse_signal

__all__ = [
    "MAAZ_JSON",
    "SEED_PRICES",
    "seed_levels",
    "seed_level_dicts",
    "user_config_dict",
    "make_user_config",
    "make_dca_config",
    "make_risk_config",
    "tv_payload",
    "make_signal",
]

MAAZ_JSON = Path(__file__).resolve().parents[2] / "scenarios" / "users" / "maaz.json"

# The seed's "current prices use it as entry prices" table, as exact Decimals.
SEED_PRICES: dict[str, Decimal] = {
    "BTCUSDT": Decimal("95992.3"),
    "ETHUSDT": Decimal("3394.0"),
    "SOLUSDT": Decimal("125.97"),
    "DOTUSDT": Decimal("2.075"),
    "XRPUSDT": Decimal("1.874"),
    "TRXUSDT": Decimal("0.2468"),
    "DOGEUSDT": Decimal("0.195"),
    "ADAUSDT": Decimal("0.387"),
    "GALAUSDT": Decimal("0.0066"),
}


def seed_level_dicts() -> list[dict[str, Any]]:
    """The seed user's 3-level grid: 20 % at 0, 30 % at -0.5 %, 50 % at -1 % (TP 1/1/2 %)."""
    return [
        {"gap_percent": "0", "weight_percent": "20", "tp_percent": "1"},
        {"gap_percent": "-0.5", "weight_percent": "30", "tp_percent": "1"},
        {"gap_percent": "-1", "weight_percent": "50", "tp_percent": "2"},
    ]


def seed_levels() -> tuple[GridLevel, ...]:
    return tuple(GridLevel.model_validate(level) for level in seed_level_dicts())


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def user_config_dict(**overrides: Any) -> dict[str, Any]:
    """A valid config dict (seed grid, default risk) with nested ``overrides`` merged in.

    ``user_config_dict(risk_config={"max_open_positions_global": 3})`` changes one key and
    keeps every other default.
    """
    base: dict[str, Any] = {
        "username": "tester",
        "id": "user-1",
        "webhook_secret": "s3cret",
        "configured_exchanges": ["binance", "bybit"],
        "risk_config": {},
        "dca_grid_config": {"levels": seed_level_dicts()},
    }
    return _merge(base, overrides)


def make_user_config(**overrides: Any) -> UserConfig:
    return parse_user_config(user_config_dict(**overrides))


def make_dca_config(**fields: Any) -> DcaGridConfig:
    """A ``DcaGridConfig`` with the seed grid unless ``levels`` is given."""
    data: dict[str, Any] = {"levels": seed_level_dicts(), **fields}
    return DcaGridConfig.model_validate(data)


def make_risk_config(**fields: Any) -> RiskConfig:
    return RiskConfig.model_validate(fields)


def tv_payload(**sections: Any) -> dict[str, Any]:
    """The full scope-of-work webhook payload for the seed's Test 1.1 (Binance BTCUSDT 60m buy,
    entry 95992.3, 0.001 contracts). Keyword arguments merge into the sections, e.g.
    ``tv_payload(tv={"symbol": "ETHUSDT"}, execution_intent={"type": "exit"})``; a value of
    ``None`` for a key deletes it.
    """
    base: dict[str, Any] = {
        "secret": "s3cret",
        "source": "tradingview",
        "timestamp": "2025-01-06T10:00:00Z",
        "tv": {
            "exchange": "BINANCE",
            "symbol": "BTCUSDT",
            "timeframe": 60,
            "action": "buy",
            "market_position": "long",
            "market_position_size": "0.001",
            "prev_market_position": "flat",
            "prev_market_position_size": "0",
            "entry_price": "95992.3",
            "close_price": "95992.3",
            "order_size": "0.001",
        },
        "strategy_info": {
            "trade_id": "t1_1",
            "alert_name": "Test 1.1 basic entry",
            "alert_message": "BTCUSDT long",
        },
        "execution_intent": {
            "type": "signal",
            "side": "long",
            "position_size_type": "contracts",
            "precision_mode": "auto",
        },
        "risk": {"stop_loss": None, "take_profit": None, "max_slippage_percent": "1"},
    }
    merged = _merge(base, sections)
    return _drop_none_overrides(merged, sections)


def _drop_none_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        elif isinstance(value, dict) and isinstance(data.get(key), dict):
            _drop_none_overrides(data[key], value)
    return data


def make_signal(
    *,
    user_id: str = "user-1",
    signal_id: str = "sig-1",
    received_at_ms: int = 1_736_157_600_000,
    **sections: Any,
) -> Signal:
    """Parse :func:`tv_payload` with ``sections`` merged in."""
    return parse_signal(
        tv_payload(**sections),
        user_id=user_id,
        signal_id=signal_id,
        received_at_ms=received_at_ms,
    )
