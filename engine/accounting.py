"""Per-leg accounting (SPEC §6.2): entry fills, closes, fees, realised and unrealised PnL.

The leg keeps the cost basis of its open quantity (``open_cost``). A close removes the
proportional share of that cost, so

    realised + unrealised = Σ close proceeds − Σ entry costs + open qty × mark − fees

holds exactly for longs (mirrored for shorts): the "mark-to-market of all fills". Fees are
realised when they are paid: an entry fill's fee lowers realised PnL at once (it is money
already spent), a close's fee lowers the realised PnL of that close.

A fee the exchange takes in the base asset out of a buy (Binance spot) leaves the account
holding less than the gross fill: the leg's open quantity is the net quantity, the fee's
share of the cost basis (fee × fill price) leaves ``open_cost`` and is realised as the fee.
Only whole steps of an open quantity can be sold (:func:`sellable`); what is left below one
step is dust. Dust is never written off: it stays open quantity at its cost basis, so it is
in the unrealised PnL (valued at the mark) and the identity above still holds, with "open"
meaning the quantity actually held.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from engine.domain import ZERO, PositionSide, round_down
from engine.state import GroupState, LegState

__all__ = [
    "MS_PER_DAY",
    "FeeBooking",
    "convert_fee",
    "sellable",
    "leg_sellable",
    "group_sellable",
    "step_allocation",
    "book_entry_fill",
    "book_close_fill",
    "allocate_pro_rata",
    "unrealised_usd",
    "unrealised_percent",
    "leg_unrealised_usd",
    "utc_day",
]

MS_PER_DAY = 86_400_000


@dataclass(frozen=True, slots=True)
class FeeBooking:
    """A fee as reported (``amount`` in ``asset``) and its value in the quote currency.

    ``quote_value`` is ``None`` when the asset is neither the market's base nor its quote
    (e.g. BNB discounts): the fee is kept per asset on the leg but cannot be valued without
    a price for that asset, so it does not enter the PnL (decision recorded in decisions.md).
    """

    amount: Decimal
    asset: str
    quote_value: Decimal | None
    in_base: bool = False  # paid in the market's base asset


def convert_fee(amount: Decimal, asset: str, price: Decimal, base: str, quote: str) -> FeeBooking:
    """Value a fee in the quote currency: quote as is, base at the fill price."""
    normalised = asset.upper()
    if normalised in ("", quote.upper()):
        return FeeBooking(amount, asset or quote, amount)
    if normalised == base.upper():
        return FeeBooking(amount, asset, amount * price, in_base=True)
    return FeeBooking(amount, asset, None)


def _book_fee(leg: LegState, fee: FeeBooking) -> Decimal:
    if fee.amount == 0:
        return ZERO
    leg.fees[fee.asset] = leg.fees.get(fee.asset, ZERO) + fee.amount
    if fee.quote_value is None:
        return ZERO
    leg.fees_usd += fee.quote_value
    leg.realised_usd -= fee.quote_value
    return -fee.quote_value


def book_entry_fill(
    leg: LegState,
    quantity: Decimal,
    price: Decimal,
    fee: FeeBooking,
    *,
    receives_base: bool = False,
) -> Decimal:
    """Add an entry fill to ``leg``; returns the realised PnL change (minus the fee).

    ``receives_base``: the fill is a buy, so a fee in the base asset comes out of the bought
    quantity (the account holds ``quantity − fee``) and its cost share leaves the basis."""
    if quantity <= 0:
        raise ValueError(f"quantity: entry fill must be positive (invalid_fill), got {quantity}")
    kept = fee.amount if receives_base and fee.in_base else ZERO
    if kept >= quantity:
        raise ValueError(f"fee: base-asset fee {kept} not below the fill {quantity} (invalid_fee)")
    cost = quantity * price
    leg.filled_quantity += quantity
    leg.entry_cost += cost
    leg.open_cost += cost
    if kept:
        leg.base_fee_quantity += kept
        leg.open_cost -= kept * price  # the fee's share of the cost is realised as the fee
    return _book_fee(leg, fee)


def book_close_fill(
    leg: LegState,
    quantity: Decimal,
    price: Decimal,
    fee: FeeBooking,
    side: PositionSide,
) -> Decimal:
    """Close ``quantity`` of ``leg`` at ``price``; returns the realised PnL of this close,
    net of its fee. The closed cost is the proportional share of the open cost basis."""
    open_quantity = leg.open_quantity
    if quantity <= 0 or quantity > open_quantity:
        raise ValueError(
            f"quantity: close of {quantity} outside the leg's open quantity {open_quantity}"
            " (invalid_close)"
        )
    if quantity == open_quantity:
        cost_share = leg.open_cost
    else:
        cost_share = leg.open_cost * quantity / open_quantity
    proceeds = quantity * price
    pnl = (proceeds - cost_share) * side.sign
    leg.open_cost -= cost_share
    leg.closed_quantity += quantity
    leg.realised_usd += pnl
    return pnl + _book_fee(leg, fee)


def sellable(quantity: Decimal, step: Decimal) -> Decimal:
    """The part of ``quantity`` one order can sell: rounded down to the step (0 if none)."""
    if quantity <= 0:
        return ZERO
    return round_down(quantity, step)


def leg_sellable(leg: LegState, step: Decimal) -> Decimal:
    """Whole steps of the leg's open quantity not promised to a close in flight."""
    return sellable(leg.available_quantity, step)


def group_sellable(group: GroupState, step: Decimal) -> Decimal:
    """Σ of the legs' sellable quantities: what per-leg closes can still sell. Zero means
    the group holds only dust (a whole-group close may still sweep whole steps of it)."""
    return sum((leg_sellable(leg, step) for leg in group.legs), ZERO)


def step_allocation(amounts: Sequence[Decimal], step: Decimal) -> list[Decimal]:
    """Shares of one close order over legs that may hold at most ``amounts``: their sum is
    ``Σ amounts`` rounded down to the step. Each leg first gives its own whole steps; the
    steps its remainders add up to come from the remainders, earlier legs first, so the
    dust left behind is below one step in all."""
    total = sellable(sum(amounts, ZERO), step)
    shares = [sellable(amount, step) for amount in amounts]
    extra = total - sum(shares, ZERO)
    for index, amount in enumerate(amounts):
        if extra <= 0:
            break
        take = min(extra, amount - shares[index])
        shares[index] += take
        extra -= take
    return shares


def allocate_pro_rata(total: Decimal, available: Sequence[Decimal], step: Decimal) -> list[Decimal]:
    """Split ``total`` over legs in proportion to ``available``, in multiples of ``step``.

    Each share is first rounded down to the step; the steps left over go one at a time to
    the legs with the largest rounding remainder (earlier legs first on ties) that still
    have room. The shares sum to ``total`` exactly when ``total`` is not above
    ``Σ available``: when the legs' room comes only in sub-step pieces (their dust), the
    rest is spread over that room, earlier legs first (the order's total stays the step
    multiple; single shares need not be).
    """
    pool = sum(available, ZERO)
    if total < 0 or total > pool:
        raise ValueError(f"quantity: {total} outside 0..{pool} (invalid_allocation)")
    if total == 0:
        return [ZERO for _ in available]
    exact = [total * amount / pool for amount in available]
    shares = [
        min(round_down(value, step), amount) for value, amount in zip(exact, available, strict=True)
    ]
    left = total - sum(shares, ZERO)
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - shares[i]), i))
    while left >= step:
        progressed = False
        for index in order:
            if left < step:
                break
            if shares[index] + step <= available[index]:
                shares[index] += step
                left -= step
                progressed = True
        if not progressed:
            break
    if left > 0:
        # what whole steps cannot place (a total that is not a step multiple, or legs whose
        # room is dust) goes to the first leg that can take all of it, else is spread over
        # the legs' remaining room, so the shares still add up to the total
        whole = [index for index in order if shares[index] + left <= available[index]]
        for index in whole[:1] or order:
            take = min(left, available[index] - shares[index])
            if take > 0:
                shares[index] += take
                left -= take
            if left <= 0:
                break
    return shares


def leg_unrealised_usd(leg: LegState, mark: Decimal, side: PositionSide) -> Decimal:
    """(mark − average fill) × open quantity, sign flipped for shorts, from the cost basis."""
    return (leg.open_quantity * mark - leg.open_cost) * side.sign


def unrealised_usd(group: GroupState, mark: Decimal) -> Decimal:
    """Group unrealised USD: (mark − group average) × open quantity (× −1 for shorts)."""
    return (group.open_quantity * mark - group.open_cost) * group.side.sign


def unrealised_percent(group: GroupState, mark: Decimal) -> Decimal | None:
    """Unrealised USD / (average × open quantity) × 100; ``None`` with nothing open."""
    cost = group.open_cost
    if group.open_quantity == 0 or cost == 0:
        return None
    return unrealised_usd(group, mark) / cost * 100


def utc_day(at_ms: int) -> int:
    """The UTC day number of an engine time (days since the epoch)."""
    return at_ms // MS_PER_DAY
