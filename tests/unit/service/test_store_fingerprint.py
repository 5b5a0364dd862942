"""The atomic duplicate gate ``claim_fingerprint`` (SPEC §2 duplicates), on every backend,
including real concurrency: several threads, each with its own store (own connections)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.adapters.crypto import SecretCipher
from engine.adapters.memory_store import MemoryStore
from engine.adapters.sql_store import SqlStore
from engine.store import Store, StoreIntegrityError
from tests.kit import store_builders as kit
from tests.kit.store_builders import T0, user

any_store, cipher, pg_url, pg_schema, _pg_store = (
    kit.any_store,
    kit.cipher,
    kit.pg_url,
    kit.pg_schema,
    kit._pg_store,
)

WINDOW_MS = 30_000  # duplicate_window_seconds default 30


def claim(store: Store, signal_id: str, at_ms: int, fingerprint: str = "F") -> bool:
    return store.claim_fingerprint("u1", fingerprint, at_ms - WINDOW_MS, signal_id, at_ms)


def test_window_slides_from_the_last_accepted_claim(any_store: Store) -> None:
    any_store.create_user(user("u1"))
    assert claim(any_store, "a", T0) is True
    # T0 + 29_999: window start = T0 - 1 <= T0 (held claim)  -> duplicate
    assert claim(any_store, "b", T0 + 29_999) is False
    # T0 + 30_000: window start = T0 <= T0                      -> still a duplicate
    assert claim(any_store, "c", T0 + 30_000) is False
    # T0 + 30_001: window start = T0 + 1 > T0                   -> accepted, owns the window
    assert claim(any_store, "d", T0 + 30_001) is True
    # duplicates did not extend the window: T0 + 30_001 + 30_001 is free again
    assert claim(any_store, "e", T0 + 45_000) is False
    assert claim(any_store, "f", T0 + 60_002) is True


def test_fingerprints_are_per_user_and_per_payload(any_store: Store) -> None:
    any_store.create_user(user("u1"))
    any_store.create_user(user("u2"))
    assert claim(any_store, "a", T0, "F") is True
    assert claim(any_store, "b", T0, "G") is True
    assert any_store.claim_fingerprint("u2", "F", T0 - WINDOW_MS, "c", T0) is True


def test_claim_for_unknown_user_is_refused(any_store: Store) -> None:
    with pytest.raises(StoreIntegrityError) as err:
        any_store.claim_fingerprint("ghost", "F", 0, "s", T0)
    assert err.value.reason == "unknown_user"


def test_prune_drops_only_stale_claims(any_store: Store) -> None:
    any_store.create_user(user("u1"))
    claim(any_store, "a", T0, "old")
    claim(any_store, "b", T0 + 50_000, "new")
    assert any_store.prune_fingerprints(T0 + 1) == 1  # "old" at T0 < T0 + 1
    assert claim(any_store, "c", T0 + 50_001, "new") is False  # "new" still held


def _race(stores: list[Store], rounds: int) -> list[list[str]]:
    """Each store's thread claims the same fingerprint per round at the same instant;
    returns the winners of each round."""
    barrier = threading.Barrier(len(stores))
    winners: list[list[str]] = [[] for _ in range(rounds)]
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(index: int, store: Store) -> None:
        try:
            for r in range(rounds):
                barrier.wait(timeout=30)
                at = T0 + r * (WINDOW_MS + 1)  # each round is a fresh window
                if claim(store, f"w{index}-r{r}", at, fingerprint="same-payload"):
                    with lock:
                        winners[r].append(f"w{index}")
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i, s)) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if errors:
        raise errors[0]
    return winners


def _assert_one_winner_per_round(winners: list[list[str]]) -> None:
    assert [len(w) for w in winners] == [1] * len(winners), winners


def test_concurrent_identical_claims_on_memory_store() -> None:
    store = MemoryStore()
    store.create_user(user("u1"))
    _assert_one_winner_per_round(_race([store] * 4, rounds=25))


def test_concurrent_identical_claims_on_sqlite_file(tmp_path: Path, cipher: SecretCipher) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    stores: list[Store] = [SqlStore(url, cipher=cipher) for _ in range(4)]  # 4 engines
    stores[0].create_user(user("u1"))
    try:
        _assert_one_winner_per_round(_race(stores, rounds=15))
    finally:
        for s in stores:
            s.close()


@pytest.mark.postgres
def test_concurrent_identical_claims_on_postgres(
    pg_url: str, pg_schema: str, _pg_store: SqlStore, cipher: SecretCipher
) -> None:
    _pg_store.reset()
    _pg_store.create_user(user("u1"))
    make: Callable[[], Store] = lambda: SqlStore(pg_url, schema=pg_schema, cipher=cipher)  # noqa: E731
    stores = [make() for _ in range(4)]  # 4 engines, 4 connections
    try:
        _assert_one_winner_per_round(_race(stores, rounds=25))
    finally:
        for s in stores:
            s.close()
