"""The replay loop: drive the users' engines and the shared simulator through the history.

**Step mode** visits every event time (every path tick of every market, every signal):
the simulator advances to it, then each lane does its moment (:meth:`Lane.moment`).

**Fast mode** visits only the moments where something can happen, and does there exactly
what step mode does. The next moment is the earliest of: each lane's next signal, retry,
timer or risk-cycle moment (:meth:`Lane.next_stop`), the end of the data, and for each market
the first tick at or beyond its band: at or below the highest resting buy and at or above
the lowest resting sell of the simulator's book (a fill), or beyond a lane's price triggers and
risk levels (:meth:`Lane.refresh`). That tick is found with one numpy pass
(:func:`simulator.matching.first_crossing`), cached until the band or the book changes; idle
bars cost no Python at all. Before each moment the lanes catch their marks up and sync their
risk cycles; the simulator fills what crossed exactly at that moment.

Equity is sampled on a fixed grid (``sample_ms``): between moments the accounts do not change,
so each sample values the balances held at the prices of that instant.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from backtest.lane import Lane, Pair
from backtest.recorder import Recording
from backtest.schedule import EventTimes
from reports.records import EquityPoint, ExposurePoint
from simulator.exchange import Simulator
from simulator.matching import first_crossing
from simulator.models import SimEvent

__all__ = ["Replay", "ReplayMarket", "ReplayResult"]

Int64Array = npt.NDArray[np.int64]
ProgressCallback = Callable[[int, int, int], None]  # (now, start, end) in ms


@dataclass(frozen=True, slots=True)
class ReplayMarket:
    """One (exchange, symbol) the replay watches: its tick times and venue tick prices."""

    exchange: str
    symbol: str
    base: str
    quote: str
    tick: Decimal
    times: Int64Array
    ticks: Int64Array

    @property
    def pair(self) -> Pair:
        return (self.exchange, self.symbol)


@dataclass(slots=True)
class ReplayResult:
    status: str  # "completed" or "interrupted"
    recording: Recording
    start_ms: int
    end_ms: int  # the last moment replayed
    moments: int  # moments visited
    event_times: int  # moments the step mode visits
    ticks_replayed: int
    stats: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Scan:
    low: int | None
    high: int | None
    start: int
    result: int


class Replay:
    """Replays a set-up (simulator with the paths loaded, lanes, markets) in one mode."""

    def __init__(
        self,
        *,
        sim: Simulator,
        lanes: Sequence[Lane],
        markets: Sequence[ReplayMarket],
        event_times: EventTimes,
        recording: Recording,
        starting_equity: Decimal,
        sample_ms: int,
        step: bool = False,
        progress: ProgressCallback | None = None,
    ) -> None:
        if sample_ms <= 0:
            raise ValueError(f"sample_ms: must be > 0, got {sample_ms}")
        self.sim = sim
        self.lanes = sorted(lanes, key=lambda lane: lane.user_id)
        self.markets = sorted(markets, key=lambda m: m.pair)
        self.event_times = event_times
        self.recording = recording
        self.starting_equity = starting_equity
        self.sample_ms = sample_ms
        self.step = step
        self.progress = progress
        self.now = event_times.start_ms
        self._next_sample = event_times.start_ms
        self._scans: dict[Pair, _Scan] = {}
        self._pool_size = sum(lane.config.risk_config.max_open_positions_global for lane in lanes)
        self._holdings: list[tuple[str, dict[str, Decimal]]] = []
        self._by_base: dict[tuple[str, str], ReplayMarket] = {
            (m.exchange, m.base): m for m in self.markets
        }
        self._quotes = {m.quote for m in self.markets}
        self._moments = 0
        self.stats: dict[str, int] = {}

    # ------------------------------------------------------------------ main loop
    def run(self) -> ReplayResult:
        start, end = self.event_times.start_ms, self.event_times.end_ms
        status = "completed"
        try:
            for lane in self.lanes:
                lane.start(start)
            self._holdings = self._read_holdings()
            if self.step:
                for moment in self.event_times.times.tolist():
                    self._visit(moment)
            else:
                self._visit(start)
                while self.now < end:
                    self._visit(self._next_moment())
        except KeyboardInterrupt:
            status = "interrupted"
        self._sample_until(self.now + 1)
        if not self.recording.equity or self.recording.equity[-1].at_ms != self.now:
            self._sample(self.now)
        ticks = sum(int(np.searchsorted(m.times, self.now, side="right")) for m in self.markets)
        return ReplayResult(
            status=status,
            recording=self.recording,
            start_ms=start,
            end_ms=self.now,
            moments=self._moments,
            event_times=len(self.event_times),
            ticks_replayed=ticks,
            stats=dict(self.stats),
        )

    def _visit(self, moment: int) -> None:
        self._sample_until(moment)
        before: dict[Pair, int] = {}
        at: list[tuple[Pair, int]] = []
        for market in self.markets:
            index = int(np.searchsorted(market.times, moment, side="left"))
            if index > 0:
                before[market.pair] = int(market.ticks[index - 1])
            if index < len(market.times) and market.times[index] == moment:
                last = int(np.searchsorted(market.times, moment, side="right")) - 1
                at.append((market.pair, int(market.ticks[last])))
        for lane in self.lanes:
            lane.catch_up(moment, before)
        for lane in self.lanes:
            lane.sync_cycles(moment)
        events = self.sim.advance(until_ms=moment)
        by_user: dict[str, list[SimEvent]] = {}
        for event in events:
            by_user.setdefault(event.api_key, []).append(event)
        for lane in self.lanes:
            lane.moment(moment, at, by_user.get(lane.user_id, ()))
        for lane in self.lanes:
            lane.refresh()
        self.now = moment
        self._moments += 1
        self._holdings = self._read_holdings()
        if self.progress is not None:
            self.progress(moment, self.event_times.start_ms, self.event_times.end_ms)

    def _next_moment(self) -> int:
        now = self.now
        best, why = self.event_times.end_ms, "end"
        for lane in self.lanes:
            moment, reason = lane.next_stop(now)
            if moment is not None and moment < best:
                best, why = moment, reason
        for market in self.markets:
            crossing = self._crossing(market, now)
            if crossing is not None and crossing < best:
                best, why = crossing, "price"
        for lane in self.lanes:
            moment = lane.risk_moment(now, best)
            if moment is not None and moment < best:
                best, why = moment, "risk"
        self.stats[why] = self.stats.get(why, 0) + 1
        return max(best, now + 1)

    def _crossing(self, market: ReplayMarket, now: int) -> int | None:
        """Time of the first tick after ``now`` at or beyond the market's band."""
        venue = self.sim.venue(market.exchange)
        low, high = venue.resting_thresholds(market.symbol)
        for lane in self.lanes:
            band = lane.bands.get(market.pair)
            if band is None:
                continue
            lane_low, lane_high = band
            if lane_low is not None:
                low = lane_low if low is None else max(low, lane_low)
            if lane_high is not None:
                high = lane_high if high is None else min(high, lane_high)
        if low is None and high is None:
            return None
        start = int(np.searchsorted(market.times, now, side="right"))
        scan = self._scans.get(market.pair)
        fresh = (
            scan is not None
            and scan.low == low
            and scan.high == high
            and scan.start <= start
            and (scan.result < 0 or start <= scan.result)
        )
        if not fresh:
            result = first_crossing(market.ticks, start, len(market.ticks), low, high)
            scan = _Scan(low, high, start, result)
            self._scans[market.pair] = scan
        assert scan is not None
        return None if scan.result < 0 else int(market.times[scan.result])

    # ------------------------------------------------------------------ equity
    def _read_holdings(self) -> list[tuple[str, dict[str, Decimal]]]:
        holdings = []
        for lane in self.lanes:
            for exchange in sorted(lane.ports):
                balances = self.sim.venue(exchange).balances(lane.user_id)
                held = {asset: b.total for asset, b in balances.items() if b.total != 0}
                holdings.append((exchange, held))
        return holdings

    def _sample_until(self, moment: int) -> None:
        """Equity samples at the grid times before ``moment`` (accounts as they are now)."""
        end = min(moment, self.event_times.end_ms + 1)
        if self._next_sample >= end:
            return
        times = np.arange(self._next_sample, end, self.sample_ms, dtype=np.int64)
        self._next_sample = int(times[-1]) + self.sample_ms
        for at_ms in times.tolist():
            self._sample(at_ms)

    def _price_at(self, market: ReplayMarket, at_ms: int) -> Decimal:
        index = max(int(np.searchsorted(market.times, at_ms, side="right")) - 1, 0)
        return market.tick * int(market.ticks[index])

    def _sample(self, at_ms: int) -> None:
        total = Decimal(0)
        for exchange, held in self._holdings:
            for asset, amount in held.items():
                market = self._by_base.get((exchange, asset))
                if market is not None:
                    total += amount * self._price_at(market, at_ms)
                elif asset in self._quotes or not self._quotes:
                    total += amount  # the quote currency: the account's money
                else:
                    raise ValueError(f"equity: no price for {asset} on {exchange}")
        realised = self.starting_equity + sum(
            (lane.realised_total for lane in self.lanes), Decimal(0)
        )
        self.recording.equity.append(EquityPoint(at_ms, total, realised))
        self.recording.exposure.append(
            ExposurePoint(
                at_ms,
                sum((lane.exposure for lane in self.lanes), Decimal(0)),
                sum(lane.open_groups for lane in self.lanes),
                self._pool_size or None,
            )
        )
