"""The flow's first five phases: initialisation, prediction, signal generation, entry logic
(order plan and risk gate) and order placement.

Each phase is ``phase(ctx, log)``: it records its checks in ``log`` and handles failures of
single items itself (one symbol's prediction, one trade's order) with the fallback of the
flow's error chart; an exception that escapes is handled by :mod:`qtrade.e2e.flow`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.domain import to_decimal
from qtrade.e2e.api import ServiceCallError
from qtrade.e2e.predictor import PredictionError
from qtrade.e2e.prices import MarketInfo, leg_sizes, path_yaml, protective_levels
from qtrade.e2e.state import FlowContext, FlowStopped, PhaseLog, SignalNote, TradeState

__all__ = [
    "dec",
    "read_prices",
    "initialization",
    "prediction",
    "synthesize_missing_predictions",
    "signal_generation",
    "entry_logic",
    "order_placement",
]

_SIDES = {"buy": "long", "sell": "short"}


def dec(value: Any, field: str) -> Decimal:
    """A number from a service answer (string or Decimal) as a Decimal, naming the field."""
    return to_decimal(value, field=field)


def read_prices(ctx: FlowContext) -> dict[str, Decimal]:
    """The exchange's current prices of the flow's symbols (simulator admin API)."""
    exchange = ctx.settings.exchange
    answer = ctx.calls.admin("GET", "/admin/prices", params={"exchange": exchange})
    table = answer[exchange]
    prices = {s: dec(table[s], f"prices.{s}") for s in ctx.settings.symbols if s in table}
    ctx.state.last_prices.update(prices)
    return prices


# --------------------------------------------------------------------------- 1 initialisation


def _grid(config: dict[str, Any]) -> list[dict[str, Decimal]]:
    levels = config["dca_grid_config"]["levels"]
    return [
        {key: dec(level[key], f"levels[{i}].{key}") for key in ("gap_percent", "weight_percent")}
        for i, level in enumerate(levels)
    ]


def initialization(ctx: FlowContext, log: PhaseLog) -> None:
    """Environment and backend: service health, the user, price control, market rules.
    Any failed check stops the flow (fatal, as the error chart says)."""
    settings, calls, state = ctx.settings, ctx.calls, ctx.state
    started = ctx.perf_counter()
    health = calls.service("GET", "/health")
    ctx.timed_ms("network_round_trip", started)
    venue = health.get("exchanges", {}).get(settings.exchange)
    log.check(
        "backend healthy",
        health.get("status") == "ok" and health.get("database") == "ok" and venue == "ok",
        f"status {health.get('status')}, database {health.get('database')}, "
        f"{settings.exchange} {venue}",
    )
    config = calls.service("GET", f"/config/{settings.user_id}")["config"]
    configured = [str(e).lower() for e in config.get("configured_exchanges") or []]
    state.grid_levels = _grid(config)
    log.check(
        f"user configured for {settings.exchange}",
        not configured or settings.exchange in configured,
        f"configured exchanges {configured or 'any'}, {len(state.grid_levels)} grid levels",
    )
    metrics = calls.service("GET", "/metrics", params={"user_id": settings.user_id})
    state.metrics_before = {
        "realised_pnl": dec(metrics["realised_pnl"], "metrics.realised_pnl"),
        "closed_groups": Decimal(int(metrics["closed_groups"])),
    }
    status = calls.admin("GET", "/admin/status")
    state.start_clock_ms = int(status.get("clock_ms", 0))
    log.check(
        "simulator price control",
        settings.exchange in status.get("exchanges", {}),
        f"simulator clock {status.get('clock_ms')}, venues {sorted(status.get('exchanges', {}))}",
    )
    for symbol in settings.symbols:
        answer = calls.service(
            "POST",
            "/precision/refresh",
            params={"exchange": settings.exchange, "symbol": symbol},
        )
        rows: list[dict[str, Any]] = answer["exchanges"]
        row = next((r for r in rows if r["exchange"] == settings.exchange), {})
        usable = bool(row.get("known") and row.get("complete"))
        if usable:
            state.markets[symbol] = MarketInfo(
                symbol,
                dec(row["tick_size"], "tick_size"),
                dec(row["step_size"], "step_size"),
                dec(row["min_qty"], "min_qty"),
                dec(row["min_notional"], "min_notional"),
            )
        log.check(
            f"{symbol} market rules",
            usable,
            f"tick {row.get('tick_size')}, step {row.get('step_size')}, "
            f"min notional {row.get('min_notional')}"
            if usable
            else f"known {row.get('known')}, complete {row.get('complete')}",
        )
    failed = [c.name for c in log.checks if not c.passed]
    if failed:
        raise FlowStopped(f"initialisation failed: {', '.join(failed)}")


# --------------------------------------------------------------------------- 2 prediction


def _ask(ctx: FlowContext, symbol: str, disabled: set[str]) -> None:
    """One prediction request; on failure the AI engine is not asked again for that symbol
    (or at all, when it is unreachable or too slow)."""
    assert ctx.predictor is not None
    started = ctx.perf_counter()
    try:
        found = ctx.predictor.predict(symbol, ctx.settings.exchange)
    except PredictionError as exc:
        ctx.state.prediction_errors[symbol] = str(exc)
        ctx.state.predictions.pop(symbol, None)
        disabled.add("*" if exc.field == "transport" else symbol)
        return
    finally:
        ctx.timed_ms("ai_engine_response", started)
    ctx.state.predictions[symbol] = found


def prediction(ctx: FlowContext, log: PhaseLog) -> None:
    """Play the warm-up path, sampling the market and asking for predictions at each sample
    (so a momentum model sees the path); the last answer per symbol is the prediction. A
    symbol without a good answer gets a synthetic prediction from the sampled prices."""
    settings, calls, state = ctx.settings, ctx.calls, ctx.state
    start = read_prices(ctx)
    targets = {s: p for s, p in settings.warmup_targets.items() if s in settings.symbols}
    if targets and settings.warmup_seconds > 0:
        text = path_yaml(start, targets, settings.warmup_seconds, settings.sample_seconds)
        calls.admin("POST", "/admin/path", json={"yaml": text})
    disabled: set[str] = set()
    for sample in range(settings.warmup_samples):
        if sample:
            calls.admin("POST", "/admin/advance", json={"seconds": str(settings.sample_seconds)})
        prices = read_prices(ctx)
        for symbol, price in prices.items():
            state.observed.setdefault(symbol, []).append(price)
            ctx.fallback.observe(settings.exchange, symbol, price)
        if ctx.predictor is None:
            continue
        for symbol in settings.symbols:
            if "*" not in disabled and symbol not in disabled:
                _ask(ctx, symbol, disabled)
    source = ctx.predictor.name if ctx.predictor is not None else None
    for symbol in settings.symbols:
        found = state.predictions.get(symbol)
        if found is not None:
            log.check(
                f"{symbol} prediction from the {source}",
                True,
                f"{found.action}, confidence {found.confidence:f}, "
                f"predicted return {found.predicted_return:f}",
            )
            continue
        synthetic = ctx.fallback.predict(symbol, settings.exchange)
        state.predictions[symbol] = synthetic
        summary = f"{synthetic.action}, confidence {synthetic.confidence:f} (built-in predictor)"
        if source is None:
            log.check(f"{symbol} prediction from the built-in predictor", True, summary)
            log.use_fallback("built_in_predictor", degraded=False)
        else:
            error = state.prediction_errors.get(symbol, "no answer")
            log.check(f"{symbol} prediction from the {source}", False, f"{error}; {summary}")
            log.use_fallback("synthetic_prediction")


def synthesize_missing_predictions(ctx: FlowContext, log: PhaseLog) -> None:
    """The prediction phase's fallback after an error: synthetic predictions (from whatever
    prices were sampled) for every symbol without one."""
    for symbol in ctx.settings.symbols:
        if symbol not in ctx.state.predictions:
            ctx.state.predictions[symbol] = ctx.fallback.predict(symbol, ctx.settings.exchange)
    log.use_fallback("synthetic_prediction")


# --------------------------------------------------------------------------- 3 signals


def signal_generation(ctx: FlowContext, log: PhaseLog) -> None:
    """Predictions → signals: buy → long, sell → short. Filtered (no trade, not an error):
    confidence below ``min_confidence``, a short when the account cannot short. A prediction
    that cannot be turned into a signal is skipped (the error chart's fallback)."""
    settings, state = ctx.settings, ctx.state
    for symbol in settings.symbols:
        found = state.predictions.get(symbol)
        try:
            if found is None:
                raise ValueError("no prediction")
            side = _SIDES[found.action]
            price = state.last_prices.get(symbol) or found.price
            if price is None:
                raise ValueError("no market price to enter at")
            if found.confidence < settings.min_confidence:
                reason = f"confidence {found.confidence} < {settings.min_confidence}"
                state.signals.append(SignalNote(symbol, found.action, side, "filtered", reason))
                continue
            if side == "short" and not settings.allow_short:
                state.signals.append(
                    SignalNote(
                        symbol, found.action, side, "filtered", "short_not_supported_on_spot"
                    )
                )
                continue
        except (KeyError, ValueError) as exc:
            text = str(exc) if not isinstance(exc, KeyError) else f"unknown action {exc}"
            action = None if found is None else found.action
            state.signals.append(SignalNote(symbol, action, None, "skipped", text))
            log.check(f"{symbol} signal", False, f"skipped: {text}")
            log.use_fallback("signal_skipped")
            continue
        state.signals.append(SignalNote(symbol, found.action, side, "actionable"))
        state.trades.append(TradeState(symbol, side, found, price))
        log.check(
            f"{symbol} signal", True, f"{side} at {price:f} (confidence {found.confidence:f})"
        )
    actionable = len(state.trades)
    log.check(
        "actionable signals",
        actionable > 0,
        f"{actionable} of {len(settings.symbols)} predictions "
        + (
            "; filtered: "
            + ", ".join(f"{n.symbol} ({n.reason})" for n in state.signals if n.status == "filtered")
            if any(n.status == "filtered" for n in state.signals)
            else ""
        ),
    )


# --------------------------------------------------------------------------- 4 entry logic


def _gate_problems(
    ctx: FlowContext, trade: TradeState, market: MarketInfo, room: dict[str, Decimal]
) -> list[str]:
    settings = ctx.settings
    price = trade.reference_price
    take_profit, stop = protective_levels(
        price,
        trade.side,
        settings.take_profit_percent,
        settings.stop_loss_percent,
        market.tick_size,
    )
    trade.take_profit, trade.stop_loss = take_profit, stop
    trade.legs = leg_sizes(settings.capital_usd, price, trade.side, ctx.state.grid_levels, market)
    problems = []
    for leg in trade.legs:
        if leg.quantity < market.min_qty or leg.quantity <= 0:
            problems.append(
                f"leg {leg.index} quantity {leg.quantity:f} < min qty {market.min_qty:f}"
            )
        elif leg.notional < market.min_notional:
            problems.append(
                f"leg {leg.index} notional {leg.notional:f} < min notional {market.min_notional:f}"
            )
    long = trade.side == "long"
    if not ((stop < price < take_profit) if long else (take_profit < price < stop)):
        problems.append(f"levels out of order: stop {stop}, price {price}, TP {take_profit}")
    if room["exposure"] < settings.capital_usd:
        problems.append(f"exposure room {room['exposure']:f} < capital {settings.capital_usd:f}")
    if room["slots"] < 1:
        problems.append("no free pool slot")
    return problems


def entry_logic(ctx: FlowContext, log: PhaseLog) -> None:
    """Order creation and the risk gate: TP and stop levels, every grid leg above the
    exchange minimums, room under the exposure cap and in the pool. A trade that fails the
    gate is not placed (marked rejected, as the error chart marks failed orders)."""
    settings, state = ctx.settings, ctx.state
    metrics = ctx.calls.service("GET", "/metrics", params={"user_id": settings.user_id})
    room = {
        "exposure": dec(metrics["max_total_exposure_usd"], "max_total_exposure_usd")
        - dec(metrics["exposure_usd"], "exposure_usd"),
        "slots": Decimal(int(metrics["pool_max"]) - int(metrics["pool_used"])),
    }
    for trade in state.trades:
        if trade.status != "signal":
            continue
        try:
            problems = _gate_problems(ctx, trade, state.markets[trade.symbol], room)
        except (KeyError, ValueError) as exc:
            problems = [f"cannot plan the order: {exc}"]
        if problems:
            trade.status, trade.failure = "rejected", "; ".join(problems)
            log.check(f"{trade.symbol} risk gate", False, trade.failure)
            log.use_fallback("trade_failed")
            continue
        room["exposure"] -= settings.capital_usd
        room["slots"] -= 1
        trade.status = "planned"
        legs = ", ".join(f"{leg.quantity} @ {leg.price}" for leg in trade.legs)
        log.check(
            f"{trade.symbol} risk gate",
            True,
            f"{settings.capital_usd} USDT: legs {legs}; TP {trade.take_profit}, "
            f"stop {trade.stop_loss}",
        )


# --------------------------------------------------------------------------- 5 orders


def order_placement(ctx: FlowContext, log: PhaseLog) -> None:
    """Each planned trade through ``POST /trades/place`` (the service's signal intake). A
    trade that is refused or errors is marked FAILED and the flow goes on."""
    settings = ctx.settings
    for trade in ctx.state.trades:
        if trade.status != "planned":
            continue
        body = {
            "user_id": settings.user_id,
            "exchange": settings.exchange,
            "symbol": trade.symbol,
            "side": trade.side,
            "timeframe": str(settings.timeframe),
            "order_size": str(settings.capital_usd),
            "position_size_type": "quote",
            "entry_price": str(trade.reference_price),
            "take_profit": str(trade.take_profit),
            "stop_loss": str(trade.stop_loss),
        }
        try:
            answer = ctx.calls.service("POST", "/trades/place", json=body, expect=(200, 202))
        except ServiceCallError as exc:
            answer = {"outcome": "error", "reason": str(exc)}
        opened = (
            answer.get("outcome") == "opened" and answer.get("trade_id") and answer.get("order_id")
        )
        if not opened:
            trade.status = "failed"
            trade.failure = f"{answer.get('outcome')}: {answer.get('reason')}"
            log.check(f"{trade.symbol} entry order placed", False, trade.failure)
            log.use_fallback("trade_failed")
            continue
        trade.status = "placed"
        trade.trade_id, trade.order_id = str(answer["trade_id"]), str(answer["order_id"])
        log.check(
            f"{trade.symbol} entry order placed",
            True,
            f"trade {trade.trade_id}, order {trade.order_id}",
        )
