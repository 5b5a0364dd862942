"""TradingView webhook payload -> :class:`engine.domain.Signal` (SPEC §2).

Parsing is strict about what the engine needs (exchange, symbol, timeframe, action, intent
type, numbers) and lenient about the rest (extra keys are kept in ``raw`` and ignored).
Every problem is reported with the dotted field path and a reason code; all problems of a
payload are reported at once.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.domain import PositionSide, Signal, SignalType, normalise_symbol

__all__ = [
    "SIZE_TYPES",
    "SignalError",
    "SignalFieldError",
    "canonical_json",
    "load_payload",
    "parse_signal",
    "parse_timeframe",
    "payload_fingerprint",
    "signal_capital",
    "signal_max_slippage_percent",
]

SIZE_TYPES: tuple[str, ...] = ("contracts", "base", "quote")

# Reason codes of SignalFieldError.code
MISSING = "missing"
PLACEHOLDER = "placeholder"
INVALID_JSON = "invalid_json"
INVALID_TYPE = "invalid_type"
INVALID_NUMBER = "invalid_number"
INVALID_VALUE = "invalid_value"
INVALID_TIMEFRAME = "invalid_timeframe"
INVALID_SYMBOL = "invalid_symbol"

_PLACEHOLDER = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_TIMEFRAME = re.compile(r"([0-9]*)([mhHdDwWM])")
# ccxt style lower-case "m" is minutes; TradingView's upper-case "M" is a month (30 days).
_UNIT_MINUTES = {
    "m": 1,
    "h": 60,
    "H": 60,
    "d": 1440,
    "D": 1440,
    "w": 10_080,
    "W": 10_080,
    "M": 43_200,
}
_SYMBOL = re.compile(r"[A-Z0-9]+")
_SIDES = {
    "long": PositionSide.LONG,
    "buy": PositionSide.LONG,
    "short": PositionSide.SHORT,
    "sell": PositionSide.SHORT,
}
_FINGERPRINT_IGNORED = ("timestamp", "secret")


@dataclass(frozen=True, slots=True)
class SignalFieldError:
    """One problem in a payload: dotted field path, human message, reason code."""

    field: str
    message: str
    code: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message} [{self.code}]"


class SignalError(Exception):
    """The payload is not a valid signal; ``errors`` lists every problem."""

    def __init__(self, errors: list[SignalFieldError]) -> None:
        self.errors = errors
        count = len(errors)
        lines = "\n".join(f"  {error}" for error in errors)
        super().__init__(f"invalid signal ({count} error{'s' if count != 1 else ''}):\n{lines}")


# --------------------------------------------------------------------------- JSON handling


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _normalise(value: Any, path: str, errors: list[SignalFieldError]) -> Any:
    """Copy ``value`` into plain JSON types with Decimal numbers.

    A float (only possible when a caller hands over an already-decoded mapping) becomes the
    Decimal of its shortest repr, i.e. exactly the literal a JSON text would have carried.
    """
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                errors.append(
                    SignalFieldError(
                        _join(path, str(key)), "object keys must be strings", INVALID_TYPE
                    )
                )
                continue
            result[key] = _normalise(item, _join(path, key), errors)
        return result
    if isinstance(value, (list, tuple)):
        return [_normalise(item, _join(path, index), errors) for index, item in enumerate(value)]
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            errors.append(SignalFieldError(path, f"must be finite, got {value!r}", INVALID_NUMBER))
            return None
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            errors.append(SignalFieldError(path, f"must be finite, got {value}", INVALID_NUMBER))
            return None
        return value
    errors.append(SignalFieldError(path, f"not a JSON value: {type(value).__name__}", INVALID_TYPE))
    return None


def load_payload(data: Mapping[str, Any] | bytes | str) -> dict[str, Any]:
    """Decode a webhook body (or normalise a mapping) into JSON types with Decimal numbers.

    Raises :class:`SignalError` (code ``invalid_json`` with line and column in the message,
    ``invalid_type`` when the top level is not an object, ``invalid_number`` for NaN/Infinity).
    """
    decoded: Any = data
    if isinstance(data, (bytes, str)):
        try:
            text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
            decoded = json.loads(text, parse_float=Decimal, parse_constant=Decimal)
        except UnicodeDecodeError as exc:
            raise SignalError(
                [SignalFieldError("<json>", f"body is not UTF-8: {exc.reason}", INVALID_JSON)]
            ) from None
        except json.JSONDecodeError as exc:
            message = f"{exc.msg} (line {exc.lineno}, column {exc.colno})"
            raise SignalError([SignalFieldError("<json>", message, INVALID_JSON)]) from None
    if not isinstance(decoded, Mapping):
        kind = type(decoded).__name__
        raise SignalError(
            [SignalFieldError("<root>", f"expected a JSON object, got {kind}", INVALID_TYPE)]
        )
    errors: list[SignalFieldError] = []
    normalised: dict[str, Any] = _normalise(decoded, "", errors)
    if errors:
        raise SignalError(errors)
    return normalised


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys; Decimals are written as JSON numbers, digits unchanged."""
    if isinstance(value, Mapping):
        items = sorted(value.items())
        body = ",".join(
            f"{json.dumps(k, ensure_ascii=False)}:{canonical_json(v)}" for k, v in items
        )
        return "{" + body + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical_json(item) for item in value) + "]"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"non-finite number {value}")
        return str(value)
    if isinstance(value, float):
        raise TypeError("canonical_json takes Decimal numbers, not float")
    return json.dumps(value, ensure_ascii=False)


def payload_fingerprint(payload: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON of ``payload`` without top-level timestamp/secret."""
    kept = {k: v for k, v in payload.items() if k not in _FINGERPRINT_IGNORED}
    return hashlib.sha256(canonical_json(kept).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- field parsing


def parse_timeframe(value: Any) -> int:
    """Minutes of a TradingView/ccxt timeframe: ``60``, ``"240"``, ``"D"``/``"1D"`` (1440),
    ``"W"`` (10080), ``"M"`` (43200, a 30-day month), ``"4h"``, ``"15m"``. Raises ValueError."""
    minutes: int
    if isinstance(value, bool):
        raise ValueError("expected minutes or a TradingView interval, got a boolean")
    if isinstance(value, int):
        minutes = value
    elif isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise ValueError(f"minutes must be a whole number, got {value}")
        minutes = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():
            minutes = int(text)
        else:
            match = _TIMEFRAME.fullmatch(text)
            if match is None:
                raise ValueError(f"unknown timeframe {value!r}")
            count = int(match.group(1)) if match.group(1) else 1
            minutes = count * _UNIT_MINUTES[match.group(2)]
    else:
        raise ValueError(f"expected minutes or a TradingView interval, got {type(value).__name__}")
    if minutes <= 0:
        raise ValueError(f"timeframe must be positive, got {value!r}")
    return minutes


class _Reader:
    """Reads fields of one normalised payload, collecting errors instead of stopping."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.errors: list[SignalFieldError] = []
        self.placeholders: set[str] = set()
        self._scan_placeholders(payload, "")

    def _scan_placeholders(self, value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                self._scan_placeholders(item, _join(path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self._scan_placeholders(item, _join(path, index))
        elif isinstance(value, str):
            match = _PLACEHOLDER.search(value)
            if match is not None:
                shown = "" if path == "secret" else f" {match.group(0)!r}"
                self.placeholders.add(path)
                self.error(path, f"unreplaced TradingView placeholder{shown}", PLACEHOLDER)

    def error(self, path: str, message: str, code: str) -> None:
        self.errors.append(SignalFieldError(path, message, code))

    def section(self, name: str) -> dict[str, Any]:
        value = self.payload.get(name)
        if value is None or name in self.placeholders:
            return {}
        if not isinstance(value, dict):
            self.error(name, f"must be an object, got {type(value).__name__}", INVALID_TYPE)
            return {}
        return value

    def value(self, section: str, key: str, *, required: bool = False) -> Any:
        """The field's value, or None when absent, null, or already reported."""
        path = f"{section}.{key}"
        if path in self.placeholders:
            return None
        container = self.payload.get(section)
        value = container.get(key) if isinstance(container, dict) else None
        if value is None and required and not self._section_broken(section):
            self.error(path, "required field is missing", MISSING)
        return value

    def _section_broken(self, section: str) -> bool:
        container = self.payload.get(section)
        return container is not None and not isinstance(container, dict)

    def text(self, section: str, key: str, *, required: bool = False) -> str | None:
        value = self.value(section, key, required=required)
        if value is None:
            return None
        if not isinstance(value, str):
            kind = type(value).__name__
            self.error(f"{section}.{key}", f"expected a string, got {kind}", INVALID_TYPE)
            return None
        text = value.strip()
        if not text and required:
            self.error(f"{section}.{key}", "required field is empty", MISSING)
            return None
        return text or None

    def choice(
        self, section: str, key: str, allowed: tuple[str, ...], *, required: bool = False
    ) -> str | None:
        text = self.text(section, key, required=required)
        if text is None:
            return None
        lowered = text.lower()
        if lowered not in allowed:
            message = f"{text!r} is not one of {', '.join(allowed)}"
            self.error(f"{section}.{key}", message, INVALID_VALUE)
            return None
        return lowered

    def number(self, section: str, key: str, *, required: bool = False) -> Decimal | None:
        value = self.value(section, key, required=required)
        if value is None:
            return None
        path = f"{section}.{key}"
        if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
            self.error(path, f"expected a number, got {type(value).__name__}", INVALID_NUMBER)
            return None
        try:
            number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
        except InvalidOperation:
            self.error(path, f"not a number: {value!r}", INVALID_NUMBER)
            return None
        if not number.is_finite():
            self.error(path, f"must be finite, got {value!r}", INVALID_NUMBER)
            return None
        return number

    def positive(self, section: str, key: str) -> Decimal | None:
        number = self.number(section, key)
        if number is not None and number <= 0:
            self.error(f"{section}.{key}", f"must be > 0, got {number}", INVALID_VALUE)
            return None
        return number


def _parse_symbol(reader: _Reader) -> str | None:
    text = reader.text("tv", "symbol", required=True)
    if text is None:
        return None
    symbol = normalise_symbol(text).removesuffix(".P")  # TradingView's perpetual suffix
    if not _SYMBOL.fullmatch(symbol):
        reader.error("tv.symbol", f"not a market symbol: {text!r}", INVALID_SYMBOL)
        return None
    return symbol


def _parse_timeframe_field(reader: _Reader) -> int | None:
    value = reader.value("tv", "timeframe", required=True)
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        reader.error("tv.timeframe", "required field is empty", MISSING)
        return None
    try:
        return parse_timeframe(value.strip() if isinstance(value, str) else value)
    except ValueError as exc:
        reader.error("tv.timeframe", str(exc), INVALID_TIMEFRAME)
        return None


def _parse_order_size(reader: _Reader, kind: SignalType | None) -> Decimal | None:
    size = reader.number("tv", "order_size", required=kind is SignalType.REDUCE)
    if size is None:
        return None
    if size < 0:
        reader.error("tv.order_size", f"must not be negative, got {size}", INVALID_VALUE)
        return None
    if kind is SignalType.REDUCE and not 0 < size <= 100:
        message = f"reduce takes a percentage in (0, 100], got {size}"
        reader.error("tv.order_size", message, INVALID_VALUE)
        return None
    if kind in (SignalType.SIGNAL, SignalType.REVERSE) and size == 0:
        reader.error(
            "tv.order_size", "must be > 0 for an entry (omit it for the default)", INVALID_VALUE
        )
        return None
    return size


def _optional_price(reader: _Reader, key: str) -> Decimal | None:
    """``risk.stop_loss``/``risk.take_profit``: a price, with 0 meaning "none" as TV sends."""
    number = reader.number("risk", key)
    if number is None or number == 0:
        return None
    if number < 0:
        reader.error(f"risk.{key}", f"must be a positive price, got {number}", INVALID_VALUE)
        return None
    return number


def _parse_trade_id(reader: _Reader) -> str | None:
    value = reader.value("strategy_info", "trade_id")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        kind = type(value).__name__
        reader.error(
            "strategy_info.trade_id", f"expected a string or number, got {kind}", INVALID_TYPE
        )
        return None
    text = str(value).strip()
    return text or None


def parse_signal(
    payload: Mapping[str, Any] | bytes | str,
    *,
    user_id: str,
    signal_id: str,
    received_at_ms: int,
) -> Signal:
    """Validate a TradingView payload and turn it into a :class:`Signal`.

    Raises :class:`SignalError` listing every problem (dotted field, message, reason code).
    """
    data = load_payload(payload)
    reader = _Reader(data)
    for name in ("tv", "execution_intent", "risk", "strategy_info"):
        reader.section(name)

    exchange_text = reader.text("tv", "exchange", required=True)
    symbol = _parse_symbol(reader)
    timeframe = _parse_timeframe_field(reader)
    action = reader.choice("tv", "action", ("buy", "sell", "long", "short"), required=True)
    kind_text = reader.choice(
        "execution_intent", "type", tuple(kind.value for kind in SignalType), required=True
    )
    kind = SignalType(kind_text) if kind_text is not None else None
    side_text = reader.choice("execution_intent", "side", tuple(_SIDES))
    size_type = reader.choice("execution_intent", "position_size_type", SIZE_TYPES) or "contracts"
    order_size = _parse_order_size(reader, kind)
    entry_price = reader.positive("tv", "entry_price")
    close_price = reader.positive("tv", "close_price")
    stop_loss = _optional_price(reader, "stop_loss")
    take_profit = _optional_price(reader, "take_profit")
    slippage = reader.number("risk", "max_slippage_percent")
    if slippage is not None and slippage < 0:
        reader.error("risk.max_slippage_percent", f"must be >= 0, got {slippage}", INVALID_VALUE)
    trade_id = _parse_trade_id(reader)

    if reader.errors:
        raise SignalError(reader.errors)
    assert exchange_text is not None and symbol is not None and timeframe is not None
    assert action is not None and kind is not None

    side: PositionSide | None
    if side_text is not None:
        side = _SIDES[side_text]
    elif kind in (SignalType.SIGNAL, SignalType.REVERSE):
        side = _SIDES[action]
    else:
        side = None  # exit/reduce: the open group's side

    return Signal(
        signal_id=signal_id,
        user_id=user_id,
        exchange=exchange_text.lower(),
        symbol=symbol,
        timeframe=timeframe,
        type=kind,
        side=side,
        entry_price=entry_price,
        order_size=order_size,
        size_type=size_type,
        fingerprint=payload_fingerprint(data),
        received_at_ms=received_at_ms,
        close_price=close_price,
        stop_loss=stop_loss,
        take_profit=take_profit,
        trade_id=trade_id,
        raw={key: value for key, value in data.items() if key != "secret"},
    )


# --------------------------------------------------------------------------- helpers


def signal_capital(signal: Signal, price: Decimal) -> Decimal | None:
    """Quote capital a signal asks for at ``price`` (SPEC §2).

    ``contracts``/``base``: order_size × price; ``quote``: order_size. ``None`` when the signal
    carries no size (the user's ``default_capital_usd`` applies). For ``reduce`` signals
    ``order_size`` is a percentage, not a size: do not call this for them.
    """
    if signal.order_size is None:
        return None
    if signal.size_type == "quote":
        return signal.order_size
    if price <= 0:
        raise ValueError(f"price must be positive, got {price}")
    return signal.order_size * price


def signal_max_slippage_percent(signal: Signal) -> Decimal | None:
    """The payload's ``risk.max_slippage_percent`` (validated by :func:`parse_signal`)."""
    risk = signal.raw.get("risk")
    value = risk.get("max_slippage_percent") if isinstance(risk, dict) else None
    if value is None:
        return None
    return Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
