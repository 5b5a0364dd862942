"""``e2e_report.json`` from a :class:`~qtrade.e2e.flow.FlowResult`.

The seed's keys and the report package's sections come from
:func:`reports.build_e2e_report`; the flow adds one extra top-level key, ``flow``: the
settings that shaped the run, every prediction (and where it came from), what signal
generation made of it, each trade's plan (TP, stop, which level the market was driven
through) and the flow's own KPIs (position success rate, prediction accuracy). Nothing in
``flow`` comes from the wall clock, so two runs give the same ``flow``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.domain import ZERO
from qtrade.e2e.flow import FlowResult
from qtrade.e2e.predictor import Prediction
from qtrade.e2e.state import TradeState
from reports import E2EReport, build_e2e_report
from reports.numbers import ratio

__all__ = ["flow_report", "flow_section", "flow_starting_equity", "FLOW_TITLE"]

FLOW_TITLE = "E2E prediction-to-profit flow"


def _prediction(found: Prediction, error: str | None) -> dict[str, Any]:
    return {
        "symbol": found.symbol,
        "exchange": found.exchange,
        "action": found.action.upper(),
        "confidence": found.confidence,
        "predicted_return": found.predicted_return,
        "price": found.price,
        "source": found.source,
        "model": found.model,
        "ai_error": error,
    }


def _trade(trade: TradeState) -> dict[str, Any]:
    return {
        "symbol": trade.symbol,
        "side": trade.side,
        "status": trade.status,
        "trade_id": trade.trade_id,
        "entry_order_id": trade.order_id,
        "reference_price": trade.reference_price,
        "take_profit": trade.take_profit,
        "stop_loss": trade.stop_loss,
        "fill_quantity": trade.fill_quantity,
        "fill_price": trade.fill_price,
        "exit_plan": trade.exit_plan,
        "exit_target": trade.exit_target,
        "exit_result": trade.exit_result,
        "settled_by_flow": trade.settled_by_flow,
        "simulated": sorted(trade.simulated),
        "failure": trade.failure,
    }


def _rate(numerator: int, denominator: int) -> Decimal | None:
    return ratio(Decimal(numerator) / denominator) if denominator else None


def flow_section(result: FlowResult) -> dict[str, Any]:
    """The ``flow`` key of the report (deterministic: no wall-clock value)."""
    settings = result.settings
    filled = [t for t in result.trades if t.fill_quantity is not None]
    tracked = [t for t in filled if t.is_real and "position" not in t.simulated]
    closed = [t.record for t in result.trades if t.record is not None and t.record.is_closed]
    right = 0
    for record in closed:
        assert record.exit_price is not None
        right += (record.exit_price - record.entry_price) * record.side.sign > ZERO
    ai = "none" if not settings.use_ai else (settings.ai_url or "service /signals/predict")
    return {
        "exchange": settings.exchange,
        "symbols": list(settings.symbols),
        "user_id": settings.user_id,
        "ai_engine": ai,
        "settings": {
            "capital_usd": settings.capital_usd,
            "take_profit_percent": settings.take_profit_percent,
            "stop_loss_percent": settings.stop_loss_percent,
            "min_confidence": settings.min_confidence,
            "allow_short": settings.allow_short,
            "warmup_seconds": settings.warmup_seconds,
            "sample_seconds": settings.sample_seconds,
            "exit_cycle": list(settings.exit_cycle),
            "exit_overshoot_percent": settings.exit_overshoot_percent,
            "exit_move_seconds": settings.exit_move_seconds,
        },
        "predictions": [
            _prediction(p, result.prediction_errors.get(p.symbol)) for p in result.predictions
        ],
        "signals": [
            {
                "symbol": n.symbol,
                "action": n.action,
                "side": n.side,
                "status": n.status,
                "reason": n.reason,
            }
            for n in result.signals
        ],
        "trades": [_trade(t) for t in result.trades],
        "kpis": {
            "predictions_from_ai": sum(1 for p in result.predictions if p.source != "synthetic"),
            "actionable_signals": sum(1 for n in result.signals if n.status == "actionable"),
            "position_success_rate": _rate(len(tracked), len(filled)),
            "prediction_accuracy": _rate(right, len(closed)),
        },
        "stopped": result.stopped,
    }


def flow_starting_equity(result: FlowResult) -> Decimal:
    """The flow's capital: ``capital_usd`` for every trade that reached the exchange. The
    equity curve starts there, so its drawdown percentages are of the money at stake (a
    curve starting at 0 has no meaningful percentage)."""
    return result.settings.capital_usd * result.orders_placed


def flow_report(result: FlowResult, *, title: str = FLOW_TITLE) -> E2EReport:
    """The flow's ``e2e_report.json`` document (seed schema + report sections + ``flow``)."""
    report = build_e2e_report(
        started=result.started,
        completed=result.completed,
        phases=result.phase_states,
        checks=result.checks,
        trades=result.records,
        orders_placed=result.orders_placed,
        orders_filled=result.orders_filled,
        fallbacks={p.name: p.fallback for p in result.phases if p.fallback},
        latencies_ms=result.engine_latencies_ms,
        wall_latencies_ms=result.wall_latencies_ms,
        phase_seconds={p.name: p.seconds for p in result.phases},
        starting_equity=flow_starting_equity(result),
        title=title,
    )
    return E2EReport.model_validate({**report.to_dict(), "flow": flow_section(result)})
