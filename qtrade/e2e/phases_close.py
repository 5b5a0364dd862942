"""The flow's last four phases: fill verification, position monitoring, profit taking (TP
and stop, driven through the simulator's price path) and settlement (trade records from the
engine's own records).

Phase functions as in :mod:`qtrade.e2e.phases_open`; the ``simulate_*`` functions are the
error chart's fallbacks, applied per trade or by :mod:`qtrade.e2e.flow` after an error.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from engine.domain import ZERO, PositionSide
from qtrade.e2e.api import ServiceCallError
from qtrade.e2e.fills import Fill, FillPnl, base_fee_of, fills_of, pnl_from_fills
from qtrade.e2e.phases_open import dec, read_prices
from qtrade.e2e.prices import exit_target, path_yaml, weighted_average
from qtrade.e2e.state import FlowContext, PhaseLog, TradeState
from reports import TradeRecord

__all__ = [
    "EXIT_REASONS",
    "PRICE_QUANTUM",
    "fill_verification",
    "simulate_fill",
    "position_monitoring",
    "simulate_position",
    "profit_taking",
    "settlement",
    "record_current_state",
]

# closing order purpose (engine.domain.OrderPurpose) -> the report's exit reason
EXIT_REASONS = {
    "tp": "take_profit",
    "atp": "take_profit",
    "stop": "stop_loss",
    "exit": "exit",
    "risk": "risk",
    "reduce": "reduce",
}
PRICE_QUANTUM = Decimal("0.00000001")  # report averages: 8 decimal places, half-even
_ENTRY_PURPOSES = ("entry", "dca")


def _closing_side(trade: TradeState) -> str:
    return "sell" if trade.side == "long" else "buy"


# --------------------------------------------------------------------------- 6 fills


def simulate_fill(trade: TradeState, log: PhaseLog, reason: str) -> None:
    """FILL fallback: assume leg 0 filled as planned at the reference price."""
    trade.simulated.add("fill")
    trade.status = "filled"
    trade.fill_price = trade.reference_price
    trade.fill_quantity = trade.legs[0].quantity if trade.legs else None
    log.check(f"{trade.symbol} entry filled", False, f"{reason}; fill simulated")
    log.use_fallback("simulated_fill")


def _verify_fill(ctx: FlowContext, trade: TradeState) -> str:
    settings, calls = ctx.settings, ctx.calls
    order: dict[str, Any] = {}
    for attempt in range(settings.fill_poll_attempts):
        if attempt:
            calls.admin("POST", "/admin/advance", json={"seconds": str(settings.poll_seconds)})
        order = calls.service("GET", f"/trades/order/{trade.order_id}")
        if order.get("status") == "filled":
            break
    if order.get("status") != "filled":
        raise ValueError(
            f"order {trade.order_id} {order.get('status')} after "
            f"{settings.fill_poll_attempts} polls"
        )
    quantity = dec(order["filled_quantity"], "filled_quantity")
    price = dec(order["average_price"], "average_price")
    rows = calls.admin(
        "GET", "/admin/orders", params={"exchange": settings.exchange, "symbol": trade.symbol}
    )["orders"]
    seen = [r for r in rows if r.get("client_order_id") == order["client_order_id"]]
    on_exchange = (
        len(seen) == 1
        and seen[0]["status"] == "FILLED"
        and dec(seen[0]["filled_quantity"], "exchange.filled_quantity") == quantity
    )
    if not on_exchange:
        raise ValueError(f"the exchange does not show {order['client_order_id']} filled: {seen}")
    trade.status, trade.fill_quantity, trade.fill_price = "filled", quantity, price
    trade.fill_base_fee = base_fee_of(trade.symbol, fills_of(seen[0]))
    fee = f", base fee {trade.fill_base_fee:f}" if trade.fill_base_fee else ""
    return f"{quantity:f} @ {price:f}{fee}; exchange order {seen[0]['order_id']} FILLED"


def fill_verification(ctx: FlowContext, log: PhaseLog) -> None:
    """Poll each entry order until it is filled (advancing simulated time between polls) and
    check the exchange's own book shows the same fill. Otherwise the fill is simulated."""
    for trade in ctx.state.trades:
        if trade.status != "placed":
            continue
        try:
            message = _verify_fill(ctx, trade)
        except (ServiceCallError, ValueError, KeyError) as exc:
            simulate_fill(trade, log, str(exc))
            continue
        log.check(f"{trade.symbol} entry filled", True, message)


# --------------------------------------------------------------------------- 7 monitoring


def simulate_position(trade: TradeState, log: PhaseLog, reason: str) -> None:
    """MONITOR fallback: carry on with the position the fill implies."""
    trade.simulated.add("position")
    log.check(f"{trade.symbol} position tracked", False, f"{reason}; position simulated")
    log.use_fallback("simulated_position")


def _position_problems(trade: TradeState, row: dict[str, Any]) -> tuple[list[str], str]:
    quantity = dec(row["quantity"], "quantity")
    average = dec(row["average_entry"], "average_entry")
    mark = dec(row["mark_price"], "mark_price")
    unrealised = dec(row["unrealised_pnl"], "unrealised_pnl")
    sign = 1 if trade.side == "long" else -1
    expected = (mark - average) * quantity * sign  # SPEC §6.2
    assert trade.fill_quantity is not None
    # a long holds its fill net of the base asset the exchange kept as fee (the exchange's
    # fill records); a short's base fee does not change its quantity
    held = trade.fill_quantity - (trade.fill_base_fee if trade.side == "long" else ZERO)
    problems = []
    if quantity != held:
        problems.append(
            f"quantity {quantity:f} != filled {trade.fill_quantity:f} - base fee "
            f"{trade.fill_base_fee:f} = {held:f}"
        )
    if average != trade.fill_price:
        problems.append(f"average entry {average:f} != fill price {trade.fill_price}")
    if unrealised != expected:
        problems.append(f"unrealised {unrealised:f} != (mark - average) x qty = {expected:f}")
    return problems, f"{quantity:f} @ {average:f}, mark {mark:f}, unrealised {unrealised:f}"


def position_monitoring(ctx: FlowContext, log: PhaseLog) -> None:
    """Let time pass, then find every filled trade among the open positions with the right
    quantity, average and unrealised PnL, and the risk metrics counting them."""
    settings, calls = ctx.settings, ctx.calls
    if settings.monitor_seconds:
        calls.admin("POST", "/admin/advance", json={"seconds": str(settings.monitor_seconds)})
    rows = calls.service("GET", "/trades/positions", params={"user_id": settings.user_id})
    by_id = {str(r["trade_id"]): r for r in rows}
    real = 0
    for trade in ctx.state.trades:
        if trade.status != "filled":
            continue
        row = by_id.get(str(trade.trade_id))
        if row is None or "fill" in trade.simulated:
            simulate_position(trade, log, f"trade {trade.trade_id} is not an open position")
            continue
        real += 1
        problems, summary = _position_problems(trade, row)
        log.check(f"{trade.symbol} position tracked", not problems, "; ".join(problems) or summary)
    metrics = calls.service("GET", "/metrics", params={"user_id": settings.user_id})
    exposure = dec(metrics["exposure_usd"], "exposure_usd")
    cap = dec(metrics["max_total_exposure_usd"], "max_total_exposure_usd")
    log.check(
        "risk metrics track the positions",
        int(metrics["open_groups"]) >= real and exposure <= cap,
        f"open groups {metrics['open_groups']}, pool {metrics['pool_used']}/{metrics['pool_max']},"
        f" exposure {exposure:f} of {cap:f}",
    )


# --------------------------------------------------------------------------- 8 profit taking


def _levels_in_place(ctx: FlowContext, trade: TradeState, row: dict[str, Any] | None) -> str:
    """Problems with the trade's TP / stop (engine and exchange views), '' when in place."""
    if row is None:
        return "not an open position"
    problems = []
    targets = [dec(p, "take_profit_prices") for p in row.get("take_profit_prices", [])]
    if trade.take_profit not in targets:
        problems.append(
            f"take-profit {trade.take_profit} not in {[format(t, 'f') for t in targets]}"
        )
    stop = row.get("stop_price")
    if stop is None or dec(stop, "stop_price") != trade.stop_loss:
        problems.append(f"stop {stop} != {trade.stop_loss}")
    resting = ctx.calls.admin(
        "GET",
        "/admin/orders",
        params={"exchange": ctx.settings.exchange, "symbol": trade.symbol, "open_only": "true"},
    )["orders"]
    tp_orders = [
        o
        for o in resting
        if o["side"] == _closing_side(trade) and "-tp-" in str(o.get("client_order_id"))
    ]
    if not tp_orders:
        problems.append("no take-profit order rests on the exchange")
    return "; ".join(problems)


def _exit_result(ctx: FlowContext, trade: TradeState) -> tuple[bool, str | None]:
    """(flat or closed, reason of the closing fills by quantity) from the engine's records."""
    group = ctx.calls.service("GET", f"/positions/{trade.trade_id}")
    flat = group["status"] == "closed" or (
        dec(group["open_quantity"], "open_quantity") == 0
        and dec(group["filled_quantity"], "filled_quantity") > 0
    )
    if not flat:
        return False, None
    orders = ctx.calls.service("GET", "/orders", params={"group_id": trade.trade_id})
    closed: dict[str, Decimal] = {}
    for order in orders:
        filled = dec(order["filled_quantity"], "filled_quantity")
        if order["side"] == _closing_side(trade) and filled > 0:
            reason = EXIT_REASONS.get(order["purpose"], order["purpose"])
            closed[reason] = closed.get(reason, ZERO) + filled
    if not closed:
        return True, None
    return True, max(sorted(closed), key=lambda reason: closed[reason])


def profit_taking(ctx: FlowContext, log: PhaseLog) -> None:
    """Check each trade's TP and stop are in place, then move the market through them: the
    trades take turns (``settings.exit_cycle``), each driven ``exit_overshoot_percent`` past
    its level over ``exit_move_seconds``; simulated time advances ``poll_seconds`` at a time
    until every trade is flat or ``exit_timeout_seconds`` have passed."""
    settings, calls, state = ctx.settings, ctx.calls, ctx.state
    live = [t for t in state.trades if t.is_real and "position" not in t.simulated]
    rows = calls.service("GET", "/trades/positions", params={"user_id": settings.user_id})
    by_id = {str(r["trade_id"]): r for r in rows}
    targets: dict[str, Decimal] = {}
    for index, trade in enumerate(live):
        problems = _levels_in_place(ctx, trade, by_id.get(str(trade.trade_id)))
        log.check(
            f"{trade.symbol} TP and stop in place",
            not problems,
            problems or f"TP {trade.take_profit}, stop {trade.stop_loss}",
        )
        trade.exit_plan = settings.exit_plan(index)
        level = trade.take_profit if trade.exit_plan == "take_profit" else trade.stop_loss
        assert level is not None
        rising = (trade.exit_plan == "take_profit") == (trade.side == "long")
        tick = state.markets[trade.symbol].tick_size
        trade.exit_target = exit_target(level, rising, settings.exit_overshoot_percent, tick)
        targets[trade.symbol] = trade.exit_target
    if not targets:
        log.check("trades to take profit on", False, "no filled trade")
        return
    start = read_prices(ctx)
    text = path_yaml(start, targets, settings.exit_move_seconds, settings.poll_seconds)
    calls.admin("POST", "/admin/path", json={"yaml": text})
    pending = list(live)
    waited = 0
    while pending and waited < settings.exit_timeout_seconds:
        calls.admin("POST", "/admin/advance", json={"seconds": str(settings.poll_seconds)})
        waited += settings.poll_seconds
        for trade in list(pending):
            flat, reason = _exit_result(ctx, trade)
            if flat:
                trade.exit_result = reason
                pending.remove(trade)
    for trade in live:
        hit = trade.exit_result == trade.exit_plan
        label = "take-profit" if trade.exit_plan == "take_profit" else "stop"
        detail = (
            f"still open after {settings.exit_timeout_seconds} s"
            if trade in pending
            else f"closed by {trade.exit_result}"
        )
        log.check(
            f"{trade.symbol} {label} hit",
            hit,
            f"market moved to {trade.exit_target} past the {label}; {detail}",
        )


# --------------------------------------------------------------------------- 9 settlement


def _fills(
    orders: list[dict[str, Any]], side: str, purposes: tuple[str, ...] | None
) -> list[tuple[Decimal, Decimal, int]]:
    """(quantity, average price, time ms) of the filled orders of one side."""
    parts = []
    for order in orders:
        filled = dec(order["filled_quantity"], "filled_quantity")
        if order["side"] != side or filled <= 0:
            continue
        if purposes is not None and order["purpose"] not in purposes:
            continue
        parts.append(
            (filled, dec(order["average_price"], "average_price"), int(order["updated_at_ms"]))
        )
    return parts


def _quantise(value: Decimal) -> Decimal:
    return value.quantize(PRICE_QUANTUM, rounding=ROUND_HALF_EVEN).normalize()


def _from_fills(ctx: FlowContext, trade: TradeState, orders: list[dict[str, Any]]) -> FillPnl:
    """The realised PnL recomputed from the exchange's fill records of the group's orders
    (formula: :mod:`qtrade.e2e.fills`), never from the engine's realised figure."""
    rows = ctx.calls.admin(
        "GET", "/admin/orders", params={"exchange": ctx.settings.exchange, "symbol": trade.symbol}
    )["orders"]
    on_exchange = {str(r.get("client_order_id")): r for r in rows}
    entry_side = "buy" if trade.side == "long" else "sell"
    entries: list[tuple[str, list[Fill]]] = []
    exits = []
    for order in orders:
        client_id = str(order["client_order_id"])
        if dec(order["filled_quantity"], "filled_quantity") <= 0:
            continue
        row = on_exchange.get(client_id)
        if row is None:
            raise ValueError(f"client_order_id: {client_id} filled but not on the exchange")
        if order["side"] == entry_side and order["purpose"] in _ENTRY_PURPOSES:
            entries.append((client_id, fills_of(row)))
        elif order["side"] == _closing_side(trade):
            exits.append(fills_of(row))
    step = ctx.state.markets[trade.symbol].step_size
    return pnl_from_fills(trade.symbol, trade.side == "long", entries, exits, step)


def _record(
    ctx: FlowContext, trade: TradeState, group: dict[str, Any], orders: list[dict[str, Any]]
) -> tuple[TradeRecord, FillPnl]:
    """The trade's record from the engine's orders, and the realised PnL recomputed from
    the exchange's fills: sign x (closing quote - entry quote + dust at cost) - quote fees -
    base fees that did not shrink the held quantity (see :mod:`qtrade.e2e.fills`)."""
    entry_side = "buy" if trade.side == "long" else "sell"
    entries = _fills(orders, entry_side, _ENTRY_PURPOSES)
    exits = _fills(orders, _closing_side(trade), None)
    quantity, entry_price = weighted_average([(q, p) for q, p, _ in entries])
    entry_time = min(t for _, _, t in entries)
    fees = dec(group["fees"], "fees")
    recomputed = _from_fills(ctx, trade, orders)
    closed = group["status"] == "closed"
    exit_price = exit_time = None
    if closed and exits:
        _, average = weighted_average([(q, p) for q, p, _ in exits])
        exit_price, exit_time = _quantise(average), max(t for _, _, t in exits)
    record = TradeRecord(
        trade_id=str(trade.trade_id),
        symbol=trade.symbol,
        side=PositionSide(trade.side),
        entry_price=_quantise(entry_price),
        quantity=quantity,
        entry_time_ms=entry_time,
        exit_price=exit_price,
        exit_time_ms=exit_time,
        fees=fees,
        exchange=ctx.settings.exchange,
        timeframe=ctx.settings.timeframe,
        exit_reason=trade.exit_result if exit_price is not None else None,
        open_realised_pnl=ZERO if exit_price is not None else dec(group["realised_pnl"], "pnl"),
        pyramids=int(group["pyramid_count"]),
        # a sub-step remainder stayed open at cost: less than the quantity was sold at the
        # exit price, so the PnL is the one recomputed from the fills (the settlement check
        # compares it with the engine's)
        closed_pnl=recomputed.realised if exit_price is not None and recomputed.dust else None,
    )
    if exit_time is not None and entry_time <= exit_time:
        ctx.state.engine_latencies_ms.setdefault("entry_to_exit", []).append(exit_time - entry_time)
    entry_order = next((o for o in orders if o["client_order_id"] == trade.order_id), None)
    if entry_order is not None:
        ctx.state.engine_latencies_ms.setdefault("signal_to_fill", []).append(
            int(entry_order["updated_at_ms"]) - int(entry_order["created_at_ms"])
        )
    return record, recomputed


def _settle(ctx: FlowContext, trade: TradeState, log: PhaseLog) -> Decimal:
    calls = ctx.calls
    group = calls.service("GET", f"/positions/{trade.trade_id}")
    flat = dec(group["open_quantity"], "open_quantity") == 0
    if group["status"] != "closed" and flat:
        # the take-profit sold the whole position; close the group so its unfilled DCA
        # orders are cancelled and its pool slot is released
        calls.service("POST", f"/positions/{trade.trade_id}/close")
        trade.settled_by_flow = True
        group = calls.service("GET", f"/positions/{trade.trade_id}")
    orders = calls.service("GET", "/orders", params={"group_id": trade.trade_id})
    record, recomputed = _record(ctx, trade, group, orders)
    trade.record = record
    engine_pnl = dec(group["realised_pnl"], "realised_pnl")
    trade.status = "closed" if group["status"] == "closed" else "open"
    dust = f", dust {recomputed.dust:f} open at cost {recomputed.dust_cost:f}"
    log.check(
        f"{trade.symbol} settled",
        trade.status == "closed" and recomputed.realised == engine_pnl,
        f"{group['status']} ({group.get('close_reason')}), realised {engine_pnl:f}, "
        f"from fills {recomputed.realised:f}"
        + (dust if recomputed.dust else "")
        + (", resting orders cancelled" if trade.settled_by_flow else ""),
    )
    return engine_pnl


def record_current_state(ctx: FlowContext) -> None:
    """SETTLEMENT fallback: trades without a record are reported as they were last seen
    (open; simulated ones at their simulated fill)."""
    settings = ctx.settings
    at_ms = ctx.state.start_clock_ms
    for trade in ctx.state.trades:
        if trade.record is not None or trade.fill_quantity is None or trade.fill_price is None:
            continue
        trade.record = TradeRecord(
            trade_id=str(trade.trade_id or f"simulated-{trade.symbol}"),
            symbol=trade.symbol,
            side=PositionSide(trade.side),
            entry_price=trade.fill_price,
            quantity=trade.fill_quantity,
            entry_time_ms=at_ms,
            exchange=settings.exchange,
            timeframe=settings.timeframe,
        )


def settlement(ctx: FlowContext, log: PhaseLog) -> None:
    """Record every trade from the engine's records (closing a group whose position is flat
    but which still holds unfilled DCA orders), recompute its PnL from the fills, check no
    trade is left open and the metrics moved by exactly the trades' PnL."""
    settings, calls, state = ctx.settings, ctx.calls, ctx.state
    realised = ZERO
    closed = 0
    for trade in state.trades:
        if not trade.is_real:
            if trade.fill_quantity is not None:
                log.check(f"{trade.symbol} settled", False, "no engine record (simulated fill)")
            continue
        realised += _settle(ctx, trade, log)
        closed += trade.status == "closed"
    record_current_state(ctx)
    still_open = [
        str(r["trade_id"])
        for r in calls.service("GET", "/trades/positions", params={"user_id": settings.user_id})
    ]
    ours = [t.trade_id for t in state.trades if t.trade_id in still_open]
    log.check("no trade left open", not ours, f"open: {ours}" if ours else "all settled")
    metrics = calls.service("GET", "/metrics", params={"user_id": settings.user_id})
    moved = dec(metrics["realised_pnl"], "realised_pnl") - state.metrics_before["realised_pnl"]
    newly_closed = int(metrics["closed_groups"]) - int(state.metrics_before["closed_groups"])
    log.check(
        "metrics agree with the trades",
        moved == realised and newly_closed == closed,
        f"realised PnL moved {moved:f} (trades {realised:f}); {newly_closed} groups closed "
        f"(trades {closed}); win rate {metrics.get('win_rate')}",
    )
