"""Bars and ticks become exact simulator paths; the vectorised expansion matches the
simulator's one-bar ``expand_bar`` (SPEC §12: open, nearer extreme, farther extreme, close)."""

from __future__ import annotations

import random
from decimal import Decimal

import pandas as pd
import pytest

from backtest.price_path import (
    PathBuildError,
    bars_to_symbol_path,
    frames_to_path,
    ticks_to_symbol_path,
)
from simulator.path_csv import expand_bar
from simulator.paths import price_to_units
from tests.kit.backtest import T0, bars_frame


def test_one_rising_bar_by_hand() -> None:
    # open 100, high 103 (3 away), low 99 (1 away): the low is nearer, visited first
    path = bars_to_symbol_path("X", bars_frame([(T0, "100", "103", "99", "102")]))
    # a single bar lasts one minute: ticks at +0, +20000, +40000, +59999 ms
    assert path.times.tolist() == [T0, T0 + 20_000, T0 + 40_000, T0 + 59_999]
    assert [path.price(i) for i in range(4)] == [Decimal(p) for p in ("100", "99", "103", "102")]


def test_ties_follow_the_bar_direction() -> None:
    # |high - open| == |open - low| == 1: a falling bar goes to the high first
    falling = bars_to_symbol_path("X", bars_frame([(T0, "10", "11", "9", "9.5")]))
    rising = bars_to_symbol_path("X", bars_frame([(T0, "10", "11", "9", "10.5")]))
    assert [falling.price(i) for i in (1, 2)] == [Decimal(11), Decimal(9)]
    assert [rising.price(i) for i in (1, 2)] == [Decimal(9), Decimal(11)]


def test_matches_the_simulators_expand_bar_on_random_bars() -> None:
    rng = random.Random(5)
    rows = []
    moment = T0
    for _ in range(300):
        o = rng.randint(1000, 2000)
        c = o + rng.choice([-1, 1]) * rng.randint(0, 30)
        h = max(o, c) + rng.choice([0, rng.randint(0, 20)])
        low = min(o, c) - rng.choice([0, rng.randint(0, 20)])
        rows.append((moment, *(f"{v / 100}" for v in (o, h, low, c))))
        moment += rng.choice([60_000, 60_000, 300_000, 7])  # gaps, including a 7 ms bar
    rows[-1] = (rows[-2][0] + 60_000, *rows[-1][1:])
    path = bars_to_symbol_path("X", bars_frame(rows))
    expected: list[tuple[int, int]] = []
    for index, (opened, o, h, low, c) in enumerate(rows):
        length = (
            rows[index + 1][0] - opened if index + 1 < len(rows) else opened - rows[index - 1][0]
        )
        for at, price in expand_bar(
            opened, length, Decimal(o), Decimal(h), Decimal(low), Decimal(c)
        ):
            expected.append((at, price_to_units(price)))
    assert list(zip(path.times.tolist(), path.units.tolist(), strict=True)) == expected


def test_given_bar_length_overrides_the_gaps() -> None:
    path = bars_to_symbol_path(
        "X", bars_frame([(T0, "1", "1", "1", "1"), (T0 + 300_000, "1", "1", "1", "1")]),
        bar_ms=60_000,
    )  # fmt: skip
    assert path.times.tolist()[:4] == [T0, T0 + 20_000, T0 + 40_000, T0 + 59_999]


@pytest.mark.parametrize(
    ("rows", "field", "reason"),
    [
        ([(T0, "10", "9", "8", "10")], "low/high", "not_enclosing"),
        ([(T0, "0", "1", "0", "1")], "open", "not_positive"),
        ([(T0, "1", "1", "1", "1"), (T0, "1", "1", "1", "1")], "timestamp", "not_increasing"),
        ([(T0, "1", "1", "1", "1"), (T0 + 3, "1", "1", "1", "1")], "timestamp", "bar_too_short"),
        ([(T0, "100000000", "100000000", "100000000", "100000000")], "open", "too_large"),
    ],
)
def test_bad_bars_name_the_field_and_reason(rows: list, field: str, reason: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(PathBuildError) as info:
        bars_to_symbol_path("X", bars_frame(rows))
    assert (info.value.field, info.value.reason) == (field, reason)


def test_ticks_and_a_mixed_folder() -> None:
    ticks = pd.DataFrame({"ts_ms": [T0 + 5, T0 + 5, T0 + 9], "price": [1.5, 1.25, 2.0]})
    path = ticks_to_symbol_path("T", ticks)
    assert path.times.tolist() == [T0 + 5, T0 + 5, T0 + 9]
    assert path.units.tolist() == [150_000_000, 125_000_000, 200_000_000]  # x 1e8
    both = frames_to_path({"T": ticks, "B": bars_frame([(T0 + 1, "1", "1", "1", "1")])})
    assert sorted(both.symbols) == ["B", "T"] and both.start_ms == T0 + 1
