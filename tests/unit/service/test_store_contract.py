"""The Store contract, run against every backend (memory, SQLite file, PostgreSQL)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal

import pytest

from engine.domain import Category, GroupStatus, OrderStatus, Severity
from engine.store import (
    EventQuery,
    ExchangeCredentials,
    Store,
    StoreBatch,
    StoreConflict,
    StoreIntegrityError,
    StoreNotFound,
)
from tests.kit import store_builders as kit
from tests.kit.store_builders import (
    T0,
    D,
    event,
    fill,
    group,
    leg,
    order,
    pyramid,
    queued,
    risk_action,
    seed_position,
    signal,
    user,
)

# fixtures from the kit (pytest finds fixtures by module attribute)
any_store, cipher, pg_url, pg_schema, _pg_store = (
    kit.any_store,
    kit.cipher,
    kit.pg_url,
    kit.pg_schema,
    kit._pg_store,
)

# -- users ------------------------------------------------------------------------------


def test_user_round_trip_and_lookup_by_username(any_store: Store) -> None:
    u = user("u1", "maaz", config={"dca_grid_config": {"max_pyramids": 5}})
    any_store.create_user(u)
    assert any_store.get_user("u1") == u
    assert any_store.get_user_by_username("maaz") == u
    assert any_store.get_user("nobody") is None
    assert any_store.list_users() == [u]


def test_duplicate_user_id_and_username_are_conflicts(any_store: Store) -> None:
    any_store.create_user(user("u1", "maaz"))
    with pytest.raises(StoreConflict) as by_id:
        any_store.create_user(user("u1", "other"))
    assert (by_id.value.field, by_id.value.reason) == ("user_id", "duplicate_user_id")
    with pytest.raises(StoreConflict) as by_name:
        any_store.create_user(user("u2", "maaz"))
    assert (by_name.value.field, by_name.value.reason) == ("username", "duplicate_username")


def test_update_user_keeps_created_at_and_refuses_unknown(any_store: Store) -> None:
    any_store.create_user(user("u1", "maaz"))
    changed = user("u1", "maaz2", config={"x": 1}, created_at_ms=1, updated_at_ms=T0 + 5)
    any_store.update_user(changed)
    got = any_store.get_user("u1")
    assert got is not None
    assert (got.username, got.config, got.updated_at_ms) == ("maaz2", {"x": 1}, T0 + 5)
    assert got.created_at_ms == T0  # creation time is not rewritten by an update
    with pytest.raises(StoreNotFound) as missing:
        any_store.update_user(user("ghost"))
    assert missing.value.reason == "unknown_user"


def test_users_listed_by_creation_time(any_store: Store) -> None:
    any_store.create_user(user("b", created_at_ms=T0 + 2))
    any_store.create_user(user("a", created_at_ms=T0 + 1))
    assert [u.user_id for u in any_store.list_users()] == ["a", "b"]


def test_exchange_credentials_round_trip_masked_listing(any_store: Store) -> None:
    any_store.create_user(user("u1"))
    creds = ExchangeCredentials("Binance", "api-key-000A4B1", "api-secret-xyz", testnet=True)
    any_store.set_exchange_credentials("u1", creds, T0)
    got = any_store.get_exchange_credentials("u1", "BINANCE")
    assert got == dataclasses.replace(creds, exchange="binance")
    listed = any_store.list_exchange_credentials("u1")
    assert [(c.exchange, c.api_key_masked, c.testnet) for c in listed] == [
        ("binance", "****A4B1", True)
    ]
    assert "api-key" not in repr(got)  # the dataclass repr never shows the key
    with pytest.raises(StoreIntegrityError) as unknown:
        any_store.set_exchange_credentials("ghost", creds, T0)
    assert unknown.value.reason == "unknown_user"


def test_delete_user_removes_everything_but_the_audit_log(any_store: Store) -> None:
    seed_position(any_store)
    any_store.record_signal(signal("s1"))
    any_store.append_event(event("kept"))
    assert any_store.delete_user("u1") is True
    assert any_store.get_user("u1") is None
    assert any_store.list_signals() == []
    assert any_store.list_groups() == []
    assert any_store.list_orders() == []
    assert [e.message for e in any_store.query_events(EventQuery())] == ["kept"]
    assert any_store.delete_user("u1") is False


# -- signals ----------------------------------------------------------------------------


def test_signal_payload_never_keeps_a_secret(any_store: Store) -> None:
    any_store.create_user(user("u1"))
    payload = {"secret": "whsec-u1", "tv": {"symbol": "BTCUSDT", "Secret": "x"}, "n": D("1.50")}
    any_store.record_signal(signal("s1", payload=payload))
    got = any_store.get_signal("s1")
    assert got is not None
    assert got.payload == {"tv": {"symbol": "BTCUSDT"}, "n": "1.50"}


def test_signal_outcome_update(any_store: Store) -> None:
    any_store.create_user(user("u1"))
    any_store.record_signal(signal("s1", outcome="pending"))
    any_store.update_signal_outcome("s1", "queued", "pool_full", None, "q1")
    got = any_store.get_signal("s1")
    assert got is not None
    assert (got.outcome, got.reason, got.group_id, got.queue_id) == (
        "queued",
        "pool_full",
        None,
        "q1",
    )
    with pytest.raises(StoreNotFound):
        any_store.update_signal_outcome("nope", "opened", None, None, None)


def test_signal_for_unknown_user_is_refused(any_store: Store) -> None:
    with pytest.raises(StoreIntegrityError) as err:
        any_store.record_signal(signal("s1", user_id="ghost"))
    assert (err.value.field, err.value.reason) == ("SignalRecord.user_id", "unknown_user")


def test_list_signals_filters_and_keeps_newest_with_limit(any_store: Store) -> None:
    any_store.create_user(user("u1"))
    any_store.create_user(user("u2"))
    for i in range(5):  # s0..s4 at T0, T0+1000, ..., T0+4000
        any_store.record_signal(signal(f"s{i}", received_at_ms=T0 + 1000 * i))
    any_store.record_signal(signal("other", user_id="u2", received_at_ms=T0 + 500))
    ids = [s.signal_id for s in any_store.list_signals(user_id="u1")]
    assert ids == ["s0", "s1", "s2", "s3", "s4"]
    window = any_store.list_signals(user_id="u1", since_ms=T0 + 1000, until_ms=T0 + 3000)
    assert [s.signal_id for s in window] == ["s1", "s2"]  # until is exclusive
    newest = any_store.list_signals(user_id="u1", limit=2)
    assert [s.signal_id for s in newest] == ["s3", "s4"]


def test_find_recent_signal_by_fingerprint_skips_duplicates_and_old(any_store: Store) -> None:
    any_store.create_user(user("u1"))
    any_store.record_signal(signal("old", fingerprint="F", received_at_ms=T0))
    any_store.record_signal(signal("new", fingerprint="F", received_at_ms=T0 + 10_000))
    any_store.record_signal(
        signal("dup", fingerprint="F", received_at_ms=T0 + 12_000, outcome="duplicate")
    )
    found = any_store.find_recent_signal_by_fingerprint("u1", "F", T0 + 5_000)
    assert found is not None and found.signal_id == "new"
    assert any_store.find_recent_signal_by_fingerprint("u1", "F", T0 + 11_000) is None
    assert any_store.find_recent_signal_by_fingerprint("u1", "G", T0) is None


# -- positions --------------------------------------------------------------------------


def test_position_tree_round_trip(any_store: Store) -> None:
    seed_position(any_store)
    assert any_store.get_group("g1") == group("g1")
    assert any_store.list_pyramids("g1") == [pyramid("g1-p0", "g1")]
    assert any_store.list_legs("g1-p0") == [leg("g1-p0-l0", "g1-p0")]
    assert any_store.get_order("g1-p0-l0-entry-0") == order("g1-p0-l0-entry-0")
    assert any_store.list_fills("g1-p0-l0-entry-0") == [fill("t1")]


def test_upsert_updates_in_place_and_keeps_created_at(any_store: Store) -> None:
    seed_position(any_store)
    closed = group(
        "g1",
        status=GroupStatus.CLOSED,
        realised_pnl=D("0.191984"),
        open_quantity=D("0"),
        created_at_ms=T0 + 999,  # ignored on update
        updated_at_ms=T0 + 60_000,
        closed_at_ms=T0 + 60_000,
    )
    any_store.upsert_group(closed)
    assert any_store.get_group("g1") == dataclasses.replace(closed, created_at_ms=T0)
    assert len(any_store.list_groups()) == 1
    filled = order("g1-p0-l0-entry-0", status=OrderStatus.CANCELLED, created_at_ms=T0 + 7)
    any_store.upsert_order(filled)
    assert any_store.get_order("g1-p0-l0-entry-0") == dataclasses.replace(filled, created_at_ms=T0)


def test_children_need_their_parents(any_store: Store) -> None:
    any_store.create_user(user("u1"))
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: any_store.upsert_group(group("g1", "ghost")), "GroupRecord.user_id"),
        (lambda: any_store.upsert_pyramid(pyramid("p", "nog")), "PyramidRecord.group_id"),
        (lambda: any_store.upsert_leg(leg("l", "nop")), "LegRecord.pyramid_id"),
        (lambda: any_store.upsert_order(order("o", group_id="nog")), "OrderRecord.group_id"),
        (lambda: any_store.record_fill(fill("t", "no-order")), "FillRecord.client_order_id"),
    ]
    for write, field in cases:
        with pytest.raises(StoreIntegrityError) as err:
            write()
        assert err.value.field == field


def test_order_without_group_is_allowed(any_store: Store) -> None:
    any_store.create_user(user("u1"))
    manual = order("manual-1", group_id=None, purpose="exit")
    any_store.upsert_order(manual)
    got = any_store.get_order("manual-1")
    assert got is not None and got.group_id is None and got.purpose == "exit"


def test_pyramid_and_leg_indexes_are_unique_per_parent(any_store: Store) -> None:
    seed_position(any_store)
    with pytest.raises(StoreConflict) as p_err:
        any_store.upsert_pyramid(pyramid("g1-other", "g1", index=0))
    assert p_err.value.field == "PyramidRecord.index"
    with pytest.raises(StoreConflict) as l_err:
        any_store.upsert_leg(leg("g1-p0-other", "g1-p0", index=0))
    assert l_err.value.field == "LegRecord.index"


def test_fill_is_recorded_once(any_store: Store) -> None:
    seed_position(any_store)  # has fill t1
    assert any_store.record_fill(fill("t1", quantity=D("5"))) is False
    assert any_store.record_fill(fill("t2", at_ms=T0 + 1)) is True
    got = any_store.list_fills("g1-p0-l0-entry-0")
    assert [(f.trade_id, f.quantity) for f in got] == [("t1", D("0.00020")), ("t2", D("0.00020"))]


def test_list_filters_by_status_and_owner(any_store: Store) -> None:
    seed_position(any_store, "u1", "g1")
    seed_position(any_store, "u2", "g2")
    any_store.upsert_group(group("g2", "u2", status=GroupStatus.CLOSED))
    live = any_store.list_groups(statuses=[GroupStatus.LIVE, GroupStatus.ACTIVE])
    assert [g.group_id for g in live] == ["g1"]
    assert [g.group_id for g in any_store.list_groups(user_id="u2")] == ["g2"]
    any_store.upsert_order(order("g2-tp", user_id="u2", group_id="g2", status=OrderStatus.OPEN))
    open_orders = any_store.list_orders(statuses=[OrderStatus.OPEN])
    assert [o.client_order_id for o in open_orders] == ["g2-tp"]
    assert len(any_store.list_orders(group_id="g2")) == 2
    assert len(any_store.list_orders(user_id="u1")) == 1


def test_delete_user_positions_keeps_other_users_and_audit(any_store: Store) -> None:
    seed_position(any_store, "u1", "g1")
    seed_position(any_store, "u2", "g2")
    any_store.upsert_queued_signal(queued("q1", "u1"))
    any_store.record_risk_action(risk_action("r1", "u1"))
    any_store.record_signal(signal("s1", "u1"))
    any_store.append_event(event("audit"))
    assert any_store.delete_user_positions("u1") == 1
    assert [g.group_id for g in any_store.list_groups()] == ["g2"]
    assert any_store.list_pyramids("g1") == [] and any_store.list_legs("g1-p0") == []
    assert [o.user_id for o in any_store.list_orders()] == ["u2"]
    assert [f.client_order_id for f in any_store.list_fills()] == ["g2-p0-l0-entry-0"]
    assert any_store.list_queued_signals() == [] and any_store.list_risk_actions() == []
    assert len(any_store.list_signals()) == 1 and len(any_store.query_events(EventQuery())) == 1
    assert any_store.get_user("u1") is not None


def test_batch_is_all_or_nothing(any_store: Store) -> None:
    any_store.create_user(user("u1"))
    bad = StoreBatch(
        groups=[group("g1")],
        pyramids=[pyramid("g1-p0", "g1")],
        legs=[leg("g1-p0-l0", "no-such-pyramid")],
    )
    with pytest.raises(StoreIntegrityError):
        any_store.save_batch(bad)
    assert any_store.get_group("g1") is None
    good = StoreBatch(
        groups=[group("g1")],
        pyramids=[pyramid("g1-p0", "g1")],
        legs=[leg("g1-p0-l0", "g1-p0")],
        orders=[order("g1-p0-l0-entry-0")],
        fills=[fill("t1")],
        signals=[signal("s1", group_id="g1")],
        events=[event("opened")],
    )
    any_store.save_batch(good)
    assert any_store.get_group("g1") == group("g1")
    assert len(any_store.list_fills()) == 1 and len(any_store.query_events(EventQuery())) == 1


# -- queue and risk ---------------------------------------------------------------------


def test_queue_replacement_keeps_original_queue_time(any_store: Store) -> None:
    any_store.create_user(user("u1"))
    any_store.upsert_queued_signal(queued("q1"))
    replaced = queued(
        "q1",
        entry_price=D("3101.25"),
        replacement_count=1,
        queued_at_ms=T0 + 30_000,
        updated_at_ms=T0 + 30_000,
    )
    any_store.upsert_queued_signal(replaced)
    got = any_store.get_queued_signal("q1")
    assert got == dataclasses.replace(replaced, queued_at_ms=T0)
    any_store.upsert_queued_signal(queued("q2", queued_at_ms=T0 + 1, status="removed"))
    assert [q.queue_id for q in any_store.list_queued_signals(status="waiting")] == ["q1"]
    assert [q.queue_id for q in any_store.list_queued_signals(user_id="u1")] == ["q1", "q2"]


def test_risk_action_round_trip_with_winners(any_store: Store) -> None:
    any_store.create_user(user("u1"))
    action = risk_action("r1")
    any_store.record_risk_action(action)
    any_store.record_risk_action(risk_action("r0", at_ms=T0 - 1))
    assert any_store.list_risk_actions("u1") == [risk_action("r0", at_ms=T0 - 1), action]


# -- audit events -----------------------------------------------------------------------


def test_events_get_increasing_ids_and_filter(any_store: Store) -> None:
    first = any_store.append_event(event("a", at_ms=T0))
    second = any_store.append_event(
        event("b", at_ms=T0 + 10, category=Category.RISK, severity=Severity.WARNING)
    )
    third = any_store.append_event(
        event("c", at_ms=T0 + 20, symbol="ETHUSDT", exchange="bybit", user_id=None)
    )
    assert first < second < third
    by = any_store.query_events
    assert [e.message for e in by(EventQuery())] == ["a", "b", "c"]
    assert [e.message for e in by(EventQuery(category=Category.RISK))] == ["b"]
    assert [e.message for e in by(EventQuery(severity=Severity.INFO))] == ["a", "c"]
    assert [e.message for e in by(EventQuery(symbol="ETHUSDT"))] == ["c"]
    assert [e.message for e in by(EventQuery(exchange="bybit"))] == ["c"]
    assert [e.message for e in by(EventQuery(user_id="u1"))] == ["a", "b"]
    assert [e.message for e in by(EventQuery(since_ms=T0 + 10, until_ms=T0 + 20))] == ["b"]
    assert [e.message for e in by(EventQuery(limit=2))] == ["b", "c"]  # the newest two
    got = by(EventQuery(category=Category.RISK))[0]
    assert got.event_id == second and got.data == {}


def test_event_data_decimals_are_written_as_plain_strings(any_store: Store) -> None:
    any_store.append_event(event("d", data={"qty": D("1E-8"), "px": D("95992.30"), "n": 3}))
    (got,) = any_store.query_events(EventQuery())
    assert got.data == {"qty": "0.00000001", "px": "95992.30", "n": 3}


# -- snapshot and maintenance -----------------------------------------------------------


def test_snapshot_latest_wins(any_store: Store) -> None:
    assert any_store.load_snapshot() is None
    for i in range(5):
        any_store.save_snapshot({"version": 1, "seq": i, "cash": D("10.5")}, T0 + i)
    latest = any_store.load_snapshot()
    assert latest is not None
    assert (latest.at_ms, latest.data) == (T0 + 4, {"version": 1, "seq": 4, "cash": "10.5"})


def test_reset_empties_every_table(any_store: Store) -> None:
    seed_position(any_store)
    any_store.append_event(event())
    any_store.save_snapshot({"a": 1}, T0)
    any_store.reset()
    assert any_store.list_users() == [] and any_store.list_groups() == []
    assert any_store.query_events(EventQuery()) == [] and any_store.load_snapshot() is None


# -- validation -------------------------------------------------------------------------


def test_bad_values_are_refused_with_the_field_named(any_store: Store) -> None:
    any_store.create_user(user("u1"))
    cases = [
        (group("g1", open_quantity=0.5), "GroupRecord.open_quantity", "float_value"),
        (group("g1", realised_pnl=Decimal("NaN")), "GroupRecord.realised_pnl", "non_finite"),
        (group("g1", status="opened"), "GroupRecord.status", "bad_enum"),
        (group("g1", created_at_ms="2026-02-02"), "GroupRecord.created_at_ms", "bad_timestamp"),
        (group("", "u1"), "GroupRecord.group_id", "empty_id"),
        (group("g1", extra={"x": object()}), "GroupRecord.extra", "not_json"),
    ]
    for record, field, reason in cases:
        with pytest.raises(StoreIntegrityError) as err:
            any_store.upsert_group(record)
        assert (err.value.field, err.value.reason) == (field, reason)
    assert any_store.list_groups() == []


def test_export_kind_must_be_known(any_store: Store) -> None:
    with pytest.raises(ValueError, match="type: unknown export kind"):
        any_store.export_rows("trades")  # type: ignore[arg-type]
