"""``CcxtExchange`` against the hand-written fake ccxt client: market rules and their cache,
orders placed exactly once whatever fails, cancels, retries, rate limits and health."""

from __future__ import annotations

import dataclasses
import random
from decimal import Decimal

import ccxt
import pytest

from engine.adapters.ccxt_exchange import CcxtExchange
from engine.adapters.ccxt_venues import venue_profile
from engine.adapters.retry import RetryPolicy
from engine.domain import (
    CancelOrder,
    ConnectionState,
    MarketType,
    OrderPurpose,
    OrderSide,
    OrderStatus,
    OrderType,
    PlaceOrder,
)
from engine.errors import AuthFailed, NotFound, OrderRejectedError, RateLimited, TransientError
from engine.ports import ExchangePort, FillReport
from tests.kit.ccxt_fake import FakeCcxtClient, FakeClock, Lost, binance_error, market

D = Decimal
NO_JITTER = RetryPolicy(max_attempts=4, base_delay=0.5, multiplier=2, max_delay=10, jitter=0)


def adapter(
    client: FakeCcxtClient,
    clock: FakeClock,
    *,
    retry: RetryPolicy = NO_JITTER,
    refresh_seconds: int = 600,
    states: list[tuple[str, ConnectionState, str]] | None = None,
) -> CcxtExchange:
    return CcxtExchange(
        client.venue,
        clock=clock,
        rng=random.Random(7),
        sleep=clock.sleep,
        retry=retry,
        client=client,
        refresh_seconds=refresh_seconds,
        on_state_change=(lambda *a: states.append(a)) if states is not None else None,
    )


def buy(
    cid: str = "g1-p0-l0-entry-0",
    *,
    type: OrderType = OrderType.MARKET,
    quantity: str = "0.00020",
    price: str | None = None,
    symbol: str = "BTCUSDT",
) -> PlaceOrder:
    return PlaceOrder(
        client_order_id=cid,
        user_id="u1",
        exchange="binance",
        symbol=symbol,
        side=OrderSide.BUY,
        type=type,
        quantity=D(quantity),
        price=D(price) if price is not None else None,
        purpose=OrderPurpose.ENTRY,
        group_id="g1",
    )


def cancel(cid: str) -> CancelOrder:
    return CancelOrder(client_order_id=cid, user_id="u1", exchange="binance", symbol="BTCUSDT")


# -- market rules -------------------------------------------------------------------------


async def test_market_rules_come_from_ccxt_precision_and_limits() -> None:
    client = FakeCcxtClient(
        markets=[
            market(),
            market("ETH/USDT", "ETHUSDT", tick=None, min_cost=None, maker=None),
            market("BTC/USDT:USDT", "BTCUSDT", type="swap"),  # not the configured type
            market("OLD/USDT", "OLDUSDT", active=False),
        ]
    )
    rules = {r.symbol: r for r in await adapter(client, FakeClock()).load_markets()}
    assert set(rules) == {"BTCUSDT", "ETHUSDT"}
    btc = rules["BTCUSDT"]
    assert (btc.tick_size, btc.step_size, btc.min_qty, btc.min_notional) == (
        D("0.01"),
        D("0.00001"),
        D("0.00001"),
        D("5.0"),
    )
    assert (btc.base, btc.quote, btc.maker_fee, btc.taker_fee) == (
        "BTC",
        "USDT",
        D("0.001"),
        D("0.001"),
    )
    assert btc.market_type == MarketType.SPOT and btc.is_complete
    eth = rules["ETHUSDT"]
    assert (eth.tick_size, eth.min_notional) == (None, None)  # missing metadata stays missing
    assert eth.maker_fee == D("0.001")  # MarketRules default when ccxt has no fee
    assert not eth.is_complete


async def test_spot_and_linear_markets_load_together_with_the_preferred_type_first() -> None:
    client = FakeCcxtClient(
        "bybit",
        markets=[
            market(),  # BTCUSDT spot
            market("BTC/USDT:USDT", "BTCUSDT", type="swap", tick=0.1),  # also a perpetual
            market("SOL/USDT:USDT", "SOLUSDT", type="swap", step=0.1, min_qty=0.1),
        ],
    )
    client.prices["SOL/USDT:USDT"] = 240.5
    exchange = CcxtExchange(
        "bybit",
        clock=FakeClock(),
        rng=random.Random(7),
        client=client,
        also_market_types=(MarketType.LINEAR,),
    )
    rules = {r.symbol: r for r in await exchange.load_markets()}
    # BTCUSDT is listed under both types: spot (the preferred type) keeps it
    assert (rules["BTCUSDT"].market_type, rules["BTCUSDT"].tick_size) == (
        MarketType.SPOT,
        D("0.01"),
    )
    assert (rules["SOLUSDT"].market_type, rules["SOLUSDT"].step_size) == (
        MarketType.LINEAR,
        D("0.1"),
    )
    # a reduce-only order carries reduceOnly on the perpetual, never on spot
    close = PlaceOrder(
        client_order_id="g1-p0-lx-exit-0",
        user_id="u1",
        exchange="bybit",
        symbol="SOLUSDT",
        side=OrderSide.SELL,
        type=OrderType.MARKET,
        quantity=D("0.5"),
        price=None,
        purpose=OrderPurpose.EXIT,
        group_id="g1",
        reduce_only=True,
    )
    await exchange.place_order(close)
    assert client.sent[-1][0] == "SOL/USDT:USDT" and client.sent[-1][5]["reduceOnly"] is True
    spot = dataclasses.replace(close, symbol="BTCUSDT", client_order_id="g2-p0-lx-exit-0")
    await exchange.place_order(spot)
    assert client.sent[-1][0] == "BTC/USDT" and "reduceOnly" not in client.sent[-1][5]


def test_venue_options_load_every_asked_type() -> None:
    bybit = venue_profile("bybit")
    assert bybit.options(MarketType.SPOT)["fetchMarkets"] == {"types": ["spot"]}
    both = bybit.options(MarketType.SPOT, MarketType.LINEAR)
    assert both["fetchMarkets"] == {"types": ["spot", "linear"]}
    assert both["defaultType"] == "spot"


async def test_market_rules_are_cached_for_refresh_seconds() -> None:
    client, clock = FakeCcxtClient(), FakeClock()
    exchange = adapter(client, clock, refresh_seconds=600)
    await exchange.market_rules("BTC/USDT")
    clock.advance(599.999)
    await exchange.market_rules("BTC/USDT")
    await exchange.market_rules("ETHUSDT")
    assert client.count("load_markets") == 1
    clock.advance(0.001)  # 600 s after the load: stale
    await exchange.market_rules("BTC/USDT")
    assert client.count("load_markets") == 2
    await exchange.refresh_markets()  # on demand
    assert client.count("load_markets") == 3


async def test_the_ports_load_always_asks_the_exchange() -> None:
    """The engine decides when rules are reloaded (SPEC §5); the adapter never answers a load
    from its cache, or a filter change the engine asked to see would stay hidden."""
    client, clock = FakeCcxtClient(), FakeClock()
    exchange = adapter(client, clock, refresh_seconds=600)
    await exchange.load_markets()
    await exchange.load_markets()
    assert client.count("load_markets") == 2
    await exchange.market_rules("BTCUSDT")  # fresh cache: no third request
    assert client.count("load_markets") == 2


async def test_fetch_price_is_an_exact_decimal() -> None:
    client = FakeCcxtClient()
    assert await adapter(client, FakeClock()).fetch_price("BTCUSDT") == D("95992.3")
    with pytest.raises(NotFound):
        await adapter(client, FakeClock()).fetch_price("NOPEUSDT")


# -- placing orders -----------------------------------------------------------------------


async def test_market_order_reports_its_fills() -> None:
    client = FakeCcxtClient()
    report = await adapter(client, FakeClock()).place_order(buy())
    assert report.client_order_id == "g1-p0-l0-entry-0"
    assert (report.symbol, report.status, report.quantity, report.filled_quantity) == (
        "BTCUSDT",
        OrderStatus.FILLED,
        D("0.0002"),
        D("0.0002"),
    )
    assert report.average_price == D("95992.3")
    # fee 0.00020 BTC * 0.001 = 0.0000002 BTC
    assert report.fills == (
        FillReport("T1", D("0.0002"), D("95992.3"), D("2E-7"), "BTC", report.fills[0].at_ms),
    )
    assert client.count("create_order") == 1


async def test_limit_order_rests_open() -> None:
    client = FakeCcxtClient()
    report = await adapter(client, FakeClock()).place_order(
        buy("g1-p0-l1-dca-0", type=OrderType.LIMIT, price="95512.33", quantity="0.00030")
    )
    assert (report.status, report.filled_quantity, report.average_price, report.fills) == (
        OrderStatus.OPEN,
        D("0"),
        None,
        (),
    )
    (order,) = client.orders.values()
    assert (order.price, order.amount, order.client_id) == (
        D("95512.33"),
        D("0.00030"),
        "g1-p0-l1-dca-0",
    )


async def test_lost_response_is_found_by_client_id_not_placed_again() -> None:
    client, clock = FakeCcxtClient(), FakeClock()
    client.fail("create_order", Lost(ccxt.RequestTimeout("binance POST /api/v3/order timed out")))
    report = await adapter(client, clock).place_order(buy())
    assert report.status == OrderStatus.FILLED
    assert len(client.orders) == 1
    # create (reply lost), backoff, look up by client id, then read the order's trades
    assert client.calls == ["load_markets", "create_order", "fetch_order", "fetch_my_trades"]
    assert clock.sleeps == [0.5]


async def test_timeout_before_the_exchange_saw_it_places_once() -> None:
    client, clock = FakeCcxtClient(), FakeClock()
    client.fail("create_order", ccxt.RequestTimeout("timed out"), ccxt.ExchangeNotAvailable("503"))
    report = await adapter(client, clock).place_order(buy())
    assert report.status == OrderStatus.FILLED and len(client.orders) == 1
    # each retry looked the order up first (not found), then created it
    assert client.calls == [
        "load_markets",
        "create_order",
        "fetch_order",
        "create_order",
        "fetch_order",
        "create_order",
    ]
    assert clock.sleeps == [0.5, 1.0]


async def test_after_retries_run_out_the_next_attempt_still_looks_first() -> None:
    client, clock = FakeCcxtClient(), FakeClock()
    lost = Lost(ccxt.RequestTimeout("timed out"))
    down = ccxt.ExchangeNotAvailable("binance 503")
    client.fail("create_order", lost)
    client.fail("fetch_order", down)
    exchange = adapter(client, clock, retry=RetryPolicy(max_attempts=2, jitter=0))
    with pytest.raises(TransientError):
        await exchange.place_order(buy())
    assert exchange.unconfirmed_orders == {"g1-p0-l0-entry-0"}
    assert exchange.state == ConnectionState.DISCONNECTED
    # the service retries the pending command later: found, not re-sent
    report = await exchange.place_order(buy())
    assert report.status == OrderStatus.FILLED
    assert len(client.orders) == 1 and client.count("create_order") == 1
    assert exchange.unconfirmed_orders == frozenset()
    assert exchange.health().state == ConnectionState.OK


async def test_duplicate_client_id_reply_returns_the_existing_order() -> None:
    client = FakeCcxtClient()
    exchange = adapter(client, FakeClock())
    first = await exchange.place_order(buy(type=OrderType.LIMIT, price="90000"))
    again = await exchange.place_order(buy(type=OrderType.LIMIT, price="90000"))
    assert again.exchange_order_id == first.exchange_order_id and len(client.orders) == 1


async def test_rate_limit_waits_retry_after_and_does_not_look_up() -> None:
    client, clock = FakeCcxtClient(), FakeClock()
    client.fail("create_order", binance_error(ccxt.DDoSProtection, -1003, "Too many requests."))
    client.last_response_headers = {"Retry-After": "3"}
    exchange = adapter(client, clock)
    start = clock.now_ms()
    report = await exchange.place_order(buy())
    assert report.status == OrderStatus.FILLED
    assert client.calls == ["load_markets", "create_order", "create_order"]
    assert clock.now_ms() - start == 3000  # Retry-After 3 s beats the 0.5 s backoff
    assert exchange.state == ConnectionState.OK
    # the 429 it absorbed is reported once, for the caller's alert
    notices = exchange.drain_notices()
    assert [(n.kind, n.operation, n.retry_after_seconds) for n in notices] == [
        ("rate_limited", "place_order", 3.0)
    ]
    assert exchange.drain_notices() == []


async def test_long_ban_is_not_waited_for_in_the_call() -> None:
    client, clock = FakeCcxtClient(), FakeClock()
    client.fail("create_order", binance_error(ccxt.DDoSProtection, -1003, "IP banned."))
    client.last_response_headers = {"Retry-After": "7200"}
    exchange = adapter(client, clock)
    with pytest.raises(RateLimited) as err:
        await exchange.place_order(buy())
    assert err.value.retry_after_seconds == 7200
    assert exchange.state == ConnectionState.DEGRADED
    assert client.count("create_order") == 1 and clock.sleeps == []
    # the limiter now holds every call until the ban ends
    client.last_response_headers = {}
    before = clock.now_ms()
    await exchange.fetch_price("BTCUSDT")
    assert clock.now_ms() - before == 7_200_000


async def test_rejections_are_final_with_reason() -> None:
    client = FakeCcxtClient()
    client.fail("create_order", binance_error(ccxt.BadRequest, -1013, "Filter failure: NOTIONAL"))
    exchange = adapter(client, FakeClock())
    with pytest.raises(OrderRejectedError) as err:
        await exchange.place_order(buy())
    assert err.value.reason == "below_min_notional"
    assert client.count("create_order") == 1 and exchange.state == ConnectionState.OK


async def test_unknown_symbol_and_bad_client_id_never_reach_the_exchange() -> None:
    client = FakeCcxtClient()
    exchange = adapter(client, FakeClock())
    with pytest.raises(OrderRejectedError) as unknown:
        await exchange.place_order(buy(symbol="BTC1USDT"))
    assert unknown.value.reason == "unknown_symbol"
    with pytest.raises(OrderRejectedError) as bad_id:
        await exchange.place_order(buy(cid="x" * 37))
    assert bad_id.value.reason == "invalid_client_order_id"
    assert client.count("create_order") == 0


async def test_market_order_never_sends_a_price() -> None:
    client = FakeCcxtClient()
    await adapter(client, FakeClock()).place_order(buy(price="95000"))
    (order,) = client.orders.values()
    assert order.price is None  # a price would make ccxt send a quote-sized order


# -- auth and health ----------------------------------------------------------------------


async def test_bad_keys_mark_auth_failed_and_stop_calling() -> None:
    client = FakeCcxtClient()
    states: list[tuple[str, ConnectionState, str]] = []
    client.fail(
        "create_order",
        binance_error(ccxt.AuthenticationError, -2015, "Invalid API-key, IP, or permissions."),
    )
    exchange = adapter(client, FakeClock(), states=states)
    with pytest.raises(AuthFailed):
        await exchange.place_order(buy())
    assert exchange.state == ConnectionState.AUTH_FAILED
    calls = list(client.calls)
    with pytest.raises(AuthFailed):
        await exchange.place_order(buy("other-id"))
    with pytest.raises(AuthFailed):
        await exchange.fetch_open_orders("BTCUSDT")
    assert client.calls == calls  # nothing sent while the keys are known bad
    await exchange.fetch_price("BTCUSDT")  # public calls still work...
    assert exchange.state == ConnectionState.AUTH_FAILED  # ...and say nothing about the keys
    exchange.update_credentials("new-key", "new-secret")
    assert (client.apiKey, client.secret) == ("new-key", "new-secret")
    assert (await exchange.place_order(buy("other-id"))).status == OrderStatus.FILLED
    assert [s[1] for s in states] == [ConnectionState.AUTH_FAILED, ConnectionState.OK]


async def test_the_auth_probe_is_sent_while_auth_failed_and_reopens_the_account() -> None:
    client = FakeCcxtClient()
    refused = binance_error(ccxt.AuthenticationError, -2015, "Invalid API-key.")
    client.fail("create_order", refused)
    client.fail("fetch_open_orders", refused)
    exchange = adapter(client, FakeClock())
    with pytest.raises(AuthFailed):
        await exchange.place_order(buy())
    with pytest.raises(AuthFailed):
        await exchange.probe_auth()  # sent despite the gate, and refused again
    assert client.count("fetch_open_orders") == 1
    assert exchange.state == ConnectionState.AUTH_FAILED
    await exchange.probe_auth()  # the exchange accepts the same keys again
    assert client.count("fetch_open_orders") == 2
    assert exchange.state == ConnectionState.OK
    assert (await exchange.place_order(buy("other-id"))).status == OrderStatus.FILLED


async def test_health_degrades_then_disconnects_then_recovers() -> None:
    client, clock = FakeCcxtClient(), FakeClock()
    states: list[tuple[str, ConnectionState, str]] = []
    exchange = adapter(client, clock, states=states, retry=RetryPolicy(max_attempts=1))
    await exchange.load_markets()
    client.fail("fetch_ticker", *[ccxt.ExchangeNotAvailable("connection refused")] * 3)
    seen = []
    for _ in range(3):
        with pytest.raises(TransientError):
            await exchange.fetch_price("BTCUSDT")
        seen.append((exchange.state, exchange.health().consecutive_failures))
    assert seen == [
        (ConnectionState.DISCONNECTED, 1),  # retries (1 attempt) ran out at once
        (ConnectionState.DISCONNECTED, 2),
        (ConnectionState.DISCONNECTED, 3),
    ]
    await exchange.fetch_price("BTCUSDT")
    assert exchange.state == ConnectionState.OK and exchange.health().consecutive_failures == 0
    # the first failure degrades, running out of retries disconnects, an answer recovers
    assert [s[1] for s in states] == [
        ConnectionState.DEGRADED,
        ConnectionState.DISCONNECTED,
        ConnectionState.OK,
    ]


async def test_one_transient_failure_only_degrades() -> None:
    client, clock = FakeCcxtClient(), FakeClock()
    states: list[tuple[str, ConnectionState, str]] = []
    exchange = adapter(client, clock, states=states)
    await exchange.load_markets()
    client.fail("fetch_ticker", ccxt.RequestTimeout("slow"))
    await exchange.fetch_price("BTCUSDT")  # retried and succeeded
    assert [s[1] for s in states] == [ConnectionState.DEGRADED, ConnectionState.OK]
    assert exchange.health().since_ms == clock.now_ms()
    assert [(n.kind, n.operation) for n in exchange.drain_notices()] == [("retried", "fetch_price")]


# -- reading and cancelling ---------------------------------------------------------------


async def test_fetch_order_adds_fills_of_a_partially_filled_limit() -> None:
    client = FakeCcxtClient()
    exchange = adapter(client, FakeClock())
    await exchange.place_order(
        buy("dca", type=OrderType.LIMIT, price="95512.33", quantity="0.0003")
    )
    client.fill("dca", "0.0001", "95512.33")
    client.fill("dca", "0.0001", "95500.00")
    report = await exchange.fetch_order("BTCUSDT", "dca")
    assert report is not None and report.status == OrderStatus.PARTIALLY_FILLED
    assert report.filled_quantity == D("0.0002")
    assert [(f.trade_id, f.quantity, f.price) for f in report.fills] == [
        ("T1", D("0.0001"), D("95512.33")),
        ("T2", D("0.0001"), D("95500.0")),
    ]
    # (0.0001 * 95512.33 + 0.0001 * 95500.00) / 0.0002 = 95506.165
    assert report.average_price == D("95506.165")
    assert await exchange.fetch_order("BTCUSDT", "never-placed") is None


async def test_cancel_open_order() -> None:
    client = FakeCcxtClient()
    exchange = adapter(client, FakeClock())
    await exchange.place_order(buy("tp", type=OrderType.LIMIT, price="96952.22"))
    report = await exchange.cancel_order(cancel("tp"))
    assert report.status == OrderStatus.CANCELLED and report.client_order_id == "tp"


async def test_cancel_of_a_filled_order_reports_the_fill() -> None:
    client = FakeCcxtClient()
    exchange = adapter(client, FakeClock())
    await exchange.place_order(buy("tp", type=OrderType.LIMIT, price="96952.22"))
    client.fill("tp", "0.00020", "96952.22")
    report = await exchange.cancel_order(cancel("tp"))
    assert (report.status, report.filled_quantity) == (OrderStatus.FILLED, D("0.0002"))
    assert [f.price for f in report.fills] == [D("96952.22")]
    with pytest.raises(NotFound):
        await exchange.cancel_order(cancel("ghost"))


async def test_fetch_open_orders() -> None:
    client = FakeCcxtClient()
    exchange = adapter(client, FakeClock())
    await exchange.place_order(buy("a", type=OrderType.LIMIT, price="90000"))
    await exchange.place_order(buy("b"))  # market: filled
    reports = await exchange.fetch_open_orders("BTCUSDT")
    assert [(r.client_order_id, r.symbol, r.status) for r in reports] == [
        ("a", "BTCUSDT", OrderStatus.OPEN)
    ]
    assert [r.client_order_id for r in await exchange.fetch_open_orders()] == ["a"]


# -- bybit flavour: acknowledgements only ---------------------------------------------------


async def test_bybit_ack_is_completed_by_a_lookup() -> None:
    client = FakeCcxtClient("bybit")
    exchange = adapter(client, FakeClock())
    report = await exchange.place_order(buy())
    assert (report.status, report.filled_quantity) == (OrderStatus.FILLED, D("0.0002"))
    assert client.calls[:3] == ["load_markets", "create_order", "fetch_open_orders"]
    assert "fetch_canceled_and_closed_orders" in client.calls  # filled: found in history
    resting = await exchange.place_order(buy("r", type=OrderType.LIMIT, price="90000"))
    assert resting.status == OrderStatus.OPEN
    cancelled = await exchange.cancel_order(cancel("r"))
    assert cancelled.status == OrderStatus.CANCELLED


async def test_bybit_lost_create_found_in_history() -> None:
    client, clock = FakeCcxtClient("bybit"), FakeClock()
    client.fail("create_order", Lost(ccxt.RequestTimeout("bybit POST /v5/order/create timeout")))
    report = await adapter(client, clock).place_order(buy())
    assert report.status == OrderStatus.FILLED and len(client.orders) == 1
    assert client.count("create_order") == 1


async def test_close_closes_the_client() -> None:
    client = FakeCcxtClient()
    port: ExchangePort = adapter(client, FakeClock())  # mypy: it implements the port
    await port.close()  # type: ignore[attr-defined]
    assert client.closed


async def test_tiny_quantities_are_sent_positionally() -> None:
    client = FakeCcxtClient(markets=[market(step=1e-08, min_qty=1e-08)])
    exchange = adapter(client, FakeClock())
    await exchange.place_order(buy(quantity="1E-7", type=OrderType.LIMIT, price="9E+4"))
    (sent,) = client.sent
    assert sent == (
        "BTC/USDT",
        "limit",
        "buy",
        "0.0000001",
        "90000",
        {"newClientOrderId": "g1-p0-l0-entry-0"},
    )
