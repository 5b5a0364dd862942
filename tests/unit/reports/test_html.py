"""The HTML report: self-contained, escaped, deterministic, rendered from the JSON."""

from __future__ import annotations

import re

import pytest

from reports.html import render_html, render_html_from_json
from reports.model import E2E_PHASES
from tests.kit.reports import backtest_report, plan_report, scenario, seed_e2e_report

EVIL = '<script>alert("pwn")</script>'


def _reports() -> dict[str, str]:
    evil = scenario(
        "evil.feature::test_evil",
        "failed",
        test_id="t4_1",
        phase="phase4",
        name=EVIL,
        message='<img src=x onerror="alert(1)"> & more',
    )
    return {
        "plan": plan_report(extra=[evil]).to_json(),
        "e2e": seed_e2e_report().to_json(),
        "backtest": backtest_report(title=f"Backtest {EVIL}").to_json(),
    }


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return {kind: render_html_from_json(text) for kind, text in _reports().items()}


@pytest.mark.parametrize("kind", ["plan", "e2e", "backtest"])
def test_no_external_reference_of_any_kind(rendered: dict[str, str], kind: str) -> None:
    html = rendered[kind]
    for needle in ("http://", "https://", "//cdn", "<script", "<link", "url(", "@import"):
        assert needle not in html.lower(), needle
    # no tag loads or links anything (escaped text may mention src=, tags may not)
    assert re.search(r"<[a-z][^>]*\s(src|href|xlink:href)\s*=", html, re.IGNORECASE) is None
    assert "Content-Security-Policy" in html
    assert html.startswith("<!DOCTYPE html>")


def test_malicious_text_is_escaped(rendered: dict[str, str]) -> None:
    plan = rendered["plan"]
    assert "&lt;script&gt;alert(&quot;pwn&quot;)&lt;/script&gt;" in plan
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; more" in plan
    assert "<img" not in plan
    assert "&lt;script&gt;" in rendered["backtest"]


@pytest.mark.parametrize("kind", ["plan", "e2e", "backtest"])
def test_same_json_renders_byte_identical_html(kind: str) -> None:
    text = _reports()[kind]
    assert render_html_from_json(text) == render_html_from_json(text)
    assert render_html_from_json(text).encode() == render_html_from_json(text.encode()).encode()


def test_plan_sections(rendered: dict[str, str]) -> None:
    html = rendered["plan"]
    for chart in ("equity", "drawdown", "histogram"):
        assert f'data-chart="{chart}"' in html
    for anchor in ('id="phases"', 'id="phase-table"', 'id="per-symbol"', 'id="trade-table"'):
        assert anchor in html
    assert 'id="scenarios-phase1"' in html and 'id="scenarios-phase4"' in html
    # the recorded failing scenario: step and assertion message
    assert "Then 3 legs rest on the book" in html
    assert "AssertionError: expected 3 resting DCA legs, found 2" in html
    assert 'data-kpi="pass_rate"' in html
    assert 'id="e2e"' in html  # the embedded e2e section


def test_kpi_values_are_shown(rendered: dict[str, str]) -> None:
    e2e = rendered["e2e"]
    # total profit 5.9497335 -> 5.95; win rate 1 -> 100.00 %; no loss -> no profit factor
    assert re.search(r'data-kpi="total_profit">.*?>5\.95<', e2e)
    assert re.search(r'data-kpi="win_rate">.*?>100\.00%<', e2e)
    assert re.search(r'data-kpi="profit_factor">.*?>— \(no losses\)<', e2e)
    backtest = rendered["backtest"]
    assert re.search(r'data-kpi="total_return_percent">.*?>2\.23%<', backtest)
    assert re.search(r'data-kpi="max_drawdown">.*?>30\.20<', backtest)


def test_backtest_sections(rendered: dict[str, str]) -> None:
    html = rendered["backtest"]
    for chart in ("equity", "drawdown", "histogram", "exposure", "pool", "legs"):
        assert f'data-chart="{chart}"' in html
    assert 'data-series="realised equity"' in html and 'data-series="total equity"' in html
    for anchor in (
        'id="pnl-heatmap"',
        'id="best-trades"',
        'id="worst-trades"',
        'id="risk-actions"',
    ):
        assert anchor in html
    assert 'id="queue-history"' in html and 'id="fees"' in html


def test_e2e_phase_states_render_without_emoji_fonts() -> None:
    phases = {name: "complete" for name in E2E_PHASES} | {"settlement": "failed"}
    html = render_html(seed_e2e_report(phases=phases))
    assert '<span class="badge b-fail">failed</span>' in html
    # 8 of 9 phases complete, every check passed: PARTIAL
    assert '<span class="badge b-warn">PARTIAL</span>' in html
