"""Price paths: per symbol, numpy arrays of tick times (epoch ms, int64) and exact prices.

Prices are stored as int64 multiples of 10**-8 (:data:`~simulator.markets.PRICE_DECIMALS`),
so every path price is an exact ``Decimal`` (``units × 1e-8``); each venue rounds them to its
own tick once, when the path is loaded, and fills at those exact tick prices. Floats appear
only while a random walk is generated (then quantised) and in :attr:`SymbolPath.prices`,
a float view for summaries.

The YAML path language (see docs/simulator.md)::

    start: 2026-01-01T00:00:00Z   # optional; default: the simulator clock at load time
    step: 1s                      # sampling step of moves and walks (default 1s)
    prices: {BTCUSDT: 95992.3}    # start prices (default: the seed table)
    timeline:
      - BTCUSDT: 95000 over 2m    # linear move, one tick per step
      - hold: 30s                 # time passes, prices unchanged
      - ETHUSDT: 3300             # jump now
      - {BTCUSDT: -2% over 1m, SOLUSDT: +5% over 30s}   # parallel moves
      - walk: {symbols: [DOGEUSDT], over: 10m, volatility_bps: 5, seed: 7}
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from engine.domain import to_decimal
from simulator.markets import PRICE_DECIMALS

__all__ = [
    "SEED_START_PRICES",
    "DEFAULT_START_MS",
    "SymbolPath",
    "PricePath",
    "parse_duration",
    "parse_time",
    "price_to_units",
    "units_to_price",
    "parse_path_yaml",
    "build_path",
]

SEED_START_PRICES: dict[str, Decimal] = {
    "BTCUSDT": Decimal("95992.3"),
    "ETHUSDT": Decimal("3394.0"),
    "SOLUSDT": Decimal("125.97"),
    "DOTUSDT": Decimal("2.075"),
    "XRPUSDT": Decimal("1.874"),
    "TRXUSDT": Decimal("0.2468"),
    "DOGEUSDT": Decimal("0.195"),
    "ADAUSDT": Decimal("0.387"),
    "GALAUSDT": Decimal("0.0066"),
}
DEFAULT_START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z

_SCALE = 10**PRICE_DECIMALS
_QUANTUM = Decimal(1).scaleb(-PRICE_DECIMALS)
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_MOVE = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)(%?)\s*(?:over\s+(\S+))?\s*$")

Int64Array = npt.NDArray[np.int64]


def parse_duration(value: object, *, field: str = "duration") -> int:
    """``"90s"``, ``"2m"``, ``"1h30m"``, ``"250ms"`` or an int of milliseconds → ms."""
    if isinstance(value, bool):
        raise ValueError(f"{field}: expected a duration like '2m', got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{field}: must be >= 0, got {value}")
        return value
    text = str(value).strip().replace(" ", "")
    if not text or _DURATION_PART.sub("", text):
        raise ValueError(f"{field}: expected a duration like '2m' or '1h30m', got {value!r}")
    return sum(int(n) * _UNIT_MS[unit] for n, unit in _DURATION_PART.findall(text))


def parse_time(value: object, *, field: str = "time") -> int:
    """Epoch milliseconds from an int (already ms) or an ISO-8601 string (UTC if naive)."""
    if isinstance(value, bool):
        raise ValueError(f"{field}: expected epoch ms or ISO-8601, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        if text.isdigit():
            return int(text)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{field}: expected epoch ms or ISO-8601, got {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def price_to_units(price: Decimal, *, field: str = "price") -> int:
    """Exact path units of ``price`` (rounded half-even to 1e-8); must be positive."""
    if price <= 0:
        raise ValueError(f"{field}: must be positive, got {price}")
    units = int((price / _QUANTUM).to_integral_value(rounding=ROUND_HALF_EVEN))
    if units <= 0:
        raise ValueError(f"{field}: below 1e-{PRICE_DECIMALS}, got {price}")
    return units


def units_to_price(units: int) -> Decimal:
    return (Decimal(int(units)) * _QUANTUM).normalize()


@dataclass(slots=True)
class SymbolPath:
    """One symbol's ticks: ``times`` (ms, non-decreasing) and ``units`` (price × 1e8)."""

    symbol: str
    times: Int64Array
    units: Int64Array

    def __post_init__(self) -> None:
        if self.times.shape != self.units.shape or self.times.ndim != 1:
            raise ValueError(f"{self.symbol}: times and prices must be 1-d arrays of equal length")
        if len(self.times) == 0:
            raise ValueError(f"{self.symbol}: a path needs at least one tick")
        if np.any(np.diff(self.times) < 0):
            raise ValueError(f"{self.symbol}: tick times must not decrease")
        if np.any(self.units <= 0):
            raise ValueError(f"{self.symbol}: prices must be positive")

    def __len__(self) -> int:
        return len(self.times)

    @property
    def prices(self) -> npt.NDArray[np.float64]:
        """Float view of the prices, for scans and summaries only."""
        view: npt.NDArray[np.float64] = self.units.astype(np.float64) / _SCALE
        return view

    def price(self, index: int) -> Decimal:
        return units_to_price(int(self.units[index]))

    @property
    def start_ms(self) -> int:
        return int(self.times[0])

    @property
    def end_ms(self) -> int:
        return int(self.times[-1])


@dataclass(slots=True)
class PricePath:
    """Paths for several symbols. ``start_ms`` is where the path's clock starts;
    ``anchored`` is False when the YAML gave no ``start`` (the loader then shifts it to the
    simulator clock)."""

    symbols: dict[str, SymbolPath] = field(default_factory=dict)
    start_ms: int = DEFAULT_START_MS
    anchored: bool = True

    @property
    def end_ms(self) -> int:
        return max((p.end_ms for p in self.symbols.values()), default=self.start_ms)

    def shifted(self, delta_ms: int) -> PricePath:
        return PricePath(
            {
                s: SymbolPath(s, p.times + np.int64(delta_ms), p.units)
                for s, p in self.symbols.items()
            },
            self.start_ms + delta_ms,
            True,
        )


class _DecimalLoader(yaml.SafeLoader):
    """SafeLoader that reads floats as Decimal (never binary floating point)."""


def _decimal_constructor(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    return Decimal(text.replace("_", ""))


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _decimal_constructor)


class _Builder:
    """Accumulates (time, units) points per symbol while the timeline is walked."""

    def __init__(self, start_ms: int, start_units: dict[str, int]) -> None:
        self.start_ms = start_ms
        self.now = start_ms
        self.last: dict[str, int] = {}
        self.chunks: dict[str, list[tuple[Int64Array, Int64Array]]] = {}
        self._start_units = start_units
        for symbol, units in start_units.items():
            self.append(symbol, np.array([start_ms], np.int64), np.array([units], np.int64))

    def current(self, symbol: str, where: str) -> int:
        if symbol not in self.last:
            if symbol not in self._start_units:
                raise ValueError(f"{where}: no start price for {symbol}; add it under 'prices'")
            units = self._start_units[symbol]
            self.append(symbol, np.array([self.start_ms], np.int64), np.array([units], np.int64))
        return self.last[symbol]

    def append(self, symbol: str, times: Int64Array, units: Int64Array) -> None:
        if len(times) == 0:
            return
        self.chunks.setdefault(symbol, []).append((times, units))
        self.last[symbol] = int(units[-1])

    def result(self) -> dict[str, SymbolPath]:
        return {
            symbol: SymbolPath(
                symbol,
                np.concatenate([c[0] for c in chunks]),
                np.concatenate([c[1] for c in chunks]),
            )
            for symbol, chunks in sorted(self.chunks.items())
        }


def _target_units(current: int, number: str, percent: bool, where: str) -> int:
    value = Decimal(number)
    if percent:
        price = units_to_price(current) * (1 + value / 100)
        return price_to_units(price, field=where)
    return price_to_units(value, field=where)


def _move(builder: _Builder, symbol: str, spec: object, step_ms: int, where: str) -> int:
    """A keyframe ``"95000 over 2m"`` / ``"-2% over 1m"`` / ``95000`` (jump); returns its
    duration."""
    if isinstance(spec, dict):
        unknown = set(spec) - {"to", "over"}
        if unknown or "to" not in spec:
            raise ValueError(f"{where}: expected {{to, over}}, got keys {sorted(spec)}")
        text = f"{spec['to']} over {spec['over']}" if "over" in spec else str(spec["to"])
    elif isinstance(spec, bool):
        raise ValueError(f"{where}: expected a price, got {spec!r}")
    elif isinstance(spec, (int, str, Decimal)):
        text = str(spec)
    else:
        raise ValueError(f"{where}: expected '<price> over <duration>', got {spec!r}")
    match = _MOVE.match(text)
    if not match:
        raise ValueError(f"{where}: expected '<price> [over <duration>]', got {text!r}")
    number, percent, over = match.groups()
    start = builder.current(symbol, where)
    target = _target_units(start, number, percent == "%", where)
    duration = parse_duration(over, field=where) if over else 0
    if duration == 0:
        builder.append(symbol, np.array([builder.now], np.int64), np.array([target], np.int64))
        return 0
    n = max(1, duration // step_ms)
    i = np.arange(1, n + 1, dtype=np.int64)
    times = builder.now + (i * duration) // n
    # exact integer interpolation; the last point is exactly the target
    units = start + ((target - start) * i) // n
    builder.append(symbol, times.astype(np.int64), units.astype(np.int64))
    return duration


def _walk(builder: _Builder, spec: object, step_ms: int, base_seed: int, index: int) -> int:
    where = f"timeline[{index}].walk"
    if not isinstance(spec, dict):
        raise ValueError(f"{where}: expected a mapping")
    allowed = {"symbols", "symbol", "over", "step", "volatility_bps", "drift_bps", "seed"}
    unknown = set(spec) - allowed
    if unknown:
        raise ValueError(f"{where}.{sorted(unknown)[0]}: unknown key")
    symbols = spec.get("symbols", [spec["symbol"]] if "symbol" in spec else None)
    if not symbols or not isinstance(symbols, list):
        raise ValueError(f"{where}.symbols: required, a list of symbols")
    if "over" not in spec:
        raise ValueError(f"{where}.over: required")
    duration = parse_duration(spec["over"], field=f"{where}.over")
    step = parse_duration(spec.get("step", step_ms), field=f"{where}.step")
    if step <= 0:
        raise ValueError(f"{where}.step: must be > 0")
    volatility = float(to_decimal(str(spec.get("volatility_bps", 10)), field=f"{where}.vol"))
    drift = float(to_decimal(str(spec.get("drift_bps", 0)), field=f"{where}.drift_bps"))
    if volatility < 0:
        raise ValueError(f"{where}.volatility_bps: must be >= 0")
    n = duration // step
    for symbol_raw in symbols:
        symbol = str(symbol_raw).upper()
        seed = spec.get("seed")
        seed_seq = (
            [int(seed), zlib.crc32(symbol.encode())]
            if seed is not None
            else [base_seed, index, zlib.crc32(symbol.encode())]
        )
        rng = np.random.default_rng(seed_seq)
        start = builder.current(symbol, where)
        if n == 0:
            continue
        returns = rng.normal(drift / 10_000, volatility / 10_000, size=n)
        prices = (start / _SCALE) * np.exp(np.cumsum(returns))
        units = np.maximum(np.rint(prices * _SCALE), 1).astype(np.int64)
        times = builder.now + np.arange(1, n + 1, dtype=np.int64) * step
        builder.append(symbol, times, units)
    return duration


def build_path(
    spec: dict[str, Any],
    *,
    seed: int = 0,
    default_prices: dict[str, Decimal] | None = None,
    start_ms: int | None = None,
) -> PricePath:
    """Build a :class:`PricePath` from a parsed YAML document (see module docstring)."""
    if not isinstance(spec, dict):
        raise ValueError("path: expected a mapping with 'timeline'")
    unknown = set(spec) - {"start", "step", "prices", "timeline", "name", "description"}
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: unknown path key")
    anchored = "start" in spec or start_ms is not None
    start = parse_time(spec["start"], field="start") if "start" in spec else start_ms
    start = DEFAULT_START_MS if start is None else start
    step_ms = parse_duration(spec.get("step", "1s"), field="step")
    if step_ms <= 0:
        raise ValueError("step: must be > 0")
    defaults = dict(SEED_START_PRICES if default_prices is None else default_prices)
    start_units = {s.upper(): price_to_units(p, field=f"prices.{s}") for s, p in defaults.items()}
    raw_prices = spec.get("prices") or {}
    if not isinstance(raw_prices, dict):
        raise ValueError("prices: expected a mapping of symbol to price")
    explicit = {}
    for symbol, price in raw_prices.items():
        value = to_decimal(price, field=f"prices.{symbol}")
        explicit[str(symbol).upper()] = price_to_units(value, field=f"prices.{symbol}")
    start_units.update(explicit)
    builder = _Builder(start, start_units)
    for symbol in explicit:
        builder.current(symbol, f"prices.{symbol}")
    timeline = spec.get("timeline") or []
    if not isinstance(timeline, list):
        raise ValueError("timeline: expected a list")
    for index, item in enumerate(timeline):
        where = f"timeline[{index}]"
        if not isinstance(item, dict) or not item:
            raise ValueError(f"{where}: expected a mapping like {{BTCUSDT: '95000 over 2m'}}")
        duration = 0
        for key, value in item.items():
            name = str(key)
            if name == "hold":
                duration = max(duration, parse_duration(value, field=f"{where}.hold"))
            elif name == "jump":
                if not isinstance(value, dict):
                    raise ValueError(f"{where}.jump: expected a mapping of symbol to price")
                for symbol, price in value.items():
                    _move(builder, str(symbol).upper(), price, step_ms, f"{where}.jump.{symbol}")
            elif name == "walk":
                duration = max(duration, _walk(builder, value, step_ms, seed, index))
            else:
                symbol = name.upper()
                duration = max(duration, _move(builder, symbol, value, step_ms, f"{where}.{name}"))
        builder.now += duration
    return PricePath(builder.result(), start, anchored)


def parse_path_yaml(
    text: str,
    *,
    seed: int = 0,
    default_prices: dict[str, Decimal] | None = None,
    start_ms: int | None = None,
) -> PricePath:
    """Parse the YAML path language. YAML floats are read as ``Decimal`` from their text, so
    ``95992.3`` stays exactly 95992.3."""
    try:
        document = yaml.load(text, Loader=_DecimalLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ValueError(f"path: invalid YAML: {exc}") from None
    return build_path(document or {}, seed=seed, default_prices=default_prices, start_ms=start_ms)
