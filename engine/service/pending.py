"""Commands whose outcome is unknown (exchange down, response lost): kept, retried with
exponential backoff and jitter, and carried in the engine snapshot so a restart keeps them."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.domain import CancelOrder, OrderPurpose, OrderSide, OrderType, PlaceOrder

__all__ = ["PendingCommand", "PendingCommands", "command_to_json", "command_from_json"]


def command_to_json(command: PlaceOrder | CancelOrder) -> dict[str, Any]:
    if isinstance(command, PlaceOrder):
        return {
            "kind": "place",
            "client_order_id": command.client_order_id,
            "user_id": command.user_id,
            "exchange": command.exchange,
            "symbol": command.symbol,
            "side": command.side.value,
            "type": command.type.value,
            "quantity": str(command.quantity),
            "price": None if command.price is None else str(command.price),
            "purpose": command.purpose.value,
            "group_id": command.group_id,
            "reduce_only": command.reduce_only,
        }
    return {
        "kind": "cancel",
        "client_order_id": command.client_order_id,
        "user_id": command.user_id,
        "exchange": command.exchange,
        "symbol": command.symbol,
    }


def command_from_json(data: dict[str, Any]) -> PlaceOrder | CancelOrder:
    """Inverse of :func:`command_to_json`; raises ``ValueError`` naming the bad field."""
    kind = data.get("kind")
    try:
        if kind == "place":
            price = data.get("price")
            return PlaceOrder(
                client_order_id=str(data["client_order_id"]),
                user_id=str(data["user_id"]),
                exchange=str(data["exchange"]),
                symbol=str(data["symbol"]),
                side=OrderSide(data["side"]),
                type=OrderType(data["type"]),
                quantity=Decimal(str(data["quantity"])),
                price=None if price is None else Decimal(str(price)),
                purpose=OrderPurpose(data["purpose"]),
                group_id=str(data["group_id"]),
                reduce_only=bool(data.get("reduce_only", False)),
            )
        if kind == "cancel":
            return CancelOrder(
                client_order_id=str(data["client_order_id"]),
                user_id=str(data["user_id"]),
                exchange=str(data["exchange"]),
                symbol=str(data["symbol"]),
            )
    except KeyError as exc:
        raise ValueError(f"pending.{exc.args[0]}: missing (missing)") from None
    raise ValueError(f"pending.kind: expected place or cancel, got {kind!r} (unknown_value)")


@dataclass(slots=True)
class PendingCommand:
    command: PlaceOrder | CancelOrder
    attempts: int
    due_at: float  # seconds on the runtime's monotonic clock

    @property
    def key(self) -> str:
        kind = "place" if isinstance(self.command, PlaceOrder) else "cancel"
        return f"{kind}:{self.command.client_order_id}"


class PendingCommands:
    """The set of commands to retry, keyed by (kind, client order id)."""

    def __init__(self, base_seconds: float, max_seconds: float, rng: random.Random) -> None:
        self._base = base_seconds
        self._max = max_seconds
        self._rng = rng
        self._items: dict[str, PendingCommand] = {}
        self.changes = 0  # bumped on every change, so the runtime knows to save it

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, client_order_id: object) -> bool:
        return any(item.command.client_order_id == client_order_id for item in self._items.values())

    def backoff(self, attempts: int) -> float:
        """Exponential backoff with full jitter in [delay/2, delay]."""
        delay: float = min(self._max, self._base * float(2 ** max(0, attempts - 1)))
        return delay * (0.5 + self._rng.random() / 2)

    def defer(self, command: PlaceOrder | CancelOrder, now: float) -> PendingCommand:
        probe = PendingCommand(command, 0, now)
        item = self._items.get(probe.key)
        attempts = 1 if item is None else item.attempts + 1
        item = PendingCommand(command, attempts, now + self.backoff(attempts))
        self._items[item.key] = item
        self.changes += 1
        return item

    def discard(self, command: PlaceOrder | CancelOrder) -> None:
        if self._items.pop(PendingCommand(command, 0, 0.0).key, None) is not None:
            self.changes += 1

    def due(self, now: float, *, force: bool = False) -> list[PendingCommand]:
        """The commands to retry now (all of them with ``force``), oldest key first."""
        return [item for item in self._items.values() if force or item.due_at <= now]

    def items(self) -> list[PendingCommand]:
        return list(self._items.values())

    def to_json(self) -> list[dict[str, Any]]:
        return [
            {"command": command_to_json(item.command), "attempts": item.attempts}
            for item in self._items.values()
        ]

    def load_json(self, data: list[dict[str, Any]], now: float) -> None:
        """Replace the set with ``data`` (from a snapshot); everything is due at once."""
        self._items.clear()
        for entry in data:
            command = command_from_json(entry["command"])
            item = PendingCommand(command, int(entry.get("attempts", 1)), now)
            self._items[item.key] = item
