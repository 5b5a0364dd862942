"""``CcxtExchange`` (unmodified ccxt underneath) against the simulator's REST faces over HTTP,
for binance and bybit: market rules, orders, fills, cancels, and the faults of SPEC §12 — with
the orders that exist afterwards counted on the simulator's side.

Expected numbers come from scenarios/markets/*.json and the seed price BTCUSDT 95992.3.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import pytest

from engine.adapters.ccxt_exchange import CcxtExchange
from engine.adapters.retry import RetryPolicy
from engine.domain import (
    CancelOrder,
    ConnectionState,
    OrderPurpose,
    OrderSide,
    OrderStatus,
    OrderType,
    PlaceOrder,
)
from engine.errors import AuthFailed, InsufficientBalance, NotFound, OrderRejectedError
from tests.kit.sim_server import SimServer, serving_simulator

D = Decimal
LOST_DELAY_MS = 1400  # the simulator holds a "lost" answer this long...
TIMEOUT_MS = 800  # ...and the adapter gives up on a reply after this long
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.1, multiplier=2, max_delay=1, jitter=0)
VENUES = ["binance", "bybit"]


class WallClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with serving_simulator(response_lost_delay_ms=LOST_DELAY_MS) as running:
        yield running


@pytest.fixture
async def exchange(request: pytest.FixtureRequest, server: SimServer) -> AsyncIterator[Any]:
    venue: str = request.param
    assert server.admin("POST", "/admin/reset").status_code == 200
    adapter = CcxtExchange(
        venue,
        clock=WallClock(),
        rng=random.Random(3),
        api_key=server.api_key,
        api_secret=server.api_secret,
        base_url=server.base_url,
        retry=FAST_RETRY,
        timeout_ms=TIMEOUT_MS,
    )
    yield adapter
    await adapter.close()


def order(
    cid: str,
    venue: str,
    *,
    type: OrderType = OrderType.MARKET,
    side: OrderSide = OrderSide.BUY,
    quantity: str = "0.001",
    price: str | None = None,
    symbol: str = "BTCUSDT",
) -> PlaceOrder:
    return PlaceOrder(
        client_order_id=cid,
        user_id="u1",
        exchange=venue,
        symbol=symbol,
        side=side,
        type=type,
        quantity=D(quantity),
        price=D(price) if price is not None else None,
        purpose=OrderPurpose.ENTRY,
        group_id="g1",
    )


def sim_orders(server: SimServer, venue: str, cid: str) -> list[dict[str, Any]]:
    listed = server.admin("GET", "/admin/orders", params={"exchange": venue}).json()["orders"]
    return [o for o in listed if o["client_order_id"] == cid]


def add_fault(server: SimServer, **fault: Any) -> None:
    response = server.admin("POST", "/admin/faults", json=fault)
    assert response.status_code == 200, response.text


def set_price(server: SimServer, venue: str, price: str) -> None:
    body = {"exchange": venue, "symbol": "BTCUSDT", "price": price}
    assert server.admin("POST", "/admin/price", json=body).status_code == 200


parametrize = pytest.mark.parametrize("exchange", VENUES, indirect=True)


@parametrize
async def test_market_rules_match_the_market_files(exchange: CcxtExchange) -> None:
    rules = {r.symbol: r for r in await exchange.load_markets()}
    btc = rules["BTCUSDT"]
    expected = {
        "binance": (D("0.01"), D("0.00001"), D("0.00001"), D("5")),
        "bybit": (D("0.01"), D("0.000001"), D("0.000048"), D("1")),
    }[exchange.name]
    assert (btc.tick_size, btc.step_size, btc.min_qty, btc.min_notional) == expected
    assert (btc.maker_fee, btc.taker_fee) == (D("0.001"), D("0.001"))
    assert await exchange.fetch_price("BTC/USDT") == D("95992.3")


@parametrize
async def test_market_buy_fills_at_the_price_with_fees(
    exchange: CcxtExchange, server: SimServer
) -> None:
    report = await exchange.place_order(order("mkt-1", exchange.name))
    assert (report.status, report.filled_quantity) == (OrderStatus.FILLED, D("0.001"))
    assert report.average_price == D("95992.3")
    assert sum(f.quantity for f in report.fills) == D("0.001")
    # taker fee 0.1 % of the bought 0.001 BTC = 0.000001 BTC
    assert sum(f.fee for f in report.fills) == D("0.000001")
    assert {f.fee_asset for f in report.fills} == {"BTC"}
    again = await exchange.fetch_order("BTCUSDT", "mkt-1")
    assert again is not None and again.exchange_order_id == report.exchange_order_id
    assert [f.trade_id for f in again.fills] == [f.trade_id for f in report.fills]
    assert len(sim_orders(server, exchange.name, "mkt-1")) == 1


@parametrize
async def test_resting_limit_fills_when_the_price_comes(
    exchange: CcxtExchange, server: SimServer
) -> None:
    placed = await exchange.place_order(
        order("dca-1", exchange.name, type=OrderType.LIMIT, price="95032.37", quantity="0.0005")
    )
    assert placed.status == OrderStatus.OPEN
    open_orders = await exchange.fetch_open_orders("BTCUSDT")
    assert [o.client_order_id for o in open_orders] == ["dca-1"]
    set_price(server, exchange.name, "95000")
    filled = await exchange.fetch_order("BTCUSDT", "dca-1")
    assert filled is not None and filled.status == OrderStatus.FILLED
    assert [(f.quantity, f.price) for f in filled.fills] == [(D("0.0005"), D("95032.37"))]


@parametrize
async def test_cancel(exchange: CcxtExchange) -> None:
    await exchange.place_order(
        order("tp-1", exchange.name, type=OrderType.LIMIT, price="90000", quantity="0.001")
    )
    cancel = CancelOrder("tp-1", "u1", exchange.name, "BTCUSDT")
    assert (await exchange.cancel_order(cancel)).status == OrderStatus.CANCELLED
    # cancelling again: the order is gone from the book and reported as it ended
    assert (await exchange.cancel_order(cancel)).status == OrderStatus.CANCELLED
    with pytest.raises(NotFound):
        await exchange.cancel_order(CancelOrder("never", "u1", exchange.name, "BTCUSDT"))


@parametrize
async def test_response_lost_places_exactly_one_order(
    exchange: CcxtExchange, server: SimServer
) -> None:
    add_fault(server, kind="response_lost", exchange=exchange.name, count=1)
    report = await exchange.place_order(
        order("lost-1", exchange.name, type=OrderType.LIMIT, price="90000")
    )
    assert report.client_order_id == "lost-1" and report.status == OrderStatus.OPEN
    await asyncio.sleep(LOST_DELAY_MS / 1000)  # let the held answer finish
    assert len(sim_orders(server, exchange.name, "lost-1")) == 1
    assert exchange.unconfirmed_orders == frozenset()


@parametrize
async def test_exchange_down_then_back_places_one_order(
    exchange: CcxtExchange, server: SimServer
) -> None:
    await exchange.load_markets()
    add_fault(server, kind="down", exchange=exchange.name, endpoint="order.create", count=2)
    report = await exchange.place_order(order("down-1", exchange.name))
    assert report.status == OrderStatus.FILLED
    assert len(sim_orders(server, exchange.name, "down-1")) == 1
    assert exchange.state == ConnectionState.OK


@parametrize
async def test_rate_limit_waits_and_places_one_order(
    exchange: CcxtExchange, server: SimServer
) -> None:
    await exchange.load_markets()
    add_fault(
        server,
        kind="rate_limit",
        exchange=exchange.name,
        endpoint="order.create",
        count=1,
        retry_after_s=1,
    )
    started = time.monotonic()
    report = await exchange.place_order(order("rl-1", exchange.name))
    assert report.status == OrderStatus.FILLED
    assert time.monotonic() - started >= 0.9  # Retry-After 1 s honoured
    assert len(sim_orders(server, exchange.name, "rl-1")) == 1


@parametrize
async def test_bad_keys_mark_the_account_and_stop(
    exchange: CcxtExchange, server: SimServer
) -> None:
    await exchange.load_markets()
    add_fault(server, kind="bad_keys", exchange=exchange.name)
    with pytest.raises(AuthFailed):
        await exchange.place_order(order("auth-1", exchange.name))
    assert exchange.state == ConnectionState.AUTH_FAILED
    server.admin("DELETE", "/admin/faults")
    with pytest.raises(AuthFailed):  # refused locally until the keys are updated
        await exchange.place_order(order("auth-2", exchange.name))
    assert sim_orders(server, exchange.name, "auth-2") == []
    exchange.update_credentials(server.api_key, server.api_secret)
    assert (await exchange.place_order(order("auth-2", exchange.name))).status == (
        OrderStatus.FILLED
    )


@parametrize
async def test_rejections_carry_reason_codes(exchange: CcxtExchange) -> None:
    with pytest.raises(InsufficientBalance):  # 2 BTC * 90000 = 180000 > 100000 USDT
        await exchange.place_order(
            order("big", exchange.name, type=OrderType.LIMIT, price="90000", quantity="2")
        )
    # binance min notional 5: 0.00001 * 90000 = 0.9; bybit min 1: 0.00005 * 10000 = 0.5
    tiny = {"binance": ("0.00001", "90000"), "bybit": ("0.00005", "10000")}[exchange.name]
    with pytest.raises(OrderRejectedError) as err:
        await exchange.place_order(
            order("tiny", exchange.name, type=OrderType.LIMIT, quantity=tiny[0], price=tiny[1])
        )
    assert err.value.reason == "below_min_notional"


@parametrize
async def test_missing_metadata_shows_as_none_after_refresh(
    exchange: CcxtExchange, server: SimServer
) -> None:
    add_fault(server, kind="metadata_missing", exchange=exchange.name, symbol="ETHUSDT")
    rules = {r.symbol: r for r in await exchange.refresh_markets()}
    assert rules["ETHUSDT"].tick_size is None and not rules["ETHUSDT"].is_complete
    assert rules["BTCUSDT"].is_complete
