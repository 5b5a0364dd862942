"""Mapping between the store's dataclasses (``engine.store``) and table rows.

One declarative :class:`RowMap` per record type: record field ``x_ms`` is column ``x``,
the record's own id field is column ``id`` (or as renamed), enums are stored by value. Keeping
the mapping as data means a new field needs one change in the model and none here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, TypeVar

from sqlalchemy import Table

from engine.adapters import sql_models as m
from engine.adapters.store_common import winners_from_json, winners_to_json
from engine.domain import (
    Category,
    GroupStatus,
    OrderPurpose,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    RiskAction,
    Severity,
)
from engine.store import (
    EventRecord,
    FillRecord,
    GroupRecord,
    LegRecord,
    OrderRecord,
    PyramidRecord,
    QueuedSignalRecord,
    SignalRecord,
    UserRecord,
)

__all__ = [
    "RowMap",
    "table",
    "USERS",
    "SIGNALS",
    "GROUPS",
    "PYRAMIDS",
    "LEGS",
    "ORDERS",
    "FILLS",
    "QUEUED",
    "RISK",
    "EVENTS",
]

R = TypeVar("R")


def table(name: str) -> Table:
    return m.metadata.tables[name]


@dataclass(frozen=True)
class RowMap(Generic[R]):
    """How one record type is laid out in one table."""

    record: type[R]
    table: Table
    renames: Mapping[str, str] = field(default_factory=dict)
    enums: Mapping[str, type[Enum]] = field(default_factory=dict)
    to_column: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    from_column: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    skip: frozenset[str] = frozenset()  # record fields that are not columns (e.g. event_id)

    def column(self, name: str) -> str:
        if name in self.renames:
            return self.renames[name]
        return name[: -len("_ms")] if name.endswith("_ms") else name

    def values(self, record: R) -> dict[str, Any]:
        """Column values of a (normalised) record."""
        out: dict[str, Any] = {}
        for item in dataclasses.fields(record):  # type: ignore[arg-type]
            if item.name in self.skip:
                continue
            value = getattr(record, item.name)
            if isinstance(value, Enum):
                value = value.value
            if item.name in self.to_column:
                value = self.to_column[item.name](value)
            out[self.column(item.name)] = value
        return out

    def build(self, row: Any) -> R:
        """Record from a result row."""
        data = row._mapping
        kwargs: dict[str, Any] = {}
        for item in dataclasses.fields(self.record):  # type: ignore[arg-type]
            value = data[self.column(item.name)]
            if item.name in self.enums and value is not None:
                value = self.enums[item.name](value)
            if item.name in self.from_column:
                value = self.from_column[item.name](value)
            kwargs[item.name] = value
        return self.record(**kwargs)


USERS = RowMap(UserRecord, table("users"), renames={"user_id": "id"})
SIGNALS = RowMap(SignalRecord, table("signals"), renames={"signal_id": "id"})
GROUPS = RowMap(
    GroupRecord,
    table("position_groups"),
    renames={"group_id": "id"},
    enums={"side": PositionSide, "status": GroupStatus},
)
PYRAMIDS = RowMap(PyramidRecord, table("pyramids"), renames={"pyramid_id": "id"})
LEGS = RowMap(
    LegRecord,
    table("dca_legs"),
    renames={"leg_id": "id"},
    enums={"side": OrderSide, "status": OrderStatus},
)
ORDERS = RowMap(
    OrderRecord,
    table("orders"),
    enums={
        "side": OrderSide,
        "type": OrderType,
        "purpose": OrderPurpose,
        "status": OrderStatus,
    },
)
FILLS = RowMap(FillRecord, table("fills"))
QUEUED = RowMap(
    QueuedSignalRecord,
    table("queued_signals"),
    renames={"queue_id": "id"},
    enums={"side": PositionSide},
)
RISK = RowMap(
    RiskAction,
    table("risk_actions"),
    renames={"action_id": "id"},
    to_column={"winners": winners_to_json},
    from_column={"winners": winners_from_json},
)
EVENTS = RowMap(
    EventRecord,
    table("events"),
    renames={"event_id": "id"},
    enums={"category": Category, "severity": Severity},
    skip=frozenset({"event_id"}),
)
