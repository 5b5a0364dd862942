"""Carry out one engine command on the in-process simulator and return the engine events it
causes (accepted, fills, cancelled, rejected), at the replay's current moment.

The simulator answers synchronously, so nothing is ever pending: a market order has filled
(or expired) when :meth:`~simulator.adapter.SimExchangeAdapter.place_order` returns, and a
cancel is final. Exchange answers become events with the live service's own translation
(:func:`engine.service.execution.events_from_report`), so both runners book the same facts.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.domain import CancelOrder, Command, OrderStatus, PlaceOrder, Reason, RefreshMarketRules
from engine.domain.events import Event, MarketRulesLoaded, OrderCancelled, OrderRejected
from engine.errors import ExchangeFailure, NotFound, OrderRejectedError
from engine.ports import OrderReport, SyncExchangePort
from engine.service.execution import events_from_report
from engine.views import OrderView

__all__ = ["ReplayExecutionError", "carry_out"]


class ReplayExecutionError(RuntimeError):
    """The simulator failed in a way a backtest cannot continue from (no faults are
    scheduled in a replay, so a transient or auth failure is a bug in the set-up)."""


def carry_out(
    command: Command,
    ports: Mapping[str, SyncExchangePort],
    view: OrderView | None,
    at_ms: int,
) -> list[Event]:
    """Send ``command`` through the user's exchange ports; ``view`` is the engine's view of
    the order (``None`` for market-rule refreshes)."""
    if isinstance(command, RefreshMarketRules):
        port = ports.get(command.exchange)
        if port is None:
            return []
        rules = tuple(port.load_markets())
        return [MarketRulesLoaded(command.exchange, rules, at_ms, complete_listing=True)]
    port = ports.get(command.exchange)
    cid = command.client_order_id
    if isinstance(command, PlaceOrder):
        if port is None:
            message = f"exchange {command.exchange!r} is not part of this backtest"
            return [OrderRejected(cid, Reason.EXCHANGE_NOT_CONFIGURED.value, message, at_ms)]
        try:
            report = port.place_order(command)
        except OrderRejectedError as error:
            return [OrderRejected(cid, error.reason, str(error), at_ms)]
        except NotFound as error:
            return [OrderRejected(cid, Reason.ORDER_REJECTED.value, str(error), at_ms)]
        except ExchangeFailure as error:
            raise ReplayExecutionError(f"place {cid}: {error}") from error
        return events_from_report(report, view, at_ms)
    assert isinstance(command, CancelOrder)
    if port is None:
        return [OrderCancelled(cid, at_ms)]
    found: OrderReport | None
    try:
        try:
            found = port.cancel_order(command)
        except (NotFound, OrderRejectedError):
            found = port.fetch_order(command.symbol, cid)
    except ExchangeFailure as error:
        raise ReplayExecutionError(f"cancel {cid}: {error}") from error
    if found is None:
        return [OrderCancelled(cid, at_ms)]
    if found.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
        raise ReplayExecutionError(f"cancel {cid}: the simulator still shows it resting")
    return events_from_report(found, view, at_ms)
