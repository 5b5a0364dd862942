"""The HTML report in a real browser: headless Chromium renders it offline (screenshot is not
blank) and the rendered DOM holds the KPI values and the SVG charts.

Chromium is required, not optional: CI installs Debian's ``chromium`` package; set
``QTRADE_CHROMIUM`` to use another binary.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image

from reports.exports import render_report_files
from tests.kit.reports import backtest_report, plan_report

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _chromium() -> str:
    candidate = os.environ.get("QTRADE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(candidate).exists():
        pytest.fail(
            "headless Chromium is required for the report browser test: "
            "apt-get install -y chromium (or set QTRADE_CHROMIUM)"
        )
    return candidate


def _run(tmp: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    return subprocess.run(
        [_chromium(), *FLAGS, f"--user-data-dir={profile}", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("browser")
    pages = {}
    for name, report in (("plan", plan_report()), ("backtest", backtest_report())):
        source = root / f"{name}.json"
        source.write_text(report.to_json(), encoding="utf-8")
        pages[name] = render_report_files(source, root / name)["html"]
    return pages


@pytest.mark.parametrize("name", ["plan", "backtest"])
def test_screenshot_is_not_blank(site: dict[str, Path], name: str, tmp_path: Path) -> None:
    shot = tmp_path / f"{name}.png"
    _run(tmp_path, "--window-size=1280,1600", f"--screenshot={shot}", site[name].as_uri())
    pixels = np.asarray(image.imread(shot))[..., :3]
    assert pixels.shape[:2] == (1600, 1280)
    assert float(pixels.std()) > 0.05  # a blank page has 0
    not_background = np.any(np.abs(pixels - pixels[0, 0]) > 0.1, axis=-1)
    assert not_background.mean() > 0.02  # text, cards and charts cover a real share of it


def test_rendered_dom_has_kpis_and_svg_charts(site: dict[str, Path], tmp_path: Path) -> None:
    dom = _run(tmp_path, "--dump-dom", site["plan"].as_uri()).stdout
    # 4 of the 5 recorded scenarios passed -> 80.00 %; 3 of 4 orders filled -> 75.00 %
    assert re.search(
        r'data-kpi="pass_rate"><div class="label">[^<]+</div><div class="value">80\.00%', dom
    )
    assert re.search(
        r'data-kpi="fill_rate"><div class="label">[^<]+</div><div class="value">75\.00%', dom
    )
    assert re.search(
        r'data-kpi="total_profit"><div class="label">[^<]+</div><div class="value">5\.95', dom
    )
    for chart in ("equity", "drawdown", "histogram"):
        assert re.search(rf'<svg class="chart" data-chart="{chart}"', dom), chart
    assert dom.count("<polyline") >= 2
    assert "AssertionError: expected 3 resting DCA legs, found 2" in dom
