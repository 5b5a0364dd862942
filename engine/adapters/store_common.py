"""Behaviour shared by every Store adapter, so SQL and memory stores cannot drift apart:
record validation, JSON normalisation, secret stripping and the export rows."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

import orjson

from engine.adapters.crypto import mask_secret
from engine.domain import (
    Category,
    GroupStatus,
    OrderPurpose,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    RiskAction,
    RiskWinnerClose,
    Severity,
)
from engine.store import (
    EXPORT_KINDS,
    EventQuery,
    EventRecord,
    ExportKind,
    GroupRecord,
    LegRecord,
    OrderRecord,
    QueuedSignalRecord,
    SignalRecord,
    Store,
    StoreIntegrityError,
    UserRecord,
)

__all__ = [
    "SECRET_KEYS",
    "canonical_decimal",
    "normalise",
    "validate_record",
    "json_doc",
    "json_text",
    "snapshot_text",
    "strip_secrets",
    "clean_signal",
    "winners_to_json",
    "winners_from_json",
    "build_export_rows",
    "iso_utc",
]

R = TypeVar("R")

SECRET_KEYS = frozenset({"secret", "webhook_secret", "api_secret", "apisecret", "password"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_utc(at_ms: int | None) -> str | None:
    """Epoch ms -> ``2026-02-04T12:00:00.000Z`` (None stays None)."""
    if at_ms is None:
        return None
    moment = _EPOCH + timedelta(milliseconds=at_ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def canonical_decimal(value: Decimal) -> Decimal:
    """The form every store returns: positive exponents written out (``1E+2`` -> ``100``, as
    PostgreSQL prints it) and no negative zero (PostgreSQL has none). Value and scale of
    everything else are kept exactly."""
    if value.as_tuple().exponent > 0:  # type: ignore[operator]
        value = value.quantize(Decimal(1))
    if value.is_zero():
        value = value.copy_abs()
    return value


def validate_record(record: Any) -> None:
    """Refuse values a store must never hold: floats where money goes, non-finite Decimals,
    empty ids, non-integer times. Raises :class:`StoreIntegrityError` naming the field."""
    kind = type(record).__name__
    for item in dataclasses.fields(record):
        value = getattr(record, item.name)
        where = f"{kind}.{item.name}"
        if isinstance(value, float):
            raise StoreIntegrityError(
                f"{where}: floats are not stored, use Decimal", field=where, reason="float_value"
            )
        if isinstance(value, Decimal) and not value.is_finite():
            raise StoreIntegrityError(
                f"{where}: not a finite number: {value}", field=where, reason="non_finite"
            )
        if (
            item.name.endswith("_ms")
            and value is not None
            and (isinstance(value, bool) or not isinstance(value, int))
        ):
            raise StoreIntegrityError(
                f"{where}: expected epoch milliseconds (int), got {value!r}",
                field=where,
                reason="bad_timestamp",
            )
        annotation = str(item.type)
        is_text_id = item.name.endswith("_id") and "str" in annotation
        if (
            is_text_id
            and not (value is None and "None" in annotation)
            and (not isinstance(value, str) or not value)
        ):
            raise StoreIntegrityError(
                f"{where}: must be a non-empty string", field=where, reason="empty_id"
            )


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"non-finite Decimal {value}")
        return format(value, "f")  # positional notation: "0.00000001", never "1E-8"
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_text(value: Mapping[str, Any], field: str) -> str:
    """``value`` encoded as JSON text the way it is stored: Decimals become strings, tuples
    lists, enums their values. Raises naming ``field`` when not storable or not an object."""
    if not isinstance(value, Mapping):
        raise StoreIntegrityError(f"{field}: must be a JSON object", field=field, reason="not_json")
    try:
        return json.dumps(value, default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreIntegrityError(
            f"{field}: not storable as JSON: {exc}", field=field, reason="not_json"
        ) from None


def snapshot_text(value: Mapping[str, Any], field: str) -> str:
    """:func:`json_text` of a large document (the engine snapshot) through orjson, several
    times faster; values orjson refuses (non-text keys, integers past 64 bits, a value
    ``_json_default`` refuses) go through :func:`json_text`, which encodes them the same way
    or raises naming ``field``. The snapshot holds no floats (Decimals are text), the one
    kind orjson encodes differently (a NaN float would become null)."""
    if not isinstance(value, Mapping):
        raise StoreIntegrityError(f"{field}: must be a JSON object", field=field, reason="not_json")
    try:
        return orjson.dumps(value, default=_json_default).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json_text(value, field)


def json_doc(value: Mapping[str, Any], field: str) -> dict[str, Any]:
    """Normalise a JSON document the way a database round trip would: Decimals become
    strings, tuples lists, enums their values. Raises naming ``field`` when not storable."""
    result = json.loads(json_text(value, field))
    if not isinstance(result, dict):
        raise StoreIntegrityError(f"{field}: must be a JSON object", field=field, reason="not_json")
    return result


def strip_secrets(value: Any) -> Any:
    """Copy of ``value`` without any key named like a secret, at any depth."""
    if isinstance(value, Mapping):
        return {
            k: strip_secrets(v)
            for k, v in value.items()
            if not (isinstance(k, str) and k.lower() in SECRET_KEYS)
        }
    if isinstance(value, list):
        return [strip_secrets(v) for v in value]
    return value


def clean_signal(signal: SignalRecord) -> SignalRecord:
    """Validated signal whose payload is JSON-normalised and free of secrets."""
    return normalise(signal)


_ENUM_FIELDS: dict[type, dict[str, type[Enum]]] = {
    GroupRecord: {"side": PositionSide, "status": GroupStatus},
    LegRecord: {"side": OrderSide, "status": OrderStatus},
    OrderRecord: {
        "side": OrderSide,
        "type": OrderType,
        "purpose": OrderPurpose,
        "status": OrderStatus,
    },
    QueuedSignalRecord: {"side": PositionSide},
    EventRecord: {"category": Category, "severity": Severity},
}
_JSON_FIELDS: dict[type, str] = {
    UserRecord: "config",
    SignalRecord: "payload",
    GroupRecord: "extra",
    QueuedSignalRecord: "payload",
    EventRecord: "data",
}


def normalise(record: R) -> R:
    """Validate a record and return it as a database round trip would give it back: enum
    fields as enum members, JSON fields normalised, secrets stripped from signal payloads."""
    validate_record(record)
    kind = type(record)
    fields: tuple[dataclasses.Field[Any], ...] = dataclasses.fields(record)  # type: ignore[arg-type]
    changes: dict[str, Any] = {
        item.name: canonical_decimal(getattr(record, item.name))
        for item in fields
        if isinstance(getattr(record, item.name), Decimal)
    }
    for name, enum_cls in _ENUM_FIELDS.get(kind, {}).items():
        value = getattr(record, name)
        try:
            changes[name] = enum_cls(value)
        except ValueError:
            where = f"{kind.__name__}.{name}"
            allowed = ", ".join(str(m.value) for m in enum_cls)
            raise StoreIntegrityError(
                f"{where}: {value!r} is not one of {allowed}", field=where, reason="bad_enum"
            ) from None
    json_field = _JSON_FIELDS.get(kind)
    if json_field is not None:
        doc = getattr(record, json_field)
        if kind is SignalRecord:
            doc = strip_secrets(doc)
        changes[json_field] = json_doc(doc, f"{kind.__name__}.{json_field}")
    return dataclasses.replace(record, **changes)  # type: ignore[type-var]


def winners_to_json(winners: tuple[RiskWinnerClose, ...]) -> list[dict[str, Any]]:
    return [
        {
            "group_id": w.group_id,
            "quantity": str(w.quantity),
            "realised_usd": str(w.realised_usd),
        }
        for w in winners
    ]


def winners_from_json(rows: list[dict[str, Any]]) -> tuple[RiskWinnerClose, ...]:
    return tuple(
        RiskWinnerClose(
            group_id=str(r["group_id"]),
            quantity=Decimal(str(r["quantity"])),
            realised_usd=Decimal(str(r["realised_usd"])),
        )
        for r in rows
    )


# ---------------------------------------------------------------------------------------
# export


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _row(value)
    return value


def _row(record: Any) -> dict[str, Any]:
    """Dataclass -> dict of JSON values; each ``x_at_ms`` also gets ``x_at`` in ISO 8601."""
    out: dict[str, Any] = {}
    for item in dataclasses.fields(record):
        value = getattr(record, item.name)
        out[item.name] = _plain(value)
        if item.name.endswith("_at_ms"):
            out[item.name[: -len("_ms")]] = iso_utc(value)
    return out


def _position_row(store: Store, group: GroupRecord) -> dict[str, Any]:
    row = _row(group)
    pyramids = []
    for pyramid in store.list_pyramids(group.group_id):
        prow = _row(pyramid)
        prow["legs"] = [_row(leg) for leg in store.list_legs(pyramid.pyramid_id)]
        pyramids.append(prow)
    row["pyramids"] = pyramids
    return row


def _user_rows(store: Store) -> list[dict[str, Any]]:
    rows = []
    for user in store.list_users():
        row = _row(user)
        row["webhook_secret"] = mask_secret(user.webhook_secret)
        row["exchanges"] = [_row(c) for c in store.list_exchange_credentials(user.user_id)]
        rows.append(row)
    return rows


def _risk_row(action: RiskAction) -> dict[str, Any]:
    return _row(action)


_EXPORTERS: dict[str, Callable[[Store], list[dict[str, Any]]]] = {
    "positions": lambda s: [_position_row(s, g) for g in s.list_groups()],
    "users": _user_rows,
    "signals": lambda s: [_row(x) for x in s.list_signals()],
    "orders": lambda s: [_row(x) for x in s.list_orders()],
    "events": lambda s: [_row(x) for x in s.query_events(EventQuery(limit=1_000_000))],
    "queue": lambda s: [_row(x) for x in s.list_queued_signals()],
    "risk": lambda s: [_risk_row(x) for x in s.list_risk_actions()],
}


def build_export_rows(store: Store, kind: ExportKind) -> list[dict[str, Any]]:
    """Rows for ``scripts/export_data.py --type <kind>``; secrets are masked."""
    if kind not in EXPORT_KINDS:
        raise ValueError(f"type: unknown export kind {kind!r}; expected one of {EXPORT_KINDS}")
    return _EXPORTERS[kind](store)
