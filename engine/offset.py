"""Risk-engine offset maths (SPEC §9): how much of the worst loser to close and how much of
each winner to realise so that the offset never books a net loss.

Definitions (per unit of base quantity, fees estimated as mark × quantity × fee_rate):
- loser cost per unit  = |mark − average| + mark × fee_rate   (loss realised plus its fee)
- winner gain per unit = (mark − average) × side sign − mark × fee_rate   (profit net of fee)

Partial mode: required = |loser unrealised|, available = Σ positive winner unrealised,
covered = min of the two. The loser closes covered / required of its open quantity, rounded
down to its step (all of it when covered = required). Winners, best first, close just enough
(rounded up to their step, capped at their open quantity) for their net gain to pay the
loser's cost. When the winners' net capacity cannot pay it (fees, rounding, skipped winners),
the loser quantity is shrunk directly to the largest step multiple they can pay for.

Closes below ``min_close_notional`` are never sent:
- a winner whose whole closable quantity is below it (or below its min_qty, or whose gain per
  unit is not positive after fees) is skipped;
- a winner needing less than that is raised to the smallest quantity reaching it (capped at
  its open quantity), which realises a little more profit than needed rather than skipping it;
- a loser close below it (or below its min_qty, or of zero quantity) means no offset.

Whole mode (``partial_close_enabled`` false): winners, best first, close completely until
their net gain pays the loser's whole close; then the loser closes completely; otherwise no
offset.

Quantities are always multiples of the position's step: a position whose open quantity is not
a step multiple (fees taken in the base asset) can close only its step-rounded part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from engine.domain import ZERO, PositionSide, round_down, round_up
from engine.math_checks import InvalidInput, require_non_negative, require_positive
from engine.precision import ceil_quotient, floor_quotient

__all__ = ["OffsetPosition", "WinnerClose", "OffsetPlan", "plan_offset"]


@dataclass(frozen=True, slots=True)
class OffsetPosition:
    """What the offset maths needs to know about one open group."""

    group_id: str
    side: PositionSide
    open_quantity: Decimal
    average_price: Decimal
    mark_price: Decimal
    step_size: Decimal
    min_qty: Decimal
    fee_rate: Decimal

    @property
    def unrealised_usd(self) -> Decimal:
        """(mark − average) × open quantity, × −1 for shorts."""
        return (self.mark_price - self.average_price) * self.open_quantity * self.side.sign

    @property
    def closable_quantity(self) -> Decimal:
        """Open quantity rounded down to the step: the most one close order can carry."""
        return round_down(self.open_quantity, self.step_size)

    @property
    def _fee_per_unit(self) -> Decimal:
        return self.mark_price * self.fee_rate

    @property
    def gain_per_unit(self) -> Decimal:
        """Profit realised per unit closed, net of the estimated fee (negative for losers)."""
        move = (self.mark_price - self.average_price) * self.side.sign
        return move - self._fee_per_unit


@dataclass(frozen=True, slots=True)
class WinnerClose:
    """Close ``quantity`` of a winner; ``realised_usd`` is its estimated profit net of fee."""

    group_id: str
    quantity: Decimal
    realised_usd: Decimal


@dataclass(frozen=True, slots=True)
class OffsetPlan:
    """One offset: the loser's close, the winners' closes and the estimated net (>= 0).

    ``loser_realised_usd`` is negative: the loss realised on the loser's part plus its fee.
    ``required_usd``, ``available_usd`` and ``covered_usd`` are the gross figures of SPEC §9.
    """

    loser_close_quantity: Decimal
    loser_realised_usd: Decimal
    required_usd: Decimal
    available_usd: Decimal
    covered_usd: Decimal
    winner_closes: tuple[WinnerClose, ...]
    net_usd: Decimal
    loser_group_id: str


def _check_position(position: OffsetPosition, name: str) -> None:
    if not isinstance(position.side, PositionSide):
        raise InvalidInput(f"{name}.side", "unknown_value", f"expected long or short: {position}")
    require_non_negative(position.open_quantity, f"{name}.open_quantity")
    require_positive(position.average_price, f"{name}.average_price")
    require_positive(position.mark_price, f"{name}.mark_price")
    require_positive(position.step_size, f"{name}.step_size")
    require_non_negative(position.min_qty, f"{name}.min_qty")
    fee_rate = require_non_negative(position.fee_rate, f"{name}.fee_rate")
    if fee_rate >= 1:
        raise InvalidInput(f"{name}.fee_rate", "too_large", f"must be < 1, got {fee_rate}")


def _check_inputs(
    loser: OffsetPosition, winners: Sequence[OffsetPosition], min_close_notional: Decimal
) -> None:
    require_non_negative(min_close_notional, "min_close_notional")
    _check_position(loser, "loser")
    seen = {loser.group_id}
    for index, winner in enumerate(winners):
        _check_position(winner, f"winners[{index}]")
        if winner.group_id in seen:
            raise InvalidInput(
                f"winners[{index}].group_id",
                "duplicate",
                f"group {winner.group_id} appears twice (or is the loser)",
            )
        seen.add(winner.group_id)
    if loser.unrealised_usd >= 0:
        raise InvalidInput(
            "loser", "not_losing", f"unrealised {loser.unrealised_usd} is not a loss"
        )


def _meets_minimums(
    quantity: Decimal, position: OffsetPosition, min_close_notional: Decimal
) -> bool:
    return (
        quantity > 0
        and quantity >= position.min_qty
        and quantity * position.mark_price >= min_close_notional
    )


def _usable_winners(
    winners: Sequence[OffsetPosition], min_close_notional: Decimal
) -> list[OffsetPosition]:
    """Winners that can contribute: positive net gain and a closable part that may be sent."""
    return [
        winner
        for winner in winners
        if winner.gain_per_unit > 0
        and _meets_minimums(winner.closable_quantity, winner, min_close_notional)
    ]


def _smallest_sendable(winner: OffsetPosition, min_close_notional: Decimal) -> Decimal:
    """Smallest step multiple that meets the winner's min_qty and min_close_notional."""
    by_qty = round_up(winner.min_qty, winner.step_size)
    by_notional = ceil_quotient(min_close_notional, winner.mark_price, winner.step_size)
    return max(by_qty, by_notional, winner.step_size)


def _allocate(
    need: Decimal, usable: Sequence[OffsetPosition], min_close_notional: Decimal
) -> tuple[WinnerClose, ...]:
    """Winners best first, each closing just enough of itself to pay what is still needed.
    The caller guarantees ``need`` <= the usable winners' total net capacity."""
    closes: list[WinnerClose] = []
    remaining = need
    for winner in usable:
        if remaining <= 0:
            break
        wanted = ceil_quotient(remaining, winner.gain_per_unit, winner.step_size)
        wanted = max(wanted, _smallest_sendable(winner, min_close_notional))
        quantity = min(wanted, winner.closable_quantity)
        realised = quantity * winner.gain_per_unit
        closes.append(WinnerClose(winner.group_id, quantity, realised))
        remaining -= realised
    return tuple(closes)


def _plan(
    loser: OffsetPosition,
    quantity: Decimal,
    closes: tuple[WinnerClose, ...],
    required: Decimal,
    available: Decimal,
) -> OffsetPlan:
    loser_realised = quantity * loser.gain_per_unit  # negative: loss plus fee
    net = sum((close.realised_usd for close in closes), ZERO) + loser_realised
    return OffsetPlan(
        loser_close_quantity=quantity,
        loser_realised_usd=loser_realised,
        required_usd=required,
        available_usd=available,
        covered_usd=min(required, available),
        winner_closes=closes,
        net_usd=net,
        loser_group_id=loser.group_id,
    )


def plan_offset(
    loser: OffsetPosition,
    winners: Sequence[OffsetPosition],
    *,
    partial_close_enabled: bool,
    min_close_notional: Decimal,
) -> OffsetPlan | None:
    """Plan one offset of ``loser`` against ``winners`` (ranked best first and already capped
    at ``max_winners_to_combine`` by the caller), or ``None`` when no offset is possible.

    Winners without unrealised profit contribute nothing and are never closed. Raises
    :class:`InvalidInput` for malformed positions or a loser that is not losing.
    """
    _check_inputs(loser, winners, min_close_notional)
    required = -loser.unrealised_usd
    available = sum(
        (winner.unrealised_usd for winner in winners if winner.unrealised_usd > 0), ZERO
    )
    if available == 0:
        return None
    usable = _usable_winners(winners, min_close_notional)
    cost_per_unit = -loser.gain_per_unit  # > 0: the loser is losing

    if not partial_close_enabled:
        return _plan_whole(loser, usable, required, available, min_close_notional)

    covered = min(required, available)
    if covered == required:
        quantity = loser.closable_quantity
    else:
        quantity = min(
            floor_quotient(loser.open_quantity * covered, required, loser.step_size),
            loser.closable_quantity,
        )
    capacity = sum((winner.closable_quantity * winner.gain_per_unit for winner in usable), ZERO)
    # shrink the loser to what the winners can pay for, computed directly
    quantity = min(quantity, floor_quotient(capacity, cost_per_unit, loser.step_size))
    if not _meets_minimums(quantity, loser, min_close_notional):
        return None
    closes = _allocate(quantity * cost_per_unit, usable, min_close_notional)
    return _plan(loser, quantity, closes, required, available)


def _plan_whole(
    loser: OffsetPosition,
    usable: Sequence[OffsetPosition],
    required: Decimal,
    available: Decimal,
    min_close_notional: Decimal,
) -> OffsetPlan | None:
    quantity = loser.closable_quantity
    if not _meets_minimums(quantity, loser, min_close_notional):
        return None
    need = -quantity * loser.gain_per_unit
    closes: list[WinnerClose] = []
    paid = ZERO
    for winner in usable:
        if paid >= need:
            break
        realised = winner.closable_quantity * winner.gain_per_unit
        closes.append(WinnerClose(winner.group_id, winner.closable_quantity, realised))
        paid += realised
    if paid < need:
        return None
    return _plan(loser, quantity, tuple(closes), required, available)
