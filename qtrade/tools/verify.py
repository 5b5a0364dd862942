"""Audit the database for consistency problems (the testing plan's
``verify_database_state.py``, Test 6.1).

Prints a JSON list of problems (``[]`` when clean) and a one-line summary on stderr; exit 1
on any problem, 0 when clean, 2 when the database cannot be opened. Each problem is
``{"check", "message", ...ids}``; the checks:

- ``orphan_group`` / ``orphan_pyramid`` / ``orphan_leg`` / ``orphan_fill``: a row whose
  user / group / pyramid / order is missing; ``order_missing_group``: an order pointing at a
  group that does not exist (SQL stores only, see :mod:`qtrade.tools.orphans`);
- ``order_user_mismatch``: an order whose user is not its group's user;
- ``timestamp_order``: a group with created > updated, updated > closed or created > closed;
  a pyramid created before its group; an order or a queued signal updated before it was
  created; ``closed_without_time`` (status closed, no closed_at) and
  ``closed_time_on_open_group`` (closed_at set on a live / partially filled / active /
  closing group);
- ``leg_overclosed``: a leg that closed more than it filled, or closed without a fill price;
- ``close_quantity_mismatch``: the group's closing fills do not add up to its legs' closed
  quantities;
- ``realised_pnl_mismatch``: the stored realised PnL differs from the one recomputed from the
  fills by more than 1e-8 (:func:`recompute_realised`).

Realised PnL of a group, recomputed (longs; shorts swap the first two terms):

    Σ closing fills (price × quantity)  −  Σ legs (closed quantity × average fill price)
      −  Σ fees of every fill of the group's orders (entry and closing)

A closing fill is a fill of an order of the group whose purpose is not ``entry``/``dca``
(take-profit, aggregate TP, exit, stop, risk, reduce). A fee in the quote currency (or with
no asset) counts as is, one in the base asset at its fill's price; a fee in a third asset
(BNB) is left out, as the engine leaves it out of PnL. When the closing fills add up to the
closed quantities, the first two terms are Σ (price − average entry of the closed legs) ×
quantity. The engine books a close at the leg's cost basis at that moment, which equals the
leg's final average fill price unless the leg took more entry fills after a partial close;
only then may the two differ.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.adapters.sql_store import SqlStore
from engine.context import guess_base_quote
from engine.domain import GroupStatus, OrderPurpose, PositionSide
from engine.store import FillRecord, GroupRecord, LegRecord, OrderRecord, Store
from qtrade.tools.orphans import find_orphans
from qtrade.tools.store_args import ToolError, add_store_arguments, open_store

__all__ = [
    "TOLERANCE",
    "Problem",
    "fee_value",
    "recompute_realised",
    "check_store",
    "verify",
    "main",
]

TOLERANCE = Decimal("1e-8")
ZERO = Decimal(0)
_ENTRY_PURPOSES = frozenset({OrderPurpose.ENTRY, OrderPurpose.DCA})
_OPEN_STATES = frozenset(
    {GroupStatus.LIVE, GroupStatus.PARTIALLY_FILLED, GroupStatus.ACTIVE, GroupStatus.CLOSING}
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One inconsistency: ``check`` is its stable code, ``refs`` the ids (and figures)."""

    check: str
    message: str
    refs: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "message": self.message, **self.refs}


def fee_value(fill: FillRecord, symbol: str) -> Decimal:
    """The fill's fee in the quote currency: quote (or no asset) as is, base at the fill
    price, any other asset 0 (the engine keeps those out of PnL)."""
    base, quote = guess_base_quote(symbol)
    asset = fill.fee_asset.upper()
    if asset in ("", quote.upper()):
        return fill.fee
    if asset == base.upper():
        return fill.fee * fill.price
    return ZERO


def recompute_realised(
    group: GroupRecord,
    legs: Sequence[LegRecord],
    orders: Sequence[OrderRecord],
    fills_by_order: dict[str, list[FillRecord]],
) -> tuple[Decimal, Decimal, Decimal]:
    """(realised PnL, Σ closing fill quantity, Σ leg closed quantity) of ``group`` from its
    fills and legs (formula in the module docstring)."""
    proceeds = ZERO
    closed_by_fills = ZERO
    fees = ZERO
    for order in orders:
        for fill in fills_by_order.get(order.client_order_id, []):
            fees += fee_value(fill, group.symbol)
            if order.purpose not in _ENTRY_PURPOSES:
                proceeds += fill.price * fill.quantity
                closed_by_fills += fill.quantity
    closed_cost = ZERO
    closed_by_legs = ZERO
    for leg in legs:
        if leg.closed_quantity > 0 and leg.average_fill_price is not None:
            closed_cost += leg.closed_quantity * leg.average_fill_price
        closed_by_legs += leg.closed_quantity
    gross = proceeds - closed_cost if group.side is PositionSide.LONG else closed_cost - proceeds
    return gross - fees, closed_by_fills, closed_by_legs


def _timestamps(group: GroupRecord, pyramid_times: Sequence[tuple[str, int]]) -> list[Problem]:
    problems: list[Problem] = []
    refs: dict[str, Any] = {
        "group_id": group.group_id,
        "created_at_ms": group.created_at_ms,
        "updated_at_ms": group.updated_at_ms,
        "closed_at_ms": group.closed_at_ms,
    }
    order_broken = group.created_at_ms > group.updated_at_ms or (
        group.closed_at_ms is not None
        and (group.updated_at_ms > group.closed_at_ms or group.created_at_ms > group.closed_at_ms)
    )
    if order_broken:
        problems.append(
            Problem(
                "timestamp_order", f"group {group.group_id}: not created <= updated <= closed", refs
            )
        )
    if group.status is GroupStatus.CLOSED and group.closed_at_ms is None:
        problems.append(
            Problem("closed_without_time", f"group {group.group_id}: closed, no closed_at", refs)
        )
    if group.status in _OPEN_STATES and group.closed_at_ms is not None:
        problems.append(
            Problem(
                "closed_time_on_open_group",
                f"group {group.group_id}: status {group.status.value} but closed_at is set",
                refs,
            )
        )
    for pyramid_id, created in pyramid_times:
        if created < group.created_at_ms:
            problems.append(
                Problem(
                    "timestamp_order",
                    f"pyramid {pyramid_id}: created before its group {group.group_id}",
                    {
                        "group_id": group.group_id,
                        "pyramid_id": pyramid_id,
                        "created_at_ms": created,
                        "group_created_at_ms": group.created_at_ms,
                    },
                )
            )
    return problems


def _legs(group: GroupRecord, legs: Sequence[LegRecord]) -> list[Problem]:
    problems: list[Problem] = []
    for leg in legs:
        refs = {
            "group_id": group.group_id,
            "leg_id": leg.leg_id,
            "filled_quantity": str(leg.filled_quantity),
            "closed_quantity": str(leg.closed_quantity),
        }
        if leg.closed_quantity > leg.filled_quantity:
            problems.append(
                Problem("leg_overclosed", f"leg {leg.leg_id}: closed more than it filled", refs)
            )
        elif leg.closed_quantity > 0 and leg.average_fill_price is None:
            problems.append(
                Problem("leg_overclosed", f"leg {leg.leg_id}: closed without a fill price", refs)
            )
    return problems


def _pnl(
    group: GroupRecord,
    legs: Sequence[LegRecord],
    orders: Sequence[OrderRecord],
    fills_by_order: dict[str, list[FillRecord]],
    tolerance: Decimal,
) -> list[Problem]:
    problems: list[Problem] = []
    realised, by_fills, by_legs = recompute_realised(group, legs, orders, fills_by_order)
    if by_fills != by_legs:
        problems.append(
            Problem(
                "close_quantity_mismatch",
                f"group {group.group_id}: closing fills {by_fills} != legs' closed {by_legs}",
                {
                    "group_id": group.group_id,
                    "closing_fill_quantity": str(by_fills),
                    "legs_closed_quantity": str(by_legs),
                },
            )
        )
    difference = group.realised_pnl - realised
    if abs(difference) > tolerance:
        problems.append(
            Problem(
                "realised_pnl_mismatch",
                f"group {group.group_id}: stored realised {group.realised_pnl}, "
                f"recomputed from fills {realised}",
                {
                    "group_id": group.group_id,
                    "stored": str(group.realised_pnl),
                    "recomputed": str(realised),
                    "difference": str(difference),
                },
            )
        )
    return problems


def _orders(orders: Sequence[OrderRecord], groups: dict[str, GroupRecord]) -> list[Problem]:
    problems: list[Problem] = []
    for order in orders:
        cid = order.client_order_id
        if order.created_at_ms > order.updated_at_ms:
            problems.append(
                Problem(
                    "timestamp_order",
                    f"order {cid}: updated before it was created",
                    {
                        "client_order_id": cid,
                        "created_at_ms": order.created_at_ms,
                        "updated_at_ms": order.updated_at_ms,
                    },
                )
            )
        group = groups.get(order.group_id) if order.group_id is not None else None
        if group is not None and group.user_id != order.user_id:
            problems.append(
                Problem(
                    "order_user_mismatch",
                    f"order {cid}: user {order.user_id} but its group {group.group_id} "
                    f"belongs to {group.user_id}",
                    {"client_order_id": cid, "group_id": group.group_id},
                )
            )
    return problems


def check_store(store: Store, *, tolerance: Decimal = TOLERANCE) -> list[Problem]:
    """Every problem visible through the store's API (any store)."""
    groups = {group.group_id: group for group in store.list_groups()}
    orders = store.list_orders()
    fills_by_order: dict[str, list[FillRecord]] = defaultdict(list)
    for fill in store.list_fills():
        fills_by_order[fill.client_order_id].append(fill)
    orders_by_group: dict[str, list[OrderRecord]] = defaultdict(list)
    for order in orders:
        if order.group_id is not None:
            orders_by_group[order.group_id].append(order)
    problems = _orders(orders, groups)
    for group in groups.values():
        pyramids = store.list_pyramids(group.group_id)
        legs = [leg for pyramid in pyramids for leg in store.list_legs(pyramid.pyramid_id)]
        problems += _timestamps(group, [(p.pyramid_id, p.created_at_ms) for p in pyramids])
        problems += _legs(group, legs)
        problems += _pnl(group, legs, orders_by_group[group.group_id], fills_by_order, tolerance)
    for queued in store.list_queued_signals():
        if queued.queued_at_ms > queued.updated_at_ms:
            problems.append(
                Problem(
                    "timestamp_order",
                    f"queued signal {queued.queue_id}: updated before it was queued",
                    {
                        "queue_id": queued.queue_id,
                        "queued_at_ms": queued.queued_at_ms,
                        "updated_at_ms": queued.updated_at_ms,
                    },
                )
            )
    return problems


def verify(store: Store, *, tolerance: Decimal = TOLERANCE) -> list[Problem]:
    """Every problem of ``store``: orphans first (SQL stores), then :func:`check_store`."""
    problems: list[Problem] = []
    if isinstance(store, SqlStore):  # rows the store's API cannot reach
        for row in find_orphans(store):
            problems.append(
                Problem(
                    row.check,
                    f"{row.child} row {row.row_id}: its {row.parent} row {row.parent_id} "
                    "does not exist",
                    {"table": row.child, "id": row.row_id, "missing": row.parent_id},
                )
            )
    return problems + check_store(store, tolerance=tolerance)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="verify_database_state.py",
        description="Audit the database: orphans, timestamps, PnL recomputed from fills.",
    )
    add_store_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        store = open_store(args)
    except ToolError as exc:
        return exc.report()
    try:
        problems = verify(store)
        checked = {"groups": len(store.list_groups()), "orders": len(store.list_orders())}
    finally:
        store.close()
    print(json.dumps([problem.to_json() for problem in problems], indent=2))
    counts: dict[str, int] = defaultdict(int)
    for problem in problems:
        counts[problem.check] += 1
    summary = {
        "checked": checked,
        "problems": len(problems),
        "by_check": dict(sorted(counts.items())),
    }
    print(json.dumps(summary), file=sys.stderr)
    return 1 if problems else 0
