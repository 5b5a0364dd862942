"""Kline interval names of each exchange, in milliseconds.

Calendar-month candles (Binance ``1M``, Bybit ``M``) have no fixed length and are not served.
"""

from __future__ import annotations

__all__ = ["BINANCE_INTERVALS", "BYBIT_INTERVALS"]

_SECOND = 1000
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR

BINANCE_INTERVALS: dict[str, int] = {
    "1s": _SECOND,
    "1m": _MINUTE,
    "3m": 3 * _MINUTE,
    "5m": 5 * _MINUTE,
    "15m": 15 * _MINUTE,
    "30m": 30 * _MINUTE,
    "1h": _HOUR,
    "2h": 2 * _HOUR,
    "4h": 4 * _HOUR,
    "6h": 6 * _HOUR,
    "8h": 8 * _HOUR,
    "12h": 12 * _HOUR,
    "1d": _DAY,
    "3d": 3 * _DAY,
    "1w": 7 * _DAY,
}

BYBIT_INTERVALS: dict[str, int] = {
    "1": _MINUTE,
    "3": 3 * _MINUTE,
    "5": 5 * _MINUTE,
    "15": 15 * _MINUTE,
    "30": 30 * _MINUTE,
    "60": _HOUR,
    "120": 2 * _HOUR,
    "240": 4 * _HOUR,
    "360": 6 * _HOUR,
    "720": 12 * _HOUR,
    "D": _DAY,
    "W": 7 * _DAY,
}
