"""Precision rules (SPEC §5): rounding to the market's tick and step, fallback rules for
incomplete metadata, and the exchange minimums.

Every price is rounded **down** to the tick and every quantity **down** to the step; results
are quantized to the tick/step so they print with the market's number of decimals.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from engine.domain import MarketRules, Reason, round_down, round_up
from engine.math_checks import InvalidInput, require_non_negative, require_positive

__all__ = [
    "RULE_FIELDS",
    "FallbackLike",
    "RulesStatus",
    "RulesResolution",
    "tick_size_of",
    "step_size_of",
    "min_qty_of",
    "min_notional_of",
    "round_price",
    "round_quantity",
    "resolve_rules",
    "check_minimums",
    "floor_quotient",
    "ceil_quotient",
]

RULE_FIELDS: tuple[str, ...] = ("tick_size", "step_size", "min_qty", "min_notional")


class FallbackLike(Protocol):
    """Anything carrying the four fallback filters (``engine.config.FallbackRules``)."""

    @property
    def tick_size(self) -> Decimal: ...

    @property
    def step_size(self) -> Decimal: ...

    @property
    def min_qty(self) -> Decimal: ...

    @property
    def min_notional(self) -> Decimal: ...


class RulesStatus(StrEnum):
    OK = "ok"  # complete metadata
    FALLBACK = "fallback"  # incomplete; the missing fields were filled from the fallback rules
    BLOCKED = "blocked"  # incomplete and block_on_missing_metadata: do not trade, wait
    UNKNOWN = "unknown"  # the exchange does not list the symbol


@dataclass(frozen=True, slots=True)
class RulesResolution:
    """Outcome of :func:`resolve_rules`. ``rules`` is complete whenever it is not ``None``."""

    rules: MarketRules | None
    status: RulesStatus
    missing: tuple[str, ...] = ()


def _field_is_missing(name: str, value: Decimal | None) -> bool:
    if value is None:
        return True
    # A zero tick or step cannot be rounded to; a negative minimum is meaningless.
    if name in ("tick_size", "step_size"):
        return value <= 0
    return value < 0


def _present(rules: MarketRules, name: str) -> Decimal:
    value: Decimal | None = getattr(rules, name)
    if value is None or _field_is_missing(name, value):
        raise InvalidInput(
            f"rules.{name}",
            "missing",
            f"{rules.exchange} {rules.symbol} has no usable {name} (got {value}); "
            "resolve the rules with resolve_rules first",
        )
    return value


def tick_size_of(rules: MarketRules) -> Decimal:
    """The market's tick size; raises :class:`InvalidInput` when it is missing."""
    return _present(rules, "tick_size")


def step_size_of(rules: MarketRules) -> Decimal:
    """The market's step size; raises :class:`InvalidInput` when it is missing."""
    return _present(rules, "step_size")


def min_qty_of(rules: MarketRules) -> Decimal:
    """The market's minimum quantity; raises :class:`InvalidInput` when it is missing."""
    return _present(rules, "min_qty")


def min_notional_of(rules: MarketRules) -> Decimal:
    """The market's minimum notional; raises :class:`InvalidInput` when it is missing."""
    return _present(rules, "min_notional")


def round_price(price: Decimal, rules: MarketRules) -> Decimal:
    """``price`` rounded down to the market's tick (quantized to the tick)."""
    return round_down(require_positive(price, "price"), tick_size_of(rules))


def round_quantity(quantity: Decimal, rules: MarketRules) -> Decimal:
    """``quantity`` rounded down to the market's step (quantized to the step)."""
    return round_down(require_non_negative(quantity, "quantity"), step_size_of(rules))


def _check_fallback(fallback: FallbackLike) -> None:
    require_positive(fallback.tick_size, "fallback_rules.tick_size")
    require_positive(fallback.step_size, "fallback_rules.step_size")
    require_non_negative(fallback.min_qty, "fallback_rules.min_qty")
    require_non_negative(fallback.min_notional, "fallback_rules.min_notional")


def resolve_rules(
    rules: MarketRules | None, fallback: FallbackLike, *, block_on_missing: bool
) -> RulesResolution:
    """Decide which rules to size orders with (SPEC §5).

    - ``rules`` is ``None`` (symbol not listed): status ``unknown``, no rules, ``missing`` empty.
    - complete rules: status ``ok``, the rules unchanged.
    - incomplete and ``block_on_missing``: status ``blocked``, no rules, ``missing`` names them.
    - incomplete otherwise: status ``fallback``, the rules with each missing field taken from
      ``fallback``; ``missing`` names the fields that were filled in.

    A field counts as missing when it is ``None``, when the tick or step is <= 0, or when a
    minimum is negative.
    """
    if rules is None:
        return RulesResolution(rules=None, status=RulesStatus.UNKNOWN)
    missing = tuple(name for name in RULE_FIELDS if _field_is_missing(name, getattr(rules, name)))
    if not missing:
        return RulesResolution(rules=rules, status=RulesStatus.OK)
    if block_on_missing:
        return RulesResolution(rules=None, status=RulesStatus.BLOCKED, missing=missing)
    _check_fallback(fallback)
    filled = replace(rules, **{name: getattr(fallback, name) for name in missing})
    return RulesResolution(rules=filled, status=RulesStatus.FALLBACK, missing=missing)


def check_minimums(quantity: Decimal, price: Decimal, rules: MarketRules) -> Reason | None:
    """The first exchange minimum an order of ``quantity`` at ``price`` breaks, or ``None``.

    ``below_min_qty`` when the quantity is 0 or below min_qty (checked first), then
    ``below_min_notional`` when quantity × price is below min_notional.
    """
    quantity = require_non_negative(quantity, "quantity")
    price = require_positive(price, "price")
    if quantity == 0 or quantity < min_qty_of(rules):
        return Reason.BELOW_MIN_QTY
    if quantity * price < min_notional_of(rules):
        return Reason.BELOW_MIN_NOTIONAL
    return None


def floor_quotient(numerator: Decimal, denominator: Decimal, step: Decimal) -> Decimal:
    """Largest multiple ``q`` of ``step`` with ``q × denominator <= numerator`` (exactly).

    Decimal division is rounded to the context precision; the product check corrects the rare
    case where that rounding pushed the quotient onto the next step.
    """
    denominator = require_positive(denominator, "denominator")
    quotient = round_down(numerator / denominator, step)
    while quotient * denominator > numerator:
        quotient -= step
    return quotient


def ceil_quotient(numerator: Decimal, denominator: Decimal, step: Decimal) -> Decimal:
    """Smallest multiple ``q`` of ``step`` with ``q × denominator >= numerator`` (exactly)."""
    denominator = require_positive(denominator, "denominator")
    quotient = round_up(numerator / denominator, step)
    while quotient * denominator < numerator:
        quotient += step
    return quotient
