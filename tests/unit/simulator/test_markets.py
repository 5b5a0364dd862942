"""Market data files and the loader."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from engine.domain import MarketType
from simulator.markets import (
    default_markets_dir,
    generate_synthetic_markets,
    load_venue_spec,
    load_venue_specs,
)

SEED_SYMBOLS = {
    "BTCUSDT", "ETHUSDT", "SOLUSDT", "DOTUSDT", "XRPUSDT",
    "TRXUSDT", "DOGEUSDT", "ADAUSDT", "GALAUSDT",
}  # fmt: skip


def test_both_venues_list_the_nine_seed_symbols() -> None:
    specs = load_venue_specs()
    assert set(specs) >= {"binance", "bybit"}
    for name in ("binance", "bybit"):
        assert set(specs[name].markets) == SEED_SYMBOLS
        for market in specs[name].markets.values():
            assert market.quote == "USDT"
            assert market.market_type == MarketType.SPOT
            assert market.maker_fee == Decimal("0.001") == market.taker_fee


@pytest.mark.parametrize(
    ("symbol", "tick", "step"),
    [
        ("BTCUSDT", "0.01", "0.00001"),
        ("ETHUSDT", "0.01", "0.0001"),
        ("SOLUSDT", "0.01", "0.001"),
        ("XRPUSDT", "0.0001", "0.1"),
        ("DOGEUSDT", "0.00001", "1"),
        ("GALAUSDT", "0.00001", "1"),
        ("ADAUSDT", "0.0001", "0.1"),
        ("DOTUSDT", "0.001", "0.01"),
        ("TRXUSDT", "0.0001", "0.1"),
    ],
)
def test_binance_published_tick_and_step(symbol: str, tick: str, step: str) -> None:
    market = load_venue_specs()["binance"].markets[symbol]
    assert market.tick_size == Decimal(tick)
    assert market.step_size == Decimal(step)


def test_binance_btc_minimums_and_bybit_differs() -> None:
    specs = load_venue_specs()
    btc = specs["binance"].markets["BTCUSDT"]
    assert (btc.min_qty, btc.min_notional) == (Decimal("0.00001"), Decimal(5))
    bybit = specs["bybit"].markets["BTCUSDT"]
    assert bybit.tick_size == Decimal("0.01")
    assert bybit.step_size == Decimal("0.000001")  # basePrecision
    assert bybit.min_qty == Decimal("0.000048")
    assert bybit.min_notional == Decimal(1)  # minOrderAmt


def test_every_file_records_source_date_and_unverified_fields() -> None:
    for path in sorted(default_markets_dir().glob("*.json")):
        data = json.loads(path.read_text())
        assert data["source"] and data["taken_on"]
        for record in data["markets"]:
            assert isinstance(record["unverified"], list)


def test_quirks_and_error_codes_are_data() -> None:
    specs = load_venue_specs()
    assert specs["binance"].quirks.post_only_cross == "reject"
    assert specs["bybit"].quirks.post_only_cross == "cancel"
    assert specs["binance"].errors.specs["insufficient_balance"].code == "-2010"
    assert specs["bybit"].errors.specs["insufficient_balance"].code == "170131"


def test_rules_view_for_the_engine() -> None:
    rules = load_venue_specs()["binance"].markets["XRPUSDT"].rules("binance")
    assert rules.exchange == "binance" and rules.symbol == "XRPUSDT"
    assert rules.tick_size == Decimal("0.0001") and rules.is_complete


def test_bad_record_names_the_field(tmp_path) -> None:  # type: ignore[no-untyped-def]
    source = json.loads((default_markets_dir() / "binance.json").read_text())
    source["markets"][0]["tick_size"] = "-1"
    path = tmp_path / "binance.json"
    path.write_text(json.dumps(source))
    with pytest.raises(ValueError, match=r"binance\.markets\[0\]\.tick_size: must be positive"):
        load_venue_spec(path)
    source["markets"][0]["tick_size"] = 0.01
    path.write_text(json.dumps(source))
    with pytest.raises(ValueError, match=r"tick_size: floats are not accepted"):
        load_venue_spec(path)


def test_missing_error_reason_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    source = json.loads((default_markets_dir() / "bybit.json").read_text())
    del source["errors"]["min_notional"]
    path = tmp_path / "bybit.json"
    path.write_text(json.dumps(source))
    with pytest.raises(ValueError, match=r"bybit: errors: missing reasons \['min_notional'\]"):
        load_venue_spec(path)


def test_synthetic_markets_are_deterministic_and_valid() -> None:
    first = generate_synthetic_markets(50, seed=3)
    assert first == generate_synthetic_markets(50, seed=3)
    assert first != generate_synthetic_markets(50, seed=4)
    assert [m.symbol for m in first[:2]] == ["SYN0000USDT", "SYN0001USDT"]
    for market in first:
        assert market.start_price is not None
        ticks = market.start_price / market.tick
        assert ticks == ticks.to_integral_value() and 1_000 <= ticks <= 100_000
        assert market.min_qty == market.step_size
    with pytest.raises(ValueError, match="n: must be >= 0"):
        generate_synthetic_markets(-1, seed=0)
