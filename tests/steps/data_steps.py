"""Steps that read the database through the plan's scripts (export, verify, cleanup)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pytest_bdd import then, when

from tests.steps import database
from tests.steps.support import dec, step_parser
from tests.steps.world import World

__all__: list[str] = []

SLOT_STATUSES = ("live", "partially_filled", "active", "closing")


def _groups(world: World) -> list[dict[str, Any]]:
    assert "positions" in world.exports, "the positions have not been exported in this scenario"
    return world.exports["positions"]


def _key(row: dict[str, Any], symbol: str, timeframe: int, exchange: str) -> bool:
    return (
        row["symbol"] == symbol
        and int(row["timeframe"]) == timeframe
        and str(row["exchange"]).lower() == exchange
    )


@when(step_parser("the {kind:w} are exported from the database"))
@when(step_parser("the {kind:w} is exported from the database"))
def exported(world: World, kind: str) -> None:
    world.export(kind)


def _exported_group(world: World, symbol: str, timeframe: int, exchange: str) -> dict[str, Any]:
    rows = [row for row in _groups(world) if _key(row, symbol, timeframe, exchange)]
    assert rows, f"no {symbol} {timeframe} {exchange} group in the export"
    return max(rows, key=lambda r: int(r["created_at_ms"]))


@then(
    step_parser(
        "the export holds the {symbol:Sym} {timeframe:d} group on {exchange:Ex} "
        'with status "{status}"'
    )
)
def export_group_status(
    world: World, symbol: str, timeframe: int, exchange: str, status: str
) -> None:
    row = _exported_group(world, symbol, timeframe, exchange)
    assert row["status"] == status, f"exported status {row['status']!r}, expected {status!r}"
    assert row["user_id"] == world.user.user_id, row["user_id"]


@then(
    step_parser(
        "the export holds the {symbol:Sym} {timeframe:d} group on {exchange:Ex} "
        'with status "{status}" and a closed_at time'
    )
)
def export_group_closed(
    world: World, symbol: str, timeframe: int, exchange: str, status: str
) -> None:
    row = _exported_group(world, symbol, timeframe, exchange)
    assert row["status"] == status, f"exported status {row['status']!r}, expected {status!r}"
    assert row.get("closed_at_ms") is not None and row.get("closed_at"), f"no closed_at: {row}"


@then(
    step_parser(
        "the export holds the {symbol:Sym} {timeframe:d} group on {exchange:Ex} "
        "with {count:d} pyramids"
    )
)
def export_pyramids(world: World, symbol: str, timeframe: int, exchange: str, count: int) -> None:
    row = _exported_group(world, symbol, timeframe, exchange)
    assert len(row["pyramids"]) == count, f"{len(row['pyramids'])} pyramids exported"
    assert int(row["pyramid_count"]) == count, row["pyramid_count"]


@then(step_parser("the export holds no {symbol:Sym} group"))
def export_no_group(world: World, symbol: str) -> None:
    rows = [row for row in _groups(world) if row["symbol"] == symbol]
    assert not rows, f"{symbol} groups exported: {rows}"


@then(step_parser('the export holds no group of "{username}"'))
def export_no_user_group(world: World, username: str) -> None:
    user = world.user_named(username)
    rows = [row for row in _groups(world) if row["user_id"] == user.user_id]
    assert not rows, f"{username} still has {len(rows)} groups"


@then(
    step_parser(
        'the export holds {count:d} "{purpose}" orders for {symbol:Sym} with status "{status}"'
    )
)
def export_orders(world: World, count: int, purpose: str, symbol: str, status: str) -> None:
    rows = [
        row
        for row in world.exports["orders"]
        if row["symbol"] == symbol and row["purpose"] == purpose
    ]
    matching = [row for row in rows if row["status"] == status]
    assert len(matching) == count == len(rows), (
        f"{purpose} orders for {symbol}: {[(r['client_order_id'], r['status']) for r in rows]}"
    )


@then(
    step_parser(
        "the export holds a waiting queue entry for {symbol:Sym} {timeframe:d} on {exchange:Ex}"
    )
)
def export_queue_entry(world: World, symbol: str, timeframe: int, exchange: str) -> None:
    rows = [r for r in world.exports["queue"] if _key(r, symbol, timeframe, exchange)]
    assert [r["status"] for r in rows] == ["waiting"], f"queue rows for {symbol}: {rows}"


@then(step_parser("the export holds no waiting queue entry for {symbol:Sym}"))
def export_no_queue_entry(world: World, symbol: str) -> None:
    rows = [r for r in world.exports["queue"] if r["symbol"] == symbol and r["status"] == "waiting"]
    assert not rows, f"waiting queue rows for {symbol}: {rows}"


@then("every exported group has a valid status")
def valid_statuses(world: World) -> None:
    for row in _groups(world):
        assert row["status"] in database.VALID_GROUP_STATUSES, row["status"]


@then("every exported group has created ≤ updated ≤ closed")
def ordered_times(world: World) -> None:
    for row in _groups(world):
        created, updated = int(row["created_at_ms"]), int(row["updated_at_ms"])
        assert created <= updated, f"{row['group_id']}: created {created} > updated {updated}"
        if row.get("closed_at_ms") is not None:
            assert updated <= int(row["closed_at_ms"]), f"{row['group_id']}: updated > closed"
        for pyramid in row["pyramids"]:
            assert int(pyramid["created_at_ms"]) >= created, f"pyramid before its group: {pyramid}"


@then("the database has no orphaned pyramids, legs, orders or fills")
def no_orphans(world: World) -> None:
    problems = database.orphan_problems(world.backend.database_url)
    assert not problems, problems


@then("the database state verifies clean")
def verifies_clean(world: World) -> None:
    problems = world.verify_database()
    assert not problems, problems


@then("the realised PnL of every closed group equals the PnL recomputed from its fills")
def pnl_from_fills(world: World) -> None:
    closed = [row for row in _groups(world) if row["status"] == "closed"]
    assert closed, "no closed group to check"
    for row in closed:
        base = row["symbol"][: -len("USDT")]
        recomputed = database.fills_pnl(world.backend.database_url, row["group_id"], base, "USDT")
        stored = dec(row["realised_pnl"])
        assert stored is not None
        assert abs(stored - recomputed) <= Decimal("1e-12"), (
            f"{row['symbol']}: stored realised {stored} != recomputed from fills {recomputed}"
        )


@then(step_parser('the users export holds the user "{username}" without any secret in clear'))
def users_export(world: World, username: str) -> None:
    user = world.user_named(username)
    rows = [row for row in world.exports["users"] if row["user_id"] == user.user_id]
    assert len(rows) == 1, f"users exported: {[r.get('username') for r in world.exports['users']]}"
    text = json.dumps(world.exports["users"])
    assert user.secret not in text, "the webhook secret appears in clear in the users export"


@when(step_parser('the positions of "{username}" are cleaned'))
def cleaned(world: World, username: str) -> None:
    world.cleanup_user(username)
