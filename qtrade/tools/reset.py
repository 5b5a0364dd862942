"""Reset the test environment (the testing plan's ``reset_test_environment.py``).

``--confirm [--db URL] [--url URL] [--users FILE ...]``: deletes every row of every table of
the store (users, signals, positions, orders, queue, risk actions, audit events and the
engine snapshot; the schema, the encryption key and the API token file stay); with
``--url``, resets the simulator too (``POST /admin/reset``: prices, clock, orders and faults
back to the start, accounts kept); with ``--users``, creates those users again
(``create_test_user``'s code). Prints what was there before as JSON. Without ``--confirm``
nothing is touched (exit 2).

Run it with the service stopped: a running service keeps its state in memory and would save
it again; start it afterwards.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

import httpx

from engine.store import Store
from qtrade.commands.serve import WallClock
from qtrade.tools.store_args import ToolError, add_store_arguments, open_store
from qtrade.tools.users import create_test_user, load_config

__all__ = ["store_counts", "reset_store", "reset_simulator", "main"]


def store_counts(store: Store) -> dict[str, int]:
    """Rows of the main kinds, for the report."""
    groups = store.list_groups()
    return {
        "users": len(store.list_users()),
        "signals": len(store.list_signals()),
        "groups": len(groups),
        "open_groups": sum(1 for g in groups if g.status.value not in ("closed", "failed")),
        "orders": len(store.list_orders()),
        "queued_signals": len(store.list_queued_signals()),
        "risk_actions": len(store.list_risk_actions()),
    }


def reset_store(store: Store) -> dict[str, int]:
    """Empty the store; returns the counts from just before."""
    before = store_counts(store)
    store.reset()
    return before


def reset_simulator(client: httpx.Client) -> dict[str, Any]:
    """``POST /admin/reset`` through ``client``; returns the simulator's status."""
    try:
        response = client.post("/admin/reset")
    except httpx.HTTPError as exc:
        raise ToolError(
            f"url: cannot reach the simulator: {exc}", field="url", reason="unreachable"
        ) from None
    if response.status_code == 404:
        raise ToolError(
            "url: no /admin/reset there: is this a simulator (qtrade serve --exchange sim)?",
            field="url",
            reason="no_admin_api",
        )
    if not response.is_success:
        raise ToolError(
            f"url: /admin/reset answered {response.status_code}: {response.text[:200]}",
            field="url",
            reason="refused",
            exit_code=1,
        )
    status: dict[str, Any] = response.json()
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reset_test_environment.py",
        description="Delete all test data (and reset the simulator) to start again.",
    )
    parser.add_argument("--confirm", action="store_true", help="really delete everything")
    parser.add_argument("--url", help="also reset the simulator at this URL (/admin/reset)")
    parser.add_argument("--users", nargs="*", default=[], metavar="FILE", help="users to create")
    parser.add_argument("--timeout", type=float, default=30.0)
    add_store_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.confirm:
        return ToolError(
            "confirm: this deletes every row of the database"
            + (" and resets the simulator" if args.url else "")
            + "; re-run with --confirm",
            field="confirm",
            reason="confirmation_required",
        ).report()
    report: dict[str, Any] = {}
    try:
        for name in args.users:
            load_config(name)  # every config must be valid before anything is reset
        store = open_store(args)  # and the database must answer
        try:
            if args.url:
                with httpx.Client(base_url=args.url.rstrip("/"), timeout=args.timeout) as client:
                    status = reset_simulator(client)
                report["simulator"] = {"reset": True, "clock_ms": status.get("clock_ms")}
            report["deleted"] = reset_store(store)
            created = []
            for name in args.users:
                user, _ = create_test_user(store, name, now_ms=WallClock().now_ms())
                created.append({"user_id": user.user_id, "username": user.username})
            report["users_created"] = created
        finally:
            store.close()
    except ToolError as exc:
        return exc.report()
    print(json.dumps(report, indent=2))
    return 0
