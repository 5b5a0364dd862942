"""Delete one user's positions (the testing plan's ``clean_positions_for_user.py``, Test 6.2).

``--username NAME --confirm``: deletes the user's position groups with their pyramids and DCA
legs, their orders and fills, queued signals and risk actions, in one transaction
(:meth:`engine.store.Store.delete_user_positions`), and prints what was deleted as JSON.
The user, their config and keys, the received signals and the audit log stay. Without
``--confirm`` nothing is touched (exit 2); ``--dry-run`` prints what would be deleted.

Stop the service first: a running service keeps the user's positions in memory, and its
saved engine snapshot (restored when it starts) holds them too, so it can write them back.
The printed ``snapshot_holds_user`` says whether the latest snapshot still mentions the user;
``reset_test_environment.py`` clears everything, the snapshot included.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from engine.store import Store, UserRecord
from qtrade.tools.store_args import ToolError, add_store_arguments, open_store

__all__ = ["PositionCounts", "find_user", "count_user_positions", "clean_positions", "main"]


@dataclass(frozen=True, slots=True)
class PositionCounts:
    """How many rows of each kind belong to one user's positions."""

    groups: int
    pyramids: int
    legs: int
    orders: int
    fills: int
    queued_signals: int
    risk_actions: int


def find_user(store: Store, username: str) -> UserRecord:
    """The user called ``username``; :class:`ToolError` (``unknown_user``) when none is."""
    user = store.get_user_by_username(username)
    if user is None:
        raise ToolError(
            f"username: no user called {username!r}",
            field="username",
            reason="unknown_user",
            exit_code=1,
        )
    return user


def count_user_positions(store: Store, user_id: str) -> PositionCounts:
    """Count what :meth:`Store.delete_user_positions` deletes for ``user_id``: the groups
    with their pyramids and legs, the orders of the user or of their groups, those orders'
    fills, the queued signals and the risk actions."""
    groups = store.list_groups(user_id=user_id)
    pyramid_ids: list[str] = []
    order_ids: set[str] = {o.client_order_id for o in store.list_orders(user_id=user_id)}
    for group in groups:
        pyramid_ids.extend(p.pyramid_id for p in store.list_pyramids(group.group_id))
        order_ids.update(o.client_order_id for o in store.list_orders(group_id=group.group_id))
    legs = sum(len(store.list_legs(pyramid_id)) for pyramid_id in pyramid_ids)
    fills = sum(1 for fill in store.list_fills() if fill.client_order_id in order_ids)
    return PositionCounts(
        groups=len(groups),
        pyramids=len(pyramid_ids),
        legs=legs,
        orders=len(order_ids),
        fills=fills,
        queued_signals=len(store.list_queued_signals(user_id=user_id)),
        risk_actions=len(store.list_risk_actions(user_id=user_id)),
    )


def _snapshot_holds(store: Store, user_id: str) -> bool:
    snapshot = store.load_snapshot()
    return snapshot is not None and user_id in json.dumps(snapshot.data, default=str)


def clean_positions(store: Store, username: str) -> dict[str, object]:
    """Delete the positions of the user called ``username``; returns the report printed by
    the script (``deleted`` counts rows as they were just before the deletion)."""
    user = find_user(store, username)
    counts = count_user_positions(store, user.user_id)
    deleted_groups = store.delete_user_positions(user.user_id)
    report: dict[str, object] = {
        "username": user.username,
        "user_id": user.user_id,
        "deleted": asdict(counts),
        "snapshot_holds_user": _snapshot_holds(store, user.user_id),
    }
    if deleted_groups != counts.groups:
        # something wrote between the count and the delete (a running service)
        report["deleted"] = {**asdict(counts), "groups": deleted_groups}
        report["warning"] = "the database changed while cleaning: is the service running?"
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clean_positions_for_user.py",
        description="Delete one user's groups, pyramids, legs, orders and queued signals.",
    )
    parser.add_argument("--username", required=True)
    parser.add_argument("--confirm", action="store_true", help="really delete")
    parser.add_argument("--dry-run", action="store_true", help="print what would be deleted")
    add_store_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.confirm and not args.dry_run:
        return ToolError(
            f"confirm: this deletes every position of {args.username!r}; "
            "re-run with --confirm (or --dry-run to see what would go)",
            field="confirm",
            reason="confirmation_required",
        ).report()
    try:
        store = open_store(args)
        try:
            if args.dry_run and not args.confirm:
                user = find_user(store, args.username)
                counts = count_user_positions(store, user.user_id)
                report: dict[str, object] = {
                    "username": user.username,
                    "user_id": user.user_id,
                    "would_delete": asdict(counts),
                }
            else:
                report = clean_positions(store, args.username)
        finally:
            store.close()
    except ToolError as exc:
        return exc.report()
    print(json.dumps(report, indent=2))
    if report.get("snapshot_holds_user"):
        print(
            "warning: the service's saved engine snapshot still holds this user's positions;"
            " the service restores them when it starts (reset_test_environment.py clears"
            " everything, snapshot included)",
            file=sys.stderr,
        )
    return 0
