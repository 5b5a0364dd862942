"""``fetch_candles`` against the simulator's Binance and Bybit REST klines: paginated,
resumable, and equal to the simulator's own klines."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from backtest.data_fetch import DataFetchError, fetch_candles, timeframe_ms
from backtest.prices import load_price_folder
from simulator import Simulator
from tests.kit.sim_server import SimServer, serving_simulator

START = 1_767_225_600_000  # 2026-01-01T00:00:00Z, the simulator's default clock
HOUR = 3_600_000


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    sim = Simulator(seed=0)
    sim.load_path_text(
        "start: 2026-01-01T00:00:00Z\nstep: 10s\ntimeline:\n"
        "  - walk: {symbols: [BTCUSDT, ETHUSDT], over: 3h, volatility_bps: 5, seed: 3}\n"
    )
    sim.advance(by_ms=3 * HOUR)
    with serving_simulator(sim) as running:
        yield running


def _expected(sim: Simulator, exchange: str, symbol: str, until: int) -> pd.DataFrame:
    klines = sim.venue(exchange).klines(
        symbol, 60_000, start_ms=START, end_ms=until - 1, limit=1000
    )
    rows = [(k.open_ms, k.open, k.high, k.low, k.close) for k in klines if k.close_ms < until]
    return pd.DataFrame(rows, columns=["timestamp", "open", "high", "low", "close"])


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_paginated_then_resumed_download_equals_the_klines(
    server: SimServer, exchange: str, tmp_path: Path
) -> None:
    first = fetch_candles(
        exchange=exchange,
        symbol="BTCUSDT",
        timeframe="1m",
        since_ms=START,
        until_ms=START + HOUR,
        out_dir=tmp_path,
        base_url=server.base_url,
        page_limit=25,  # 60 candles: pages of 25, 25, 10
    )
    assert (first.rows_before, first.rows_added) == (0, 60)
    assert first.requests == 2 + 3  # markets, time, three pages
    second = fetch_candles(
        exchange=exchange,
        symbol="BTCUSDT",
        timeframe="1m",
        since_ms=START,
        until_ms=START + 2 * HOUR,
        out_dir=tmp_path,
        base_url=server.base_url,
        page_limit=25,
    )
    # resumed after the last stored candle (00:59): 60 more, in 3 pages
    assert (second.rows_before, second.rows_added) == (60, 60)
    assert second.requests == 2 + 3
    stored = pd.read_parquet(tmp_path / "BTCUSDT.parquet")
    expected = _expected(server.sim, exchange, "BTCUSDT", START + 2 * HOUR)
    assert stored["timestamp"].tolist() == expected["timestamp"].tolist()
    for column in ("open", "high", "low", "close"):
        assert [Decimal(str(v)) for v in stored[column]] == list(expected[column]), column
    # the file is a price folder the backtest loads as it is
    assert len(load_price_folder(tmp_path)["BTCUSDT"]) == 120


def test_bad_arguments(server: SimServer, tmp_path: Path) -> None:
    assert timeframe_ms("4h") == 4 * HOUR
    with pytest.raises(DataFetchError, match="timeframe"):
        timeframe_ms("1x")
    with pytest.raises(DataFetchError, match="symbol"):
        fetch_candles(
            exchange="binance",
            symbol="NOPEUSDT",
            timeframe="1m",
            since_ms=START,
            out_dir=tmp_path,
            base_url=server.base_url,
        )
