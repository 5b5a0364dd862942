"""The snapshot is encoded once (orjson, falling back to the standard encoder) and reads
back as the same document the standard encoder would give."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from engine.adapters.store_common import json_text, snapshot_text
from engine.domain import Category
from engine.store import StoreIntegrityError


def test_same_document_as_the_standard_encoder() -> None:
    doc = {
        "price": Decimal("0.00000001"),  # positional, never 1E-8
        "category": Category.QUEUE,
        "tags": {"b", "a"},
        "nested": [{"qty": Decimal("12.50")}, None, True, 7],
    }
    expected = {
        "price": "0.00000001",
        "category": Category.QUEUE.value,
        "tags": ["a", "b"],
        "nested": [{"qty": "12.50"}, None, True, 7],
    }
    assert json.loads(snapshot_text(doc, "snapshot")) == expected
    assert json.loads(snapshot_text(doc, "snapshot")) == json.loads(json_text(doc, "snapshot"))


def test_values_orjson_refuses_go_through_the_standard_encoder() -> None:
    doc = {"counts": {1: "one"}, "big": 2**70}  # an int key; an int past 64 bits
    assert json.loads(snapshot_text(doc, "snapshot")) == {
        "counts": {"1": "one"},
        "big": 1180591620717411303424,  # 2**70
    }


@pytest.mark.parametrize(
    ("doc", "reason"),
    [({"x": Decimal("NaN")}, "not_json"), ({"x": object()}, "not_json")],
)
def test_unstorable_values_are_refused_naming_the_field(doc: object, reason: str) -> None:
    with pytest.raises(StoreIntegrityError) as err:
        snapshot_text(doc, "snapshot")  # type: ignore[arg-type]
    assert (err.value.field, err.value.reason) == ("snapshot", reason)


def test_a_document_must_be_an_object() -> None:
    with pytest.raises(StoreIntegrityError) as err:
        snapshot_text([1, 2], "snapshot")  # type: ignore[arg-type]
    assert (err.value.field, err.value.reason) == ("snapshot", "not_json")
