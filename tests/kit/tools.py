"""Builders for the operator-script tests (qtrade/tools): small databases whose every figure
is worked out by hand below, written through the store's API."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.domain import GroupStatus, OrderPurpose, OrderSide, OrderStatus, OrderType, PositionSide
from engine.store import Store
from tests.kit.store_builders import T0, fill, group, leg, order, pyramid, queued, user

__all__ = [
    "D",
    "T0",
    "LONG_REALISED",
    "SHORT_REALISED",
    "closed_long_group",
    "closed_short_group",
    "waiting_entry",
    "sqlite_url",
    "raw_sqlite",
    "json_out",
]

D = Decimal

# closed_long_group, BTCUSDT long, two legs both closed by their take-profits:
#   entries: 0.0002 @ 95992.30 (fee 0.0000002 BTC = 0.0000002 × 95992.30 = 0.01919846 USDT)
#            0.0003 @ 95512.33 (fee 0.0000003 BTC = 0.028653699 USDT)
#   TPs:     0.0002 @ 96952.22 = 19.390444 (fee 0.019390444 USDT)
#            0.0003 @ 96467.45 = 28.940235 (fee 0.028940235 USDT)
#   proceeds 19.390444 + 28.940235 = 48.330679
#   cost     0.0002 × 95992.30 + 0.0003 × 95512.33 = 19.19846 + 28.653699 = 47.852159
#   fees     0.01919846 + 0.028653699 + 0.019390444 + 0.028940235 = 0.096182838
#   realised 48.330679 − 47.852159 − 0.096182838 = 0.382337162
LONG_REALISED = D("0.382337162")

# closed_short_group, SOLUSDT short on bybit, two legs closed together by one exit order:
#   entries: sell 0.5 @ 240.00 (fee 0.12 USDT), sell 0.7 @ 241.20 (fee 0.16884 USDT)
#   exit:    buy 1.2 @ 238.00 = 285.6 (fee 0.2856 USDT)
#   cost     0.5 × 240 + 0.7 × 241.2 = 120 + 168.84 = 288.84
#   realised (short) 288.84 − 285.6 − (0.12 + 0.16884 + 0.2856) = 3.24 − 0.57444 = 2.66556
SHORT_REALISED = D("2.66556")


def closed_long_group(
    store: Store, user_id: str = "u1", group_id: str = "g1", **group_over: Any
) -> None:
    """The long group above (user created when missing)."""
    if store.get_user(user_id) is None:
        store.create_user(user(user_id))
    fields: dict[str, Any] = {
        "status": GroupStatus.CLOSED,
        "average_entry": None,
        "open_quantity": D("0"),
        "realised_pnl": LONG_REALISED,
        "updated_at_ms": T0 + 2_000,
        "closed_at_ms": T0 + 2_000,
    }
    fields.update(group_over)
    store.upsert_group(group(group_id, user_id, **fields))
    pid = f"{group_id}-p0"
    store.upsert_pyramid(pyramid(pid, group_id))
    legs = (
        (0, "entry", D("0.00020"), D("95992.30"), D("0.0000002"), D("96952.22"), D("0.019390444")),
        (1, "dca", D("0.00030"), D("95512.33"), D("0.0000003"), D("96467.45"), D("0.028940235")),
    )
    for index, purpose, qty, price, entry_fee, tp_price, tp_fee in legs:
        entry_id = f"{group_id}-p0-l{index}-{purpose}-0"
        tp_id = f"{group_id}-p0-l{index}-tp-0"
        store.upsert_leg(
            leg(
                f"{group_id}-p0-l{index}",
                pid,
                index=index,
                price=price,
                quantity=qty,
                filled_quantity=qty,
                average_fill_price=price,
                tp_price=tp_price,
                closed_quantity=qty,
                client_order_id=entry_id,
            )
        )
        store.upsert_order(
            order(
                entry_id,
                user_id=user_id,
                group_id=group_id,
                purpose=OrderPurpose(purpose),
                quantity=qty,
                filled_quantity=qty,
                average_price=price,
                fees=entry_fee,
            )
        )
        store.record_fill(fill(f"{entry_id}-t", entry_id, quantity=qty, price=price,
                               fee=entry_fee, fee_asset="BTC"))  # fmt: skip
        store.upsert_order(
            order(
                tp_id,
                user_id=user_id,
                group_id=group_id,
                side=OrderSide.SELL,
                type=OrderType.LIMIT,
                purpose=OrderPurpose.TAKE_PROFIT,
                price=tp_price,
                quantity=qty,
                filled_quantity=qty,
                average_price=tp_price,
                fees=tp_fee,
                reduce_only=True,
                created_at_ms=T0 + 1_000,
                updated_at_ms=T0 + 2_000,
            )
        )
        store.record_fill(fill(f"{tp_id}-t", tp_id, quantity=qty, price=tp_price, fee=tp_fee,
                               fee_asset="USDT", at_ms=T0 + 2_000))  # fmt: skip


def closed_short_group(
    store: Store, user_id: str = "u1", group_id: str = "g2", **group_over: Any
) -> None:
    """The short group above (user created when missing)."""
    if store.get_user(user_id) is None:
        store.create_user(user(user_id))
    fields: dict[str, Any] = {
        "exchange": "bybit",
        "symbol": "SOLUSDT",
        "side": PositionSide.SHORT,
        "status": GroupStatus.CLOSED,
        "average_entry": None,
        "open_quantity": D("0"),
        "realised_pnl": SHORT_REALISED,
        "updated_at_ms": T0 + 5_000,
        "closed_at_ms": T0 + 5_000,
    }
    fields.update(group_over)
    store.upsert_group(group(group_id, user_id, **fields))
    pid = f"{group_id}-p0"
    store.upsert_pyramid(pyramid(pid, group_id, capital=D("120"), leg0_fill_price=D("240.00")))
    for index, purpose, qty, price, fee in (
        (0, "entry", D("0.5"), D("240.00"), D("0.12")),
        (1, "dca", D("0.7"), D("241.20"), D("0.16884")),
    ):
        cid = f"{group_id}-p0-l{index}-{purpose}-0"
        store.upsert_leg(
            leg(f"{group_id}-p0-l{index}", pid, index=index, side=OrderSide.SELL, price=price,
                quantity=qty, filled_quantity=qty, average_fill_price=price, tp_price=None,
                closed_quantity=qty, client_order_id=cid)
        )  # fmt: skip
        store.upsert_order(
            order(cid, user_id=user_id, group_id=group_id, exchange="bybit", symbol="SOLUSDT",
                  side=OrderSide.SELL, purpose=OrderPurpose(purpose), quantity=qty,
                  filled_quantity=qty, average_price=price, fees=fee)
        )  # fmt: skip
        store.record_fill(fill(f"{cid}-t", cid, quantity=qty, price=price, fee=fee,
                               fee_asset="USDT"))  # fmt: skip
    exit_id = f"{group_id}-px-lx-exit-0"
    store.upsert_order(
        order(exit_id, user_id=user_id, group_id=group_id, exchange="bybit", symbol="SOLUSDT",
              side=OrderSide.BUY, purpose=OrderPurpose.EXIT, quantity=D("1.2"),
              status=OrderStatus.FILLED, filled_quantity=D("1.2"), average_price=D("238.00"),
              fees=D("0.2856"), reduce_only=True, updated_at_ms=T0 + 5_000)
    )  # fmt: skip
    store.record_fill(fill(f"{exit_id}-t", exit_id, quantity=D("1.2"), price=D("238.00"),
                           fee=D("0.2856"), fee_asset="USDT", at_ms=T0 + 5_000))  # fmt: skip


def waiting_entry(store: Store, user_id: str = "u1", queue_id: str = "q1", **over: Any) -> None:
    store.upsert_queued_signal(queued(queue_id, user_id, **over))


def sqlite_url(tmp_path: Path, name: str = "tools.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def raw_sqlite(tmp_path: Path, name: str = "tools.db") -> sqlite3.Connection:
    """A plain sqlite3 connection to the file: foreign keys NOT enforced (sqlite3's default,
    as in the ``sqlite3`` shell), so rows can be deleted the way a careless hand would."""
    conn = sqlite3.connect(tmp_path / name, isolation_level=None)
    assert conn.execute("PRAGMA foreign_keys").fetchone() == (0,)
    return conn


def json_out(text: str) -> Any:
    return json.loads(text)
