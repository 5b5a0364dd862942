"""Signal sources for a backtest: a JSONL file of webhook payloads, or TradingView's
strategy-tester "List of trades" CSV export.

Each source yields :class:`TimedPayload` items (a SPEC §2 payload and the engine time at which it
arrives), sorted by time. Problems are collected and reported together, each with its line.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

__all__ = [
    "SignalSourceError",
    "SourceProblem",
    "TimedPayload",
    "load_jsonl_signals",
    "load_tradingview_trades",
    "parse_time_ms",
]


@dataclass(frozen=True)
class TimedPayload:
    at_ms: int
    payload: dict[str, Any]
    line: int


@dataclass(frozen=True)
class SourceProblem:
    line: int
    message: str


@dataclass
class SignalSourceError(Exception):
    path: str
    problems: list[SourceProblem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(f"{self.path}:{p.line}: {p.message}" for p in self.problems)


def parse_time_ms(value: object) -> int:
    """Epoch milliseconds from an int, a numeric string (s or ms) or an ISO 8601 string.

    Numbers below 10^11 are taken as seconds (TradingView's ``{{timenow}}`` forms vary);
    naive date-times are UTC.
    """
    if isinstance(value, bool):
        raise ValueError("timestamp must be a number or a date-time string")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    elif isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"timestamp {value!r} is not ISO 8601 or epoch") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    else:
        raise ValueError("timestamp must be a number or a date-time string")
    return number * 1000 if abs(number) < 10**11 else number


def load_jsonl_signals(path: str | Path) -> list[TimedPayload]:
    """One webhook payload per line; each must carry a top-level ``timestamp``."""
    file = Path(path)
    items: list[TimedPayload] = []
    problems: list[SourceProblem] = []
    with file.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                payload = json.loads(line, parse_float=Decimal)
            except json.JSONDecodeError as exc:
                problems.append(SourceProblem(number, f"malformed JSON: {exc.msg}"))
                continue
            if not isinstance(payload, dict):
                problems.append(SourceProblem(number, "expected a JSON object"))
                continue
            if "timestamp" not in payload:
                problems.append(SourceProblem(number, "timestamp: missing"))
                continue
            try:
                at_ms = parse_time_ms(payload["timestamp"])
            except ValueError as exc:
                problems.append(SourceProblem(number, f"timestamp: {exc}"))
                continue
            items.append(TimedPayload(at_ms, payload, number))
    if problems:
        raise SignalSourceError(str(file), problems)
    return sorted(items, key=lambda item: (item.at_ms, item.line))


# Header aliases across TradingView export versions (older "Date/Time", newer "Date and time").
_COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "trade": ("trade #", "trade number", "trade"),
    "type": ("type",),
    "time": ("date/time", "date and time", "date", "time"),
    "price": ("price",),
    "quantity": ("contracts", "position size (qty)", "quantity", "qty", "size"),
}
# Columns the export carries that a replay does not need (matched by prefix: they end in the
# account currency, e.g. "Profit USDT").
_IGNORED_PREFIXES = (
    "signal",
    "profit",
    "net p&l",
    "cum. profit",
    "cumulative p&l",
    "run-up",
    "drawdown",
    "favorable excursion",
    "adverse excursion",
    "position size (value)",
)


def _map_columns(header: list[str]) -> tuple[dict[str, int], list[str]]:
    mapping: dict[str, int] = {}
    unknown: list[str] = []
    for index, raw in enumerate(header):
        name = raw.strip().lower()
        role = next(
            (
                key
                for key, aliases in _COLUMN_ALIASES.items()
                if name in aliases or (key == "price" and name.startswith("price"))
            ),
            None,
        )
        if role is not None and role not in mapping:
            mapping[role] = index
        elif not name.startswith(_IGNORED_PREFIXES):
            unknown.append(raw)
    return mapping, unknown


def load_tradingview_trades(
    path: str | Path,
    *,
    exchange: str,
    symbol: str,
    timeframe: str | int,
    size_type: str = "contracts",
) -> list[TimedPayload]:
    """Turn a "List of trades" export into webhook payloads: entries become ``signal``
    payloads, exits become ``exit`` payloads, each at its row's date and time (UTC)."""
    file = Path(path)
    problems: list[SourceProblem] = []
    items: list[TimedPayload] = []
    with file.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise SignalSourceError(str(file), [SourceProblem(1, "empty file")])
    mapping, unknown = _map_columns(rows[0])
    if unknown:
        problems.append(SourceProblem(1, f"unknown columns: {', '.join(unknown)}"))
    missing = [role for role in ("type", "time", "price") if role not in mapping]
    if missing:
        problems.append(SourceProblem(1, f"missing columns: {', '.join(missing)}"))
        raise SignalSourceError(str(file), problems)
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            items.append(_trade_row(row, mapping, number, exchange, symbol, timeframe, size_type))
        except ValueError as exc:
            problems.append(SourceProblem(number, str(exc)))
    if problems:
        raise SignalSourceError(str(file), problems)
    return sorted(items, key=lambda item: (item.at_ms, item.line))


def _trade_row(
    row: list[str],
    mapping: dict[str, int],
    line: int,
    exchange: str,
    symbol: str,
    timeframe: str | int,
    size_type: str,
) -> TimedPayload:
    def cell(role: str) -> str:
        index = mapping.get(role)
        if index is None or index >= len(row):
            return ""
        return row[index].strip()

    kind = cell("type").lower()
    words = kind.split()
    if len(words) != 2 or words[0] not in ("entry", "exit") or words[1] not in ("long", "short"):
        raise ValueError(f"type {cell('type')!r} is not Entry/Exit Long/Short")
    try:
        price = Decimal(cell("price").replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"price {cell('price')!r} is not a number") from None
    at_ms = parse_time_ms(cell("time"))
    is_entry, side = words[0] == "entry", words[1]
    tv: dict[str, Any] = {
        "exchange": exchange,
        "symbol": symbol,
        "timeframe": timeframe,
        "action": ("buy" if side == "long" else "sell")
        if is_entry
        else ("sell" if side == "long" else "buy"),
        "entry_price": str(price),
        "close_price": str(price),
    }
    quantity = cell("quantity")
    if is_entry and quantity:
        try:
            tv["order_size"] = str(Decimal(quantity.replace(",", "")))
        except InvalidOperation:
            raise ValueError(f"quantity {quantity!r} is not a number") from None
    payload: dict[str, Any] = {
        "timestamp": at_ms,
        "source": "tradingview_trade_list",
        "tv": tv,
        "strategy_info": {"trade_id": cell("trade") or str(line)},
        "execution_intent": {
            "type": "signal" if is_entry else "exit",
            "side": side,
            "position_size_type": size_type,
        },
    }
    return TimedPayload(at_ms, payload, line)
