"""Snapshot and restore of the whole engine state as JSON-able data.

The state is made of dataclasses of plain values, so the snapshot is generated from their
type hints: Decimals become strings (exact), enums their value, tuples lists, int dict keys
strings. The user config is stored in its own JSON form (``engine.config``) and parsed back
with full validation. Free-form payloads (a signal's ``raw`` dict) keep their JSON values,
with any Decimal written as a string.

Speed: the conversion functions are compiled once per dataclass (``engine.snapshot_codec``).
Restoring goes through the compiled loader; only when it meets unexpected data is the
snapshot read again by the validating walk below, which names the bad field. The returned
snapshot shares nothing mutable with the state. Fields added to a state class with a default
may be absent from older snapshots (same format version).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any, Union

from engine.config import parse_user_config
from engine.snapshot_codec import LOAD_ERRORS, dumper, loader
from engine.state import EngineState

__all__ = ["SNAPSHOT_FORMAT", "SnapshotError", "dump_state", "load_state"]

SNAPSHOT_FORMAT = "qtrade.engine.state/1"


class SnapshotError(ValueError):
    """A snapshot could not be read; ``field`` is the dotted path of the bad value."""

    def __init__(self, field: str, reason: str, detail: str) -> None:
        super().__init__(f"{field}: {detail} ({reason})")
        self.field = field
        self.reason = reason


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _load(data: Any, hint: Any, path: str) -> Any:
    if hint is Any:
        return data
    if hint is object:
        return parse_user_config(data)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if data is None:
            return None
        inner = [arg for arg in args if arg is not type(None)]
        return _load(data, inner[0], path)
    if data is None:
        raise SnapshotError(path, "missing", "value is null")
    if dataclasses.is_dataclass(hint):
        if not isinstance(data, dict):
            raise SnapshotError(path, "invalid_type", "expected an object")
        hints = _hints(hint)  # type: ignore[arg-type]
        values = {}
        for field in dataclasses.fields(hint):
            if field.name in data:
                values[field.name] = _load(
                    data[field.name], hints[field.name], f"{path}.{field.name}"
                )
            elif (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            ):
                raise SnapshotError(f"{path}.{field.name}", "missing", "required field absent")
        factory: Any = hint
        return factory(**values)
    if origin is list:
        return [_load(item, args[0], f"{path}[{i}]") for i, item in enumerate(data)]
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_load(item, args[0], f"{path}[{i}]") for i, item in enumerate(data))
        return tuple(
            _load(item, arg, f"{path}[{i}]")
            for i, (item, arg) in enumerate(zip(data, args, strict=True))
        )
    if origin is dict:
        if not isinstance(data, dict):
            raise SnapshotError(path, "invalid_type", "expected an object")
        key_type = args[0]
        return {
            _key(key, key_type, path): _load(item, args[1], f"{path}.{key}")
            for key, item in data.items()
        }
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(data)
        except ValueError:
            raise SnapshotError(path, "invalid_value", f"not a {hint.__name__}: {data!r}") from None
    if hint is Decimal:
        if not isinstance(data, str):
            raise SnapshotError(path, "invalid_type", "a Decimal must be stored as a string")
        return Decimal(data)
    if hint is bool:
        if not isinstance(data, bool):
            raise SnapshotError(path, "invalid_type", "expected a boolean")
        return data
    if hint is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise SnapshotError(path, "invalid_type", "expected an integer")
        return data
    if hint is str:
        if not isinstance(data, str):
            raise SnapshotError(path, "invalid_type", "expected a string")
        return data
    raise SnapshotError(path, "unsupported", f"cannot restore type {hint!r}")


def _key(key: str, key_type: Any, path: str) -> Any:
    if key_type is not int:
        return key
    try:
        return int(key)
    except ValueError:
        raise SnapshotError(f"{path}.{key}", "invalid_key", "expected an integer key") from None


def dump_state(state: EngineState) -> dict[str, Any]:
    """The whole state as JSON-able data (``json.dumps`` works on it as is)."""
    return {"format": SNAPSHOT_FORMAT, "state": dumper(EngineState)(state)}


def load_state(snapshot: dict[str, Any]) -> EngineState:
    """Rebuild the state from :func:`dump_state` output; raises :class:`SnapshotError`."""
    if not isinstance(snapshot, dict) or snapshot.get("format") != SNAPSHOT_FORMAT:
        raise SnapshotError("format", "unsupported_format", f"expected {SNAPSHOT_FORMAT!r}")
    data = snapshot.get("state")
    try:
        state = loader(EngineState)(data)
    except LOAD_ERRORS:
        state = _load(data, EngineState, "state")  # raises, naming the bad field
    assert isinstance(state, EngineState)
    # JSON stores may reorder object keys (PostgreSQL JSONB does): restore decision order
    state.groups = dict(sorted(state.groups.items(), key=lambda item: item[1].sequence))
    state.orders = dict(sorted(state.orders.items(), key=lambda item: item[1].sequence))
    state.users = dict(sorted(state.users.items()))
    return state
