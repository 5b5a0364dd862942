import numpy as np

from backtest.prices import load_price_folder
from backtest.synthetic import generate_bars, write_bars


def test_same_seed_same_bars_other_seed_other_bars() -> None:
    a = generate_bars(100.0, 5000, seed=7)
    b = generate_bars(100.0, 5000, seed=7)
    c = generate_bars(100.0, 5000, seed=8)
    assert a.equals(b)
    assert not a["close"].equals(c["close"])


def test_bars_are_consistent_and_on_the_tick() -> None:
    bars = generate_bars(0.0066, 20000, seed=3, tick_size=0.00001)
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    # every price is an integer number of ticks (to float tolerance)
    ticks = bars[["open", "high", "low", "close"]].to_numpy() / 0.00001
    assert np.allclose(ticks, np.round(ticks), atol=1e-6)
    # open is the previous close
    assert np.array_equal(bars["open"].to_numpy()[1:], bars["close"].to_numpy()[:-1])
    # one-minute spacing from 2025-01-01T00:00Z (1735689600000 ms)
    assert bars["timestamp"].iloc[0] == 1735689600000
    assert set(np.diff(bars["timestamp"].to_numpy())) == {60000}


def test_write_then_load_round_trip(tmp_path) -> None:
    write_bars(
        tmp_path,
        {"BTCUSDT": 95992.3, "DOGEUSDT": 0.195},
        100,
        seed=1,
        tick_sizes={"BTCUSDT": 0.01, "DOGEUSDT": 0.00001},
        fmt="csv",
    )
    loaded = load_price_folder(tmp_path)
    assert sorted(loaded) == ["BTCUSDT", "DOGEUSDT"]
    assert len(loaded["BTCUSDT"]) == 100
    assert abs(loaded["BTCUSDT"]["open"].iloc[0] - 95992.3) < 0.006
