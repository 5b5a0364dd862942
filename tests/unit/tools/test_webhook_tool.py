import json

import httpx
import pytest
import respx

from qtrade.tools.webhook import build_payload, main, webhook_parser

TEST_1_1 = [
    "--user-id", "e7d6ae10-2a7d-4383-90d3-461c986e1e71",
    "--secret", "1b6d3edada59826e786088a2161d70b6",
    "--exchange", "BINANCE", "--symbol", "BTCUSDT", "--timeframe", "60",
    "--action", "buy", "--side", "long", "--type", "signal",
    "--entry-price", "95992.3", "--close-price", "95992.3", "--order-size", "0.001",
]  # fmt: skip


def test_plan_test_1_1_flags_become_the_spec_payload() -> None:
    payload = build_payload(webhook_parser().parse_args(TEST_1_1), timestamp="T")
    assert payload == {
        "secret": "1b6d3edada59826e786088a2161d70b6",
        "source": "tradingview",
        "timestamp": "T",
        "tv": {
            "exchange": "BINANCE",
            "symbol": "BTCUSDT",
            "timeframe": "60",
            "action": "buy",
            "entry_price": "95992.3",
            "close_price": "95992.3",
            "order_size": "0.001",
        },
        "execution_intent": {"type": "signal", "position_size_type": "contracts", "side": "long"},
    }


@pytest.mark.parametrize(
    ("extra", "action"),
    [
        (["--side", "long"], "buy"),  # plan test 2.1 gives only --side
        (["--side", "short"], "sell"),
        (["--action", "sell", "--type", "exit"], "sell"),  # plan test 1.5
        (["--type", "exit", "--side", "short"], "buy"),
    ],
)
def test_action_is_derived_when_the_plan_omits_it(extra: list[str], action: str) -> None:
    base = ["--user-id", "u", "--secret", "s", "--exchange", "BYBIT", "--symbol", "SOLUSDT",
            "--timeframe", "60"]  # fmt: skip
    payload = build_payload(webhook_parser().parse_args(base + extra), timestamp="T")
    assert payload["tv"]["action"] == action


@respx.mock
def test_main_posts_to_the_user_route_and_reports_the_outcome(capsys) -> None:
    route = respx.post("http://sim.test/webhooks/e7d6ae10-2a7d-4383-90d3-461c986e1e71").mock(
        return_value=httpx.Response(202, json={"outcome": "opened", "group_id": "g1"})
    )
    assert main([*TEST_1_1, "--url", "http://sim.test"]) == 0
    sent = json.loads(route.calls.last.request.content)
    assert sent["tv"]["symbol"] == "BTCUSDT"
    printed = json.loads(capsys.readouterr().out)
    assert printed == {"status_code": 202, "response": {"outcome": "opened", "group_id": "g1"}}


@respx.mock
def test_main_exits_non_zero_on_a_refused_webhook(capsys) -> None:
    respx.post("http://sim.test/webhooks/u").mock(
        return_value=httpx.Response(401, json={"detail": "unauthorised"})
    )
    args = ["--user-id", "u", "--secret", "bad", "--exchange", "BINANCE", "--symbol", "BTCUSDT",
            "--timeframe", "60", "--url", "http://sim.test"]  # fmt: skip
    assert main(args) == 1
    assert json.loads(capsys.readouterr().out)["status_code"] == 401
