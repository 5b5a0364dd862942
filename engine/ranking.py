"""Queue ranking (SPEC §7): which waiting signal is promoted first when a slot frees.

Rules, each optional and in a configurable order (``risk_config.priority_rules``); a tie on
one rule falls through to the next, and ``sequence`` (the signal's arrival number, then the
queue id) always breaks the last tie, so the order is total and deterministic:

- ``same_pair_timeframe``: continuations of an open group first;
- ``deepest_loss_percent``: lowest current loss % first (most negative); unknown (None) last;
- ``highest_replacement``: more replacements first;
- ``fifo``: earlier queue time first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from engine.domain import PositionSide
from engine.math_checks import InvalidInput, require_positive

__all__ = [
    "RANKING_RULES",
    "QueueCandidate",
    "rank_queue",
    "signal_loss_percent",
]

RANKING_RULES: tuple[str, ...] = (
    "same_pair_timeframe",
    "deepest_loss_percent",
    "highest_replacement",
    "fifo",
)


@dataclass(frozen=True, slots=True)
class QueueCandidate:
    """One queued signal as the ranking sees it."""

    queue_id: str
    is_continuation: bool
    loss_percent: Decimal | None
    replacement_count: int
    queued_at_ms: int
    sequence: int


_SortPart = tuple[int, Decimal]
_ZERO = Decimal(0)


def _same_pair_timeframe(candidate: QueueCandidate) -> _SortPart:
    return (0 if candidate.is_continuation else 1, _ZERO)


def _deepest_loss(candidate: QueueCandidate) -> _SortPart:
    if candidate.loss_percent is None:
        return (1, _ZERO)
    return (0, candidate.loss_percent)


def _highest_replacement(candidate: QueueCandidate) -> _SortPart:
    return (0, Decimal(-candidate.replacement_count))


def _fifo(candidate: QueueCandidate) -> _SortPart:
    return (0, Decimal(candidate.queued_at_ms))


_KEYS: dict[str, Callable[[QueueCandidate], _SortPart]] = {
    "same_pair_timeframe": _same_pair_timeframe,
    "deepest_loss_percent": _deepest_loss,
    "highest_replacement": _highest_replacement,
    "fifo": _fifo,
}


def _check_rules(rule_order: Sequence[str]) -> tuple[Callable[[QueueCandidate], _SortPart], ...]:
    if isinstance(rule_order, str):
        raise InvalidInput("priority_rules", "not_a_list", f"expected rule names: {rule_order!r}")
    seen: set[str] = set()
    for index, name in enumerate(rule_order):
        if name not in _KEYS:
            known = ", ".join(RANKING_RULES)
            raise InvalidInput(
                f"priority_rules[{index}]", "unknown_value", f"{name!r} is not one of {known}"
            )
        if name in seen:
            raise InvalidInput(f"priority_rules[{index}]", "duplicate", f"{name!r} listed twice")
        seen.add(name)
    return tuple(_KEYS[name] for name in rule_order)


def _check_candidate(candidate: QueueCandidate, index: int) -> None:
    loss = candidate.loss_percent
    if loss is not None and (not isinstance(loss, Decimal) or not loss.is_finite()):
        raise InvalidInput(
            f"candidates[{index}].loss_percent", "not_decimal", f"expected a Decimal: {loss!r}"
        )


def rank_queue(
    candidates: Iterable[QueueCandidate], rule_order: Sequence[str]
) -> list[QueueCandidate]:
    """Candidates best first under the enabled rules in ``rule_order``, then ``sequence``,
    then ``queue_id``. Rules absent from ``rule_order`` are off."""
    keys = _check_rules(rule_order)
    pool = list(candidates)
    for index, candidate in enumerate(pool):
        _check_candidate(candidate, index)

    def sort_key(candidate: QueueCandidate) -> tuple[tuple[_SortPart, ...], int, str]:
        return (tuple(key(candidate) for key in keys), candidate.sequence, candidate.queue_id)

    return sorted(pool, key=sort_key)


def signal_loss_percent(entry_price: Decimal, mark: Decimal, side: PositionSide) -> Decimal:
    """(mark − entry) / entry × 100 for longs, sign flipped for shorts: how far the market has
    moved against (negative) or with (positive) the queued signal's entry."""
    entry_price = require_positive(entry_price, "entry_price")
    mark = require_positive(mark, "mark")
    if not isinstance(side, PositionSide):
        raise InvalidInput("side", "unknown_value", f"expected long or short, got {side!r}")
    return (mark - entry_price) / entry_price * 100 * side.sign
