"""When the step-mode replay hands an engine events, and when its risk cycles run.

The step replay gives every engine an event at every *event time*: each path tick of each
symbol and each signal's arrival (:class:`EventTimes`). The engine runs a risk cycle on the
first event at or after ``last cycle + evaluate_interval``, so the cycle times are a pure
function of the event times: starting at the replay's first moment, each next cycle time is
the first event time at least one interval after the previous one
(:meth:`EventTimes.cycle_times`). The fast replay uses this to put its engines' risk cycles at
exactly the same moments while it skips the idle stretches between.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["EventTimes", "cycle_at_or_after", "cycle_at_or_before"]

Int64Array = npt.NDArray[np.int64]


class EventTimes:
    """The sorted, distinct event times of a replay (ms) and the risk-cycle schedules."""

    def __init__(self, tick_times: Sequence[Int64Array], signal_times: Sequence[int]) -> None:
        if not tick_times:
            raise ValueError("tick_times: at least one price path is needed")
        first = np.asarray(tick_times[0], dtype=np.int64)
        times = _distinct(first)
        for other in tick_times[1:]:
            array = np.asarray(other, dtype=np.int64)
            if array is not first and not np.array_equal(first, array):
                times = _merge(times, _distinct(array))
        signals = np.asarray(sorted(signal_times), dtype=np.int64)
        self.times: Int64Array = _merge(times, _distinct(signals)) if len(signals) else times
        self.start_ms = int(self.times[0])
        self.end_ms = int(self.times[-1])
        self._cycles: dict[int, Int64Array] = {}

    def __len__(self) -> int:
        return len(self.times)

    def at_or_after(self, moment: int) -> int | None:
        """The first event time >= ``moment`` (``None`` past the end)."""
        index = int(np.searchsorted(self.times, moment, side="left"))
        return int(self.times[index]) if index < len(self.times) else None

    def after(self, moment: int) -> int | None:
        """The first event time > ``moment``."""
        index = int(np.searchsorted(self.times, moment, side="right"))
        return int(self.times[index]) if index < len(self.times) else None

    def cycle_times(self, interval_ms: int) -> Int64Array:
        """Risk-cycle times of an engine whose cycle interval is ``interval_ms``: the first
        event time, then greedily the first event time at least ``interval_ms`` later."""
        if interval_ms <= 0:
            raise ValueError(f"interval_ms: must be > 0, got {interval_ms}")
        cached = self._cycles.get(interval_ms)
        if cached is not None:
            return cached
        times = self.times
        jump = np.searchsorted(times, times + interval_ms, side="left").tolist()
        count = len(times)
        chosen: list[int] = []
        index = 0
        while index < count:
            chosen.append(index)
            index = jump[index]
        result: Int64Array = times[np.asarray(chosen, dtype=np.int64)]
        self._cycles[interval_ms] = result
        return result


def _distinct(values: Int64Array) -> Int64Array:
    """Sorted input without repeats."""
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    result: Int64Array = values if keep.all() else values[keep]
    return result


def _merge(left: Int64Array, right: Int64Array) -> Int64Array:
    """Union of two sorted, distinct arrays (linear: only the right's new values move)."""
    if len(right) == 0:
        return left
    index = np.searchsorted(left, right)
    clipped = np.minimum(index, len(left) - 1)
    new = right[(index >= len(left)) | (left[clipped] != right)]
    if len(new) == 0:
        return left
    result: Int64Array = np.insert(left, np.searchsorted(left, new), new)
    return result


def cycle_at_or_before(cycles: Int64Array, moment: int) -> int | None:
    """The last cycle time <= ``moment``."""
    index = int(np.searchsorted(cycles, moment, side="right")) - 1
    return int(cycles[index]) if index >= 0 else None


def cycle_at_or_after(cycles: Int64Array, moment: int) -> int | None:
    """The first cycle time >= ``moment``."""
    index = int(np.searchsorted(cycles, moment, side="left"))
    return int(cycles[index]) if index < len(cycles) else None
