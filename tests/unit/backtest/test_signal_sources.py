from decimal import Decimal
from pathlib import Path

import pytest

from backtest.signal_sources import (
    SignalSourceError,
    load_jsonl_signals,
    load_tradingview_trades,
    parse_time_ms,
)

TV_EXPORT = (
    "Trade #,Type,Signal,Date/Time,Price USDT,Contracts,Profit USDT,Profit %,"
    "Cum. Profit USDT,Cum. Profit %,Run-up USDT,Run-up %,Drawdown USDT,Drawdown %\n"
    "1,Exit Long,Close,2025-01-01 04:00,96500.5,0.001,0.5,0.53,0.5,0.01,0.6,0.6,-0.1,-0.1\n"
    "1,Entry Long,Long,2025-01-01 00:00,95992.3,0.001,0.5,0.53,0.5,0.01,0.6,0.6,-0.1,-0.1\n"
    "2,Entry Short,Short,2025-01-01 08:00,97000,0.002,,,,,,,,\n"
)


def test_parse_time_forms() -> None:
    # 2025-01-01T00:00:00Z is 1735689600 s since the epoch.
    assert parse_time_ms("2025-01-01 00:00") == 1735689600000
    assert parse_time_ms("2025-01-01T00:00:00Z") == 1735689600000
    assert parse_time_ms(1735689600) == 1735689600000
    assert parse_time_ms("1735689600000") == 1735689600000
    with pytest.raises(ValueError):
        parse_time_ms("soon")


def test_tradingview_rows_become_signals_and_exits_in_time_order(tmp_path: Path) -> None:
    file = tmp_path / "trades.csv"
    file.write_text(TV_EXPORT)
    items = load_tradingview_trades(file, exchange="binance", symbol="BTCUSDT", timeframe=60)
    assert [i.at_ms for i in items] == [
        1735689600000,
        1735689600000 + 4 * 3600_000,
        1735689600000 + 8 * 3600_000,
    ]
    entry, exit_, short = (i.payload for i in items)
    assert entry["execution_intent"] == {
        "type": "signal",
        "side": "long",
        "position_size_type": "contracts",
    }
    assert entry["tv"]["action"] == "buy"
    assert entry["tv"]["order_size"] == "0.001"
    assert entry["tv"]["entry_price"] == "95992.3"
    assert exit_["execution_intent"]["type"] == "exit"
    assert exit_["tv"]["action"] == "sell"
    assert short["execution_intent"]["side"] == "short"
    assert short["tv"]["action"] == "sell"
    assert entry["strategy_info"]["trade_id"] == "1"


def test_tradingview_bad_rows_and_unknown_columns_are_reported_with_lines(tmp_path: Path) -> None:
    file = tmp_path / "trades.csv"
    file.write_text(
        "Trade #,Type,Date/Time,Price USDT,Contracts,Mood\n"
        "1,Entry Long,2025-01-01 00:00,abc,1,happy\n"
        "2,Sideways,2025-01-01 00:00,1,1,happy\n"
        "3,Entry Long,later,1,1,sad\n"
    )
    with pytest.raises(SignalSourceError) as info:
        load_tradingview_trades(file, exchange="binance", symbol="BTCUSDT", timeframe=60)
    lines = [(p.line, p.message.split()[0]) for p in info.value.problems]
    assert lines == [(1, "unknown"), (2, "price"), (3, "type"), (4, "timestamp")]


def test_jsonl_payloads_sorted_by_timestamp_with_decimal_numbers(tmp_path: Path) -> None:
    file = tmp_path / "signals.jsonl"
    file.write_text(
        '{"timestamp": "2025-01-01T00:01:00Z", "tv": {"entry_price": 1.5}}\n'
        "\n"
        '{"timestamp": 1735689600000, "tv": {"entry_price": 2}}\n'
    )
    items = load_jsonl_signals(file)
    assert [i.line for i in items] == [3, 1]
    assert items[1].payload["tv"]["entry_price"] == Decimal("1.5")


def test_jsonl_problems_name_their_lines(tmp_path: Path) -> None:
    file = tmp_path / "signals.jsonl"
    file.write_text('{"timestamp": 1}\n{oops\n[1]\n{"tv": {}}\n{"timestamp": "never"}\n')
    with pytest.raises(SignalSourceError) as info:
        load_jsonl_signals(file)
    assert [p.line for p in info.value.problems] == [2, 3, 4, 5]
    assert "signals.jsonl:4: timestamp: missing" in str(info.value)
