"""Wire a replay: parse the signals for each user, build the price paths, the simulator with
one account per user, the markets and the lanes (one engine per user).

Every problem found in the inputs is collected and reported together, each with its source
line where there is one (:class:`BacktestInputError`); nothing is dropped silently. Signals
outside the price data's time range are not errors but are listed as skipped in the report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

import pandas as pd

from backtest.lane import Lane, MarketInfo, Pair, TimedSignal
from backtest.price_path import frames_to_path
from backtest.recorder import Recording, SkippedSignal
from backtest.replay import ProgressCallback, Replay, ReplayMarket
from backtest.risk_scan import ScanMarket
from backtest.schedule import EventTimes
from backtest.signal_sources import SourceProblem, TimedPayload
from engine.config import UserConfig
from engine.domain import Signal
from engine.signals import SignalError, parse_signal
from simulator.adapter import SimExchangeAdapter
from simulator.exchange import Simulator
from simulator.slippage import SlippageModel

__all__ = [
    "BacktestInputError",
    "UserSetup",
    "ReplayOptions",
    "build_replay",
    "auto_sample_ms",
]

_SAMPLE_STEPS_MS = (60_000, 300_000, 900_000, 3_600_000, 14_400_000, 86_400_000)
_MAX_SAMPLES = 10_000


class BacktestInputError(ValueError):
    """Inputs that cannot be replayed; ``problems`` lists each one (line 0 = not a line)."""

    def __init__(self, source: str, problems: Sequence[SourceProblem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(
            f"{source}:{p.line}: {p.message}" if p.line else f"{source}: {p.message}"
            for p in self.problems
        )
        super().__init__(lines)


@dataclass(frozen=True, slots=True)
class UserSetup:
    """One user of the backtest: id, config and starting balances (per exchange account)."""

    user_id: str
    config: UserConfig
    balances: Mapping[str, Decimal] = field(default_factory=lambda: {"USDT": Decimal(10_000)})


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    step: bool = False
    bar_ms: int | None = None
    sample_ms: int | None = None
    markets_dir: Path | None = None
    slippage: SlippageModel | None = None
    spot_buy_fee_asset: str = "quote"
    check_invariants: bool = False
    namespace: str = "bt"


def auto_sample_ms(span_ms: int) -> int:
    """The finest of 1m, 5m, 15m, 1h, 4h, 1d giving at most 10,000 equity samples."""
    for step in _SAMPLE_STEPS_MS:
        if span_ms // step < _MAX_SAMPLES:
            return step
    return _SAMPLE_STEPS_MS[-1]


def _route(
    payloads: Sequence[TimedPayload], users: Sequence[UserSetup], source: str
) -> dict[str, list[tuple[TimedPayload, str]]]:
    """Payloads per user: a top-level ``user_id`` (or ``user``) names one user; without it a
    payload goes to every user."""
    known = {user.user_id for user in users}
    routed: dict[str, list[tuple[TimedPayload, str]]] = {user.user_id: [] for user in users}
    problems = []
    for item in payloads:
        target = item.payload.get("user_id", item.payload.get("user"))
        if target is None:
            for user_id in routed:
                routed[user_id].append((item, f"sig-{item.line}"))
        elif str(target) in known:
            routed[str(target)].append((item, f"sig-{item.line}"))
        else:
            problems.append(SourceProblem(item.line, f"user_id: unknown user {target!r}"))
    if problems:
        raise BacktestInputError(source, problems)
    return routed


def _parse(cache: dict[str, Signal], item: TimedPayload, user_id: str, signal_id: str) -> Signal:
    """``parse_signal``, remembering results: payloads that differ only in ``timestamp`` (an
    entry every few hours, say) parse to the same signal but for its id, arrival time and
    raw timestamp, which are set on a copy (the fingerprint ignores the timestamp)."""
    stamp = item.payload.get("timestamp")
    if not isinstance(stamp, (int, str)) or isinstance(stamp, bool) or "secret" in item.payload:
        return parse_signal(
            item.payload, user_id=user_id, signal_id=signal_id, received_at_ms=item.at_ms
        )
    body = {key: value for key, value in item.payload.items() if key != "timestamp"}
    key = json.dumps(body, sort_keys=True, default=repr)
    known = cache.get(key)
    if known is None:
        signal = parse_signal(
            item.payload, user_id=user_id, signal_id=signal_id, received_at_ms=item.at_ms
        )
        cache[key] = signal
        return signal
    raw = dict(known.raw)
    raw["timestamp"] = stamp
    return replace(known, signal_id=signal_id, received_at_ms=item.at_ms, raw=raw)


def build_replay(
    *,
    frames: Mapping[str, pd.DataFrame],
    payloads: Sequence[TimedPayload],
    users: Sequence[UserSetup],
    options: ReplayOptions = ReplayOptions(),
    signal_source: str = "signals",
    progress: ProgressCallback | None = None,
) -> Replay:
    """Everything a :class:`Replay` needs, from loaded prices, payloads and users."""
    if not users:
        raise BacktestInputError("config", [SourceProblem(0, "at least one user is needed")])
    ids = [user.user_id for user in users]
    if len(set(ids)) != len(ids):
        raise BacktestInputError("config", [SourceProblem(0, f"duplicate user ids: {ids}")])
    sim = Simulator(
        seed=0,
        markets_dir=options.markets_dir,
        slippage=options.slippage,
        spot_buy_fee_asset=options.spot_buy_fee_asset,
    )
    prices = {symbol.upper(): frame for symbol, frame in frames.items()}
    routed = _route(payloads, users, signal_source)
    parsed: dict[str, list[TimedSignal]] = {}
    problems: list[SourceProblem] = []
    for user in users:
        items = []
        cache: dict[str, Signal] = {}
        for item, signal_id in routed[user.user_id]:
            try:
                signal = _parse(cache, item, user.user_id, signal_id)
            except SignalError as exc:
                detail = "; ".join(str(error) for error in exc.errors)
                problems.append(SourceProblem(item.line, detail))
                continue
            if signal.exchange not in sim.venues:
                problems.append(
                    SourceProblem(
                        item.line,
                        f"tv.exchange: {signal.exchange!r} is not a simulated exchange "
                        f"({', '.join(sorted(sim.venues))})",
                    )
                )
                continue
            listed = signal.symbol in sim.venue(signal.exchange).markets
            if listed and signal.symbol not in prices:
                problems.append(
                    SourceProblem(item.line, f"tv.symbol: no price data for {signal.symbol}")
                )
                continue
            items.append(TimedSignal(item.at_ms, signal, item.line))
        parsed[user.user_id] = sorted(items, key=lambda s: (s.at_ms, s.line))
    if problems:
        raise BacktestInputError(signal_source, sorted(problems, key=lambda p: p.line))

    pairs: set[Pair] = {
        (s.signal.exchange, s.signal.symbol)
        for items in parsed.values()
        for s in items
        if s.signal.symbol in sim.venue(s.signal.exchange).markets
    }
    used = sorted({symbol for _, symbol in pairs})
    if not used:
        raise BacktestInputError(
            signal_source, [SourceProblem(0, "no signal names a market with price data")]
        )
    path = frames_to_path({symbol: prices[symbol] for symbol in used}, bar_ms=options.bar_ms)
    sim.load_path(path)
    exchanges = sorted({exchange for exchange, _ in pairs})
    for user in users:
        sim.create_account(user.user_id, f"backtest-{user.user_id}", dict(user.balances), exchanges)

    markets: dict[Pair, ReplayMarket] = {}
    infos: dict[Pair, MarketInfo] = {}
    for exchange, symbol in sorted(pairs):
        venue = sim.venue(exchange)
        market = venue.markets[symbol]
        ticks = venue.books[symbol].path_ticks
        assert ticks is not None
        markets[(exchange, symbol)] = ReplayMarket(
            exchange, symbol, market.base, market.quote, market.tick,
            path.symbols[symbol].times, ticks,
        )  # fmt: skip
        rules = market.rules(exchange)
        infos[(exchange, symbol)] = MarketInfo(exchange, symbol, market.tick, rules)

    start = min(path.symbols[symbol].start_ms for symbol in used)
    end = max(path.symbols[symbol].end_ms for symbol in used)
    event_times = EventTimes(
        [path.symbols[symbol].times for symbol in used],
        sorted({s.at_ms for items in parsed.values() for s in items if start <= s.at_ms <= end}),
    )
    recording = Recording()
    lanes = []
    for index, user in enumerate(sorted(users, key=lambda u: u.user_id)):
        inside: list[TimedSignal] = []
        for timed in parsed[user.user_id]:
            recording.signals[(user.user_id, timed.signal.signal_id)] = timed.signal
            if timed.at_ms < start or timed.at_ms > end:
                reason = "before_price_data" if timed.at_ms < start else "after_price_data"
                skipped = SkippedSignal(timed.line, user.user_id, timed.at_ms, reason)
                recording.skipped.append(skipped)
            else:
                inside.append(timed)
        namespace = options.namespace if len(users) == 1 else f"{options.namespace}{index}"
        lane = Lane(
            user_id=user.user_id,
            config=user.config,
            namespace=namespace,
            ports={ex: SimExchangeAdapter(sim, ex, user.user_id) for ex in exchanges},
            markets=infos,
            signals=inside,
            event_times=event_times,
            recording=recording,
            check_invariants=options.check_invariants,
            skip_idle=not options.step,
        )
        lane.scan_markets = {
            pair: ScanMarket(market.times, market.ticks, float(market.tick))
            for pair, market in markets.items()
        }
        lanes.append(lane)
    quotes = {market.quote for market in markets.values()}
    for user in users:
        odd = sorted(set(user.balances) - quotes)
        if odd:
            raise BacktestInputError(
                "balances",
                [
                    SourceProblem(
                        0,
                        f"{user.user_id}: only {sorted(quotes)} balances are supported (got {odd})",
                    )
                ],
            )
    starting = sum(
        (amount for user in users for amount in user.balances.values()), Decimal(0)
    ) * len(exchanges)
    return Replay(
        sim=sim,
        lanes=lanes,
        markets=list(markets.values()),
        event_times=event_times,
        recording=recording,
        starting_equity=starting,
        sample_ms=options.sample_ms or auto_sample_ms(end - start),
        step=options.step,
        progress=progress,
    )
