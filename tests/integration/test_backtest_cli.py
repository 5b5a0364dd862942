"""``qtrade data generate``, ``qtrade backtest`` and ``qtrade sweep`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qtrade.cli import main
from tests.kit.backtest import SEED_CONFIG, entry

T0 = 1_735_689_600_000


def _signals(path: Path, lines: list[dict]) -> Path:  # type: ignore[type-arg]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_generate_backtest_and_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prices = tmp_path / "prices"
    assert main(["data", "generate", "--out", str(prices), "--days", "1",
                 "--symbols", "BTCUSDT", "ETHUSDT", "--seed", "4"]) == 0  # fmt: skip
    generated = json.loads(capsys.readouterr().out)
    assert generated["bars_per_symbol"] == 1440 and len(generated["files"]) == 2
    signals = _signals(
        tmp_path / "signals.jsonl",
        [
            entry(T0 + hour * 3_600_000, s)
            for hour in range(0, 24, 4)
            for s in ("BTCUSDT", "ETHUSDT")
        ],
    )
    out = tmp_path / "out"
    code = main(["backtest", "--prices", str(prices), "--signals", str(signals),
                 "--config", str(SEED_CONFIG), "--out", str(out)])  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "completed" and summary["trades"] == 2
    assert {p.name for p in out.iterdir()} >= {"backtest_report.json", "report.html", "run.json"}
    grid = tmp_path / "grid.yaml"
    grid.write_text("dca_grid_config.tp_mode: [per_leg, aggregate]\n"
                    "dca_grid_config.tp_aggregate_percent: [1]\n")  # fmt: skip
    code = main(["sweep", "--grid", str(grid), "--prices", str(prices), "--signals",
                 str(signals), "--config", str(SEED_CONFIG), "--out", str(tmp_path / "sweep"),
                 "--threads", "--workers", "1"])  # fmt: skip
    assert code == 0
    ranked = json.loads(capsys.readouterr().out)
    assert ranked["points"] == 2 and [row["rank"] for row in ranked["top"]] == [1, 2]
    assert (tmp_path / "sweep" / "sweep.html").exists()


def test_bad_input_exits_2_naming_the_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prices = tmp_path / "prices"
    main(["data", "generate", "--out", str(prices), "--days", "1", "--symbols", "BTCUSDT"])
    signals = _signals(tmp_path / "s.jsonl", [entry(T0, "BTCUSDT", exchange="nowhere")])
    code = main(["backtest", "--prices", str(prices), "--signals", str(signals),
                 "--config", str(SEED_CONFIG), "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 2
    assert (
        "s.jsonl:1: tv.exchange: 'nowhere' is not a simulated exchange" in capsys.readouterr().err
    )
