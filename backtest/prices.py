"""Load OHLCV bars: one file per symbol (``<SYMBOL>.csv`` or ``.parquet``) in a folder.

Columns: ``timestamp`` (ISO 8601 or epoch milliseconds), ``open, high, low, close, volume``;
any bar size. A file whose columns are ``timestamp, price`` (optionally ``volume``) holds
ticks instead (one price per row, frame columns ``ts_ms, price``). Bars are returned as a
pandas DataFrame indexed 0..n-1 with an int64 ``ts_ms`` column, sorted by time; prices stay
float64 here because this layer only scans. The replay turns them into exact path prices
(:mod:`backtest.price_path`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

__all__ = [
    "PriceDataError",
    "load_bars",
    "load_ticks",
    "load_price_file",
    "load_price_folder",
    "REQUIRED_COLUMNS",
    "TICK_COLUMNS",
]

REQUIRED_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
TICK_COLUMNS = ("timestamp", "price")


class PriceDataError(ValueError):
    """A price file could not be used; ``line`` is the 1-based file line when known."""

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.message = message
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"


def _parse_timestamps(column: pd.Series, path: Path) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy()
        if np.isnan(values.astype("float64")).any():
            bad = int(np.argmax(np.isnan(values.astype("float64"))))
            raise PriceDataError(str(path), "timestamp is empty", line=bad + 2)
        result: np.ndarray = values.astype("int64")
        return result
    parsed = pd.to_datetime(column, utc=True, errors="coerce", format="ISO8601")
    if parsed.isna().any():
        bad = int(np.argmax(parsed.isna().to_numpy()))
        raise PriceDataError(
            str(path), f"timestamp {column.iloc[bad]!r} is neither ISO 8601 nor epoch ms", bad + 2
        )
    millis: np.ndarray = (parsed.astype("int64") // 1_000_000).to_numpy()
    return millis


def _read(file: Path) -> pd.DataFrame:
    if file.suffix == ".parquet":
        frame = pd.read_parquet(file)
    elif file.suffix == ".csv":
        frame = pd.read_csv(file)
    else:
        raise PriceDataError(str(file), "expected a .csv or .parquet file")
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame


def _numbers(frame: pd.DataFrame, name: str, file: Path) -> np.ndarray:
    values = pd.to_numeric(frame[name], errors="coerce")
    if values.isna().any():
        bad = int(np.argmax(values.isna().to_numpy()))
        detail = f"{name} {frame[name].iloc[bad]!r} is not a number"
        raise PriceDataError(str(file), detail, bad + 2)
    result: np.ndarray = values.astype("float64").to_numpy()
    return result


def load_ticks(path: str | Path) -> pd.DataFrame:
    """Read one CSV or Parquet file of ticks (``timestamp, price[, volume]``), sorted by time
    (stable: ticks at the same millisecond keep their file order)."""
    file = Path(path)
    frame = _read(file)
    missing = [c for c in TICK_COLUMNS if c not in frame.columns]
    if missing:
        raise PriceDataError(str(file), f"missing columns: {', '.join(missing)}", line=1)
    unknown = sorted(set(frame.columns) - {*TICK_COLUMNS, "volume"})
    if unknown:
        raise PriceDataError(str(file), f"unknown columns: {', '.join(unknown)}", line=1)
    out = pd.DataFrame({"ts_ms": _parse_timestamps(frame["timestamp"], file)})
    out["price"] = _numbers(frame, "price", file)
    if (out["price"] <= 0).any():
        bad = int(np.argmax((out["price"] <= 0).to_numpy()))
        raise PriceDataError(str(file), "price must be > 0", bad + 2)
    if (np.diff(out["ts_ms"].to_numpy()) < 0).any():
        out = out.sort_values("ts_ms", kind="stable").reset_index(drop=True)
    return out


def load_price_file(path: str | Path) -> pd.DataFrame:
    """Bars or ticks, by the file's columns (a ``price`` column without ``open`` = ticks)."""
    file = Path(path)
    if file.suffix == ".csv":
        header = pd.read_csv(file, nrows=0).columns
    elif file.suffix == ".parquet":
        header = pq.read_schema(file).names
    else:
        raise PriceDataError(str(file), "expected a .csv or .parquet file")
    names = {str(c).strip().lower() for c in header}
    if "price" in names and "open" not in names:
        return load_ticks(file)
    return load_bars(file)


def load_bars(path: str | Path) -> pd.DataFrame:
    """Read one CSV or Parquet file of bars and validate it."""
    file = Path(path)
    frame = _read(file)
    unknown = sorted(set(frame.columns) - set(REQUIRED_COLUMNS))
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise PriceDataError(str(file), f"missing columns: {', '.join(missing)}", line=1)
    if unknown:
        raise PriceDataError(str(file), f"unknown columns: {', '.join(unknown)}", line=1)
    ts = _parse_timestamps(frame["timestamp"], file)
    out = pd.DataFrame({"ts_ms": ts})
    for name in ("open", "high", "low", "close", "volume"):
        out[name] = _numbers(frame, name, file)
    bad_rows = (out["low"] > out[["open", "close"]].min(axis=1)) | (
        out["high"] < out[["open", "close"]].max(axis=1)
    )
    if bad_rows.any():
        bad = int(np.argmax(bad_rows.to_numpy()))
        raise PriceDataError(str(file), "low/high do not enclose open and close", bad + 2)
    if (np.diff(out["ts_ms"].to_numpy()) <= 0).any():
        out = out.sort_values("ts_ms", kind="stable").reset_index(drop=True)
        if (np.diff(out["ts_ms"].to_numpy()) == 0).any():
            raise PriceDataError(str(file), "duplicate timestamps")
    return out


def load_price_folder(folder: str | Path) -> dict[str, pd.DataFrame]:
    """Load every ``<SYMBOL>.csv`` / ``<SYMBOL>.parquet`` in ``folder`` (bars or ticks),
    keyed by symbol."""
    root = Path(folder)
    if not root.is_dir():
        raise PriceDataError(str(root), "not a folder")
    bars: dict[str, pd.DataFrame] = {}
    for file in sorted(root.iterdir()):
        if file.suffix not in (".csv", ".parquet"):
            continue
        symbol = file.stem.upper()
        if symbol in bars:
            raise PriceDataError(str(file), f"two files for {symbol}")
        bars[symbol] = load_price_file(file)
    if not bars:
        raise PriceDataError(str(root), "no .csv or .parquet price files")
    return bars
