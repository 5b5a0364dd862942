"""simulate_price_movement: the step prices and times, the inline path, and how refusals from
the admin API are reported (the moves themselves run against a real simulator server in
tests/integration/test_scripts_sim.py)."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from qtrade.tools import prices
from qtrade.tools.store_args import ToolError
from tests.kit.tools import D

URL = "http://sim.test"


def test_price_steps_are_linear_and_end_on_the_target() -> None:
    # 95992.30 → 94000 in 3: step (94000 − 95992.30) / 3 = −664.10
    assert prices.price_steps(D("95992.30"), D("94000"), 3) == [
        D("95328.20"), D("94664.10"), D("94000.00"),
    ]  # fmt: skip
    assert prices.price_steps(D("1"), D("2"), 1) == [D("2")]
    with pytest.raises(ToolError) as error:
        prices.price_steps(D("1"), D("2"), 0)
    assert error.value.field == "steps"


def test_step_times_are_whole_ms_summing_to_the_duration() -> None:
    # 10 s in 3 steps: marks round(10000 × k / 3) = 0, 3333, 6667, 10000
    assert prices.step_times_ms(10_000, 3) == [3333, 3334, 3333]
    assert prices.step_times_ms(1_000, 4) == [250, 250, 250, 250]


def test_path_yaml_starts_at_the_current_price() -> None:
    text = prices.path_yaml("BTCUSDT", D("95992.30"), D("1E+5"), 90_000)
    assert text == (
        "step: 1s\nprices: {BTCUSDT: '95992.30'}\ntimeline:\n  - BTCUSDT: 100000 over 90000ms\n"
    )
    assert prices.path_yaml("X", D("1"), D("2"), 500).startswith("step: 500ms\n")


@respx.mock
def test_refusal_names_the_field(capsys: pytest.CaptureFixture[str]) -> None:
    respx.get(f"{URL}/admin/prices").mock(
        return_value=httpx.Response(200, json={"binance": {"BTCUSDT": "95992.30"}})
    )
    detail = [{"loc": ["body", "price"], "msg": "price: must be positive", "type": "value_error"}]
    respx.post(f"{URL}/admin/price").mock(return_value=httpx.Response(422, json={"detail": detail}))
    argv = ["--exchange", "binance", "--symbol", "BTCUSDT", "--to", "0.000001", "--url", URL]
    assert prices.main(argv) == 1
    error = json.loads(capsys.readouterr().err)
    assert error["field"] == "price" and error["error"] == "refused"


@respx.mock
def test_unknown_symbol_and_missing_admin_api(capsys: pytest.CaptureFixture[str]) -> None:
    route = respx.get(f"{URL}/admin/prices")
    route.mock(return_value=httpx.Response(200, json={"binance": {"BTCUSDT": "95992.30"}}))
    argv = ["--exchange", "binance", "--symbol", "BTC1USDT", "--to", "1", "--url", URL]
    assert prices.main(argv) == 1
    assert json.loads(capsys.readouterr().err)["error"] == "unknown_symbol"
    route.mock(return_value=httpx.Response(404, json={"detail": "Not Found"}))
    assert prices.main(argv) == 2
    assert json.loads(capsys.readouterr().err)["error"] == "no_admin_api"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (["--to", "abc"], "to"),
        (["--to", "-5"], "to"),
        (["--to", "5", "--over", "-1"], "over"),
        (["--to", "5", "--over", "0.0005"], "over"),
        (["--to", "5", "--steps", "3"], "steps"),
        (["--to", "5", "--over", "0", "--steps", "3"], "steps"),
    ],
)
@respx.mock
def test_bad_flags(extra: list[str], field: str, capsys: pytest.CaptureFixture[str]) -> None:
    respx.get(f"{URL}/admin/prices").mock(
        return_value=httpx.Response(200, json={"binance": {"BTCUSDT": "95992.30"}})
    )
    argv = ["--exchange", "binance", "--symbol", "BTCUSDT", "--url", URL, *extra]
    assert prices.main(argv) == 2
    assert json.loads(capsys.readouterr().err)["field"] == field


def test_unreachable_server(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--exchange", "binance", "--symbol", "BTCUSDT", "--to", "1"]
    assert prices.main([*argv, "--url", "http://127.0.0.1:9", "--timeout", "2"]) == 2
    assert json.loads(capsys.readouterr().err)["error"] == "unreachable"
