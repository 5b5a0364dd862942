"""``qtrade demo`` (acceptance of issue 2): the seed's Test 1.1 through the engine core."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qtrade.cli import main


def test_demo_prints_the_spec_worked_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()

    def line_with(label: str) -> str:
        (found,) = [line for line in lines if line.strip().startswith(label)]
        return found

    # SPEC §4: leg 0 0.00020 at market (sized at 95992.3); after it fills at 95992.3:
    # leg 1 0.00030 @ 95512.33, leg 2 0.00050 @ 95032.37; TPs 96952.22 / 96467.45 / 96933.01
    assert re.search(r"BUY\s+market\s+qty 0\.00020 at market", line_with("leg 0 (base)"))
    assert re.search(r"BUY\s+limit\s+qty 0\.00030 @ 95512\.33", line_with("leg 1 (DCA)"))
    assert re.search(r"BUY\s+limit\s+qty 0\.00050 @ 95032\.37", line_with("leg 2 (DCA)"))
    assert re.search(r"SELL\s+limit\s+qty 0\.00020 @ 96952\.22", line_with("TP of leg 0"))
    assert re.search(r"SELL\s+limit\s+qty 0\.00030 @ 96467\.45", line_with("TP of leg 1"))
    assert re.search(r"SELL\s+limit\s+qty 0\.00050 @ 96933\.01", line_with("TP of leg 2"))
    assert "capital 0.001 x 95992.3 = 95.9923 USDT" in out
    assert "outcome: opened, group g1" in out
    # (19.19846 + 28.653699 + 47.516185) / 0.001 = 95368.344
    assert "open quantity 0.00100, average entry 95368.344" in out
    # the order the steps happen in: leg 0, then DCA legs with leg 0's TP, then the other TPs
    order = [
        lines.index(line_with(label))
        for label in ("leg 0 (base)", "leg 1 (DCA)", "TP of leg 0", "TP of leg 1")
    ]
    assert order == sorted(order)


def test_demo_reports_a_broken_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"username": "x",\n "dca_grid_config": {"levels": [}\n}')
    assert main(["demo", "--config", str(broken)]) == 2
    out = capsys.readouterr().out
    assert "invalid config" in out and "line 2" in out
