"""ccxt's unified structures -> the engine's types (MarketRules, OrderReport, FillReport).

ccxt hands numbers over as Python floats parsed from the exchange's decimal strings. They are
turned into ``Decimal`` here, once, through ``repr`` — the shortest string that reads back as
the same float, which for exchange-sized numbers (at most 15 significant digits) is exactly the
decimal the exchange sent. Averages are recomputed in Decimal from fills or cost, never taken
from a float division when the exact inputs are available.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from engine.domain import MarketRules, MarketType, OrderStatus
from engine.ports import FillReport, OrderReport

__all__ = [
    "TICK_SIZE",
    "DECIMAL_PLACES",
    "dec",
    "market_rules",
    "order_status",
    "fills_from_trades",
    "order_report",
]

# ccxt.base.decimal_to_precision precision modes
DECIMAL_PLACES = 2
TICK_SIZE = 4


def dec(value: Any) -> Decimal | None:
    """A ccxt number (float, int, numeric string or None) as an exact Decimal."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TypeError(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return Decimal(repr(value))
    return Decimal(str(value))


def _step(value: Any, precision_mode: int) -> Decimal | None:
    number = dec(value)
    if number is None:
        return None
    if precision_mode == DECIMAL_PLACES:  # "digits after the point" -> the step they imply
        return Decimal(1).scaleb(-int(number))
    return number


def _path(data: Mapping[str, Any], *keys: str) -> Any:
    current: Any = data
    for key in keys:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def market_rules(
    exchange: str, market: Mapping[str, Any], precision_mode: int, market_type: MarketType
) -> MarketRules:
    """SPEC §5 rules of one ccxt market: tick = precision.price, step = precision.amount,
    min qty = limits.amount.min, min notional = limits.cost.min; missing values stay None."""
    fees: dict[str, Decimal] = {}
    for side in ("maker", "taker"):
        fee = dec(market.get(side))
        if fee is not None:
            fees[f"{side}_fee"] = fee
    return MarketRules(
        exchange=exchange,
        symbol=str(market["id"]),
        base=str(market.get("base") or ""),
        quote=str(market.get("quote") or ""),
        tick_size=_step(_path(market, "precision", "price"), precision_mode),
        step_size=_step(_path(market, "precision", "amount"), precision_mode),
        min_qty=dec(_path(market, "limits", "amount", "min")),
        min_notional=dec(_path(market, "limits", "cost", "min")),
        market_type=market_type,
        **fees,
    )


_STATUS = {
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,
    "expired": OrderStatus.CANCELLED,  # IOC/FOK leftovers: filled part stays in filled qty
    "rejected": OrderStatus.REJECTED,
}


def order_status(status: str | None, filled: Decimal) -> OrderStatus:
    """ccxt unified status -> engine status. ``None`` (an acknowledgement without state, as
    bybit's create gives) counts as open: the order exists."""
    if status in _STATUS:
        return _STATUS[status]
    if status in (None, "open"):
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN
    raise ValueError(f"order status: unknown ccxt status {status!r}")


def _fee(trade: Mapping[str, Any]) -> tuple[Decimal, str]:
    fee = trade.get("fee")
    if not fee and trade.get("fees"):
        fee = trade["fees"][0]
    if not isinstance(fee, Mapping):
        return Decimal(0), ""
    return dec(fee.get("cost")) or Decimal(0), str(fee.get("currency") or "")


def fills_from_trades(
    trades: list[Mapping[str, Any]], exchange_order_id: str, default_at_ms: int
) -> tuple[FillReport, ...]:
    """Trades of one order as fills; a trade without id gets ``<order id>:<n>``."""
    fills = []
    for index, trade in enumerate(trades):
        quantity = dec(trade.get("amount"))
        price = dec(trade.get("price"))
        if quantity is None or price is None or quantity <= 0:
            continue
        fee, fee_asset = _fee(trade)
        timestamp = trade.get("timestamp")
        fills.append(
            FillReport(
                trade_id=str(trade.get("id") or f"{exchange_order_id}:{index}"),
                quantity=quantity,
                price=price,
                fee=fee,
                fee_asset=fee_asset,
                at_ms=int(timestamp) if timestamp is not None else default_at_ms,
            )
        )
    return tuple(fills)


def _average(
    order: Mapping[str, Any], filled: Decimal, fills: tuple[FillReport, ...]
) -> Decimal | None:
    if filled <= 0:
        return None
    if fills and sum(f.quantity for f in fills) == filled:
        return sum(f.quantity * f.price for f in fills) / filled
    cost = dec(order.get("cost"))
    if cost is not None and cost > 0:
        return cost / filled
    return dec(order.get("average"))


def order_report(
    order: Mapping[str, Any],
    *,
    market_id: str,
    client_order_id: str,
    quantity: Decimal | None,
    fills: tuple[FillReport, ...] = (),
) -> OrderReport:
    """An :class:`OrderReport` from a ccxt order. ``quantity`` is the size the engine sent,
    used when the exchange's reply does not say (ack-only replies)."""
    filled = dec(order.get("filled")) or Decimal(0)
    amount = dec(order.get("amount"))
    return OrderReport(
        client_order_id=str(order.get("clientOrderId") or client_order_id),
        exchange_order_id=str(order.get("id") or ""),
        symbol=market_id,
        status=order_status(order.get("status"), filled),
        quantity=amount if amount is not None else (quantity if quantity is not None else filled),
        filled_quantity=filled,
        average_price=_average(order, filled, fills),
        fills=fills,
    )
