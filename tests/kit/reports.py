"""Builders for the reports tests: the seed's e2e trades (with the seed's prices), a small
backtest run, scenario results and the recorded pytest-bdd cucumber JSON sample."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.domain import OrderPurpose, OrderSide, RiskAction, RiskWinnerClose
from reports.e2e import build_e2e_report
from reports.model import E2E_PHASES, BacktestReport, E2EReport, TestingPlanReport
from reports.records import (
    CheckResult,
    EquityPoint,
    ExposurePoint,
    FillRecord,
    QueueEventRecord,
    ScenarioResult,
    TradeRecord,
)

__all__ = [
    "D",
    "T0",
    "HOUR",
    "DAY",
    "STARTED",
    "COMPLETED",
    "CUCUMBER_SAMPLE",
    "cucumber_sample",
    "seed_trades",
    "seed_e2e_report",
    "scenario",
    "backtest_inputs",
    "backtest_report",
    "plan_report",
]

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
HOUR = 3_600_000
DAY = 86_400_000
STARTED = datetime(2026, 2, 4, 10, 15, 23, 456789, tzinfo=UTC)
COMPLETED = datetime(2026, 2, 4, 10, 16, 8, 789012, tzinfo=UTC)
CUCUMBER_SAMPLE = (
    Path(__file__).resolve().parents[1] / "unit" / "reports" / "data" / "cucumber_pytest_bdd8.json"
)


def D(text: str | int) -> Decimal:
    return Decimal(text)


def cucumber_sample() -> Any:
    """pytest-bdd 8.1 ``--cucumberjson`` output recorded from a real run: phase1/entry.feature
    (t1_1 passed, t1_2 failed at its 3rd step, t1_10 outline with two rows) and
    phase2/queue.feature (t2_2 passed, no phase tag)."""
    return json.loads(CUCUMBER_SAMPLE.read_text(encoding="utf-8"))


def seed_trades() -> list[TradeRecord]:
    """The e2e flow's three sample trades, at the seed's prices and quantities."""
    start = 1_770_200_123_456  # 2026-02-04T10:15:23.456Z
    return [
        TradeRecord(
            "TRADE_1707040523456", "BTCUSDT", "long", D("42500.50"), D("0.00235"),
            start + 2_667, D("43335.51"), start + 39_333, exchange="binance",
            exit_reason="take_profit",
        ),
        TradeRecord(
            "TRADE_1707040524789", "ETHUSDT", "short", D("2400.00"), D("0.0416"),
            start + 4_778, D("2352.00"), start + 42_000, exchange="binance",
            exit_reason="take_profit",
        ),
        TradeRecord(
            "TRADE_1707040526012", "SOLUSDT", "long", D("120.45"), D("0.826"),
            start + 6_889, D("122.86"), start + 44_222, exchange="binance",
            exit_reason="stop_loss",
        ),
    ]  # fmt: skip


def seed_e2e_report(**overrides: Any) -> E2EReport:
    arguments: dict[str, Any] = {
        "started": STARTED,
        "completed": COMPLETED,
        "phases": {name: "complete" for name in E2E_PHASES},
        "checks": [CheckResult(name, f"{name} ok", True) for name in E2E_PHASES]
        + [CheckResult("settlement", "journal written", True)] * 9,
        "trades": seed_trades(),
        "orders_placed": 3,
        "orders_filled": 3,
        "latencies_ms": {"signal_to_fill": [120, 80, 100]},
    }
    arguments.update(overrides)
    return build_e2e_report(**arguments)


def scenario(
    key: str,
    status: str = "passed",
    *,
    test_id: str = "t1_1",
    phase: str = "phase1",
    name: str = "A scenario",
    seconds: str = "0.5",
    message: str | None = None,
) -> ScenarioResult:
    failed = status == "failed"
    return ScenarioResult(
        key=key,
        test_id=test_id,
        name=name,
        phase=phase,
        status=status,
        feature=f"{phase}/x.feature",
        tags=(phase, test_id),
        steps_total=3,
        steps_passed=2 if failed else (0 if status == "skipped" else 3),
        failing_step="Then it fails" if failed else None,
        message=(message or "expected 1, got 2") if failed else None,
        location="tests/x.py:1: AssertionError" if failed else None,
        duration_seconds=D(seconds),
    )


def backtest_inputs() -> dict[str, Any]:
    """A four-day run with starting equity 1000 (PnL worked out in the tests)."""
    trades = [
        # long 2 @ 100 -> 110, fees 0.5: (110 - 100) * 2 - 0.5 = 19.5
        TradeRecord("bt1", "BTCUSDT", "long", D(100), D(2), T0 + HOUR, D(110), T0 + 5 * HOUR,
                    fees=D("0.5"), exchange="binance", timeframe=60, exit_reason="take_profit",
                    pyramids=1),
        # short 4 @ 50 -> 55, fees 0.2: (50 - 55) * 4 - 0.2 = -20.2
        TradeRecord("bt2", "ETHUSDT", "short", D(50), D(4), T0 + 2 * HOUR, D(55),
                    T0 + DAY + 3 * HOUR, fees=D("0.2"), exchange="binance", timeframe=15,
                    exit_reason="stop_loss", pyramids=1),
        # long 1 @ 200 -> 190: -10
        TradeRecord("bt3", "BTCUSDT", "long", D(200), D(1), T0 + DAY, D(190),
                    T0 + 2 * DAY + HOUR, exchange="binance", timeframe=15, exit_reason="exit",
                    pyramids=2),
        # open, 3 realised by a partial risk close
        TradeRecord("bt4", "SOLUSDT", "long", D(20), D(5), T0 + 2 * DAY, exchange="bybit",
                    timeframe=60, open_realised_pnl=D(3), pyramids=1),
        # long 1 @ 100 -> 130: 30
        TradeRecord("bt5", "BTCUSDT", "long", D(100), D(1), T0 + 3 * DAY, D(130),
                    T0 + 3 * DAY + 2 * HOUR, exchange="binance", timeframe=60,
                    exit_reason="take_profit", pyramids=1),
    ]  # fmt: skip
    equity = [
        EquityPoint(T0, D(1000), D(1000)),
        EquityPoint(T0 + 5 * HOUR, D("1019.5"), D("1019.5")),
        EquityPoint(T0 + DAY + 3 * HOUR, D("999.3"), D("999.3")),
        EquityPoint(T0 + 2 * DAY + HOUR, D("989.3"), D("989.3")),
        EquityPoint(T0 + 2 * DAY + 6 * HOUR, D(995), D("992.3")),
        EquityPoint(T0 + 3 * DAY + 2 * HOUR, D("1022.3"), D("1022.3")),
    ]

    def fill(group: str, pyramid: int, leg: int, purpose: OrderPurpose, qty: str) -> FillRecord:
        side = OrderSide.SELL if purpose is OrderPurpose.TAKE_PROFIT else OrderSide.BUY
        return FillRecord(
            at_ms=T0 + HOUR, group_id=group, symbol="BTCUSDT", pyramid_index=pyramid,
            leg_index=leg, purpose=purpose, side=side, price=D(100), quantity=D(qty),
            fee=D("0.01"), fee_currency="USDT",
            client_order_id=f"{group}-{pyramid}-{leg}-{purpose}",
        )  # fmt: skip

    fills = [
        fill("bt1", 0, 0, OrderPurpose.ENTRY, "1"),
        fill("bt1", 0, 1, OrderPurpose.DCA, "0.5"),
        fill("bt1", 0, 1, OrderPurpose.DCA, "0.5"),  # second partial fill of the same leg
        fill("bt1", 0, 0, OrderPurpose.TAKE_PROFIT, "1"),  # not an entry leg
        fill("bt2", 0, 0, OrderPurpose.ENTRY, "4"),
        fill("bt3", 0, 0, OrderPurpose.ENTRY, "0.2"),
        fill("bt3", 0, 1, OrderPurpose.DCA, "0.3"),
        fill("bt3", 0, 2, OrderPurpose.DCA, "0.5"),
        fill("bt3", 1, 0, OrderPurpose.ENTRY, "0.1"),
    ]
    exposure = [
        ExposurePoint(T0, D(0), 0, 3),
        ExposurePoint(T0 + 2 * HOUR, D(400), 2, 3),
        ExposurePoint(T0 + DAY, D(600), 3, 3),
        ExposurePoint(T0 + 3 * DAY, D(200), 2, 3),
    ]
    risk = [
        RiskAction(
            action_id="ra1", user_id="maaz", loser_group_id="bt2", loser_loss_percent=D("-4.5"),
            loser_loss_usd=D("-9"), loser_close_quantity=D(2), covered_usd=D(9),
            winners=(RiskWinnerClose("bt4", D(1), D("9.3")),), net_usd=D("0.3"),
            at_ms=T0 + DAY + HOUR,
        )
    ]  # fmt: skip
    queue = [
        QueueEventRecord(T0 + DAY, "queued", "s1", "XRPUSDT", "long", 60, "binance", "pool_full",
                         1),
        QueueEventRecord(T0 + DAY + 1, "replaced", "s2", "XRPUSDT", "long", 60, "binance", None, 1),
        QueueEventRecord(T0 + 2 * DAY, "promoted", "s2", "XRPUSDT", "long", 60, "binance", None, 0),
    ]  # fmt: skip
    return {
        "trades": trades,
        "equity": equity,
        "starting_equity": D(1000),
        "fills": fills,
        "risk_actions": risk,
        "queue_events": queue,
        "exposure": exposure,
        "parameters": {"tp_mode": "per_leg", "config": "scenarios/users/maaz.json"},
        "title": "Backtest sample",
    }


def backtest_report(**overrides: Any) -> BacktestReport:
    from reports.backtest import build_backtest_report

    arguments = backtest_inputs()
    arguments.update(overrides)
    return build_backtest_report(**arguments)


def plan_report(extra: list[ScenarioResult] | None = None, **overrides: Any) -> TestingPlanReport:
    from reports.cucumber import parse_cucumber_json
    from reports.testing_plan import build_testing_plan_report

    arguments: dict[str, Any] = {
        "scenarios": parse_cucumber_json(cucumber_sample()) + list(extra or []),
        "trades": seed_trades(),
        "orders_placed": 4,
        "orders_filled": 3,
        "latencies_ms": {"signal_to_fill": [10, 20, 30, 40]},
        "wall_latencies_ms": {"webhook_response": [5, 7]},
        "started": STARTED,
        "completed": COMPLETED,
        "e2e": seed_e2e_report(),
    }
    arguments.update(overrides)
    return build_testing_plan_report(**arguments)
