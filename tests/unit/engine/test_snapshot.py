"""Snapshot and restore (the service persists the engine this way)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from engine.core import Engine
from engine.snapshot import SnapshotError
from tests.kit.engine_builders import Harness, make_config, make_rules

RULES = (
    make_rules(),
    make_rules("XRPUSDT", tick="0.0001", step="0.1", min_qty="0.1"),
    make_rules("DOGEUSDT", tick="0.00001", step="1", min_qty="1"),
)


def _busy_harness() -> Harness:
    """Open groups, a queued and a replaced signal, fills, TPs, a timer and realised PnL."""
    config = make_config(risk={"max_open_positions_global": 2, "require_full_pyramids": False})
    h = Harness.seed(config, rules=RULES)
    h.price("95992.3")
    h.price("1.874", symbol="XRPUSDT")
    h.price("0.195", symbol="DOGEUSDT")
    h.signal(signal_id="a", fingerprint="fa")
    h.signal(
        signal_id="b", fingerprint="fb", symbol="XRPUSDT", entry_price="1.874", order_size=None
    )
    h.signal(
        signal_id="c", fingerprint="fc", symbol="DOGEUSDT", entry_price="0.195", order_size=None
    )
    h.advance(40)
    h.signal(
        signal_id="d", fingerprint="fd", symbol="DOGEUSDT", entry_price="0.19", order_size=None
    )
    h.path("95512.33", "96467.45")
    return h


def _future(h: Harness) -> None:
    h.path("95000", "94000", "93000")
    h.advance(200)
    h.signal(signal_id="e", fingerprint="fe", type="exit", side=None)
    h.path("1.5", symbol="XRPUSDT")
    h.advance(30)


def _decisions(h: Harness, start: int) -> list[Any]:
    return [(d.commands, d.outcomes, d.audit, d.risk_actions) for d in h.decisions[start:]]


def test_snapshot_is_json_and_round_trips() -> None:
    h = _busy_harness()
    snapshot = h.engine.snapshot()
    # sorted keys: a JSON store may reorder object keys (PostgreSQL JSONB does)
    text = json.dumps(snapshot, sort_keys=True)
    restored = Engine.restore(json.loads(text))
    assert json.dumps(restored.snapshot(), sort_keys=True) == text
    assert restored.groups() == h.engine.groups()
    assert restored.queue("maaz") == h.engine.queue("maaz")
    assert restored.orders() == h.engine.orders()
    assert restored.metrics("maaz") == h.engine.metrics("maaz")
    assert restored.risk_status("maaz") == h.engine.risk_status("maaz")


def _numbers(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [n for item in value.values() for n in _numbers(item)]
    if isinstance(value, list):
        return [n for item in value for n in _numbers(item)]
    return [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


def test_no_float_anywhere_in_the_snapshot() -> None:
    snapshot = _busy_harness().engine.snapshot()
    assert not any(isinstance(n, float) for n in _numbers(snapshot))
    group = snapshot["state"]["groups"]["g1"]
    assert group["pyramids"][0]["capital"] == "95.9923"  # Decimal as its exact string


def test_restore_then_same_future_commands() -> None:
    original = _busy_harness()
    clone = copy.deepcopy(original)
    clone.engine = Engine.restore(json.loads(json.dumps(original.engine.snapshot())))
    start = len(original.decisions)
    _future(original)
    _future(clone)
    assert len(original.decisions) > start
    assert _decisions(clone, start) == _decisions(original, start)
    assert clone.engine.snapshot() == original.engine.snapshot()


def test_bad_snapshots_name_the_field() -> None:
    snapshot = _busy_harness().engine.snapshot()
    with pytest.raises(SnapshotError) as wrong_format:
        Engine.restore({"format": "other", "state": {}})
    assert wrong_format.value.field == "format"
    broken = copy.deepcopy(snapshot)
    broken["state"]["groups"]["g1"]["pyramids"][0]["capital"] = 95.9923
    with pytest.raises(SnapshotError) as bad_decimal:
        Engine.restore(broken)
    assert bad_decimal.value.field == "state.groups.g1.pyramids[0].capital"
    assert bad_decimal.value.reason == "invalid_type"
    missing = copy.deepcopy(snapshot)
    del missing["state"]["groups"]["g1"]["side"]
    with pytest.raises(SnapshotError) as absent:
        Engine.restore(missing)
    assert absent.value.field == "state.groups.g1.side"


def _legs(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    groups = snapshot["state"]["groups"].values()
    return [leg for group in groups for pyramid in group["pyramids"] for leg in pyramid["legs"]]


def test_a_snapshot_from_before_a_new_field_restores_with_its_default() -> None:
    """``LegState.base_fee_quantity`` came after format /1 was first written: older
    snapshots lack it and restore as if no base fee was paid."""
    h = _busy_harness()
    snapshot = json.loads(json.dumps(h.engine.snapshot()))
    assert snapshot["format"] == "qtrade.engine.state/1"
    for leg in _legs(snapshot):
        assert leg.pop("base_fee_quantity") == "0"
    restored = Engine.restore(snapshot)
    assert restored.groups() == h.engine.groups()
    assert restored.snapshot() == h.engine.snapshot()


def test_bad_values_deep_in_the_state_name_the_field() -> None:
    snapshot = json.loads(json.dumps(_busy_harness().engine.snapshot()))
    broken = copy.deepcopy(snapshot)
    first_order = next(iter(broken["state"]["orders"]))
    broken["state"]["orders"][first_order]["status"] = "exploded"
    with pytest.raises(SnapshotError) as status:
        Engine.restore(broken)
    assert status.value.field == f"state.orders.{first_order}.status"
    assert status.value.reason == "invalid_value"
    broken = copy.deepcopy(snapshot)
    broken["state"]["groups"]["g1"]["pyramids"][0]["legs"][0]["level"]["tp_percent"] = 1
    with pytest.raises(SnapshotError) as level:
        Engine.restore(broken)
    assert level.value.field == "state.groups.g1.pyramids[0].legs[0].level.tp_percent"
    broken = copy.deepcopy(snapshot)
    broken["state"]["counters"]["orders"] = True
    with pytest.raises(SnapshotError) as counter:
        Engine.restore(broken)
    assert (counter.value.field, counter.value.reason) == ("state.counters.orders", "invalid_type")
    broken = copy.deepcopy(snapshot)
    broken["state"]["users"]["maaz"]["realised_by_day"] = {"today": "1"}
    with pytest.raises(SnapshotError) as day:
        Engine.restore(broken)
    assert (day.value.field, day.value.reason) == (
        "state.users.maaz.realised_by_day.today",
        "invalid_key",
    )


def test_the_snapshot_shares_nothing_mutable_with_the_state() -> None:
    h = _busy_harness()
    before = json.dumps(h.engine.snapshot(), sort_keys=True)
    snapshot = h.engine.snapshot()
    for leg in _legs(snapshot):
        leg["fees"]["USDT"] = "999"
        leg["level"]["tp_percent"] = "50"
    for entry in snapshot["state"]["users"]["maaz"]["queue"]:
        entry["signal"]["raw"]["tv"]["symbol"] = "CHANGED"
    snapshot["state"]["open_group_ids"].append("g99")
    assert json.dumps(h.engine.snapshot(), sort_keys=True) == before


def test_restored_engines_are_independent() -> None:
    """A restore from the same data twice (the service copies its engine this way) gives two
    engines whose futures do not leak into each other."""
    h = _busy_harness()
    snapshot = h.engine.snapshot()
    first, second = Engine.restore(snapshot), Engine.restore(snapshot)
    clone = copy.deepcopy(h)
    clone.engine = first
    _future(clone)
    assert second.snapshot() == snapshot
    assert first.snapshot() != snapshot
