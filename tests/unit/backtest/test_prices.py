from pathlib import Path

import pandas as pd
import pytest

from backtest.prices import PriceDataError, load_bars, load_price_folder


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_iso_and_epoch_timestamps_give_the_same_milliseconds(tmp_path: Path) -> None:
    iso = _write(
        tmp_path / "A.csv",
        "timestamp,open,high,low,close,volume\n"
        "2025-01-01T00:00:00Z,10,11,9,10.5,1\n2025-01-01T00:01:00Z,10.5,12,10,11,2\n",
    )
    epoch = _write(
        tmp_path / "B.csv",
        "timestamp,open,high,low,close,volume\n"
        "1735689600000,10,11,9,10.5,1\n1735689660000,10.5,12,10,11,2\n",
    )
    # 2025-01-01T00:00:00Z = 20089 days * 86400 s = 1735689600 s.
    assert load_bars(iso)["ts_ms"].tolist() == [1735689600000, 1735689660000]
    assert load_bars(epoch)["ts_ms"].tolist() == [1735689600000, 1735689660000]


def test_unsorted_rows_are_sorted(tmp_path: Path) -> None:
    file = _write(
        tmp_path / "A.csv",
        "timestamp,open,high,low,close,volume\n2000,2,2,2,2,1\n1000,1,1,1,1,1\n",
    )
    assert load_bars(file)["close"].tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        ("timestamp,open,high,low,close\n1,1,1,1,1\n", 1, "missing columns: volume"),
        ("timestamp,open,high,low,close,volume,x\n1,1,1,1,1,1,1\n", 1, "unknown columns: x"),
        ("timestamp,open,high,low,close,volume\n1,1,1,1,1,1\n2,1,1,abc,1,1\n", 3, "low"),
        ("timestamp,open,high,low,close,volume\nyesterday,1,1,1,1,1\n", 2, "timestamp"),
        ("timestamp,open,high,low,close,volume\n1,5,6,4,5,1\n2,5,5.5,4,6,1\n", 3, "enclose"),
    ],
)
def test_bad_files_name_the_line(tmp_path: Path, body: str, line: int, fragment: str) -> None:
    file = _write(tmp_path / "A.csv", body)
    with pytest.raises(PriceDataError) as info:
        load_bars(file)
    assert info.value.line == line
    assert fragment in str(info.value)


def test_folder_loads_csv_and_parquet_by_symbol(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "timestamp": [0, 60000],
            "open": [1.0, 2.0],
            "high": [2.0, 3.0],
            "low": [1.0, 2.0],
            "close": [2.0, 3.0],
            "volume": [1.0, 1.0],
        }
    )
    frame.to_parquet(tmp_path / "ethusdt.parquet", index=False)
    frame.to_csv(tmp_path / "BTCUSDT.csv", index=False)
    (tmp_path / "notes.txt").write_text("ignored")
    bars = load_price_folder(tmp_path)
    assert sorted(bars) == ["BTCUSDT", "ETHUSDT"]
    assert bars["ETHUSDT"]["close"].tolist() == [2.0, 3.0]


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PriceDataError, match=r"no \.csv or \.parquet"):
        load_price_folder(tmp_path)


def test_tick_files_load_by_their_columns(tmp_path: Path) -> None:
    ticks = _write(
        tmp_path / "ETHUSDT.csv",
        "timestamp,price,volume\n1735689605000,3394.5,1\n1735689600001,3394,2\n",
    )
    frame = load_price_folder(tmp_path)["ETHUSDT"]
    # sorted by time
    assert frame["ts_ms"].tolist() == [1735689600001, 1735689605000]
    assert frame["price"].tolist() == [3394.0, 3394.5]
    assert list(frame.columns) == ["ts_ms", "price"]
    ticks.write_text("timestamp,price\n1,0\n")
    with pytest.raises(PriceDataError, match="price must be > 0"):
        load_price_folder(tmp_path)
