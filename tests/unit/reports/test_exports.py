"""CSV and PNG exports and render_report_files."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
from matplotlib import image

from reports.exports import EQUITY_COLUMNS, TRADE_COLUMNS, render_report_files, trades_csv
from reports.model import TradeRow, load_report
from tests.kit.reports import backtest_report, plan_report


def _nonblank_png(path: Path) -> bool:
    pixels = np.asarray(image.imread(path))
    return pixels.ndim == 3 and float(pixels[..., :3].std()) > 0.01


def test_trades_csv_has_every_column_and_exact_numbers() -> None:
    report = load_report(backtest_report().to_json())
    rows = list(csv.DictReader(io.StringIO(trades_csv(report.trades))))
    assert tuple(rows[0]) == TRADE_COLUMNS == tuple(TradeRow.model_fields)
    assert [r["trade_id"] for r in rows] == ["bt1", "bt2", "bt3", "bt4", "bt5"]
    bt2 = rows[1]
    assert (bt2["side"], bt2["profit_pnl"], bt2["fees"]) == ("SELL", "-20.2", "0.2")
    bt4 = rows[3]
    assert (bt4["status"], bt4["exit_price"], bt4["profit_pnl"]) == ("OPEN", "", "")


def test_render_report_files_writes_html_csv_png(tmp_path: Path) -> None:
    source = tmp_path / "backtest.json"
    source.write_text(backtest_report().to_json(), encoding="utf-8")
    paths = render_report_files(source, tmp_path / "out")
    assert set(paths) == {"html", "trades_csv", "equity_csv", "equity_png", "drawdown_png"}
    assert paths["html"].name == "report.html"
    equity_lines = paths["equity_csv"].read_text(encoding="utf-8").splitlines()
    assert equity_lines[0] == ",".join(EQUITY_COLUMNS)
    assert len(equity_lines) == 1 + 6
    # 1000 -> 1019.5 -> 999.3: 20.2 below the peak at the third point
    assert equity_lines[3].split(",")[EQUITY_COLUMNS.index("drawdown")] == "20.2"
    for kind in ("equity_png", "drawdown_png"):
        assert paths[kind].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert _nonblank_png(paths[kind])


def test_exports_are_deterministic(tmp_path: Path) -> None:
    source = tmp_path / "plan.json"
    source.write_text(plan_report().to_json(), encoding="utf-8")
    first = render_report_files(source, tmp_path / "a")
    second = render_report_files(source, tmp_path / "b")
    for kind in first:
        assert first[kind].read_bytes() == second[kind].read_bytes(), kind
