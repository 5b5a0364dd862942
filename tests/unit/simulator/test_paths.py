"""The YAML path language, durations, and the CSV loaders (expected ticks worked by hand)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from simulator.path_csv import expand_bar, parse_csv_path, parse_ohlcv_csv, parse_ticks_csv
from simulator.paths import (
    DEFAULT_START_MS,
    SymbolPath,
    parse_duration,
    parse_path_yaml,
    parse_time,
    units_to_price,
)
from tests.kit.simulator import T0, D


def ticks(path: SymbolPath) -> list[tuple[int, Decimal]]:
    return [
        (int(t) - T0, units_to_price(int(u))) for t, u in zip(path.times, path.units, strict=True)
    ]


@pytest.mark.parametrize(
    ("text", "ms"),
    [("250ms", 250), ("90s", 90_000), ("2m", 120_000), ("1h30m", 5_400_000), ("1d", 86_400_000),
     (1500, 1500)],
)  # fmt: skip
def test_durations(text: object, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize("bad", ["2 minutes", "m", "", -5, True, "1.5m"])
def test_bad_durations_name_the_field(bad: object) -> None:
    with pytest.raises(ValueError, match="hold:"):
        parse_duration(bad, field="hold")


def test_times() -> None:
    assert parse_time("2026-01-01T00:00:00Z") == DEFAULT_START_MS == 1_767_225_600_000
    assert parse_time("2026-01-01T00:00:00") == DEFAULT_START_MS  # naive = UTC
    assert parse_time("1767225600000") == DEFAULT_START_MS
    with pytest.raises(ValueError, match="start: expected epoch ms or ISO-8601"):
        parse_time("yesterday", field="start")


YAML = """
start: 2026-01-01T00:00:00Z
step: 30s
prices: {BTCUSDT: 100}
timeline:
  - BTCUSDT: 103 over 2m
  - hold: 1m
  - BTCUSDT: 90
  - {BTCUSDT: "+10% over 1m", ETHUSDT: 3000 over 30s}
"""


def test_keyframes_jumps_holds_and_parallel_moves() -> None:
    path = parse_path_yaml(YAML)
    assert path.start_ms == T0 and path.anchored
    # 100 -> 103 over 2 min at a 30 s step: 4 ticks of +0.75; hold 1 min; jump to 90 at 3 min;
    # +10 % of 90 = 99 over 1 min: 2 ticks (94.5, 99) at 3.5 and 4 min.
    assert ticks(path.symbols["BTCUSDT"]) == [
        (0, D("100")),
        (30_000, D("100.75")),
        (60_000, D("101.5")),
        (90_000, D("102.25")),
        (120_000, D("103")),
        (180_000, D("90")),
        (210_000, D("94.5")),
        (240_000, D("99")),
    ]
    # ETH starts at the seed price 3394.0 and reaches 3000 at 3 min + 30 s (one 30 s step).
    assert ticks(path.symbols["ETHUSDT"]) == [(0, D("3394")), (210_000, D("3000"))]
    assert path.end_ms == T0 + 240_000


def test_prices_stay_exact_decimals() -> None:
    path = parse_path_yaml("prices: {BTCUSDT: 95992.3}\ntimeline: [{BTCUSDT: 0.1}]")
    assert not path.anchored
    assert ticks(path.symbols["BTCUSDT"]) == [(0, D("95992.3")), (0, D("0.1"))]


def test_walk_is_seeded_and_sampled_per_step() -> None:
    text = """
prices: {SOLUSDT: 125.97}
timeline:
  - walk: {symbols: [SOLUSDT], over: 10m, step: 1s, volatility_bps: 5}
"""
    first = parse_path_yaml(text, seed=1).symbols["SOLUSDT"]
    again = parse_path_yaml(text, seed=1).symbols["SOLUSDT"]
    other = parse_path_yaml(text, seed=2).symbols["SOLUSDT"]
    assert len(first) == 1 + 600  # start tick + one tick per second for 10 minutes
    assert np.array_equal(first.units, again.units)
    assert not np.array_equal(first.units, other.units)
    assert int(first.times[-1]) - int(first.times[0]) == 600_000
    # 5 bps per step: a single step moves far less than 1 % (a 20-sigma bound)
    step_moves = np.abs(np.diff(first.prices)) / first.prices[:-1]
    assert step_moves.max() < 0.01
    fixed = "prices: {SOLUSDT: 125.97}\ntimeline: [{walk: {symbol: SOLUSDT, over: 5s, seed: 9}}]"
    assert np.array_equal(
        parse_path_yaml(fixed, seed=1).symbols["SOLUSDT"].units,
        parse_path_yaml(fixed, seed=2).symbols["SOLUSDT"].units,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timeline: [{BTCUSDT: 'fast'}]", r"timeline\[0\]\.BTCUSDT: expected '<price>"),
        ("timeline: [{FOOUSDT: 1 over 1m}]", r"timeline\[0\]\.FOOUSDT: no start price for FOOUSDT"),
        ("timeline: [{hold: soon}]", r"timeline\[0\]\.hold: expected a duration"),
        ("speed: 3", "speed: unknown path key"),
        ("timeline: [{walk: {over: 1m}}]", r"timeline\[0\]\.walk\.symbols: required"),
        ("prices: {BTCUSDT: -1}", r"prices\.BTCUSDT: must be positive"),
        ("timeline: [[1, 2]]", r"timeline\[0\]: expected a mapping"),
        ("timeline: [{BTCUSDT: 1 over 1m}", "path: invalid YAML"),
    ],
)
def test_path_errors_name_the_place(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_path_yaml(text)


def test_bar_expansion_nearer_extreme_first() -> None:
    # open 100, high 110, low 95: the low (5 away) is nearer than the high (10 away)
    assert expand_bar(0, 60_000, D(100), D(110), D(95), D(105)) == [
        (0, D(100)), (20_000, D(95)), (40_000, D(110)), (59_999, D(105)),
    ]  # fmt: skip
    # open 105, high 108 (3 away), low 96 (9 away): high first
    assert [p for _, p in expand_bar(0, 60_000, D(105), D(108), D(96), D(100))] == [
        D(105), D(108), D(96), D(100),
    ]  # fmt: skip
    # equal distances: a rising bar visits the low first, a falling bar the high first
    assert [p for _, p in expand_bar(0, 60_000, D(100), D(110), D(90), D(105))][1] == D(90)
    assert [p for _, p in expand_bar(0, 60_000, D(100), D(110), D(90), D(95))][1] == D(110)
    with pytest.raises(ValueError, match="needs low <= open, close <= high"):
        expand_bar(0, 60_000, D(100), D(99), D(90), D(95))


def test_ohlcv_csv_expands_every_bar() -> None:
    text = (
        "open_time,open,high,low,close,volume\n"
        f"{T0},100,110,95,105,1\n"
        f"{T0 + 60_000},105,108,96,100,1\n"
    )
    path = parse_ohlcv_csv(text, symbol="btcusdt")
    assert path.start_ms == T0
    # the interval is the gap between bars (60 s), also used for the last bar
    assert ticks(path.symbols["BTCUSDT"]) == [
        (0, D(100)), (20_000, D(95)), (40_000, D(110)), (59_999, D(105)),
        (60_000, D(105)), (80_000, D(108)), (100_000, D(96)), (119_999, D(100)),
    ]  # fmt: skip


def test_tick_csv_with_symbol_column_and_iso_times() -> None:
    text = (
        "time,symbol,price\n"
        "2026-01-01T00:00:01Z,ETHUSDT,3390.5\n"
        "2026-01-01T00:00:00Z,BTCUSDT,95000\n"
        "2026-01-01T00:00:02Z,BTCUSDT,95001.25\n"
    )
    path = parse_ticks_csv(text)
    assert ticks(path.symbols["BTCUSDT"]) == [(0, D(95000)), (2000, D("95001.25"))]
    assert ticks(path.symbols["ETHUSDT"]) == [(1000, D("3390.5"))]


def test_csv_file_symbol_from_name_and_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    file = tmp_path / "SOLUSDT_ticks.csv"
    file.write_text(f"time_ms,price\n{T0},125.97\n{T0 + 5},126\n")
    assert ticks(parse_csv_path(file).symbols["SOLUSDT"]) == [(0, D("125.97")), (5, D(126))]
    bad = tmp_path / "x.csv"
    bad.write_text(f"time,price\n{T0},abc\n")
    with pytest.raises(ValueError, match=r"x\.csv: line 2\.price: not a number"):
        parse_csv_path(bad, symbol="BTCUSDT")
    bad.write_text("when,price\n1,2\n")
    with pytest.raises(ValueError, match="needs a time column"):
        parse_csv_path(bad, symbol="BTCUSDT")


def test_symbol_path_rejects_bad_arrays() -> None:
    with pytest.raises(ValueError, match="must not decrease"):
        SymbolPath("X", np.array([2, 1], np.int64), np.array([1, 1], np.int64))
    with pytest.raises(ValueError, match="at least one tick"):
        SymbolPath("X", np.array([], np.int64), np.array([], np.int64))
