"""Outcome updates travel in the same transaction as the rest of a batch (every backend)."""

from __future__ import annotations

import pytest

from engine.store import EventQuery, OutcomeUpdate, Store, StoreBatch, StoreIntegrityError
from tests.kit import store_builders as kit
from tests.kit.store_builders import event, signal, user

any_store, cipher, pg_url, pg_schema, _pg_store = (
    kit.any_store,
    kit.cipher,
    kit.pg_url,
    kit.pg_schema,
    kit._pg_store,
)


def test_batch_stores_new_signal_and_updates_an_older_one(any_store: Store) -> None:
    any_store.create_user(user("u1"))
    any_store.record_signal(signal("old", outcome="queued", queue_id="q1"))
    any_store.save_batch(
        StoreBatch(
            signals=[signal("new", outcome="replaced", queue_id="q1")],
            outcomes=[OutcomeUpdate("old", "replaced", "replaced_by_newer", None, "q1")],
        )
    )
    old, new = any_store.get_signal("old"), any_store.get_signal("new")
    assert old is not None and new is not None
    assert (old.outcome, old.reason, old.group_id, old.queue_id) == (
        "replaced",
        "replaced_by_newer",
        None,
        "q1",
    )
    assert (new.outcome, new.queue_id) == ("replaced", "q1")


def test_outcome_of_a_signal_never_stored_changes_nothing(any_store: Store) -> None:
    any_store.create_user(user("u1"))
    any_store.save_batch(
        StoreBatch(
            events=[event("kept")], outcomes=[OutcomeUpdate("runner-1", "opened", None, "g1")]
        )
    )
    assert any_store.get_signal("runner-1") is None
    assert [e.message for e in any_store.query_events(EventQuery())] == ["kept"]


def test_failed_batch_keeps_no_outcome_update(any_store: Store) -> None:
    any_store.create_user(user("u1"))
    any_store.record_signal(signal("s1", outcome="queued", queue_id="q1"))
    with pytest.raises(StoreIntegrityError):
        any_store.save_batch(
            StoreBatch(
                signals=[signal("s2", user_id="ghost")],  # unknown user: the batch fails
                outcomes=[OutcomeUpdate("s1", "opened", None, "g1")],
            )
        )
    got = any_store.get_signal("s1")
    assert got is not None and (got.outcome, got.group_id) == ("queued", None)
