"""Download OHLCV candles through ccxt into the backtest's price-folder format (Parquet).

``fetch_candles`` pages through ``fetch_ohlcv`` from ``since`` to ``until`` (default: the
exchange's current time) and writes ``<out>/<SYMBOL>.parquet`` with the columns the loader
reads (``timestamp`` epoch ms, ``open, high, low, close, volume``). It is resumable: when the
file exists, the download continues after its last stored candle, and the file is rewritten
after every few pages, so an interrupted download loses at most those pages. Candles that
have not closed yet (open time + interval > the exchange's clock) are not stored.

The client is a plain synchronous ccxt instance with the venue's options from
``engine.adapters.ccxt_venues`` (no implicit private calls); ``base_url`` points it elsewhere,
e.g. at the simulator's REST face.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from backtest.prices import REQUIRED_COLUMNS
from engine.adapters.ccxt_venues import redirect_urls, venue_profile
from engine.domain import MarketType, normalise_symbol

__all__ = ["FetchResult", "DataFetchError", "make_client", "fetch_candles", "timeframe_ms"]

_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_SAVE_EVERY_PAGES = 10


class DataFetchError(ValueError):
    """Bad arguments or an answer that cannot be used; ``field`` names the input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class FetchResult:
    path: Path
    symbol: str
    rows_before: int
    rows_added: int
    first_ms: int | None
    last_ms: int | None
    requests: int


def timeframe_ms(timeframe: str) -> int:
    """``1m``, ``15m``, ``1h``, ``4h``, ``1d``, ``1w`` in milliseconds (ccxt's spelling)."""
    text = timeframe.strip()
    unit = text[-1:]
    if unit not in _UNIT_MS or not text[:-1].isdigit() or int(text[:-1]) <= 0:
        raise DataFetchError("timeframe", f"expected e.g. 1m, 5m, 1h, 1d; got {timeframe!r}")
    return int(text[:-1]) * _UNIT_MS[unit]


def make_client(exchange: str, base_url: str | None = None, timeout_ms: int = 30_000) -> Any:
    """A synchronous ccxt client for public market data on ``exchange`` (spot)."""
    import ccxt

    profile = venue_profile(exchange)
    config: dict[str, Any] = {
        "enableRateLimit": base_url is None,  # a local simulator needs no throttling
        "timeout": timeout_ms,
        "options": profile.options(MarketType.SPOT),
    }
    if profile.has:
        config["has"] = dict(profile.has)
    client = getattr(ccxt, profile.ccxt_id)(config)
    if base_url:
        client.urls["api"] = redirect_urls(client.urls["api"], base_url)
    return client


def _ccxt_symbol(client: Any, symbol: str) -> str:
    client.load_markets()
    wanted = normalise_symbol(symbol)
    for market in client.markets.values():
        if normalise_symbol(str(market["id"])) == wanted and market.get("spot", True):
            return str(market["symbol"])
    raise DataFetchError("symbol", f"{symbol!r} is not a spot market on {client.id}")


def _read_existing(path: Path) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame(columns=list(REQUIRED_COLUMNS))
    frame = pd.read_parquet(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataFetchError("out", f"{path} exists without columns {missing}")
    return frame[list(REQUIRED_COLUMNS)]


def _write(path: Path, frame: pd.DataFrame) -> None:
    tmp = path.with_suffix(".parquet.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)


def _frame(rows: list[list[Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [row[:6] for row in rows], columns=["timestamp", "open", "high", "low", "close", "volume"]
    )
    frame["timestamp"] = frame["timestamp"].astype("int64")
    for column in ("open", "high", "low", "close", "volume"):
        frame[column] = pd.to_numeric(frame[column]).astype("float64")
    return frame


def fetch_candles(
    *,
    exchange: str,
    symbol: str,
    timeframe: str,
    since_ms: int,
    out_dir: Path,
    until_ms: int | None = None,
    base_url: str | None = None,
    page_limit: int = 1000,
    client: Any | None = None,
    on_page: Callable[[int, int], None] | None = None,
) -> FetchResult:
    """Download candles of ``symbol`` in [since, until) into ``out_dir/<SYMBOL>.parquet``,
    continuing after the last stored candle. ``on_page(rows_so_far, last_open_ms)`` is
    called after each page (progress)."""
    step = timeframe_ms(timeframe)
    if page_limit < 1:
        raise DataFetchError("page_limit", "must be >= 1")
    client = client or make_client(exchange, base_url)
    market_symbol = _ccxt_symbol(client, symbol)
    requests = 1  # load_markets
    server_now = int(client.fetch_time())
    requests += 1
    end = server_now if until_ms is None else min(until_ms, server_now)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{normalise_symbol(symbol)}.parquet"
    stored = _read_existing(path)
    rows_before = len(stored)
    cursor = since_ms
    if rows_before:
        cursor = max(cursor, int(stored["timestamp"].max()) + step)
    pages: list[pd.DataFrame] = [stored] if rows_before else []
    added = 0
    unsaved = 0
    try:
        while cursor + step <= end:
            rows = client.fetch_ohlcv(market_symbol, timeframe, since=cursor, limit=page_limit)
            requests += 1
            fresh = [r for r in rows if cursor <= int(r[0]) and int(r[0]) + step <= end]
            if not fresh:
                break
            page = _frame(fresh)
            pages.append(page)
            added += len(page)
            cursor = int(page["timestamp"].iloc[-1]) + step
            unsaved += 1
            if on_page is not None:
                on_page(rows_before + added, cursor - step)
            if unsaved >= _SAVE_EVERY_PAGES:
                _write(path, _combine(pages))
                unsaved = 0
    finally:
        if pages:
            _write(path, _combine(pages))
    combined = _combine(pages) if pages else stored
    first = int(combined["timestamp"].iloc[0]) if len(combined) else None
    last = int(combined["timestamp"].iloc[-1]) if len(combined) else None
    return FetchResult(path, normalise_symbol(symbol), rows_before, added, first, last, requests)


def _combine(pages: list[pd.DataFrame]) -> pd.DataFrame:
    frame = pd.concat([p for p in pages if len(p)], ignore_index=True)
    frame = frame.drop_duplicates("timestamp", keep="first").sort_values("timestamp")
    return frame.reset_index(drop=True)
