"""One process reads a user record once; applying a config (or refreshing users) makes the
next webhook read the store again, so a changed secret takes effect at once."""

from __future__ import annotations

from engine.adapters.memory_store import MemoryStore
from engine.config import load_user_config
from engine.service.users import apply_config
from engine.store import UserRecord
from tests.kit.service_builders import SEED_USER_FILE, build_sim_service, plan_payload


class _CountingStore(MemoryStore):
    """A memory store that counts ``get_user`` reads."""

    def __init__(self) -> None:
        super().__init__()
        self.user_reads = 0

    def get_user(self, user_id: str) -> UserRecord | None:
        self.user_reads += 1
        return super().get_user(user_id)


async def test_user_record_is_read_once_then_reread_after_a_config_change() -> None:
    store = _CountingStore()
    service = build_sim_service(store=store)
    user_id, old_secret = service.user.user_id, service.user.webhook_secret
    async with service.client() as client:
        for timeframe in ("1", "5", "15"):
            response = await client.post(
                f"/webhooks/{user_id}", json=plan_payload(old_secret, timeframe=timeframe)
            )
            assert response.status_code == 202, response.text
        # three webhooks (and the exchange calls they led to): one read of the record
        assert store.user_reads == 1

        record = store.get_user(user_id)
        assert record is not None
        config = load_user_config(SEED_USER_FILE).model_copy(
            update={"webhook_secret": "whsec-rotated-0001"}
        )
        await apply_config(service.runtime, record, config)
        reads = store.user_reads

        refused = await client.post(
            f"/webhooks/{user_id}", json=plan_payload(old_secret, timeframe="60")
        )
        accepted = await client.post(
            f"/webhooks/{user_id}", json=plan_payload("whsec-rotated-0001", timeframe="60")
        )
        assert (refused.status_code, accepted.status_code) == (401, 202)
        assert store.user_reads == reads + 1  # read again once after the change, then kept


async def test_unknown_user_is_not_cached() -> None:
    store = _CountingStore()
    service = build_sim_service(store=store)
    async with service.client() as client:
        for _ in range(2):
            response = await client.post("/webhooks/ghost", json=plan_payload("x"))
            assert response.status_code == 401
    assert store.user_reads >= 2  # every request for an unknown id asks the store
    assert service.runtime.user_record("ghost") is None
