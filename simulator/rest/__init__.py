"""The simulator's REST faces: Binance spot v3, Bybit v5 and the admin API (served together
by ``simulator.server``; see docs/simulator_rest.md)."""

from simulator.rest.admin import admin_router
from simulator.rest.binance import BinanceFace
from simulator.rest.bybit import BybitFace
from simulator.rest.common import RestContext

__all__ = ["BinanceFace", "BybitFace", "RestContext", "admin_router"]
