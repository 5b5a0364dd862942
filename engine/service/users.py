"""Users: creating them from a config, storing the config, masking it for display, applying
changes to a running engine. Shared by ``qtrade users``, ``qtrade config`` and the API.

The config JSON is stored without its ``webhook_secret`` (the secret has its own column);
:func:`stored_config` puts it back for exports, :func:`masked_config` shows ``****last4``.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from typing import Any

from engine.adapters.crypto import mask_secret
from engine.config import UserConfig, parse_user_config, user_config_to_dict
from engine.service.runtime import Runtime
from engine.store import Store, UserRecord

__all__ = [
    "new_secret",
    "config_document",
    "stored_config",
    "masked_config",
    "user_record_from_config",
    "create_user",
    "apply_config",
    "import_user",
]


def new_secret() -> str:
    """A fresh webhook secret in the seed's format (32 hex characters)."""
    return secrets.token_hex(16)  # a credential: OS randomness, not an engine decision


def config_document(config: UserConfig) -> dict[str, Any]:
    """The JSON form stored in the users table: without the secret."""
    document = user_config_to_dict(config)
    document.pop("webhook_secret", None)
    return document


def stored_config(user: UserRecord, *, with_secret: bool) -> dict[str, Any]:
    """The user's config as JSON, with its id, username and (optionally) its secret."""
    document = dict(user.config)
    document["id"] = user.user_id
    document["username"] = user.username
    if with_secret:
        document["webhook_secret"] = user.webhook_secret
    return document


def masked_config(user: UserRecord) -> dict[str, Any]:
    document = stored_config(user, with_secret=False)
    document["webhook_secret"] = mask_secret(user.webhook_secret)
    return document


def _secret_given(config: UserConfig) -> str | None:
    secret = config.webhook_secret
    if secret is None or secret.startswith("****"):
        return None  # absent, or the masked form shown by GET /config: keep the current one
    return secret


def user_record_from_config(
    config: UserConfig,
    *,
    now_ms: int,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    make_secret: Callable[[], str] = new_secret,
) -> UserRecord:
    """A new user; keeps the config's own ``id`` and ``webhook_secret`` when it has them."""
    user_id = config.id or new_id()
    return UserRecord(
        user_id=user_id,
        username=config.username or user_id,
        webhook_secret=_secret_given(config) or make_secret(),
        config=config_document(config),
        created_at_ms=now_ms,
        updated_at_ms=now_ms,
    )


def create_user(store: Store, config: UserConfig, *, now_ms: int) -> UserRecord:
    """Insert a user from a config (:class:`engine.store.StoreConflict` when it exists)."""
    user = user_record_from_config(config, now_ms=now_ms)
    store.create_user(user)
    return user


def _updated(user: UserRecord, config: UserConfig, now_ms: int) -> UserRecord:
    return UserRecord(
        user_id=user.user_id,
        username=config.username or user.username,
        webhook_secret=_secret_given(config) or user.webhook_secret,
        config=config_document(config),
        created_at_ms=user.created_at_ms,
        updated_at_ms=max(now_ms, user.updated_at_ms + 1),
    )


async def apply_config(runtime: Runtime, user: UserRecord, config: UserConfig) -> UserRecord:
    """Store a changed config and apply it to the running engine at once."""
    updated = _updated(user, config, runtime.now_ms())
    parse_user_config(updated.config)  # what the runtime will load must parse
    runtime.store.update_user(updated)
    await runtime.configure_user(updated)
    return updated


async def import_user(runtime: Runtime, config: UserConfig) -> tuple[UserRecord, bool]:
    """Create the config's user, or update it when its id exists; applied at once."""
    existing = runtime.store.get_user(config.id) if config.id else None
    if existing is not None:
        return await apply_config(runtime, existing, config), False
    user = user_record_from_config(config, now_ms=runtime.now_ms())
    runtime.store.create_user(user)  # StoreConflict when the username is taken
    await runtime.configure_user(user)
    return user, True
