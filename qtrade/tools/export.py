"""Export what the store holds (the testing plan's ``export_data.py``).

``--type positions|users|signals|orders|events|queue|risk --format json|csv [--output FILE]``
(standard output without ``--output``). Rows come from :meth:`engine.store.Store.export_rows`:

- ``positions``: each group (status, pyramid count, average entry, realised and unrealised
  PnL, ...) with its pyramids and their legs (index, side, price, quantity, status, filled
  quantity, average fill price, TP price, ...). JSON nests them; CSV writes one row per leg
  with the group's and the pyramid's columns repeated (``pyramid_*``, ``leg_*``); a group
  without legs still gets one row.
- ``users``: never a secret or a raw key: webhook secrets and API keys are shown masked
  (``****A4B1``), and any secret-like key the store let through is masked here again.
- other kinds: one JSON object (CSV row) per record; nested values are JSON text in CSV.

Numbers are Decimal strings, exactly as stored.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from engine.adapters.crypto import mask_secret
from engine.domain import RiskAction
from engine.store import (
    EXPORT_KINDS,
    EventRecord,
    GroupRecord,
    LegRecord,
    OrderRecord,
    PyramidRecord,
    QueuedSignalRecord,
    SignalRecord,
    Store,
    UserRecord,
)
from qtrade.tools.store_args import ToolError, add_store_arguments, open_store

__all__ = [
    "EXPORT_FORMATS",
    "SECRET_FIELDS",
    "export_rows",
    "mask_secrets",
    "default_columns",
    "position_csv_rows",
    "flat_csv_rows",
    "render",
    "main",
]

EXPORT_FORMATS = ("json", "csv")
# Keys whose values are credentials: shown only as ``****last4``.
SECRET_FIELDS = frozenset(
    {"secret", "webhook_secret", "api_key", "api_secret", "apisecret", "password", "token"}
)
_MASK_PREFIX = "****"


def mask_secrets(value: Any) -> Any:
    """Copy of ``value`` where every string under a secret-like key is masked (values the
    store already masked are kept as they are)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if (
                isinstance(key, str)
                and key.lower() in SECRET_FIELDS
                and isinstance(item, str)
                and not item.startswith(_MASK_PREFIX)
            ):
                out[key] = mask_secret(item)
            else:
                out[key] = mask_secrets(item)
        return out
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value


def export_rows(store: Store, kind: str) -> list[dict[str, Any]]:
    """The JSON rows of one export kind; :class:`ToolError` for an unknown kind."""
    if kind not in EXPORT_KINDS:
        raise ToolError(
            f"type: unknown export type {kind!r}; expected one of {', '.join(EXPORT_KINDS)}",
            field="type",
            reason="unknown_type",
        )
    rows = store.export_rows(kind)
    return [mask_secrets(row) for row in rows]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


_RECORDS: dict[str, type[Any]] = {
    "users": UserRecord,
    "signals": SignalRecord,
    "orders": OrderRecord,
    "events": EventRecord,
    "queue": QueuedSignalRecord,
    "risk": RiskAction,
}


def _prefixed(prefix: str, name: str) -> str:
    """``pyramid_`` + ``index`` -> ``pyramid_index``; ``pyramid_id`` stays ``pyramid_id``."""
    return name if name.startswith(prefix) else prefix + name


def _record_columns(record: type[Any], prefix: str = "", skip: tuple[str, ...] = ()) -> list[str]:
    """Column names of a record as the store exports it: ``x_at_ms`` is followed by its ISO
    form ``x_at``."""
    names: list[str] = []
    for item in dataclasses.fields(record):
        if item.name in skip:
            continue
        names.append(_prefixed(prefix, item.name))
        if item.name.endswith("_at_ms"):
            names.append(_prefixed(prefix, item.name[: -len("_ms")]))
    return names


def default_columns(kind: str) -> list[str]:
    """The CSV header of an export with no rows."""
    if kind == "positions":
        return (
            _record_columns(GroupRecord)
            + _record_columns(PyramidRecord, "pyramid_", skip=("group_id",))
            + _record_columns(LegRecord, "leg_", skip=("pyramid_id",))
        )
    columns = _record_columns(_RECORDS[kind])
    return [*columns, "exchanges"] if kind == "users" else columns


def _columns(rows: Iterable[dict[str, Any]]) -> list[str]:
    columns: dict[str, None] = {}
    for row in rows:
        for key in row:
            columns.setdefault(key, None)
    return list(columns)


def position_csv_rows(groups: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per leg: the group's columns, then ``pyramid_*`` and ``leg_*``."""
    flat: list[dict[str, Any]] = []
    for group in groups:
        base = {key: value for key, value in group.items() if key != "pyramids"}
        pyramids = group.get("pyramids") or []
        if not pyramids:
            flat.append(dict(base))
            continue
        for pyramid in pyramids:
            pyramid_part = {
                _prefixed("pyramid_", key): value
                for key, value in pyramid.items()
                if key not in ("legs", "group_id")
            }
            legs = pyramid.get("legs") or []
            if not legs:
                flat.append({**base, **pyramid_part})
                continue
            for leg in legs:
                leg_part = {_prefixed("leg_", k): v for k, v in leg.items() if k != "pyramid_id"}
                flat.append({**base, **pyramid_part, **leg_part})
    return flat


def flat_csv_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(row) for row in rows]


def render(rows: Sequence[dict[str, Any]], kind: str, fmt: str) -> str:
    """The export's text in ``fmt`` (``json`` or ``csv``)."""
    if fmt == "json":
        return json.dumps(list(rows), indent=2, default=str) + "\n"
    if fmt != "csv":
        raise ToolError(
            f"format: unknown format {fmt!r}; expected json or csv",
            field="format",
            reason="unknown_format",
        )
    flat = position_csv_rows(rows) if kind == "positions" else flat_csv_rows(rows)
    columns = _columns(flat) if flat else default_columns(kind)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in flat:
        writer.writerow({key: _cell(value) for key, value in row.items()})
    return buffer.getvalue()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="export_data.py", description="Export positions, users, signals... as JSON or CSV."
    )
    parser.add_argument("--type", required=True, choices=EXPORT_KINDS, dest="kind")
    parser.add_argument("--format", default="json", choices=EXPORT_FORMATS, dest="fmt")
    parser.add_argument("--output", help="file to write (default: standard output)")
    add_store_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        store = open_store(args)
        try:
            rows = export_rows(store, args.kind)
        finally:
            store.close()
        text = render(rows, args.kind, args.fmt)
    except ToolError as exc:
        return exc.report()
    if not args.output:
        sys.stdout.write(text)
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        return ToolError(
            f"output: cannot write {args.output}: {exc.strerror}",
            field="output",
            reason="not_writable",
        ).report()
    summary = {"type": args.kind, "format": args.fmt, "rows": len(rows), "output": args.output}
    print(json.dumps(summary), file=sys.stderr)
    return 0
