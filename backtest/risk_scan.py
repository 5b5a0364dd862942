"""Find, with numpy, the first risk-cycle moment at which an offset might happen.

An offset (SPEC §9, ``engine.offset``) needs a loser ``L`` (expired timer, unrealised % at or
below the threshold) and winners whose closable parts net, after fees, at least what the
smallest loser close that meets the minimums costs:

    Σ over winners w of  closable_w × gain_w(mark_w)  >=  cost_L(mark_L) × smallest_L(mark_L)

with, for a long, ``gain = mark × (1 − fee) − average`` (only winners with a positive gain and
a closable part of at least ``min_close_notional`` count) and ``cost = average − mark × (1 −
fee)``, ``smallest = max(min_qty, step, min_close_notional / mark)`` (mirrored for shorts).
This is a *necessary* condition: the engine may still find no offset (it combines only the
best ``max_winners_to_combine`` winners and rounds to steps), never the other way round. The
scan evaluates it at every risk-cycle time until a limit, each market at its price at that
cycle and at the tick before it (the engine's cycle runs on the moment's first event, before
the other markets' prices of that moment arrive), taking for each market the more favourable
of the two, in floats with a little slack towards "possible".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["ScanGroup", "ScanMarket", "first_possible_offset"]

Int64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_RELATIVE_SLACK = 1e-6
_FIRST_CHUNK = 512
_MAX_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True, eq=False)
class ScanMarket:
    times: Int64Array
    ticks: Int64Array
    tick: float


@dataclass(frozen=True, slots=True)
class ScanGroup:
    """One open group in floats: ``loser_price`` only for groups whose timer has expired
    (candidates to be the loser)."""

    market: ScanMarket
    long: bool
    average: float
    closable: float
    fee: float
    notional_from: float | None  # None: never usable as a winner
    loser_price: float | None
    smallest_quantity: float  # max(min_qty, step) rounded to the step
    min_close_notional: float


def _prices(market: ScanMarket, moments: Int64Array) -> tuple[FloatArray, FloatArray]:
    """Each market's price at the moments and at the tick before them (floats)."""
    at = np.searchsorted(market.times, moments, side="right") - 1
    before = np.searchsorted(market.times, moments, side="left") - 1
    at = np.clip(at, 0, None)
    before = np.clip(before, 0, None)
    return (
        market.ticks[at].astype(np.float64) * market.tick,
        market.ticks[before].astype(np.float64) * market.tick,
    )


def _capacity(group: ScanGroup, price: FloatArray) -> FloatArray:
    if group.notional_from is None or group.closable <= 0:
        return np.zeros_like(price)
    if group.long:
        gain = price * (1 - group.fee) - group.average
    else:
        gain = group.average - price * (1 + group.fee)
    usable = (gain > 0) & (price >= group.notional_from - group.market.tick)
    result: FloatArray = np.where(usable, group.closable * gain, 0.0)
    return result


def _loser(group: ScanGroup, price: FloatArray) -> tuple[npt.NDArray[np.bool_], FloatArray]:
    """(is a loser, the least an offset of it costs) at each price."""
    assert group.loser_price is not None
    tick = group.market.tick
    if group.long:
        mask = price <= group.loser_price + tick
        cost = group.average - price * (1 - group.fee)
        smallest = np.maximum(group.smallest_quantity, group.min_close_notional / price)
    else:
        mask = price >= group.loser_price - tick
        cost = price * (1 + group.fee) - group.average
        smallest = np.full_like(price, group.smallest_quantity)
    return mask, np.maximum(cost, 0.0) * smallest


def _possible(groups: Sequence[ScanGroup], moments: Int64Array) -> npt.NDArray[np.bool_]:
    prices = {id(g.market): _prices(g.market, moments) for g in groups}
    capacities = []
    for group in groups:
        at, before = prices[id(group.market)]
        capacities.append(np.maximum(_capacity(group, at), _capacity(group, before)))
    total = np.sum(capacities, axis=0) if capacities else np.zeros(len(moments))
    possible = np.zeros(len(moments), dtype=bool)
    for index, group in enumerate(groups):
        if group.loser_price is None:
            continue
        at, before = prices[id(group.market)]
        mask_at, need_at = _loser(group, at)
        mask_before, need_before = _loser(group, before)
        mask = mask_at | mask_before
        need = np.minimum(
            np.where(mask_at, need_at, np.inf), np.where(mask_before, need_before, np.inf)
        )
        others = total - capacities[index]
        possible |= mask & (others * (1 + _RELATIVE_SLACK) + 1e-12 >= need)
    return possible


def first_possible_offset(
    groups: Sequence[ScanGroup], cycles: Int64Array, after: int, limit: int
) -> int | None:
    """The first cycle time in (``after``, ``limit``) at which an offset might happen."""
    if not any(group.loser_price is not None for group in groups):
        return None
    start = int(np.searchsorted(cycles, after, side="right"))
    stop = int(np.searchsorted(cycles, limit, side="left"))
    chunk = _FIRST_CHUNK
    while start < stop:
        end = min(stop, start + chunk)
        moments = cycles[start:end]
        possible = _possible(groups, moments)
        hit = int(possible.argmax())
        if possible[hit]:
            return int(moments[hit])
        start = end
        chunk = min(chunk * 4, _MAX_CHUNK)
    return None
