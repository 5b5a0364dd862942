"""``qtrade users``: create users from config files, list them, store exchange API keys.

- ``qtrade users create --config FILE`` prints ``{"user_id", "webhook_secret"}``; the config's
  own ``id`` and ``webhook_secret`` are kept when it has them (so the seed user's commands work
  as written), otherwise fresh ones are generated.
- ``qtrade users list`` prints one JSON array (secrets never shown; keys masked).
- ``qtrade users set-keys USER_ID --exchange binance --api-key K --api-secret-env VAR``
  stores exchange keys encrypted (the secret is read from an environment variable so it does
  not land in the shell history; ``--api-secret`` is accepted too).

The database is ``--db``, else ``DATABASE_URL``, else ``sqlite:///var/qtrade.db``; a running
service picks new users up on its next start or through ``POST /config/import``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from engine.adapters.crypto import SecretKeyError, mask_secret
from engine.api.convert import iso
from engine.config import ConfigError, load_user_config
from engine.store import ExchangeCredentials, Store, StoreError
from qtrade.commands.serve import ServeOptions, WallClock, database_url

__all__ = ["register", "open_store", "run_create", "run_list", "run_set_keys"]


def open_store(args: argparse.Namespace) -> Store:
    from engine.adapters.sql_store import SqlStore  # SQLAlchemy only when a command needs it

    options = ServeOptions(db=args.db, data_dir=args.data_dir, db_schema=args.db_schema)
    return SqlStore(
        database_url(options, os.environ), data_dir=Path(args.data_dir), schema=args.db_schema
    )


def _store_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="SQLAlchemy URL (default: DATABASE_URL or sqlite)")
    parser.add_argument("--db-schema", help="PostgreSQL schema")
    parser.add_argument("--data-dir", default=os.environ.get("QTRADE_DATA_DIR", "var"))


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("users", help="create and list users")
    actions = parser.add_subparsers(dest="users_command", metavar="ACTION")
    create = actions.add_parser("create", help="create a user from a config file")
    create.add_argument("--config", required=True, help="user config JSON (seed format)")
    _store_arguments(create)
    create.set_defaults(handler=run_create)
    listing = actions.add_parser("list", help="list users")
    _store_arguments(listing)
    listing.set_defaults(handler=run_list)
    keys = actions.add_parser("set-keys", help="store a user's exchange API keys (encrypted)")
    keys.add_argument("user_id")
    keys.add_argument("--exchange", required=True)
    keys.add_argument("--api-key", required=True)
    keys.add_argument("--api-secret", help="the secret (prefer --api-secret-env)")
    keys.add_argument("--api-secret-env", help="name of the environment variable holding it")
    keys.add_argument("--testnet", action="store_true")
    _store_arguments(keys)
    keys.set_defaults(handler=run_set_keys)
    parser.set_defaults(handler=lambda _args: _help(parser))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_create(args: argparse.Namespace) -> int:
    try:
        config = load_user_config(args.config)
    except ConfigError as exc:
        for error in exc.errors:
            print(f"{args.config}: {error} [{error.code}]", file=sys.stderr)
        return 1
    from engine.service.users import create_user

    store = open_store(args)
    try:
        user = create_user(store, config, now_ms=WallClock().now_ms())
    except StoreError as exc:
        print(f"{exc.field or 'user'}: {exc} ({exc.reason})", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(json.dumps({"user_id": user.user_id, "webhook_secret": user.webhook_secret}))
    return 0


def run_list(args: argparse.Namespace) -> int:
    store = open_store(args)
    try:
        rows = [
            {
                "user_id": user.user_id,
                "username": user.username,
                "webhook_secret": mask_secret(user.webhook_secret),
                "configured_exchanges": user.config.get("configured_exchanges", []),
                "exchange_keys": [
                    {"exchange": k.exchange, "api_key": k.api_key_masked, "testnet": k.testnet}
                    for k in store.list_exchange_credentials(user.user_id)
                ],
                "created_at": iso(user.created_at_ms),
            }
            for user in store.list_users()
        ]
    finally:
        store.close()
    print(json.dumps(rows, indent=2))
    return 0


def run_set_keys(args: argparse.Namespace) -> int:
    secret = args.api_secret
    if args.api_secret_env:
        secret = os.environ.get(args.api_secret_env)
    if not secret:
        print("api_secret: give --api-secret or --api-secret-env (missing)", file=sys.stderr)
        return 2
    store = open_store(args)
    try:
        if store.get_user(args.user_id) is None:
            print(f"user_id: no user {args.user_id!r} (unknown_user)", file=sys.stderr)
            return 1
        credentials = ExchangeCredentials(
            args.exchange.lower(), args.api_key, secret, testnet=args.testnet
        )
        store.set_exchange_credentials(args.user_id, credentials, WallClock().now_ms())
        shown = store.list_exchange_credentials(args.user_id)
    except (StoreError, SecretKeyError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    finally:
        store.close()
    masked = [k.api_key_masked for k in shown if k.exchange == args.exchange.lower()]
    print(
        json.dumps(
            {"user_id": args.user_id, "exchange": args.exchange.lower(), "api_key": masked[0]}
        )
    )
    return 0
