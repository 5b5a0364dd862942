"""Create a test user from a config file (the testing plan's ``create_test_user.py``).

``[--config FILE]`` (default ``scenarios/users/maaz.json``, the seed user) creates the user
with the service's own code (:func:`engine.service.users.create_user`, what ``qtrade users
create`` runs): the config's ``id`` and ``webhook_secret`` are kept when it has them.
Exchange keys are optional, per ``--exchange NAME`` (repeatable): ``--api-key`` and
``--api-secret`` (or ``--api-secret-env VAR``) when one exchange is given, else the
environment variables ``<EXCHANGE>_API_KEY`` / ``<EXCHANGE>_API_SECRET`` (with ``--testnet``:
``<EXCHANGE>_TESTNET_API_KEY`` / ``_SECRET``, as ``qtrade serve`` reads them). The store
encrypts them. Prints ``{"user_id", "webhook_secret"}``.

``--exists-ok``: when the user already exists, print its id and secret instead of failing
(keys given are still stored). A running service picks a new user up on its next start or
through ``POST /config/import``.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from engine.adapters.crypto import SecretKeyError
from engine.config import ConfigError, UserConfig, load_user_config
from engine.service.users import create_user
from engine.store import ExchangeCredentials, Store, StoreConflict, StoreError, UserRecord
from qtrade.commands.serve import WallClock
from qtrade.tools.store_args import ToolError, add_store_arguments, open_store

__all__ = [
    "DEFAULT_CONFIG",
    "credentials_from",
    "load_config",
    "create_test_user",
    "main",
]

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "scenarios" / "users" / "maaz.json"


def _env_names(exchange: str, testnet: bool) -> tuple[str, str]:
    prefix = exchange.upper() + ("_TESTNET" if testnet else "")
    return f"{prefix}_API_KEY", f"{prefix}_API_SECRET"


def credentials_from(
    args: argparse.Namespace, environ: Mapping[str, str]
) -> list[ExchangeCredentials]:
    """The exchange keys asked for by the flags, or read from the environment."""
    exchanges = [name.strip().lower() for name in args.exchange or []]
    flags_given = bool(args.api_key or args.api_secret or args.api_secret_env)
    if flags_given and len(exchanges) != 1:
        raise ToolError(
            "exchange: --api-key/--api-secret need exactly one --exchange",
            field="exchange",
            reason="ambiguous_keys",
        )
    found: list[ExchangeCredentials] = []
    for exchange in exchanges:
        if not exchange:
            raise ToolError("exchange: empty name", field="exchange", reason="missing")
        key_env, secret_env = _env_names(exchange, args.testnet)
        key = args.api_key or environ.get(key_env, "")
        secret = args.api_secret or ""
        if args.api_secret_env:
            secret = environ.get(args.api_secret_env, "")
        elif not secret:
            secret = environ.get(secret_env, "")
        if not key:
            raise ToolError(
                f"api_key: give --api-key or set {key_env} for {exchange}",
                field="api_key",
                reason="missing",
            )
        if not secret:
            where = args.api_secret_env or secret_env
            raise ToolError(
                f"api_secret: give --api-secret or set {where} for {exchange}",
                field="api_secret",
                reason="missing",
            )
        found.append(ExchangeCredentials(exchange, key, secret, testnet=args.testnet))
    return found


def load_config(config_file: str | Path) -> UserConfig:
    """The parsed user config; :class:`ToolError` listing every field error."""
    try:
        return load_user_config(config_file)
    except ConfigError as exc:
        details = "; ".join(f"{error} [{error.code}]" for error in exc.errors)
        raise ToolError(
            f"config: {config_file}: {details}", field="config", reason="bad_config"
        ) from None


def create_test_user(
    store: Store,
    config_file: str | Path,
    *,
    now_ms: int,
    credentials: Sequence[ExchangeCredentials] = (),
    exists_ok: bool = False,
) -> tuple[UserRecord, bool]:
    """Create the user of ``config_file`` (or, with ``exists_ok``, take the existing one)
    and store its exchange keys. Returns the user and whether it was created."""
    config = load_config(config_file)
    created = True
    try:
        user = create_user(store, config, now_ms=now_ms)
    except StoreConflict as exc:
        existing = store.get_user(config.id) if config.id else None
        if existing is None and config.username:
            existing = store.get_user_by_username(config.username)
        if not exists_ok or existing is None:
            raise ToolError(
                f"{exc.field or 'user'}: {exc} (use --exists-ok to reuse it)",
                field=exc.field or "user",
                reason=exc.reason,
                exit_code=1,
            ) from None
        user, created = existing, False
    for credential in credentials:
        try:
            store.set_exchange_credentials(user.user_id, credential, now_ms)
        except (StoreError, SecretKeyError) as exc:
            raise ToolError(
                f"api_key: cannot store the {credential.exchange} keys: {exc}",
                field="api_key",
                reason="not_stored",
                exit_code=1,
            ) from None
    return user, created


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="create_test_user.py", description="Create a test user from a config file."
    )
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="user config JSON")
    parser.add_argument("--exchange", action="append", help="store keys for this exchange")
    parser.add_argument("--api-key")
    parser.add_argument("--api-secret", help="prefer --api-secret-env (not in shell history)")
    parser.add_argument("--api-secret-env", help="environment variable holding the secret")
    parser.add_argument("--testnet", action="store_true", help="the keys are testnet keys")
    parser.add_argument("--exists-ok", action="store_true", help="reuse an existing user")
    add_store_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        credentials = credentials_from(args, os.environ)
        store = open_store(args)
        try:
            user, _created = create_test_user(
                store,
                args.config,
                now_ms=WallClock().now_ms(),
                credentials=credentials,
                exists_ok=args.exists_ok,
            )
        finally:
            store.close()
    except ToolError as exc:
        return exc.report()
    print(json.dumps({"user_id": user.user_id, "webhook_secret": user.webhook_secret}))
    return 0
