"""Order requests and their validation against a market's filters (exchange error codes).

Checks run in this order: parameters, price filter (tick), lot size (step, min and max
quantity), minimum notional. Balance, duplicate ids and post-only crossing are checked by the
venue afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from engine.domain import ZERO, is_multiple
from simulator.errors import ErrorCatalog
from simulator.markets import SimMarket

__all__ = ["OrderRequest", "validate_order"]


@dataclass(frozen=True, slots=True)
class OrderRequest:
    symbol: str
    side: str
    type: str
    quantity: Decimal | None
    quote_quantity: Decimal | None
    price: Decimal | None
    time_in_force: str
    post_only: bool
    client_order_id: str | None
    reduce_only: bool


def _is_amount(value: object) -> bool:
    return isinstance(value, Decimal) and value.is_finite()


def validate_order(
    request: OrderRequest, market: SimMarket, current_price: Decimal, errors: ErrorCatalog
) -> None:
    """Raise the venue's error for the first rule ``request`` breaks."""
    if market.status != "trading":
        raise errors.error("market_closed", field="symbol")
    if request.side not in ("buy", "sell"):
        raise errors.error("invalid_parameter", field="side")
    if request.type not in ("limit", "market"):
        raise errors.error("invalid_parameter", field="type")
    if request.time_in_force not in ("GTC", "IOC"):
        raise errors.error("invalid_parameter", field="time_in_force")
    for name in ("quantity", "quote_quantity", "price"):
        value = getattr(request, name)
        if value is not None and not _is_amount(value):
            raise errors.error("invalid_parameter", field=name)
    if request.reduce_only and market.market_type != "linear":
        raise errors.error("unexpected_parameter", field="reduce_only")
    if request.type == "limit":
        if request.price is None:
            raise errors.error("missing_parameter", field="price")
        if request.quantity is None:
            raise errors.error("missing_parameter", field="quantity")
        if request.quote_quantity is not None:
            raise errors.error("unexpected_parameter", field="quote_quantity")
        if request.post_only and request.time_in_force == "IOC":
            raise errors.error("invalid_parameter", field="time_in_force")
    else:
        if request.price is not None:
            raise errors.error("unexpected_parameter", field="price")
        if request.post_only:
            raise errors.error("invalid_parameter", field="post_only")
        if request.quantity is None and request.quote_quantity is None:
            raise errors.error("missing_parameter", field="quantity")
        if request.quantity is not None and request.quote_quantity is not None:
            raise errors.error("unexpected_parameter", field="quote_quantity")
    if request.price is not None and (
        request.price <= ZERO or not is_multiple(request.price, market.tick)
    ):
        raise errors.error("price_filter", field="price")
    if request.quantity is not None:
        if request.quantity <= ZERO or not is_multiple(request.quantity, market.step_size):
            raise errors.error("lot_size", field="quantity")
        if request.quantity < market.min_qty:
            raise errors.error("min_qty", field="quantity")
        if market.max_qty is not None and request.quantity > market.max_qty:
            raise errors.error("max_qty", field="quantity")
    if request.quote_quantity is not None and request.quote_quantity <= ZERO:
        raise errors.error("invalid_parameter", field="quote_quantity")
    if request.quote_quantity is not None:
        notional = request.quote_quantity
    else:
        assert request.quantity is not None
        notional = request.quantity * (request.price or current_price)
    if notional < market.min_notional:
        raise errors.error("min_notional", field="quantity")
