"""Markets of the simulated exchanges, loaded from ``scenarios/markets/<exchange>.json``.

A venue file holds the exchange's markets (filters and fees), its error table and its quirks;
adding a symbol is adding a record, adding an exchange is adding a file.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.domain import MarketRules, MarketType, to_decimal
from simulator.errors import ErrorCatalog

__all__ = [
    "PRICE_DECIMALS",
    "SimMarket",
    "VenueQuirks",
    "VenueSpec",
    "default_markets_dir",
    "load_venue_spec",
    "load_venue_specs",
    "generate_synthetic_markets",
]

# Path prices are exact multiples of 10**-PRICE_DECIMALS; every tick size must divide it.
PRICE_DECIMALS = 8
_PRICE_QUANTUM = Decimal(1).scaleb(-PRICE_DECIMALS)


@dataclass(frozen=True, slots=True)
class SimMarket:
    """One market's filters and fees. ``tick_size`` is ``None`` only in listings served under
    a ``metadata_missing`` fault; the venue's own records always carry it (use :attr:`tick`)."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal | None
    step_size: Decimal
    min_qty: Decimal
    min_notional: Decimal
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    market_type: MarketType = MarketType.SPOT
    status: str = "trading"  # "trading" or "halted"
    max_qty: Decimal | None = None
    max_notional: Decimal | None = None
    start_price: Decimal | None = None  # default start price (synthetic symbols)
    unverified: tuple[str, ...] = ()

    @property
    def tick(self) -> Decimal:
        if self.tick_size is None:
            raise ValueError(f"{self.symbol}: tick size missing")
        return self.tick_size

    @property
    def tick_units(self) -> int:
        """The tick in path units (multiples of 10**-PRICE_DECIMALS)."""
        return int(self.tick / _PRICE_QUANTUM)

    def rules(self, exchange: str) -> MarketRules:
        """The engine's view of this market."""
        return MarketRules(
            exchange=exchange,
            symbol=self.symbol,
            base=self.base,
            quote=self.quote,
            tick_size=self.tick_size,
            step_size=self.step_size,
            min_qty=self.min_qty,
            min_notional=self.min_notional,
            maker_fee=self.maker_fee,
            taker_fee=self.taker_fee,
            market_type=self.market_type,
        )

    def without_tick(self) -> SimMarket:
        return replace(self, tick_size=None)


@dataclass(frozen=True, slots=True)
class VenueQuirks:
    """Behaviour that differs between exchanges, as data.

    ``post_only_cross``: ``"reject"`` (Binance LIMIT_MAKER: error, no order) or ``"cancel"``
    (Bybit PostOnly: the order is created and immediately cancelled).
    ``client_id_unique``: ``"open"`` (refused only while an order with that id is open) or
    ``"all"`` (never reusable).
    """

    post_only_cross: str = "reject"
    client_id_unique: str = "open"
    client_id_pattern: str = r"^[A-Za-z0-9_.:/-]{1,36}$"


@dataclass(frozen=True, slots=True)
class VenueSpec:
    name: str
    markets: dict[str, SimMarket]
    errors: ErrorCatalog
    quirks: VenueQuirks = field(default_factory=VenueQuirks)
    order_id_start: int = 1
    trade_id_start: int = 1
    source: str = ""
    taken_on: str = ""


def default_markets_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "scenarios" / "markets"


def _decimal(record: dict[str, Any], key: str, where: str) -> Decimal:
    if key not in record:
        raise ValueError(f"{where}.{key}: missing")
    value = to_decimal(record[key], field=f"{where}.{key}")
    if value <= 0:
        raise ValueError(f"{where}.{key}: must be positive, got {value}")
    return value


def _optional_decimal(record: dict[str, Any], key: str, where: str) -> Decimal | None:
    return _decimal(record, key, where) if record.get(key) is not None else None


def market_from_json(record: object, where: str) -> SimMarket:
    """Parse one market record; errors name the field (``binance.markets[0].tick_size``)."""
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected an object")
    for key in ("symbol", "base", "quote"):
        if not isinstance(record.get(key), str) or not record[key]:
            raise ValueError(f"{where}.{key}: missing")
    tick = _decimal(record, "tick_size", where)
    if not (tick / _PRICE_QUANTUM) == (tick / _PRICE_QUANTUM).to_integral_value():
        raise ValueError(f"{where}.tick_size: must be a multiple of 1e-{PRICE_DECIMALS}")
    market_type = str(record.get("market_type", "spot"))
    if market_type not in ("spot", "linear"):
        raise ValueError(f"{where}.market_type: must be 'spot' or 'linear', got {market_type!r}")
    status = str(record.get("status", "trading"))
    if status not in ("trading", "halted"):
        raise ValueError(f"{where}.status: must be 'trading' or 'halted', got {status!r}")
    fees = {
        key: to_decimal(record.get(key, "0.001"), field=f"{where}.{key}")
        for key in ("maker_fee", "taker_fee")
    }
    for key, fee in fees.items():
        if fee < 0 or fee >= 1:
            raise ValueError(f"{where}.{key}: must be in [0, 1), got {fee}")
    return SimMarket(
        symbol=str(record["symbol"]).upper(),
        base=str(record["base"]).upper(),
        quote=str(record["quote"]).upper(),
        tick_size=tick,
        step_size=_decimal(record, "step_size", where),
        min_qty=_decimal(record, "min_qty", where),
        min_notional=_decimal(record, "min_notional", where),
        maker_fee=fees["maker_fee"],
        taker_fee=fees["taker_fee"],
        market_type=MarketType(market_type),
        status=status,
        max_qty=_optional_decimal(record, "max_qty", where),
        max_notional=_optional_decimal(record, "max_notional", where),
        start_price=_optional_decimal(record, "start_price", where),
        unverified=tuple(str(x) for x in record.get("unverified", ())),
    )


def load_venue_spec(path: Path) -> VenueSpec:
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path.name}: expected an object")
    name = str(data.get("exchange") or path.stem).lower()
    markets: dict[str, SimMarket] = {}
    for index, record in enumerate(data.get("markets", [])):
        market = market_from_json(record, f"{name}.markets[{index}]")
        if market.symbol in markets:
            raise ValueError(f"{name}.markets[{index}].symbol: duplicate {market.symbol}")
        markets[market.symbol] = market
    raw_quirks = data.get("quirks", {})
    quirks = VenueQuirks(**{k: str(v) for k, v in raw_quirks.items()})
    if quirks.post_only_cross not in ("reject", "cancel"):
        raise ValueError(f"{name}.quirks.post_only_cross: must be 'reject' or 'cancel'")
    if quirks.client_id_unique not in ("open", "all"):
        raise ValueError(f"{name}.quirks.client_id_unique: must be 'open' or 'all'")
    re.compile(quirks.client_id_pattern)
    return VenueSpec(
        name=name,
        markets=markets,
        errors=ErrorCatalog.from_json(name, data.get("errors", {})),
        quirks=quirks,
        order_id_start=int(data.get("order_id_start", 1)),
        trade_id_start=int(data.get("trade_id_start", 1)),
        source=str(data.get("source", "")),
        taken_on=str(data.get("taken_on", "")),
    )


def load_venue_specs(markets_dir: Path | str | None = None) -> dict[str, VenueSpec]:
    """Every ``*.json`` venue file of ``markets_dir`` (default ``scenarios/markets``)."""
    directory = Path(markets_dir) if markets_dir is not None else default_markets_dir()
    specs = {}
    for path in sorted(directory.glob("*.json")):
        spec = load_venue_spec(path)
        specs[spec.name] = spec
    if not specs:
        raise ValueError(f"markets_dir: no venue files in {directory}")
    return specs


_SYNTHETIC_TICKS = ("0.01", "0.001", "0.0001", "0.00001")
_SYNTHETIC_STEPS = ("0.001", "0.01", "0.1", "1")


def generate_synthetic_markets(
    n: int, seed: int, *, quote: str = "USDT", prefix: str = "SYN"
) -> list[SimMarket]:
    """``n`` deterministic synthetic spot markets (``SYN0000USDT``...) for stress runs.

    Each gets a start price of 1,000 to 100,000 ticks and a step so that the minimum order
    is worth about one quote unit or more; min notional 5, fees 0.1%.
    """
    if n < 0:
        raise ValueError(f"n: must be >= 0, got {n}")
    rng = random.Random(seed)
    markets = []
    for index in range(n):
        tick = Decimal(rng.choice(_SYNTHETIC_TICKS))
        step = Decimal(rng.choice(_SYNTHETIC_STEPS))
        start_ticks = rng.randint(1_000, 100_000)
        base = f"{prefix}{index:04d}"
        markets.append(
            SimMarket(
                symbol=f"{base}{quote}",
                base=base,
                quote=quote,
                tick_size=tick,
                step_size=step,
                min_qty=step,
                min_notional=Decimal(5),
                start_price=tick * start_ticks,
            )
        )
    return markets
