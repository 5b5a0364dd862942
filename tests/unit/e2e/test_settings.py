"""FlowSettings: defaults of the seed flow, and bad settings named by field and code."""

from __future__ import annotations

from decimal import Decimal

import pytest

from qtrade.e2e.settings import DEFAULT_SYMBOLS, FlowSettings, FlowSettingsError


def test_defaults_describe_the_seed_flow() -> None:
    settings = FlowSettings(user_id="u")
    assert settings.symbols == DEFAULT_SYMBOLS == ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    assert settings.exchange == "binance"
    # 300 s of warm-up sampled every 60 s: at 0, 60, 120, 180, 240, 300 -> 6 samples
    assert settings.warmup_samples == 6
    assert settings.capital_usd == Decimal(100)


def test_symbols_and_exchange_are_normalised() -> None:
    settings = FlowSettings(
        user_id="u", exchange=" Binance ", symbols=("btc/usdt", "SOL-USDT"), warmup_targets={}
    )
    assert settings.exchange == "binance"
    assert settings.symbols == ("BTCUSDT", "SOLUSDT")


def test_exit_plan_takes_turns_through_the_cycle() -> None:
    settings = FlowSettings(user_id="u")
    plans = [settings.exit_plan(i) for i in range(4)]
    assert plans == ["stop_loss", "take_profit", "stop_loss", "take_profit"]


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"user_id": " "}, "user_id", "empty"),
        ({"symbols": ()}, "symbols", "empty"),
        ({"symbols": ("BTCUSDT", "btc/usdt")}, "symbols", "duplicate"),
        ({"capital_usd": Decimal(0)}, "capital_usd", "not_positive"),
        ({"capital_usd": 1.5}, "capital_usd", "not_a_number"),
        ({"stop_loss_percent": Decimal(100)}, "stop_loss_percent", "out_of_range"),
        ({"min_confidence": Decimal("1.2")}, "min_confidence", "out_of_range"),
        ({"exit_cycle": ("moon",)}, "exit_cycle", "unknown_value"),
        ({"exit_cycle": ()}, "exit_cycle", "unknown_value"),
        ({"warmup_seconds": 90}, "warmup_seconds", "not_a_multiple"),
        ({"sample_seconds": 0}, "sample_seconds", "out_of_range"),
        ({"poll_seconds": True}, "poll_seconds", "not_an_int"),
        ({"ai_url": "localhost:8001"}, "ai_url", "invalid_url"),
        ({"ai_timeout_seconds": 0}, "ai_timeout_seconds", "not_positive"),
        ({"warmup_targets": {"BTCUSDT": Decimal(-1)}}, "warmup_targets.BTCUSDT", "not_positive"),
    ],
)
def test_bad_settings_name_the_field(changes: dict[str, object], field: str, code: str) -> None:
    arguments: dict[str, object] = {"user_id": "u", **changes}
    with pytest.raises(FlowSettingsError) as caught:
        FlowSettings(**arguments)  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.code) == (field, code)
    assert field in str(caught.value)
