"""A sweep ranks the same table whichever way it runs: in this process, on a Dask
LocalCluster of threads, or on a LocalCluster of worker processes."""

from __future__ import annotations

import json

import pytest

from backtest.runner import BacktestRequest
from backtest.sweep import dask_executor, run_sweep, serial_executor, sweep_json
from tests.kit.backtest import SEED_CONFIG, payload_stream, volatile_frames

GRID = {
    "dca_grid_config.tp_mode": ["per_leg", "aggregate"],
    "dca_grid_config.tp_aggregate_percent": ["0.6", "1.5"],
}


@pytest.fixture(scope="module")
def request_(tmp_path_factory: pytest.TempPathFactory) -> BacktestRequest:
    root = tmp_path_factory.mktemp("sweep")
    prices = root / "prices"
    prices.mkdir()
    for symbol, frame in volatile_frames(240, ("BTCUSDT", "ETHUSDT")).items():
        frame.rename(columns={"ts_ms": "timestamp"}).to_parquet(prices / f"{symbol}.parquet")
    signals = root / "signals.jsonl"
    items = payload_stream(240, ("BTCUSDT", "ETHUSDT"), every_minutes=20)
    signals.write_text("".join(json.dumps(item.payload) + "\n" for item in items))
    return BacktestRequest(prices=prices, signals=signals, configs=(SEED_CONFIG,))


def test_serial_threads_and_processes_rank_the_same_table(request_: BacktestRequest) -> None:
    tables = []
    for executor in (
        serial_executor,
        dask_executor(processes=False, workers=2),
        dask_executor(processes=True, workers=2),
    ):
        results = run_sweep(
            grid=GRID,
            base_config=SEED_CONFIG,
            request=request_,
            metric="total_return",
            executor=executor,
        )
        tables.append(sweep_json(results, "total_return"))
    assert tables[0] == tables[1] == tables[2]
    document = json.loads(tables[0])
    assert len(document["points"]) == 4
    assert all(point["status"] == "completed" for point in document["points"])
    # the points really differ: aggregate TPs at 0.6 % and 1.5 % do not end alike
    returns = {p["point_id"]: p["total_return_percent"] for p in document["points"]}
    assert returns["p002"] != returns["p003"]
