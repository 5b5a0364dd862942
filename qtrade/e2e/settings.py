"""What one run of the e2e prediction-to-profit flow does (:class:`FlowSettings`).

The defaults reproduce the seed flow on the simulator: the seed user trades BTCUSDT, ETHUSDT
and SOLUSDT on Binance spot; a five-minute warm-up moves the market (the AI engine, or the
built-in predictor, reads it), each actionable signal becomes a 100 USDT trade with a
take-profit 1 % above and a stop 2 % below the price, and the market is then moved so that the
trades take turns: the first through its stop, the next through its take-profit, and so on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from engine.domain import normalise_symbol, to_decimal

__all__ = [
    "EXIT_KINDS",
    "DEFAULT_SYMBOLS",
    "DEFAULT_WARMUP_TARGETS",
    "FlowSettingsError",
    "FlowSettings",
]

EXIT_KINDS = ("take_profit", "stop_loss")
DEFAULT_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
# Where the warm-up leaves each symbol (from the simulator's seed prices: BTC 95992.30,
# ETH 3394.00, SOL 125.97): BTC and SOL rise, ETH falls, so the momentum predictor answers
# buy, sell, buy - the seed flow's BUY / SELL / BUY.
DEFAULT_WARMUP_TARGETS: Mapping[str, Decimal] = MappingProxyType(
    {
        "BTCUSDT": Decimal("96472.26"),
        "ETHUSDT": Decimal("3380.42"),
        "SOLUSDT": Decimal("126.35"),
    }
)


class FlowSettingsError(ValueError):
    """A bad flow setting: ``field`` names it, ``code`` says why."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(f"{field}: {message} ({code})")
        self.field = field
        self.code = code


def _positive(name: str, value: object) -> Decimal:
    try:
        number = to_decimal(value, field=name)
    except ValueError as exc:
        raise FlowSettingsError(name, "not_a_number", str(exc)) from None
    if number <= 0:
        raise FlowSettingsError(name, "not_positive", f"must be > 0, got {number}")
    return number


def _count(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FlowSettingsError(name, "not_an_int", f"expected an int, got {value!r}")
    if value < minimum:
        raise FlowSettingsError(name, "out_of_range", f"must be >= {minimum}, got {value}")


@dataclass(frozen=True, slots=True)
class FlowSettings:
    """One flow run. Times are seconds of *simulated* time (the simulator's clock), except
    ``ai_timeout_seconds`` (wall time of one call to the AI engine).

    - ``user_id``: the service user that trades (the seed user ``maaz`` in ``qtrade run``).
    - ``ai_url``: the AI engine (``POST {ai_url}/signals/predict``); ``None`` asks the
      service's own ``/signals/predict`` (the seed's backend route); ``use_ai=False`` runs
      without an AI engine (the built-in predictor from the start, not a failure).
    - ``warmup_targets``/``warmup_seconds``/``sample_seconds``: the warm-up path moves each
      listed symbol linearly to its target; the market is sampled (and predicted) at the start
      and every ``sample_seconds``.
    - ``capital_usd``, ``take_profit_percent``, ``stop_loss_percent``: each trade's size
      (quote) and its TP / stop distances from the entry price.
    - ``exit_cycle``: which level each trade is driven through, in turn (trades in symbol
      order); ``exit_overshoot_percent``: how far past the level the price is moved, over
      ``exit_move_seconds``; ``exit_timeout_seconds``: how long the flow waits for the exits.
    - ``allow_short``: ``False`` (spot accounts) skips sell predictions at signal generation.
    """

    user_id: str
    exchange: str = "binance"
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    timeframe: int = 60
    ai_url: str | None = None
    use_ai: bool = True
    ai_timeout_seconds: float = 5.0
    warmup_targets: Mapping[str, Decimal] = field(default_factory=lambda: DEFAULT_WARMUP_TARGETS)
    warmup_seconds: int = 300
    sample_seconds: int = 60
    min_confidence: Decimal = Decimal("0.5")
    allow_short: bool = False
    capital_usd: Decimal = Decimal(100)
    take_profit_percent: Decimal = Decimal(1)
    stop_loss_percent: Decimal = Decimal(2)
    fill_poll_attempts: int = 10
    poll_seconds: int = 1
    monitor_seconds: int = 60
    exit_cycle: tuple[str, ...] = ("stop_loss", "take_profit")
    exit_overshoot_percent: Decimal = Decimal("0.5")
    exit_move_seconds: int = 30
    exit_timeout_seconds: int = 120

    def __post_init__(self) -> None:
        if not isinstance(self.user_id, str) or not self.user_id.strip():
            raise FlowSettingsError("user_id", "empty", "a user id is required")
        if not isinstance(self.exchange, str) or not self.exchange.strip():
            raise FlowSettingsError("exchange", "empty", "an exchange is required")
        object.__setattr__(self, "exchange", self.exchange.strip().lower())
        symbols = tuple(normalise_symbol(s) for s in self.symbols)
        if not symbols:
            raise FlowSettingsError("symbols", "empty", "at least one symbol")
        if len(set(symbols)) != len(symbols):
            raise FlowSettingsError("symbols", "duplicate", f"repeated symbol in {symbols}")
        object.__setattr__(self, "symbols", symbols)
        targets = {
            normalise_symbol(symbol): _positive(f"warmup_targets.{symbol}", price)
            for symbol, price in self.warmup_targets.items()
        }
        object.__setattr__(self, "warmup_targets", MappingProxyType(targets))
        _count("timeframe", self.timeframe, 1)
        _count("warmup_seconds", self.warmup_seconds, 0)
        _count("sample_seconds", self.sample_seconds, 1)
        _count("fill_poll_attempts", self.fill_poll_attempts, 1)
        _count("poll_seconds", self.poll_seconds, 1)
        _count("monitor_seconds", self.monitor_seconds, 0)
        _count("exit_move_seconds", self.exit_move_seconds, 1)
        _count("exit_timeout_seconds", self.exit_timeout_seconds, 1)
        if self.warmup_seconds % self.sample_seconds:
            raise FlowSettingsError(
                "warmup_seconds", "not_a_multiple", "must be a multiple of sample_seconds"
            )
        if not self.ai_timeout_seconds > 0:
            raise FlowSettingsError("ai_timeout_seconds", "not_positive", "must be > 0")
        for name in (
            "capital_usd",
            "take_profit_percent",
            "stop_loss_percent",
            "exit_overshoot_percent",
        ):
            object.__setattr__(self, name, _positive(name, getattr(self, name)))
        if self.stop_loss_percent >= 100:
            raise FlowSettingsError("stop_loss_percent", "out_of_range", "must be < 100")
        confidence = to_decimal(self.min_confidence, field="min_confidence")
        if not 0 <= confidence <= 1:
            raise FlowSettingsError("min_confidence", "out_of_range", "must be in [0, 1]")
        object.__setattr__(self, "min_confidence", confidence)
        if not self.exit_cycle or any(kind not in EXIT_KINDS for kind in self.exit_cycle):
            raise FlowSettingsError(
                "exit_cycle", "unknown_value", f"a non-empty list of {EXIT_KINDS}"
            )
        if self.ai_url is not None and not self.ai_url.startswith(("http://", "https://")):
            raise FlowSettingsError("ai_url", "invalid_url", f"not an http(s) URL: {self.ai_url}")

    @property
    def warmup_samples(self) -> int:
        """Market samples of the warm-up: the start, then one every ``sample_seconds``."""
        return self.warmup_seconds // self.sample_seconds + 1

    def exit_plan(self, index: int) -> str:
        """The level the ``index``-th trade (symbol order) is driven through."""
        return self.exit_cycle[index % len(self.exit_cycle)]
