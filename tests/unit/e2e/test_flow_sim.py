"""The whole flow in-process against the sim service (``qtrade serve``'s composition over
the in-process simulator, SQLite, real HTTP on 127.0.0.1), with the seed's defaults, and
with faults injected into single phases to see the error chart's fallbacks end to end."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from qtrade.e2e import FlowSettings, flow_report, run_flow
from qtrade.e2e.flow import FlowResult
from qtrade.e2e.service import RunningService, running_sim_service
from reports import TradeRecord, e2e_status
from tests.kit.e2e import FaultyApi

D = Decimal
START_MS = 1_767_225_600_000  # the simulator's clock at start: 2026-01-01T00:00:00Z


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunningService]:
    with running_sim_service(tmp_path / "e2e") as running:
        yield running


def _trades(result: FlowResult) -> dict[str, TradeRecord]:
    return {r.symbol: r for r in result.records}


def test_the_seed_flow_from_prediction_to_profit(service: RunningService) -> None:
    result = run_flow(service.api, FlowSettings(user_id=service.user_id))
    assert result.phase_states == dict.fromkeys(result.phase_states, "complete")
    assert len(result.phase_states) == 9
    assert all(c.passed for c in result.checks), [c for c in result.checks if not c.passed]

    # predictions: the service's momentum over the six warm-up samples of each symbol; a
    # linear ramp's samples average to its midpoint:
    #   BTC 95992.30 -> 96472.26: mean 96232.28, 239.98 / 96232.28 = 0.00249376, conf 0.6247
    #   ETH 3394.00 -> 3380.42:  mean 3387.21, -6.79 / 3387.21 = -0.00200460, conf 0.6002
    #   SOL 125.97 -> 126.35:    mean 126.16, 0.19 / 126.16 = 0.00150602, conf 0.5753
    predictions = [
        (p.symbol, p.action, p.predicted_return, p.confidence, p.source) for p in result.predictions
    ]
    assert predictions == [
        ("BTCUSDT", "buy", D("0.00249376"), D("0.6247"), "service"),
        ("ETHUSDT", "sell", D("-0.00200460"), D("0.6002"), "service"),
        ("SOLUSDT", "buy", D("0.00150602"), D("0.5753"), "service"),
    ]
    # ETH's sell cannot open a short on Binance spot: filtered at signal generation
    assert [(n.symbol, n.status, n.reason) for n in result.signals] == [
        ("BTCUSDT", "actionable", None),
        ("ETHUSDT", "filtered", "short_not_supported_on_spot"),
        ("SOLUSDT", "actionable", None),
    ]

    btc, sol = (t for t in result.trades)
    assert (btc.exit_plan, btc.exit_result, sol.exit_plan, sol.exit_result) == (
        "stop_loss", "stop_loss", "take_profit", "take_profit",
    )  # fmt: skip
    records = _trades(result)
    btc_record, sol_record = records["BTCUSDT"], records["SOLUSDT"]
    # BTC: leg 0 0.00020 @ 96472.26 at 00:05 (after the 5-minute warm-up); the exit path moves
    # 96472.26 -> 94070.09 over 30 s (one tick a second): the DCA legs fill at their limits
    # (0.00031 @ 95989.89, 0.00052 @ 95507.53) and the stop 94542.81 is first crossed at tick
    # 25: 96472.26 - 2402.17 x 25 / 30 = 94470.4516... -> 94470.45, sold at market there.
    # cost 19.294452 + 29.7568659 + 49.6639156 = 98.7152335 for 0.00103 ; the buys pay 0.1 %
    # in BTC: 0.00000020 + 0.00000031 + 0.00000052 = 0.00000103 held back, valued at the fill
    # prices 0.019294452 + 0.0297568659 + 0.0496639156 = 0.0987152335 ; held 0.00102897, the
    # stop sells the whole steps 0.00102 x 94470.45 = 96.359859 (fee 0.1 % = 0.096359859
    # USDT), dust 0.00000897 stays open in leg 2 at 95507.53 (cost 0.8567025441).
    # engine realised = 96.359859 - 98.7152335 + 0.8567025441 - 0.096359859 = -1.5950318149
    # (the settlement check recomputes it from the fills) ; fees 0.096359859 + 0.0987152335
    # = 0.1950750925. The record keeps the gross entry 0.00103 and its prices; the averages
    # would give (94470.45 - 95840.03252427) x 0.00103 - 0.1950750925 = -1.6057450924981,
    # which sells the dust too, so the record carries the realised PnL from the fills.
    assert (btc_record.quantity, btc_record.exit_price, btc_record.fees) == (
        D("0.00103"), D("94470.45"), D("0.1950750925"),
    )  # fmt: skip
    assert btc_record.entry_price == D("95840.03252427")  # 98.7152335 / 0.00103, 8 places
    assert btc_record.exit_reason == "stop_loss"
    # entry 00:05:00, 60 s of monitoring, exit 25 s into the exit path: 00:06:25
    assert (btc_record.entry_time_ms, btc_record.exit_time_ms) == (
        START_MS + 300_000, START_MS + 385_000,
    )  # fmt: skip
    # SOL: leg 0 0.158 @ 126.35, its resting TP 127.61 is crossed at tick 20 of
    # 126.35 -> 128.25 (126.35 + 1.90 x 20 / 30 = 127.6166 -> 127.62), filled at 127.61:
    # engine: held 0.158 - 0.000158 (fee in SOL) = 0.157842, the TP sells 0.157 x 127.61 =
    # 20.03477 (fee 0.02003477 USDT), dust 0.000842 at 126.35 = 0.1063867 stays open:
    # realised 20.03477 - 19.9633 + 0.1063867 - 0.02003477 = 0.15782193 ; fees 0.000158 x
    # 126.35 = 0.0199633 + 0.02003477 = 0.03999807 ; the record (gross 0.158):
    # (127.61 - 126.35) x 0.158 - 0.03999807 = 0.15908193 from the averages, but the dust
    # stays open: the record's PnL is the realised 0.15782193
    assert (sol_record.quantity, sol_record.exit_price, sol_record.exit_time_ms) == (
        D("0.158"), D("127.61"), START_MS + 380_000,
    )  # fmt: skip
    # only dust left after the TP: the engine ends the group at the signal's take-profit
    # (aggregate_take_profit, its DCA legs cancelled), so the flow has nothing to close
    assert not sol.settled_by_flow

    report = flow_report(result)
    assert report.status == "SUCCESS"
    assert report.summary.total_trades == report.summary.closed_trades == 2
    # the report's PnL is the engine's realised one: 0.15782193 - 1.5950318149 =
    # -1.4372098849 -> -1.43720988 (8 places)
    assert (btc_record.realised_pnl, sol_record.realised_pnl) == (
        D("-1.5950318149"), D("0.15782193"),
    )  # fmt: skip
    assert report.summary.total_profit == D("-1.43720988")
    assert [t.profit_pnl for t in report.trades] == [D("-1.59503181"), D("0.15782193")]
    assert report.summary.win_rate == D("0.5")
    # 0.15782193 / 1.5950318149 = 0.0989459...
    assert report.summary.profit_factor == D("0.098946")
    assert report.kpis is not None and report.kpis.tp_hit_rate == D("0.5")
    latencies = {row.name: row for row in report.kpis.latencies}
    assert latencies["signal_to_fill"].max_ms == 0  # market entries fill on arrival
    assert latencies["entry_to_exit"].max_ms == 85_000
    # the equity curve starts at the flow's capital (2 trades x 100 USDT): 200, then
    # +0.15782193 at 00:06:20, then -1.5950318149 at 00:06:25: 198.5627901151,
    # written to 8 places (half-even) as the report writes money
    assert [row.total for row in report.equity] == [
        D(200),
        D("200.15782193"),
        D("198.56279012"),
    ]
    flow = report.model_extra["flow"] if report.model_extra else {}
    assert flow["kpis"]["position_success_rate"] == D(1)
    assert flow["kpis"]["prediction_accuracy"] == D("0.5")

    # the exchange's own book: the stop's market sell of the whole steps filled at 94470.45:
    # 0.00102 x 94470.45 = 96.359859
    orders = service.api.admin(
        "GET", "/admin/orders", params={"exchange": "binance", "symbol": "BTCUSDT"}
    ).json()["orders"]
    stop = [o for o in orders if "-stop-" in o["client_order_id"]]
    assert [(o["status"], o["filled_quantity"], o["cumulative_quote"]) for o in stop] == [
        ("FILLED", "0.00102000", "96.3598590000")
    ]


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


def test_an_absent_ai_engine_falls_back_to_the_built_in_predictor(
    service: RunningService,
) -> None:
    settings = FlowSettings(user_id=service.user_id, ai_url=f"http://127.0.0.1:{_closed_port()}")
    result = run_flow(service.api, settings)
    states = result.phase_states
    assert states.pop("prediction") == "failed"
    assert set(states.values()) == {"complete"}
    assert next(p for p in result.phases if p.name == "prediction").fallback == (
        "synthetic_prediction"
    )
    # the built-in predictor read the same path, so it predicts what the service would
    assert [(p.action, p.predicted_return, p.source) for p in result.predictions] == [
        ("buy", D("0.00249376"), "synthetic"),
        ("sell", D("-0.00200460"), "synthetic"),
        ("buy", D("0.00150602"), "synthetic"),
    ]
    # the rest of the flow is unchanged
    assert [(r.symbol, r.exit_price) for r in result.records] == [
        ("BTCUSDT", D("94470.45")),
        ("SOLUSDT", D("127.61")),
    ]
    failed = [c.name for c in result.checks if not c.passed]
    assert failed == [
        f"{s} prediction from the ai_engine" for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    ]
    # 8 of 9 phases, 26 of 29 checks (89.7 %): PARTIAL
    report = flow_report(result)
    assert report.status == "PARTIAL" == e2e_status(8, 26, 3)


def test_failing_fill_checks_simulate_the_fills_and_the_flow_goes_on(
    service: RunningService,
) -> None:
    api = FaultyApi(service.api, {"GET /trades/order/": lambda _n: 503})
    result = run_flow(api, FlowSettings(user_id=service.user_id))
    assert result.phase_states == {
        "initialization": "complete",
        "prediction": "complete",
        "signal_generation": "complete",
        "entry_logic": "complete",
        "order_placement": "complete",
        "fill_verification": "failed",
        "position_monitoring": "failed",
        "profit_taking": "failed",
        "settlement": "failed",
    }
    fallbacks = {p.name: p.fallback for p in result.phases if p.fallback}
    assert fallbacks == {
        "fill_verification": "simulated_fill",
        "position_monitoring": "simulated_position",
    }
    assert [sorted(t.simulated) for t in result.trades] == [["fill", "position"]] * 2
    # reported with the state the flow had: open, at the simulated fills
    assert [(r.symbol, r.is_closed, r.entry_price, r.quantity) for r in result.records] == [
        ("BTCUSDT", False, D("96472.26"), D("0.00020")),
        ("SOLUSDT", False, D("126.35"), D("0.158")),
    ]
    assert flow_report(result).status == "FAILURE"  # 5 of 9 phases


def test_a_failure_while_taking_profit_continues_to_settlement(service: RunningService) -> None:
    # the second path load (the exit moves) fails
    api = FaultyApi(service.api, {"POST /admin/path": lambda n: 500 if n == 2 else None})
    result = run_flow(api, FlowSettings(user_id=service.user_id))
    profit = next(p for p in result.phases if p.name == "profit_taking")
    assert (profit.state, profit.fallback) == ("failed", "continue_to_settlement")
    assert profit.error is not None and profit.error.startswith(
        "ServiceCallError: POST /admin/path: HTTP 500"
    )
    settlement = next(p for p in result.phases if p.name == "settlement")
    assert settlement.state == "failed"  # the trades are still open, and reported so
    assert [(r.symbol, r.is_closed) for r in result.records] == [
        ("BTCUSDT", False),
        ("SOLUSDT", False),
    ]
    # entry fees were paid: 0.1 % of 0.00020 x 96472.26 = 0.019294452 and of 0.158 x 126.35
    # = 0.0199633 (engine's realised PnL of the still-open trades)
    assert [r.realised_pnl for r in result.records] == [D("-0.0192944520"), D("-0.01996330")]
