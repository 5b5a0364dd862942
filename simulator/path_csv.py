"""CSV price paths: OHLCV bars (expanded to four ticks per bar) and raw ticks.

OHLCV columns: a time column (``open_time``, ``time``, ``timestamp`` or ``time_ms``: epoch
ms or ISO-8601), ``open``, ``high``, ``low``, ``close`` (``volume`` ignored), optionally
``symbol``. Each bar of length ``d`` (the interval, or the gap to the next bar) becomes:

    t            open
    t + d//3     the extreme nearer to the open
    t + 2d//3    the farther extreme
    t + d - 1    close

"Nearer" compares |high - open| with |low - open|; on a tie a rising bar (close >= open)
visits the low first and a falling bar the high first.

Tick columns: a time column and ``price``, optionally ``symbol``. Without a ``symbol`` column
the symbol comes from the ``symbol`` argument or the file name (``BTCUSDT_1m.csv``).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import numpy as np

from engine.domain import to_decimal
from simulator.paths import PricePath, SymbolPath, parse_time, price_to_units

__all__ = ["parse_ohlcv_csv", "parse_ticks_csv", "parse_csv_path", "expand_bar"]

_TIME_COLUMNS = ("open_time", "time", "timestamp", "time_ms", "date")


def expand_bar(
    open_ms: int, interval_ms: int, o: Decimal, h: Decimal, low: Decimal, c: Decimal
) -> list[tuple[int, Decimal]]:
    """The four ticks of one bar: open, nearer extreme, farther extreme, close."""
    if interval_ms < 4:
        raise ValueError(f"interval: a bar needs at least 4 ms, got {interval_ms}")
    if not (low <= o <= h and low <= c <= h):
        raise ValueError(f"bar at {open_ms}: needs low <= open, close <= high")
    up, down = h - o, o - low
    high_first = up < down or (up == down and c < o)
    first, second = (h, low) if high_first else (low, h)
    return [
        (open_ms, o),
        (open_ms + interval_ms // 3, first),
        (open_ms + 2 * interval_ms // 3, second),
        (open_ms + interval_ms - 1, c),
    ]


def _rows(text: str, source: str) -> tuple[list[dict[str, str]], str]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        raise ValueError(f"{source}: empty CSV")
    names = [n.strip().lower() for n in reader.fieldnames]
    time_column = next((n for n in _TIME_COLUMNS if n in names), None)
    if time_column is None:
        raise ValueError(f"{source}: needs a time column ({', '.join(_TIME_COLUMNS)})")
    rows = [
        {k.strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        for row in reader
    ]
    if not rows:
        raise ValueError(f"{source}: no rows")
    return rows, time_column


def _symbol_of(row: dict[str, str], default: str | None, source: str, line: int) -> str:
    symbol = row.get("symbol") or default
    if not symbol:
        raise ValueError(f"{source}: line {line}: no symbol column and no symbol given")
    return symbol.upper()


def _to_path(points: dict[str, list[tuple[int, Decimal]]], source: str) -> PricePath:
    symbols = {}
    for symbol, ticks in sorted(points.items()):
        ticks.sort(key=lambda tick: tick[0])
        times = np.array([t for t, _ in ticks], dtype=np.int64)
        units = np.array(
            [price_to_units(p, field=f"{source}.{symbol}") for _, p in ticks], dtype=np.int64
        )
        symbols[symbol] = SymbolPath(symbol, times, units)
    start = min(int(p.times[0]) for p in symbols.values())
    return PricePath(symbols, start, True)


def parse_ohlcv_csv(
    text: str, *, symbol: str | None = None, interval_ms: int | None = None, source: str = "csv"
) -> PricePath:
    rows, time_column = _rows(text, source)
    bars: dict[str, list[tuple[int, Decimal, Decimal, Decimal, Decimal]]] = {}
    for line, row in enumerate(rows, start=2):
        where = f"{source}: line {line}"
        name = _symbol_of(row, symbol, source, line)
        values = []
        for column in ("open", "high", "low", "close"):
            if column not in row:
                raise ValueError(f"{where}: missing column '{column}'")
            values.append(to_decimal(row[column], field=f"{where}.{column}"))
        opened = parse_time(row[time_column], field=f"{where}.{time_column}")
        bars.setdefault(name, []).append((opened, *values))  # type: ignore[arg-type]
    points: dict[str, list[tuple[int, Decimal]]] = {}
    for name, series in bars.items():
        series.sort(key=lambda bar: bar[0])
        for index, (opened, o, h, low, c) in enumerate(series):
            if interval_ms is not None:
                length = interval_ms
            elif index + 1 < len(series):
                length = series[index + 1][0] - opened
            elif len(series) > 1:
                length = opened - series[index - 1][0]
            else:
                length = 60_000
            try:
                ticks = expand_bar(opened, length, o, h, low, c)
            except ValueError as exc:
                raise ValueError(f"{source}: {name}: {exc}") from None
            points.setdefault(name, []).extend(ticks)
    return _to_path(points, source)


def parse_ticks_csv(text: str, *, symbol: str | None = None, source: str = "csv") -> PricePath:
    rows, time_column = _rows(text, source)
    points: dict[str, list[tuple[int, Decimal]]] = {}
    for line, row in enumerate(rows, start=2):
        where = f"{source}: line {line}"
        if "price" not in row:
            raise ValueError(f"{where}: missing column 'price'")
        name = _symbol_of(row, symbol, source, line)
        moment = parse_time(row[time_column], field=f"{where}.{time_column}")
        price = to_decimal(row["price"], field=f"{where}.price")
        points.setdefault(name, []).append((moment, price))
    return _to_path(points, source)


def parse_csv_path(path: Path, *, symbol: str | None = None) -> PricePath:
    """Load a CSV file, OHLCV or ticks by its header; the symbol defaults to the file name's
    first ``_``-separated part."""
    text = path.read_text()
    header = text.splitlines()[0].lower() if text else ""
    default_symbol = symbol or path.stem.split("_")[0].upper()
    if all(column in header for column in ("open", "high", "low", "close")):
        return parse_ohlcv_csv(text, symbol=default_symbol, source=path.name)
    return parse_ticks_csv(text, symbol=default_symbol, source=path.name)
