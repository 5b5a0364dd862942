"""The real ccxt client as the adapter configures it (no network): URL redirection to any base
URL, sandbox mode, options that switch off implicit calls, and the request ccxt would send —
the engine's client order id travels as binance ``newClientOrderId`` / bybit ``orderLinkId``,
a market order carries a base quantity and no price."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from engine.adapters.ccxt_exchange import build_ccxt_client
from engine.adapters.ccxt_venues import redirect_urls, venue_profile
from engine.domain import MarketType

BASE = "http://127.0.0.1:8900"


def _market(symbol: str, market_id: str, step: float, tick: float) -> dict[str, Any]:
    base, quote = symbol.split("/")
    return {
        "id": market_id,
        "symbol": symbol,
        "base": base,
        "quote": quote,
        "baseId": base,
        "quoteId": quote,
        "settle": None,
        "type": "spot",
        "spot": True,
        "swap": False,
        "future": False,
        "option": False,
        "linear": None,
        "inverse": None,
        "contract": False,
        "active": True,
        "precision": {"amount": step, "price": tick},
        "limits": {"amount": {"min": step}, "price": {}, "cost": {"min": 5.0}},
        "info": {"orderTypes": ["LIMIT", "MARKET"]},
    }


@pytest.fixture
async def binance() -> AsyncIterator[Any]:
    client = build_ccxt_client(
        venue_profile("binance"),
        api_key="k",
        api_secret="s",
        testnet=False,
        base_url=BASE,
        timeout_ms=5000,
        market_type=MarketType.SPOT,
    )
    client.set_markets([_market("BTC/USDT", "BTCUSDT", 1e-05, 0.01)])
    yield client
    await client.close()


@pytest.fixture
async def bybit() -> AsyncIterator[Any]:
    client = build_ccxt_client(
        venue_profile("bybit"),
        api_key="k",
        api_secret="s",
        testnet=False,
        base_url=BASE,
        timeout_ms=5000,
        market_type=MarketType.SPOT,
    )
    client.set_markets([_market("BTC/USDT", "BTCUSDT", 1e-06, 0.01)])
    yield client
    await client.close()


async def test_binance_traffic_goes_to_the_base_url(binance: Any) -> None:
    urls = binance.urls["api"]
    assert urls["public"] == f"{BASE}/api/v3" and urls["private"] == f"{BASE}/api/v3"
    assert urls["sapi"] == f"{BASE}/sapi/v1"
    assert all(u.startswith(BASE) for u in urls.values() if isinstance(u, str))
    assert binance.enableRateLimit is False and binance.timeout == 5000
    assert binance.options["fetchCurrencies"] is False
    assert binance.options["fetchMargins"] is False
    assert binance.options["fetchMarkets"]["types"] == ["spot"]


async def test_bybit_traffic_goes_to_the_base_url(bybit: Any) -> None:
    assert set(bybit.urls["api"].values()) == {BASE}
    assert bybit.has["fetchCurrencies"] is False
    assert bybit.options["enableUnifiedAccount"] is True
    assert bybit.options["enableUnifiedMargin"] is False
    assert bybit.options["fetchOrder"]["acknowledged"] is True


async def test_binance_order_request_carries_new_client_order_id(binance: Any) -> None:
    profile = venue_profile("binance")
    params = {profile.client_id_param: "g1-p0-l0-entry-0"}
    market = binance.create_order_request("BTC/USDT", "market", "buy", "0.00020", None, params)
    assert market["newClientOrderId"] == "g1-p0-l0-entry-0"
    assert (market["type"], market["quantity"]) == ("MARKET", "0.0002")
    assert "price" not in market and "quoteOrderQty" not in market
    limit = binance.create_order_request("BTC/USDT", "limit", "sell", "0.0002", "96952.22", params)
    assert (limit["type"], limit["price"], limit["timeInForce"]) == ("LIMIT", "96952.22", "GTC")


async def test_bybit_order_request_carries_order_link_id(bybit: Any) -> None:
    profile = venue_profile("bybit")
    params = {profile.client_id_param: "g1-p0-l0-entry-0"}
    market = bybit.create_order_request("BTC/USDT", "market", "buy", "0.0002", None, params)
    assert market["orderLinkId"] == "g1-p0-l0-entry-0"
    # base quantity, not bybit's default quote-sized market buy
    assert (market["marketUnit"], market["qty"]) == ("baseCoin", "0.0002")


async def test_testnet_uses_ccxt_sandbox_urls() -> None:
    client = build_ccxt_client(
        venue_profile("binance"),
        api_key="k",
        api_secret="s",
        testnet=True,
        base_url=None,
        timeout_ms=10_000,
        market_type=MarketType.SPOT,
    )
    assert client.urls["api"]["public"] == "https://testnet.binance.vision/api/v3"
    await client.close()


def test_redirect_keeps_paths_and_websockets() -> None:
    urls = {
        "public": "https://api.binance.com/api/v3",
        "ws": {"spot": "wss://stream.binance.com:9443/ws"},
        "other": 3,
    }
    assert redirect_urls(urls, BASE + "/") == {
        "public": f"{BASE}/api/v3",
        "ws": {"spot": "wss://stream.binance.com:9443/ws"},
        "other": 3,
    }


def test_unknown_venue_is_named() -> None:
    with pytest.raises(ValueError, match="'kraken' is not supported"):
        venue_profile("kraken")
