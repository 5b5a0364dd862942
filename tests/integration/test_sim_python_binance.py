"""Smoke test: the official python-binance client (sync and async) against the Binance face.

Redirected as ../shared/reference/ccxt_contract.md §8 shows (a subclass with ``API_URL``).
python-binance signs alphabetically sorted forms and sends cancels with a DELETE form body.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.kit.sim_server import SimServer, serving_simulator

with warnings.catch_warnings():
    # python-binance imports a deprecated name from websockets at import time.
    warnings.simplefilter("ignore", DeprecationWarning)
    from binance.async_client import AsyncClient
    from binance.client import Client
    from binance.exceptions import BinanceAPIException


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with serving_simulator() as running:
        yield running


@pytest.fixture(autouse=True)
def _reset(server: SimServer) -> None:
    assert server.admin("POST", "/admin/reset").status_code == 200


def test_sync_client_trades_against_the_simulator(server: SimServer) -> None:
    class LocalClient(Client):
        API_URL = API_TESTNET_URL = server.base_url + "/api"

    client = LocalClient(server.api_key, server.api_secret)  # pings on construction
    try:
        info = client.get_symbol_info("BTCUSDT")
        assert info is not None
        price_filter = next(f for f in info["filters"] if f["filterType"] == "PRICE_FILTER")
        assert Decimal(price_filter["tickSize"]) == Decimal("0.01")
        usdt = next(b for b in client.get_account()["balances"] if b["asset"] == "USDT")
        assert Decimal(usdt["free"]) == Decimal(100000)

        order = client.create_order(
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="0.001",
            price="95000",
        )
        assert order["status"] == "NEW" and order["clientOrderId"].startswith("x-")
        assert client.get_order(symbol="BTCUSDT", orderId=order["orderId"])["status"] == "NEW"
        assert [o["orderId"] for o in client.get_open_orders(symbol="BTCUSDT")] == [
            order["orderId"]
        ]
        # DELETE with the parameters in the form body
        cancelled = client.cancel_order(symbol="BTCUSDT", orderId=order["orderId"])
        assert cancelled["status"] == "CANCELED"

        bought = client.order_market_buy(symbol="BTCUSDT", quantity="0.001")
        assert bought["status"] == "FILLED"
        # one fill at 95992.3; fee 0.1 % of 0.001 BTC = 0.000001 BTC
        fills = [(Decimal(f["price"]), Decimal(f["qty"]), Decimal(f["commission"])) for f in
                 bought["fills"]]  # fmt: skip
        assert fills == [(Decimal("95992.3"), Decimal("0.001"), Decimal("0.000001"))]
        trades = client.get_my_trades(symbol="BTCUSDT")
        assert [Decimal(t["quoteQty"]) for t in trades] == [Decimal("95.9923")]  # 0.001 x 95992.3
        candle = client.get_klines(symbol="BTCUSDT", interval="1m")[-1]
        assert Decimal(candle[4]) == Decimal("95992.3")
        assert Decimal(client.get_ticker(symbol="BTCUSDT")["lastPrice"]) == Decimal("95992.3")

        with pytest.raises(BinanceAPIException) as refused:  # 2 x 90000 > 100000 USDT
            client.create_order(
                symbol="BTCUSDT",
                side="BUY",
                type="LIMIT",
                timeInForce="GTC",
                quantity="2",
                price="90000",
            )
        assert refused.value.code == -2010
    finally:
        client.close_connection()
        # python-binance's sync client made (and set) an event loop for this thread
        client.loop.close()
        asyncio.set_event_loop(None)


def test_async_client_places_and_reads_an_order(server: SimServer) -> None:
    class LocalAsyncClient(AsyncClient):
        API_URL = API_TESTNET_URL = server.base_url + "/api"

    async def scenario() -> None:
        # create() pings and reads /api/v3/time to store its timestamp offset
        client = await LocalAsyncClient.create(server.api_key, server.api_secret)
        try:
            order = await client.create_order(
                symbol="ETHUSDT",
                side="SELL",
                type="LIMIT",
                timeInForce="GTC",
                quantity="0.01",
                price="3500",
            )
            pytest.fail(f"a sell without ETH must be refused, got {order}")
        except BinanceAPIException as exc:
            assert exc.code == -2010  # no ETH to sell
        finally:
            await client.close_connection()

    asyncio.run(scenario())
