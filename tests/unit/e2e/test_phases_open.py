"""The first five phases against a scripted service: what each checks, and each one's
fallback from the flow's error chart."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from qtrade.e2e.phases_open import (
    entry_logic,
    initialization,
    order_placement,
    prediction,
    signal_generation,
)
from qtrade.e2e.predictor import Prediction, PredictionError
from qtrade.e2e.state import FlowContext, FlowStopped, PhaseLog, TradeState
from tests.kit.e2e import (
    USER_ID,
    ScriptedApi,
    answer,
    config_answer,
    health_answer,
    make_context,
    make_settings,
    market,
    metrics_answer,
    precision_answer,
    prediction_of,
)

D = Decimal
RULES = {
    "BTCUSDT": ("0.01", "0.00001", "0.00001", "5"),
    "ETHUSDT": ("0.01", "0.0001", "0.0001", "5"),
    "SOLUSDT": ("0.01", "0.001", "0.001", "5"),
}


def init_routes(**changes: Any) -> dict[str, Any]:
    routes = {
        "GET /health": health_answer(),
        f"GET /config/{USER_ID}": config_answer(),
        "GET /metrics": metrics_answer(realised="-1.5", closed=2),
        "GET /admin/status": answer({"clock_ms": 1_767_225_600_000, "exchanges": {"binance": {}}}),
        "POST /precision/refresh": precision_answer(RULES),
    }
    routes.update(changes)
    return routes


# --------------------------------------------------------------------------- initialisation


def test_initialisation_reads_the_environment() -> None:
    ctx = make_context(ScriptedApi(init_routes()))
    log = PhaseLog("initialization")
    initialization(ctx, log)
    assert log.state == "complete"
    assert [c.name for c in log.checks] == [
        "backend healthy",
        "user configured for binance",
        "simulator price control",
        "BTCUSDT market rules",
        "ETHUSDT market rules",
        "SOLUSDT market rules",
    ]
    assert ctx.state.markets["SOLUSDT"] == market("SOLUSDT", "0.01", "0.001", "0.001")
    assert ctx.state.grid_levels[1] == {"gap_percent": D("-0.5"), "weight_percent": D(30)}
    assert ctx.state.metrics_before == {"realised_pnl": D("-1.5"), "closed_groups": D(2)}
    assert ctx.state.start_clock_ms == 1_767_225_600_000


@pytest.mark.parametrize(
    ("changes", "failing"),
    [
        ({"GET /health": health_answer(binance="auth_failed")}, "backend healthy"),
        ({"GET /health": health_answer(database="error")}, "backend healthy"),
        ({f"GET /config/{USER_ID}": config_answer(["bybit"])}, "user configured for binance"),
        (
            {"POST /precision/refresh": precision_answer({k: RULES[k] for k in ("BTCUSDT",)})},
            "ETHUSDT market rules",
        ),
    ],
)
def test_a_failed_initialisation_check_stops_the_flow(
    changes: dict[str, Any], failing: str
) -> None:
    ctx = make_context(ScriptedApi(init_routes(**changes)))
    log = PhaseLog("initialization")
    with pytest.raises(FlowStopped, match=failing):
        initialization(ctx, log)
    assert next(c.name for c in log.checks if not c.passed) == failing


# --------------------------------------------------------------------------- prediction


class SequencePrices:
    """/admin/prices answering one row per sample (then the last row again)."""

    def __init__(self, rows: list[dict[str, str]]) -> None:
        self.rows = rows
        self.served = 0

    def __call__(self, _params: Any, _body: Any) -> tuple[int, Any]:
        row = self.rows[min(self.served, len(self.rows) - 1)]
        self.served += 1
        return 200, {"binance": row}


class FakeAi:
    """A prediction source: buys, except for the symbols (or all) it fails on."""

    name = "ai_engine"

    def __init__(self, fail: dict[str, PredictionError] | None = None) -> None:
        self.fail = fail or {}
        self.asked: list[str] = []

    def predict(self, symbol: str, exchange: str) -> Prediction:
        self.asked.append(symbol)
        error = self.fail.get(symbol) or self.fail.get("*")
        if error is not None:
            raise error
        return prediction_of(symbol)


def warmup_api(rows: list[dict[str, str]]) -> ScriptedApi:
    return ScriptedApi(
        {
            "GET /admin/prices": SequencePrices(rows),
            "POST /admin/path": answer({"clock_ms": 0, "events": []}),
            "POST /admin/advance": answer({"clock_ms": 0, "events": []}),
        }
    )


def short_warmup(**changes: Any) -> Any:
    # two samples: the start and one minute later
    return make_settings(symbols=("BTCUSDT", "SOLUSDT"), warmup_seconds=60, **changes)


ROWS = [
    {"BTCUSDT": "100", "SOLUSDT": "10"},  # read before the path is loaded
    {"BTCUSDT": "100", "SOLUSDT": "10"},  # sample 0
    {"BTCUSDT": "102", "SOLUSDT": "9"},  # sample 1
]


def test_prediction_plays_the_warm_up_path_and_asks_at_every_sample() -> None:
    api = warmup_api(ROWS)
    ai = FakeAi()
    ctx = make_context(api, short_warmup(), ai)
    log = PhaseLog("prediction")
    prediction(ctx, log)
    assert log.state == "complete"
    assert ai.asked == ["BTCUSDT", "SOLUSDT", "BTCUSDT", "SOLUSDT"]
    path = next(body for method, p, _, body in api.calls if p == "/admin/path")
    # the default warm-up targets of the two symbols, from the prices read first
    assert path["yaml"] == (
        "step: 60s\nprices: {BTCUSDT: 100, SOLUSDT: 10}\ntimeline:\n"
        "  - {BTCUSDT: 96472.26 over 60s, SOLUSDT: 126.35 over 60s}\n"
    )
    assert api.paths("POST").count("/admin/advance") == 1
    assert api.after_admin_calls == 2  # path + advance
    assert ctx.state.observed == {"BTCUSDT": [D(100), D(102)], "SOLUSDT": [D(10), D(9)]}
    assert {p.source for p in ctx.state.predictions.values()} == {"service"}


def test_a_failing_symbol_gets_a_synthetic_prediction_from_the_path() -> None:
    ai = FakeAi({"SOLUSDT": PredictionError("status", "http_error", "HTTP 500")})
    ctx = make_context(warmup_api(ROWS), short_warmup(), ai)
    log = PhaseLog("prediction")
    prediction(ctx, log)
    assert ai.asked == ["BTCUSDT", "SOLUSDT", "BTCUSDT"]  # not asked again for SOLUSDT
    sol = ctx.state.predictions["SOLUSDT"]
    # momentum of [10, 9]: mean 9.5, (9 - 9.5) / 9.5 = -0.0526315789 -> -0.05263158, sell;
    # confidence min(0.95, 0.5 + 50 x 0.05263158) = 0.95
    assert (sol.source, sol.action, sol.predicted_return, sol.confidence) == (
        "synthetic",
        "sell",
        D("-0.05263158"),
        D("0.95"),
    )
    assert ctx.state.predictions["BTCUSDT"].source == "service"
    assert (log.state, log.fallback) == ("failed", "synthetic_prediction")
    failed = [c for c in log.checks if not c.passed]
    assert [c.name for c in failed] == ["SOLUSDT prediction from the ai_engine"]
    assert "HTTP 500" in failed[0].message


def test_an_unreachable_ai_engine_is_not_asked_again() -> None:
    ai = FakeAi({"*": PredictionError("transport", "unreachable", "refused")})
    ctx = make_context(warmup_api(ROWS), short_warmup(), ai)
    log = PhaseLog("prediction")
    prediction(ctx, log)
    assert ai.asked == ["BTCUSDT"]
    assert {p.source for p in ctx.state.predictions.values()} == {"synthetic"}
    assert log.fallback == "synthetic_prediction"


def test_without_an_ai_engine_the_built_in_predictor_is_not_a_failure() -> None:
    ctx = make_context(warmup_api(ROWS), short_warmup(use_ai=False), None)
    log = PhaseLog("prediction")
    prediction(ctx, log)
    assert (log.state, log.fallback) == ("complete", "built_in_predictor")
    # momentum of [100, 102]: mean 101, 1 / 101 = 0.00990099 -> buy
    btc = ctx.state.predictions["BTCUSDT"]
    assert (btc.action, btc.predicted_return, btc.source) == ("buy", D("0.00990099"), "synthetic")


# --------------------------------------------------------------------------- signals


def signal_context(
    predictions: dict[str, Prediction], prices: dict[str, str], **changes: Any
) -> FlowContext:
    ctx = make_context(ScriptedApi(), make_settings(**changes))
    ctx.state.predictions.update(predictions)
    ctx.state.last_prices.update({s: D(p) for s, p in prices.items()})
    return ctx


def test_signals_go_long_on_buy_and_filter_shorts_on_spot() -> None:
    ctx = signal_context(
        {
            s: prediction_of(s, a)
            for s, a in (("BTCUSDT", "buy"), ("ETHUSDT", "sell"), ("SOLUSDT", "buy"))
        },
        {"BTCUSDT": "96472.26", "ETHUSDT": "3380.42", "SOLUSDT": "126.35"},
    )
    log = PhaseLog("signal_generation")
    signal_generation(ctx, log)
    assert [(t.symbol, t.side, t.reference_price) for t in ctx.state.trades] == [
        ("BTCUSDT", "long", D("96472.26")),
        ("SOLUSDT", "long", D("126.35")),
    ]
    assert [(n.symbol, n.status, n.reason) for n in ctx.state.signals] == [
        ("BTCUSDT", "actionable", None),
        ("ETHUSDT", "filtered", "short_not_supported_on_spot"),
        ("SOLUSDT", "actionable", None),
    ]
    assert log.state == "complete"


def test_shorts_are_signals_when_the_account_can_short() -> None:
    ctx = signal_context(
        {"ETHUSDT": prediction_of("ETHUSDT", "sell")}, {"ETHUSDT": "3380.42"},
        symbols=("ETHUSDT",), allow_short=True,
    )  # fmt: skip
    signal_generation(ctx, PhaseLog("signal_generation"))
    assert [(t.symbol, t.side) for t in ctx.state.trades] == [("ETHUSDT", "short")]


def test_low_confidence_is_filtered() -> None:
    ctx = signal_context(
        {"BTCUSDT": prediction_of("BTCUSDT")}, {"BTCUSDT": "1"},
        symbols=("BTCUSDT",), min_confidence=D("0.7"),
    )  # fmt: skip
    log = PhaseLog("signal_generation")
    signal_generation(ctx, log)
    assert ctx.state.trades == []
    assert ctx.state.signals[0].reason == "confidence 0.6 < 0.7"
    assert [c.name for c in log.checks if not c.passed] == ["actionable signals"]


def test_a_signal_without_a_price_is_skipped_and_the_others_go_on() -> None:
    ctx = signal_context(
        {
            "BTCUSDT": prediction_of("BTCUSDT", price=None),
            "SOLUSDT": prediction_of("SOLUSDT", price=None),
        },
        {"SOLUSDT": "126.35"},
        symbols=("BTCUSDT", "SOLUSDT"),
    )
    log = PhaseLog("signal_generation")
    signal_generation(ctx, log)
    assert [t.symbol for t in ctx.state.trades] == ["SOLUSDT"]
    assert (ctx.state.signals[0].status, ctx.state.signals[0].reason) == (
        "skipped",
        "no market price to enter at",
    )
    assert (log.state, log.fallback) == ("failed", "signal_skipped")


# --------------------------------------------------------------------------- entry logic


def entry_context(metrics: Any, *symbols_prices: tuple[str, str], **changes: Any) -> FlowContext:
    ctx = make_context(ScriptedApi({"GET /metrics": metrics}), make_settings(**changes))
    ctx.state.grid_levels = [
        {"gap_percent": D(0), "weight_percent": D(20)},
        {"gap_percent": D("-0.5"), "weight_percent": D(30)},
        {"gap_percent": D(-1), "weight_percent": D(50)},
    ]
    ctx.state.markets = {
        "BTCUSDT": market("BTCUSDT", "0.01", "0.00001", "0.00001"),
        "SOLUSDT": market("SOLUSDT", "0.01", "0.001", "0.001"),
    }
    add_signals(ctx, symbols_prices)
    return ctx


def add_signals(ctx: FlowContext, symbols_prices: tuple[tuple[str, str], ...]) -> None:
    """Long signals at these prices, as signal generation leaves them."""
    for symbol, price in symbols_prices:
        ctx.state.trades.append(TradeState(symbol, "long", prediction_of(symbol), D(price)))


def test_the_risk_gate_plans_each_trade() -> None:
    ctx = entry_context(metrics_answer(), ("BTCUSDT", "96472.26"), ("SOLUSDT", "126.35"))
    log = PhaseLog("entry_logic")
    entry_logic(ctx, log)
    btc, sol = ctx.state.trades
    assert (btc.status, btc.take_profit, btc.stop_loss) == ("planned", D("97436.98"), D("94542.81"))
    # SOL: 126.35 x 1.01 = 127.6135 -> 127.61 ; 126.35 x 0.98 = 123.823 -> 123.82
    assert (sol.take_profit, sol.stop_loss) == (D("127.61"), D("123.82"))
    # SOL legs: 20 / 126.35 = 0.15829 -> 0.158 ; 125.71 (126.35 x 0.995 = 125.71825)
    #   30 / 125.71 = 0.23864 -> 0.238 ; 125.08 (126.35 x 0.99 = 125.0865), 50 / 125.08 -> 0.399
    assert [(leg.price, leg.quantity) for leg in sol.legs] == [
        (D("126.35"), D("0.158")),
        (D("125.71"), D("0.238")),
        (D("125.08"), D("0.399")),
    ]
    assert log.state == "complete"


def test_a_leg_below_the_minimum_notional_is_rejected_before_any_order() -> None:
    # 20 % of 20 USDT = 4 USDT < min notional 5
    ctx = entry_context(metrics_answer(), ("BTCUSDT", "96472.26"), capital_usd=D(20))
    log = PhaseLog("entry_logic")
    entry_logic(ctx, log)
    (btc,) = ctx.state.trades
    assert btc.status == "rejected"
    # leg 0: 4 / 96472.26 -> 0.00004 BTC, notional 0.00004 x 96472.26 = 3.8588904 < 5
    assert btc.failure is not None and "leg 0 notional 3.8588904 < min notional 5" in btc.failure
    assert (log.state, log.fallback) == ("failed", "trade_failed")


def test_exposure_and_pool_room_are_shared_by_the_batch() -> None:
    # 1000 max - 850 used = 150 of room: the first 100 USDT trade fits, the second does not;
    # pool 2 of 3 used: one slot
    ctx = entry_context(
        metrics_answer(exposure="850", pool_used=2), ("BTCUSDT", "96472.26"), ("SOLUSDT", "126.35")
    )
    entry_logic(ctx, PhaseLog("entry_logic"))
    btc, sol = ctx.state.trades
    assert btc.status == "planned"
    assert sol.status == "rejected"
    assert sol.failure == "exposure room 50 < capital 100; no free pool slot"


# --------------------------------------------------------------------------- orders


def placing_context(place: Any) -> Any:
    ctx = make_context(ScriptedApi({"POST /trades/place": place}))
    add_signals(ctx, (("BTCUSDT", "96472.26"), ("SOLUSDT", "126.35")))
    for trade, (tp, sl) in zip(
        ctx.state.trades, (("97436.98", "94542.81"), ("127.61", "123.82")), strict=True
    ):
        trade.status, trade.take_profit, trade.stop_loss = "planned", D(tp), D(sl)
    return ctx


def test_orders_go_through_the_trade_route() -> None:
    numbers: Iterator[int] = iter(range(1, 10))

    def place(_params: Any, body: Any) -> tuple[int, Any]:
        n = next(numbers)
        return 202, {
            "signal_id": f"s{n}",
            "outcome": "opened",
            "reason": None,
            "trade_id": f"g{n}",
            "order_id": f"e2e-g{n}-p0-l0-entry-0",
            "status": "partially_filled",
        }

    ctx = placing_context(place)
    log = PhaseLog("order_placement")
    order_placement(ctx, log)
    first = ctx.calls.api.calls[0][3]
    assert first == {
        "user_id": USER_ID,
        "exchange": "binance",
        "symbol": "BTCUSDT",
        "side": "long",
        "timeframe": "60",
        "order_size": "100",
        "position_size_type": "quote",
        "entry_price": "96472.26",
        "take_profit": "97436.98",
        "stop_loss": "94542.81",
    }
    assert [(t.status, t.trade_id, t.order_id) for t in ctx.state.trades] == [
        ("placed", "g1", "e2e-g1-p0-l0-entry-0"),
        ("placed", "g2", "e2e-g2-p0-l0-entry-0"),
    ]
    assert log.state == "complete"


def test_a_refused_or_failing_order_marks_the_trade_failed_and_the_flow_goes_on() -> None:
    answers = iter(
        [
            (500, {"detail": "boom"}),
            (202, {"outcome": "rejected", "reason": "exposure_limit", "trade_id": None}),
        ]
    )
    ctx = placing_context(lambda _p, _b: next(answers))
    log = PhaseLog("order_placement")
    order_placement(ctx, log)
    btc, sol = ctx.state.trades
    assert btc.status == sol.status == "failed"
    assert btc.failure is not None and btc.failure.startswith("error: POST /trades/place: HTTP 500")
    assert sol.failure == "rejected: exposure_limit"
    assert (log.state, log.fallback) == ("failed", "trade_failed")
    assert len(log.checks) == 2
