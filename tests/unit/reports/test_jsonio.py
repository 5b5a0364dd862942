"""Canonical report JSON: exact Decimals as numbers, floats refused, stable bytes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reports.jsonio import WALL_CLOCK_KEYS, dumps, loads, strip_wall_clock
from reports.numbers import iso_ms, iso_wall, money, ratio, tidy
from tests.kit.reports import STARTED, D


def test_decimals_are_written_digit_for_digit_as_numbers() -> None:
    text = dumps(
        {"price": D("42500.50"), "tiny": D("0.00000001"), "big": D("1E+3"), "z": D("-0.00")}
    )
    assert (
        text == '{\n  "price": 42500.50,\n  "tiny": 0.00000001,\n  "big": 1000,\n  "z": 0.00\n}\n'
    )


def test_loads_gives_decimals_back_exactly() -> None:
    document = loads('{"a": 0.1, "b": 3, "c": [1.50, null, true]}')
    assert document == {"a": Decimal("0.1"), "b": 3, "c": [Decimal("1.50"), None, True]}
    assert isinstance(document["a"], Decimal)
    assert str(document["c"][0]) == "1.50"


def test_floats_and_non_finite_numbers_are_refused_with_their_path() -> None:
    with pytest.raises(TypeError, match=r"\$\.summary\.win_rate"):
        dumps({"summary": {"win_rate": 0.5}})
    with pytest.raises(ValueError, match=r"\$\.x\[1\]"):
        dumps({"x": [D(1), Decimal("NaN")]})
    with pytest.raises(ValueError, match="NaN"):
        loads('{"x": NaN}')


def test_key_order_is_kept_and_text_is_not_ascii_escaped() -> None:
    text = dumps({"z": 1, "a": "✅ COMPLETE"})
    assert text.index('"z"') < text.index('"a"')
    assert "✅ COMPLETE" in text


def test_same_document_same_bytes() -> None:
    document = {"b": [D("1.10"), {"c": None}], "a": "x"}
    assert dumps(document) == dumps(loads(dumps(document)))


def test_strip_wall_clock_removes_only_wall_clock_keys() -> None:
    document = {key: "t" for key in WALL_CLOCK_KEYS} | {"status": "SUCCESS", "trades": []}
    assert strip_wall_clock(document) == {"status": "SUCCESS", "trades": []}


def test_tidy_rounds_half_even_and_drops_trailing_zeros() -> None:
    assert tidy(D("1.96227350"), D("0.00000001")) == D("1.9622735")
    assert str(ratio(D(2) / D(3))) == "0.666667"
    assert str(ratio(D("0.0000005"))) == "0"  # half-even: 0.0000005 -> 0.000000
    assert str(ratio(D("0.0000015"))) == "0.000002"
    assert str(money(D("100.000"))) == "100"
    assert str(money(D("-0.000000001"))) == "0"


def test_iso_times() -> None:
    # 1770200123456 ms = 2026-02-04T10:15:23.456Z (1770200123 s after the epoch)
    assert iso_ms(1_770_200_123_456) == "2026-02-04T10:15:23.456Z"
    assert iso_wall(STARTED) == "2026-02-04T10:15:23.456789Z"
    with pytest.raises(ValueError, match="timezone"):
        iso_wall(STARTED.replace(tzinfo=None))
