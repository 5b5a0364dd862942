"""Realised PnL recomputed from the exchange's own fill records (the settlement check's
independent source): base-asset fees, whole-step closes and the dust that stays open.

The recomputation, per trade (``sign`` +1 long, -1 short; every figure from the fills):

    realised = sign x (exit_quote - entry_quote + dust_cost) - quote_fees - valued_base_fees

* ``entry_quote`` / ``exit_quote``: sum of quantity x price over the entry (entry, dca) and
  the closing fills. A long's entry buys pay for the gross quantity, so the base asset the
  exchange kept as fee is already paid for inside ``entry_quote``.
* held per leg: filled - base fees of its buys (long); filled (short: a base fee does not
  change quantities). ``dust = sum(held) - sum(closing fills)``: what the closes left open.
* ``dust_cost``: the dust stays open at its cost (unrealised), so its cost comes back out of
  the realised figure. Closes sell whole steps per leg and then the legs' sub-step
  remainders earlier legs first, so the dust is the remainders of the *last* legs: walk the
  legs from the last, taking up to each leg's remainder (held - held rounded down to the
  step) at the leg's held cost price (sum((q - fee) x p) / held); anything left beyond the
  remainders (below-minimum leftovers) is taken the same way from the legs' whole steps.
* ``quote_fees``: fees paid in the quote asset; ``valued_base_fees``: base-asset fees that do
  not shrink a long's quantity (on closing sells, or any of a short) valued at fill price.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

from engine.domain import ZERO, to_decimal
from engine.ids import parse_client_order_id

__all__ = ["Fill", "fills_of", "is_base_fee", "base_fee_of", "FillPnl", "pnl_from_fills"]


@dataclass(frozen=True, slots=True)
class Fill:
    """One exchange fill (simulator admin ``/admin/orders``: ``fills[]``)."""

    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str


def fills_of(order: dict[str, Any]) -> list[Fill]:
    """The fills of one exchange order record, naming the field on bad input."""
    where = f"exchange order {order.get('client_order_id')}"
    return [
        Fill(
            to_decimal(f["quantity"], field=f"{where}.fills[{i}].quantity"),
            to_decimal(f["price"], field=f"{where}.fills[{i}].price"),
            to_decimal(f["fee"], field=f"{where}.fills[{i}].fee"),
            str(f["fee_asset"]),
        )
        for i, f in enumerate(order["fills"])
    ]


def is_base_fee(symbol: str, fill: Fill) -> bool:
    """True for a fee in the market's base asset, False for the quote asset; any other
    asset is refused (``fee_asset``): the recomputation could not value it."""
    asset = fill.fee_asset.upper()
    if fill.fee == 0 or symbol.endswith(asset):
        return False
    if symbol.startswith(asset):
        return True
    raise ValueError(f"fee_asset: {fill.fee_asset} is neither base nor quote of {symbol}")


def base_fee_of(symbol: str, fills: list[Fill]) -> Decimal:
    """Base asset the exchange kept as fees over ``fills``."""
    return sum((f.fee for f in fills if is_base_fee(symbol, f)), ZERO)


@dataclass
class FillPnl:
    """The recomputation's parts (see the module docstring)."""

    entry_quote: Decimal = ZERO
    exit_quote: Decimal = ZERO
    held: Decimal = ZERO
    sold: Decimal = ZERO
    dust: Decimal = ZERO
    dust_cost: Decimal = ZERO
    quote_fees: Decimal = ZERO
    valued_base_fees: Decimal = ZERO
    realised: Decimal = ZERO
    legs: dict[tuple[int, int], tuple[Decimal, Decimal]] = field(default_factory=dict)


def _leg_key(client_order_id: str, position: int) -> tuple[int, int]:
    parts = parse_client_order_id(client_order_id)
    if parts is None or parts.pyramid_index is None or parts.leg_index is None:
        return (1 << 30, position)  # not an engine leg id: after the legs, in list order
    return (parts.pyramid_index, parts.leg_index)


def _dust_cost(
    legs: dict[tuple[int, int], tuple[Decimal, Decimal]], dust: Decimal, step: Decimal
) -> Decimal:
    order = sorted(legs, reverse=True)
    cost, left = ZERO, dust
    remainders = {}
    for key in order:
        held = legs[key][0]
        remainders[key] = held - (held / step).to_integral_value(rounding=ROUND_DOWN) * step
    for take_from in (remainders, {k: legs[k][0] - remainders[k] for k in order}):
        for key in order:
            held, held_cost = legs[key]
            take = min(take_from[key], left)
            if take > 0:
                cost += take * held_cost / held
                left -= take
    if left > 0:
        raise ValueError(f"dust: {dust} is more than the legs held")
    return cost


def pnl_from_fills(
    symbol: str,
    long: bool,
    entries: list[tuple[str, list[Fill]]],
    exits: list[list[Fill]],
    step: Decimal,
) -> FillPnl:
    """Realised PnL from the exchange fills: ``entries`` as (client order id, fills) of the
    entry-side orders with purpose entry/dca, ``exits`` the closing orders' fills."""
    out = FillPnl()
    for position, (client_id, fills) in enumerate(entries):
        key = _leg_key(client_id, position)
        held, held_cost = out.legs.get(key, (ZERO, ZERO))
        for fill in fills:
            out.entry_quote += fill.quantity * fill.price
            base = is_base_fee(symbol, fill)
            kept = fill.fee if base and long else ZERO
            held += fill.quantity - kept
            held_cost += (fill.quantity - kept) * fill.price
            if base and not long:
                out.valued_base_fees += fill.fee * fill.price
            elif not base:
                out.quote_fees += fill.fee
        out.legs[key] = (held, held_cost)
    for fills in exits:
        for fill in fills:
            out.exit_quote += fill.quantity * fill.price
            out.sold += fill.quantity
            if is_base_fee(symbol, fill):
                out.valued_base_fees += fill.fee * fill.price
            else:
                out.quote_fees += fill.fee
    out.held = sum((h for h, _ in out.legs.values()), ZERO)
    out.dust = out.held - out.sold
    if out.dust < 0:
        raise ValueError(f"sold: closes sold {out.sold} but the legs held {out.held}")
    out.dust_cost = _dust_cost(out.legs, out.dust, step)
    sign = 1 if long else -1
    out.realised = (
        sign * (out.exit_quote - out.entry_quote + out.dust_cost)
        - out.quote_fees
        - out.valued_base_fees
    )
    return out
