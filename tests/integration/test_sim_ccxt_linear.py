"""Unmodified ccxt (async and sync) trading a linear perpetual on the simulator's Bybit face.

One server per module; BTCUSDT is relisted on bybit as a linear market (USDT-settled, 1x),
every other bybit market stays spot. Every test starts from ``POST /admin/reset`` (start
prices, no orders or positions, 100000 USDT). Expected numbers are worked out by hand from
scenarios/markets/bybit.json (BTCUSDT: tick 0.01, step 0.000001, min qty 0.000048, max qty
71.73956243, min notional 1, maker and taker fee 0.1 %) and the seed price 95992.3.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
import pytest

from engine.domain import MarketType
from simulator.exchange import Simulator
from tests.kit.sim_server import SimServer, bybit_options, redirect_ccxt, serving_simulator

LINEAR = "BTC/USDT:USDT"
SEED_PRICE = Decimal("95992.3")


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    sim = Simulator(seed=0)
    seed = sim.venue("bybit").markets["BTCUSDT"]
    sim.add_markets([dataclasses.replace(seed, market_type=MarketType.LINEAR)], ["bybit"])
    with serving_simulator(sim) as running:
        yield running


@pytest.fixture(autouse=True)
def _reset(server: SimServer) -> None:
    assert server.admin("POST", "/admin/reset").status_code == 200


def _config(server: SimServer, types: list[str]) -> dict[str, Any]:
    config = bybit_options(server.api_key, server.api_secret, timeout=5000)
    config["options"].update({"defaultType": "swap", "fetchMarkets": {"types": types}})
    return config


@pytest.fixture
async def bybit(server: SimServer) -> AsyncIterator[Any]:
    """An async ccxt bybit client loading spot and linear markets, swap by default."""
    client = redirect_ccxt(ccxt_async.bybit(_config(server, ["spot", "linear"])), server.base_url)
    try:
        await client.load_markets()
        yield client
    finally:
        await client.close()


def _d(value: Any) -> Decimal:
    """A ccxt float as the Decimal it prints as (ccxt parses our decimal strings)."""
    return Decimal(str(value))


def _position(server: SimServer) -> tuple[Decimal, Decimal]:
    held = server.sim.venue("bybit").positions(server.api_key).get("BTCUSDT")
    return (held.quantity, held.margin) if held is not None else (Decimal(0), Decimal(0))


# -- markets --------------------------------------------------------------------------------


async def test_load_markets_lists_the_linear_market_with_its_filters(bybit: Any) -> None:
    market = bybit.markets[LINEAR]
    assert market["id"] == "BTCUSDT"
    assert (market["type"], market["swap"], market["contract"]) == ("swap", True, True)
    assert market["linear"] is True and market["inverse"] is False and market["spot"] is False
    assert (market["base"], market["quote"], market["settle"]) == ("BTC", "USDT", "USDT")
    assert market["active"] is True and market["contractSize"] == 1
    # scenarios/markets/bybit.json BTCUSDT, relisted as linear
    assert _d(market["precision"]["price"]) == Decimal("0.01")  # tick_size
    assert _d(market["precision"]["amount"]) == Decimal("0.000001")  # step_size
    assert _d(market["limits"]["amount"]["min"]) == Decimal("0.000048")  # min_qty
    assert _d(market["limits"]["amount"]["max"]) == Decimal("71.73956243")  # max_qty
    assert _d(market["limits"]["cost"]["min"]) == Decimal(1)  # min_notional
    assert _d(market["limits"]["leverage"]["max"]) == 1
    # a symbol is spot or linear, never both
    assert "BTC/USDT" not in bybit.markets
    assert bybit.markets["ETH/USDT"]["spot"] is True
    assert "ETH/USDT:USDT" not in bybit.markets


async def test_fetch_ticker_of_the_linear_market(bybit: Any) -> None:
    ticker = await bybit.fetch_ticker(LINEAR)
    assert ticker["symbol"] == LINEAR
    assert _d(ticker["last"]) == SEED_PRICE
    assert _d(ticker["bid"]) == SEED_PRICE and _d(ticker["ask"]) == SEED_PRICE
    assert _d(ticker["markPrice"]) == SEED_PRICE


def test_sync_client_with_linear_types_only(server: SimServer) -> None:
    client = redirect_ccxt(ccxt.bybit(_config(server, ["linear"])), server.base_url)
    try:
        _trade_a_short(client, server)
    finally:
        client.close()


def _trade_a_short(client: Any, server: SimServer) -> None:
    markets = client.load_markets()
    assert sorted(markets) == [LINEAR]
    order = client.create_order(LINEAR, "market", "sell", 0.002, None, {"clientOrderId": "s-1"})
    fetched = client.fetch_order(order["id"], LINEAR)
    assert (fetched["status"], fetched["clientOrderId"]) == ("closed", "s-1")
    assert _d(fetched["filled"]) == Decimal("0.002")
    # a market sell with no position opens a short of 0.002 at 95992.3:
    # margin 0.002 x 95992.3 = 191.9846, fee 0.1 % = 0.1919846 USDT
    assert _position(server) == (Decimal("-0.002"), Decimal("191.9846"))
    (position,) = client.fetch_positions([LINEAR])
    assert position["side"] == "short" and _d(position["contracts"]) == Decimal("0.002")
    assert _d(position["entryPrice"]) == SEED_PRICE
    balance = client.fetch_balance()
    assert _d(balance["USDT"]["total"]) == Decimal("99999.8080154")  # 100000 - 0.1919846
    assert _d(balance["USDT"]["used"]) == Decimal("191.9846")  # the position's margin


# -- orders ---------------------------------------------------------------------------------


async def test_market_buy_opens_a_long_and_pays_the_taker_fee_in_usdt(
    bybit: Any, server: SimServer
) -> None:
    order = await bybit.create_order(LINEAR, "market", "buy", 0.01)
    fetched = await bybit.fetch_order(order["id"], LINEAR)
    assert (fetched["status"], fetched["side"], fetched["type"]) == ("closed", "buy", "market")
    assert _d(fetched["amount"]) == Decimal("0.01") and _d(fetched["filled"]) == Decimal("0.01")
    assert _d(fetched["average"]) == SEED_PRICE
    # notional 0.01 x 95992.3 = 959.923 USDT; taker fee 0.1 % of it = 0.959923 USDT
    assert _d(fetched["cost"]) == Decimal("959.923")
    assert fetched["fee"]["currency"] == "USDT"
    assert _d(fetched["fee"]["cost"]) == Decimal("0.959923")
    assert _position(server) == (Decimal("0.01"), Decimal("959.923"))
    balance = await bybit.fetch_balance()
    # free 100000 - 959.923 - 0.959923 = 99039.117077; the margin 959.923 is used;
    # wallet balance 100000 - 0.959923 = 99999.040077 (Bybit's walletBalance keeps margin)
    assert _d(balance["USDT"]["free"]) == Decimal("99039.117077")
    assert _d(balance["USDT"]["used"]) == Decimal("959.923")
    assert _d(balance["USDT"]["total"]) == Decimal("99999.040077")
    assert "BTC" not in balance  # linear: the quote asset is the only balance
    (trade,) = await bybit.fetch_my_trades(LINEAR)
    assert trade["symbol"] == LINEAR and trade["order"] == order["id"]
    assert (trade["side"], trade["takerOrMaker"]) == ("buy", "taker")
    assert _d(trade["price"]) == SEED_PRICE and _d(trade["amount"]) == Decimal("0.01")
    assert trade["fee"]["currency"] == "USDT"
    assert _d(trade["fee"]["cost"]) == Decimal("0.959923")
    (position,) = await bybit.fetch_positions([LINEAR])
    assert position["side"] == "long" and _d(position["contracts"]) == Decimal("0.01")
    assert _d(position["entryPrice"]) == SEED_PRICE


async def test_reduce_only_limit_sell_rests_then_fills_when_the_price_moves(
    bybit: Any, server: SimServer
) -> None:
    await bybit.create_order(LINEAR, "market", "buy", 0.01)  # long 0.01 at 95992.3
    sell = await bybit.create_order(
        LINEAR, "limit", "sell", 0.01, 97000, {"reduceOnly": True, "clientOrderId": "tp-1"}
    )
    (listed,) = await bybit.fetch_open_orders(LINEAR)
    assert (listed["id"], listed["clientOrderId"], listed["status"]) == (sell["id"], "tp-1", "open")
    assert listed["reduceOnly"] is True and listed["side"] == "sell"
    assert _d(listed["price"]) == Decimal(97000) and _d(listed["remaining"]) == Decimal("0.01")
    assert [o["id"] for o in await bybit.fetch_open_orders()] == [sell["id"]]  # settleCoin=USDT
    balance = await bybit.fetch_balance()
    assert _d(balance["USDT"]["used"]) == Decimal("959.923")  # a closing order locks nothing

    events = server.sim.set_price("bybit", "BTCUSDT", Decimal("97000.5"))
    assert [e.kind for e in events] == ["fill"]
    fetched = await bybit.fetch_order(sell["id"], LINEAR)
    assert fetched["status"] == "closed" and fetched["reduceOnly"] is True
    assert _d(fetched["average"]) == Decimal(97000)  # at the limit price, not the new price
    # maker fee 0.1 % of 0.01 x 97000 = 970 -> 0.97 USDT
    assert fetched["fee"] == {"cost": 0.97, "currency": "USDT"}
    trades = await bybit.fetch_my_trades(LINEAR)
    assert [(t["side"], t["takerOrMaker"]) for t in trades] == [("buy", "taker"), ("sell", "maker")]
    assert trades[1]["order"] == sell["id"] and _d(trades[1]["price"]) == Decimal(97000)
    assert trades[1]["fee"]["currency"] == "USDT"
    assert _d(trades[1]["fee"]["cost"]) == Decimal("0.97")
    assert await bybit.fetch_open_orders(LINEAR) == []
    assert _position(server) == (Decimal(0), Decimal(0))
    # realised PnL 0.01 x (97000 - 95992.3) = 10.077; fees 0.959923 + 0.97:
    # 100000 + 10.077 - 0.959923 - 0.97 = 100008.147077, nothing used
    balance = await bybit.fetch_balance()
    assert _d(balance["USDT"]["total"]) == Decimal("100008.147077")
    assert _d(balance["USDT"]["free"]) == Decimal("100008.147077")
    assert _d(balance["USDT"]["used"]) == 0
    assert await bybit.fetch_positions() == []


async def test_reduce_only_without_a_position_is_refused(bybit: Any, server: SimServer) -> None:
    with pytest.raises(ccxt.InvalidOrder, match="110017"):
        await bybit.create_order(LINEAR, "market", "sell", 0.01, None, {"reduceOnly": True})
    assert await bybit.fetch_canceled_and_closed_orders(LINEAR) == []
    assert _position(server) == (Decimal(0), Decimal(0))


async def test_lookup_by_client_order_id_for_open_and_closed_orders(bybit: Any) -> None:
    rest = await bybit.create_order(LINEAR, "limit", "buy", 0.001, 90000, {"clientOrderId": "o-1"})
    done = await bybit.create_order(LINEAR, "market", "buy", 0.001, None, {"clientOrderId": "c-1"})
    assert (rest["clientOrderId"], done["clientOrderId"]) == ("o-1", "c-1")

    (found,) = await bybit.fetch_open_orders(LINEAR, None, None, {"orderLinkId": "o-1"})
    assert (found["id"], found["status"], found["symbol"]) == (rest["id"], "open", LINEAR)
    (closed,) = await bybit.fetch_canceled_and_closed_orders(
        LINEAR, None, None, {"orderLinkId": "c-1"}
    )
    assert (closed["id"], closed["status"]) == (done["id"], "closed")
    assert _d(closed["filled"]) == Decimal("0.001")
    assert (await bybit.fetch_open_order(rest["id"], LINEAR))["clientOrderId"] == "o-1"
    assert (await bybit.fetch_closed_order(done["id"], LINEAR))["clientOrderId"] == "c-1"
    assert await bybit.fetch_open_orders(LINEAR, None, None, {"orderLinkId": "nope"}) == []
    with pytest.raises(ccxt.OrderNotFound):
        await bybit.fetch_order("1800000000000000999", LINEAR)

    await bybit.cancel_order(None, LINEAR, {"orderLinkId": "o-1"})
    (cancelled,) = await bybit.fetch_canceled_and_closed_orders(
        LINEAR, None, None, {"orderLinkId": "o-1"}
    )
    assert (cancelled["id"], cancelled["status"]) == (rest["id"], "canceled")
    assert await bybit.fetch_open_orders(LINEAR) == []


# -- categories -----------------------------------------------------------------------------


def _symbols(server: SimServer, path: str, category: str) -> list[str]:
    answer = server.http.get(path, params={"category": category}).json()
    assert answer["retCode"] == 0, answer
    return [entry["symbol"] for entry in answer["result"]["list"]]


async def test_spot_and_linear_categories_keep_their_own_markets(
    bybit: Any, server: SimServer
) -> None:
    spot = _symbols(server, "/v5/market/instruments-info", "spot")
    assert "ETHUSDT" in spot and "BTCUSDT" not in spot and len(spot) == 8
    assert _symbols(server, "/v5/market/instruments-info", "linear") == ["BTCUSDT"]
    assert "BTCUSDT" not in _symbols(server, "/v5/market/tickers", "spot")
    assert _symbols(server, "/v5/market/tickers", "linear") == ["BTCUSDT"]
    for category in ("inverse", "option"):
        assert _symbols(server, "/v5/market/instruments-info", category) == []
        assert _symbols(server, "/v5/market/tickers", category) == []
    named = server.http.get(
        "/v5/market/tickers", params={"category": "spot", "symbol": "BTCUSDT"}
    ).json()
    assert named["result"]["list"] == []

    # one linear order and one spot order: each category lists its own
    linear = await bybit.create_order(LINEAR, "limit", "buy", 0.001, 90000)
    spot_order = await bybit.create_order("ETH/USDT", "limit", "buy", 0.01, 3000)
    await bybit.create_order("ETH/USDT", "market", "buy", 0.01, 3394)  # cost 33.94
    await bybit.create_order(LINEAR, "market", "buy", 0.001)
    assert [o["id"] for o in await bybit.fetch_open_orders()] == [linear["id"]]
    spot_open = await bybit.fetch_open_orders(None, None, None, {"type": "spot"})
    assert [o["id"] for o in spot_open] == [spot_order["id"]]
    assert {t["symbol"] for t in await bybit.fetch_my_trades()} == {LINEAR}
    spot_trades = await bybit.fetch_my_trades(None, None, None, {"type": "spot"})
    assert {t["symbol"] for t in spot_trades} == {"ETH/USDT"}
    assert spot_trades[0]["fee"]["currency"] == "ETH"  # spot buys still pay in base
    assert {o["symbol"] for o in await bybit.fetch_canceled_and_closed_orders()} == {LINEAR}

    # the linear market cannot be traded as spot, nor a spot market as linear (10001)
    with pytest.raises(ccxt.BadRequest):
        await bybit.privatePostV5OrderCreate(
            {
                "category": "spot",
                "symbol": "BTCUSDT",
                "side": "Buy",
                "orderType": "Market",
                "qty": "0.001",
            }
        )
    with pytest.raises(ccxt.BadRequest):
        await bybit.privatePostV5OrderCreate(
            {
                "category": "linear",
                "symbol": "ETHUSDT",
                "side": "Buy",
                "orderType": "Market",
                "qty": "0.01",
            }
        )
    # cancel-all of one category leaves the other's orders
    await bybit.cancel_all_orders(None, {"type": "spot"})
    assert [o["id"] for o in await bybit.fetch_open_orders()] == [linear["id"]]
