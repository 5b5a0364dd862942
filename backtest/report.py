"""Turn a replay's recording into the backtest report (:mod:`reports.backtest`) and a run
summary (status, skipped signals, rejections, outcome counts).

Trades are position groups that filled at least one entry. A closed group's trade is its
round trip: entry price = quantity-weighted average of the entry fills, exit price = of the
close fills, quantity = the quantity closed, fees = every fee in the quote currency; its PnL
is then ``(exit − entry) × quantity − fees`` (the engine's realised PnL differs only by the
cost of a dust remainder too small to sell). A group still open at the end is an open trade
carrying the engine's realised PnL so far.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from backtest.recorder import FillEntry, Recording, TradeSummary
from backtest.replay import ReplayResult
from reports.backtest import build_backtest_report
from reports.model import BacktestReport
from reports.numbers import iso_ms
from reports.records import FillRecord, TradeRecord

__all__ = ["trade_records", "fill_records", "backtest_report", "run_summary"]

_MAX_LISTED_FILLS = 20_000


def _trade_id(summary: TradeSummary, several_users: bool) -> str:
    return f"{summary.user_id}/{summary.group_id}" if several_users else summary.group_id


def trade_records(recording: Recording) -> list[TradeRecord]:
    """One trade per group that bought or sold anything, in order of first entry."""
    several = len({user for user, _ in recording.trades}) > 1
    trades = []
    for summary in recording.trades.values():
        if summary.entry_quantity <= 0 or summary.first_entry_ms is None or not summary.side:
            continue
        entry_price = summary.entry_cost / summary.entry_quantity
        closed = summary.status == "closed" and summary.close_quantity > 0
        common: dict[str, Any] = {
            "trade_id": _trade_id(summary, several),
            "symbol": summary.symbol,
            "side": summary.side,
            "entry_price": entry_price,
            "entry_time_ms": summary.first_entry_ms,
            "fees": summary.fees_quote,
            "exchange": summary.exchange,
            "timeframe": summary.timeframe,
            "pyramids": summary.pyramids or None,
        }
        if closed:
            exit_ms = summary.closed_at_ms or summary.last_close_ms or summary.first_entry_ms
            trades.append(
                TradeRecord(
                    **common,
                    quantity=summary.close_quantity,
                    exit_price=summary.close_proceeds / summary.close_quantity,
                    exit_time_ms=max(exit_ms, summary.first_entry_ms),
                    exit_reason=summary.close_reason,
                )
            )
        else:
            open_quantity = summary.open_quantity
            trades.append(
                TradeRecord(
                    **common,
                    quantity=open_quantity if open_quantity > 0 else summary.entry_quantity,
                    open_realised_pnl=summary.realised_usd,
                )
            )
    trades.sort(key=lambda t: (t.entry_time_ms, t.trade_id))
    return trades


def _fill_record(fill: FillEntry, several_users: bool) -> FillRecord:
    group = f"{fill.user_id}/{fill.group_id}" if several_users else fill.group_id
    return FillRecord(
        at_ms=fill.at_ms,
        group_id=group,
        symbol=fill.symbol,
        pyramid_index=fill.pyramid_index or 0,  # closes of several legs carry no index
        leg_index=fill.leg_index or 0,
        purpose=fill.purpose,  # type: ignore[arg-type]  # validated by FillRecord
        side=fill.side,  # type: ignore[arg-type]
        price=fill.price,
        quantity=fill.quantity,
        fee=fill.fee,
        fee_currency=fill.fee_asset or "USDT",
        client_order_id=fill.client_order_id,
    )


def fill_records(recording: Recording) -> list[FillRecord]:
    several = len({fill.user_id for fill in recording.fills}) > 1
    return [_fill_record(fill, several) for fill in recording.fills]


def backtest_report(
    result: ReplayResult,
    *,
    starting_equity: Decimal,
    parameters: Mapping[str, str],
    title: str = "Backtest",
    started: datetime | None = None,
    completed: datetime | None = None,
) -> BacktestReport:
    """The report of one replay (an interrupted run is marked in its title and parameters)."""
    recording = result.recording
    fills = fill_records(recording)
    shown = dict(parameters)
    shown["status"] = result.status
    shown["replayed_until"] = iso_ms(result.end_ms)
    if result.status != "completed":
        title = f"{title} ({result.status})"
    return build_backtest_report(
        trades=trade_records(recording),
        equity=recording.equity,
        starting_equity=starting_equity,
        fills=fills,
        risk_actions=recording.risk_actions,
        queue_events=recording.queue_events,
        exposure=recording.exposure,
        parameters=shown,
        started=started,
        completed=completed,
        title=title,
        include_fills=len(fills) <= _MAX_LISTED_FILLS,
    )


def run_summary(result: ReplayResult) -> dict[str, Any]:
    """What the report does not carry: run status, signals skipped, orders rejected, outcome
    counts and how many moments the replay visited (JSON-able)."""
    recording = result.recording
    outcomes = Counter(entry.outcome.outcome for entry in recording.outcomes)
    reasons = Counter(
        f"{entry.outcome.outcome}:{entry.outcome.reason}"
        for entry in recording.outcomes
        if entry.outcome.reason
    )
    return {
        "status": result.status,
        "start": iso_ms(result.start_ms),
        "replayed_until": iso_ms(result.end_ms),
        "moments_visited": result.moments,
        "event_times": result.event_times,
        "ticks_replayed": result.ticks_replayed,
        "stops_by_reason": dict(sorted(result.stats.items())),
        "orders_placed": len(recording.orders),
        "fills": len(recording.fills),
        "risk_actions": len(recording.risk_actions),
        "outcomes": dict(sorted(outcomes.items())),
        "outcome_reasons": dict(sorted(reasons.items())),
        "skipped_signals": [
            {"line": s.line, "user_id": s.user_id, "time": iso_ms(s.at_ms), "reason": s.reason}
            for s in recording.skipped
        ],
        "rejections": [
            {
                "time": iso_ms(r.at_ms),
                "user_id": r.user_id,
                "client_order_id": r.client_order_id,
                "reason": r.reason,
                "message": r.message,
            }
            for r in recording.rejections
        ],
    }
