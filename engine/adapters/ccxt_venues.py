"""Venue quirks as data: one :class:`VenueProfile` per exchange the ccxt adapter supports.

Everything that differs between binance and bybit lives here (client-id parameter, how an
order is found again by client id, whether create/cancel answer with the full order,
published rate limits and request weights, ccxt options that switch off implicit calls), so
``ccxt_exchange`` has no ``if exchange == ...`` branches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.adapters.ratelimit import RateSpec
from engine.domain import MarketType

__all__ = ["Lookup", "VenueProfile", "VENUES", "venue_profile", "redirect_urls"]


@dataclass(frozen=True, slots=True)
class Lookup:
    """One way of finding an order by client id: ``method`` of the ccxt client, called as
    ``method(None, symbol, params)`` (``single``) or ``method(symbol, None, None, params)``
    (``list``, filtered by ``clientOrderId``)."""

    method: str
    shape: str  # "single" | "list"


@dataclass(frozen=True, slots=True)
class VenueProfile:
    name: str
    ccxt_id: str
    client_id_param: str  # sent with create_order
    lookup_param: str  # sent with fetch/cancel to address an order by client id
    lookups: tuple[Lookup, ...]
    ack_only_replies: bool  # create/cancel answer with ids only: fetch the order afterwards
    client_id_pattern: re.Pattern[str]
    request_rate: RateSpec  # request weight
    order_rate: RateSpec  # order placements
    weights: Mapping[str, float] = field(default_factory=dict)
    base_options: Mapping[str, Any] = field(default_factory=dict)
    has: Mapping[str, bool] = field(default_factory=dict)
    market_type_option: Mapping[MarketType, Mapping[str, Any]] = field(default_factory=dict)

    def options(self, market_type: MarketType, *more: MarketType) -> dict[str, Any]:
        """ccxt constructor ``options`` for this venue: ``market_type``'s defaults, with the
        markets of ``more`` types loaded too."""
        merged = dict(self.base_options)
        merged.update(self.market_type_option.get(market_type, {}))
        types: list[str] = []
        for kind in (market_type, *more):
            listed = self.market_type_option.get(kind, {}).get("fetchMarkets", {}).get("types", [])
            types.extend(t for t in listed if t not in types)
        if more and types:
            merged["fetchMarkets"] = {**merged.get("fetchMarkets", {}), "types": types}
        return merged

    def weight(self, operation: str) -> float:
        return self.weights.get(operation, 1.0)


# Binance spot: 6,000 request weight per minute (100/s) and 100 orders per 10 s per account;
# we stay at 80 % of both. Weights from the Binance spot API docs.
_BINANCE = VenueProfile(
    name="binance",
    ccxt_id="binance",
    client_id_param="newClientOrderId",
    lookup_param="origClientOrderId",
    lookups=(Lookup("fetch_order", "single"),),
    ack_only_replies=False,
    client_id_pattern=re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$"),
    request_rate=RateSpec(per_second=80, burst=400),
    order_rate=RateSpec(per_second=8, burst=50),
    weights={
        "load_markets": 20,
        "fetch_price": 2,
        "place_order": 1,
        "lookup": 4,
        "fetch_open_orders": 6,
        "fetch_open_orders_all": 80,
        "cancel_order": 1,
        "fetch_trades": 20,
    },
    base_options={
        "fetchCurrencies": False,
        "fetchMargins": False,
        "fetchOpenOrders": {"warnWithoutSymbol": False},
    },
    market_type_option={
        MarketType.SPOT: {"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}},
        MarketType.LINEAR: {"defaultType": "future", "fetchMarkets": {"types": ["linear"]}},
    },
)

# Bybit v5: 600 requests per 5 s per IP (120/s); spot order creation 20/s per account.
_BYBIT = VenueProfile(
    name="bybit",
    ccxt_id="bybit",
    client_id_param="clientOrderId",  # ccxt sends it as orderLinkId
    lookup_param="orderLinkId",
    lookups=(
        Lookup("fetch_open_orders", "list"),  # /v5/order/realtime
        Lookup("fetch_canceled_and_closed_orders", "list"),  # /v5/order/history
    ),
    ack_only_replies=True,
    client_id_pattern=re.compile(r"^[A-Za-z0-9_-]{1,36}$"),
    request_rate=RateSpec(per_second=80, burst=200),
    order_rate=RateSpec(per_second=16, burst=20),
    base_options={
        "enableUnifiedAccount": True,
        "enableUnifiedMargin": False,
        "fetchOrder": {"acknowledged": True},
    },
    has={"fetchCurrencies": False},
    market_type_option={
        MarketType.SPOT: {"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}},
        MarketType.LINEAR: {"defaultType": "swap", "fetchMarkets": {"types": ["linear"]}},
    },
)

VENUES: dict[str, VenueProfile] = {p.name: p for p in (_BINANCE, _BYBIT)}


def venue_profile(name: str) -> VenueProfile:
    try:
        return VENUES[name.lower()]
    except KeyError:
        raise ValueError(
            f"exchange: {name!r} is not supported by the ccxt adapter ({sorted(VENUES)})"
        ) from None


_HOST = re.compile(r"^https?://[^/]+")


def redirect_urls(urls: Any, base_url: str) -> Any:
    """Copy of a ccxt ``urls['api']`` tree with every http(s) host replaced by ``base_url``
    (paths kept: ``/api/v3``, ``/v5``...). WebSocket entries are left alone."""
    base = base_url.rstrip("/")
    if isinstance(urls, dict):
        return {key: redirect_urls(value, base) for key, value in urls.items()}
    if isinstance(urls, str) and _HOST.match(urls):
        return _HOST.sub(base, urls)
    return urls
