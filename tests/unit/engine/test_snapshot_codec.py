"""The compiled snapshot converters (engine.snapshot_codec) on a small zoo of field types."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest

from engine.snapshot_codec import LOAD_ERRORS, Invalid, dumper, free, loader
from tests.kit.engine_builders import D


class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True, slots=True)
class Tag:
    name: str
    weight: Decimal
    colour: Colour | None = None


@dataclass(slots=True)
class Box:
    count: int
    price: Decimal | None
    flag: bool
    colours: list[Colour]
    by_day: dict[int, Decimal]
    pair: tuple[int, str]
    tags: tuple[Tag, ...]
    extra: dict[str, Any] = field(default_factory=dict)
    note: str = "none"


def _box() -> Box:
    return Box(
        count=3,
        price=D("1.50"),
        flag=True,
        colours=[Colour.RED, Colour.BLUE],
        by_day={20254: D("-2.5")},
        pair=(7, "x"),
        tags=(Tag("a", D("0.1")), Tag("a", D("0.1")), Tag("b", D("2"), Colour.RED)),
        extra={"n": D("1E-7"), "list": [D("3"), "s", None, 2]},
    )


def test_round_trip_and_exact_json_forms() -> None:
    data = dumper(Box)(_box())
    assert data == {
        "count": 3,
        "price": "1.50",
        "flag": True,
        "colours": ["red", "blue"],
        "by_day": {"20254": "-2.5"},
        "pair": [7, "x"],
        "tags": [
            {"name": "a", "weight": "0.1", "colour": None},
            {"name": "a", "weight": "0.1", "colour": None},
            {"name": "b", "weight": "2", "colour": "red"},
        ],
        "extra": {"n": "1E-7", "list": ["3", "s", None, 2]},
        "note": "none",
    }
    back = loader(Box)(data)
    expected = _box()
    expected.extra = {"n": "1E-7", "list": ["3", "s", None, 2]}  # free-form stays JSON
    assert back == expected
    assert back.tags[0] is back.tags[1]  # equal frozen text-only values are shared


def test_absent_fields_take_their_defaults() -> None:
    data = dumper(Box)(_box())
    del data["extra"], data["note"]
    back = loader(Box)(data)
    assert (back.extra, back.note) == ({}, "none")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("count", True),  # a bool is not an int here
        ("count", "3"),
        ("price", 1.5),  # a float never becomes a Decimal
        ("flag", 1),
        ("colours", ["green"]),
        ("colours", "red"),
        ("by_day", {"day": "1"}),
        ("pair", [7]),
        ("tags", [{"name": "a"}]),  # weight missing
    ],
)
def test_unexpected_data_is_refused(key: str, value: Any) -> None:
    data = dumper(Box)(_box())
    data[key] = value
    with pytest.raises(LOAD_ERRORS):
        loader(Box)(data)


def test_missing_required_field_and_wrong_container() -> None:
    data = dumper(Box)(_box())
    del data["count"]
    with pytest.raises(KeyError):
        loader(Box)(data)
    with pytest.raises(Invalid):
        loader(Box)([1, 2])


def test_free_copies_and_converts() -> None:
    source = {"a": [D("1.0"), {"b": Colour.BLUE}], 3: (1, 2)}
    copied = free(source)
    assert copied == {"a": ["1.0", {"b": "blue"}], "3": [1, 2]}
    copied["a"].append("x")
    assert len(source["a"]) == 2


def test_unsupported_types_fail_when_compiled() -> None:
    @dataclass
    class Odd:
        value: set[int]

    with pytest.raises(TypeError, match="snapshot"):
        dumper(Odd)
    with pytest.raises(TypeError, match="restore"):
        loader(Odd)
