"""Placing, filling and cancelling orders: statuses, fees, balances, filters and error codes.

BTCUSDT starts at 95992.3 on both venues; fees are 0.1 % (fee asset: base on buys, quote on
sells). Every expected amount is worked out in the comments.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from simulator import SimError, SimOrderStatus
from tests.kit.simulator import KEY, D, funded_sim


def place(sim, exchange="binance", **kwargs):  # type: ignore[no-untyped-def]
    return sim.venue(exchange).place_order(KEY, **kwargs)


def balance(sim, asset, exchange="binance"):  # type: ignore[no-untyped-def]
    return sim.venue(exchange).balances(KEY).get(asset)


def test_market_buy_fills_at_the_current_price_with_fee_in_base() -> None:
    sim = funded_sim()
    order = place(sim, symbol="BTCUSDT", side="buy", type="market", quantity=D("0.001"))
    assert order.status == SimOrderStatus.FILLED
    assert order.order_id == "5000000001" and order.client_order_id == ""
    (fill,) = order.fills
    assert (fill.price, fill.quantity, fill.is_maker) == (D("95992.30"), D("0.001"), False)
    assert fill.quote_quantity == D("95.99230")  # 0.001 x 95992.30
    assert (fill.fee, fill.fee_asset) == (D("0.000001"), "BTC")  # 0.001 x 0.1 %
    assert balance(sim, "USDT").free == D("99904.00770")  # 100000 - 95.9923
    assert balance(sim, "BTC").free == D("0.000999")  # 0.001 - 0.000001
    assert order.average_price == D("95992.30")


def test_market_buy_by_quote_amount_rounds_down_to_the_step() -> None:
    sim = funded_sim()
    order = place(sim, symbol="BTCUSDT", side="buy", type="market", quote_quantity=D(100))
    # 100 / 95992.30 = 0.0010417..., down to the 0.00001 step: 0.00104
    assert order.status == SimOrderStatus.FILLED
    assert order.quantity == order.filled_quantity == D("0.00104")
    assert order.cumulative_quote == D("99.8319920")  # 0.00104 x 95992.30
    assert balance(sim, "USDT").free == D(100000) - D("99.8319920")


def test_resting_limit_buy_locks_quote_then_fills_as_maker_at_its_price() -> None:
    sim = funded_sim()
    order = place(
        sim, symbol="BTCUSDT", side="buy", type="limit", quantity=D("0.001"),
        price=D("95032.37"), client_order_id="leg-1",
    )  # fmt: skip
    assert order.status == SimOrderStatus.NEW and order.client_order_id == "leg-1"
    assert balance(sim, "USDT").locked == D("95.03237")  # 0.001 x 95032.37
    assert balance(sim, "USDT").free == D(100000) - D("95.03237")
    events = sim.set_price("binance", "BTCUSDT", D("94000"))  # trades through the limit
    (event,) = events
    assert event.kind == "fill" and event.client_order_id == "leg-1"
    assert event.status == SimOrderStatus.FILLED
    assert event.trade is not None
    assert (event.trade.price, event.trade.is_maker) == (D("95032.37"), True)  # its own price
    assert balance(sim, "USDT").locked == 0
    assert balance(sim, "USDT").free == D(100000) - D("95.03237")
    assert balance(sim, "BTC").free == D("0.000999")


def test_marketable_limit_fills_on_arrival_as_taker_at_the_current_price() -> None:
    sim = funded_sim()
    order = place(sim, symbol="BTCUSDT", side="buy", type="limit", quantity=D("0.001"),
                  price=D("96000"))  # fmt: skip
    assert order.status == SimOrderStatus.FILLED
    assert order.fills[0].price == D("95992.30") and not order.fills[0].is_maker
    # locked 0.001 x 96000 = 96, paid 95.9923: the difference is back in free
    assert balance(sim, "USDT") == type(balance(sim, "USDT"))(D("99904.00770"), D(0))


def test_limit_sell_fills_when_the_price_rises_to_it() -> None:
    sim = funded_sim()
    place(sim, symbol="BTCUSDT", side="buy", type="market", quantity=D("0.001"))
    sell = place(sim, symbol="BTCUSDT", side="sell", type="limit", quantity=D("0.00099"),
                 price=D("97000"))  # fmt: skip
    assert balance(sim, "BTC").locked == D("0.00099")
    assert sim.set_price("binance", "BTCUSDT", D("96999.99")) == []  # below: no fill
    (event,) = sim.set_price("binance", "BTCUSDT", D("97000"))  # at the limit: fills
    assert event.order_id == sell.order_id and event.trade is not None
    # 0.00099 x 97000 = 96.03 quote, fee 0.1 % = 0.09603 USDT
    assert (event.trade.fee, event.trade.fee_asset) == (D("0.09603"), "USDT")
    assert balance(sim, "USDT").free == D("99904.00770") + D("96.03") - D("0.09603")
    assert balance(sim, "BTC").free == D("0.000009")  # 0.000999 - 0.00099
    assert balance(sim, "BTC").locked == 0


def test_insufficient_balance_uses_each_exchanges_code() -> None:
    sim = funded_sim(balances={"USDT": D(50)})
    with pytest.raises(SimError) as binance:
        place(sim, symbol="BTCUSDT", side="buy", type="market", quantity=D("0.001"))
    assert (binance.value.code, binance.value.http_status) == ("-2010", 400)
    assert binance.value.message == "Account has insufficient balance for requested action."
    assert binance.value.reason == "insufficient_balance"
    with pytest.raises(SimError) as bybit:
        place(sim, "bybit", symbol="BTCUSDT", side="sell", type="limit", quantity=D("0.001"),
              price=D("99000"))  # fmt: skip
    assert bybit.value.code == "170131"
    assert sim.venue("binance").all_orders(KEY) == []  # rejected orders are not stored


def test_post_only_that_would_take() -> None:
    sim = funded_sim()
    with pytest.raises(SimError) as binance:
        place(sim, symbol="BTCUSDT", side="buy", type="limit", quantity=D("0.001"),
              price=D("95992.30"), post_only=True)  # fmt: skip
    assert (binance.value.code, binance.value.message) == (
        "-2010", "Order would immediately match and take.",
    )  # fmt: skip
    # Bybit accepts a crossing PostOnly order and cancels it at once.
    order = place(sim, "bybit", symbol="BTCUSDT", side="buy", type="limit", quantity=D("0.001"),
                  price=D("95992.30"), post_only=True)  # fmt: skip
    assert order.status == SimOrderStatus.CANCELED and order.filled_quantity == 0
    assert order.reject_reason == "EC_PostOnlyWillTakeLiquidity"
    assert balance(sim, "USDT", "bybit").free == D(100000)
    resting = place(sim, symbol="BTCUSDT", side="buy", type="limit", quantity=D("0.001"),
                    price=D("95992.29"), post_only=True)  # fmt: skip
    assert resting.status == SimOrderStatus.NEW and resting.post_only


def test_ioc_expires_what_does_not_fill_at_once() -> None:
    sim = funded_sim()
    below = place(sim, symbol="BTCUSDT", side="buy", type="limit", quantity=D("0.001"),
                  price=D("95000"), time_in_force="IOC")  # fmt: skip
    assert below.status == SimOrderStatus.EXPIRED and below.filled_quantity == 0
    assert balance(sim, "USDT").free == D(100000) and balance(sim, "USDT").locked == 0
    through = place(sim, symbol="BTCUSDT", side="buy", type="limit", quantity=D("0.001"),
                    price=D("96000"), time_in_force="IOC")  # fmt: skip
    assert through.status == SimOrderStatus.FILLED
    assert sim.venue("binance").open_orders(KEY) == []


@pytest.mark.parametrize(
    ("exchange", "kwargs", "code", "message"),
    [
        ("binance", {"price": D("95000.001"), "quantity": D("0.001")}, "-1013",
         "Filter failure: PRICE_FILTER"),
        ("binance", {"price": D("95000"), "quantity": D("0.000015")}, "-1013",
         "Filter failure: LOT_SIZE"),
        ("binance", {"price": D("95000"), "quantity": D("0.00005")}, "-1013",
         "Filter failure: NOTIONAL"),  # 0.00005 x 95000 = 4.75 < 5
        ("bybit", {"price": D("95000.001"), "quantity": D("0.001")}, "170134", None),
        ("bybit", {"price": D("95000"), "quantity": D("0.0000005")}, "170137", None),
        ("bybit", {"price": D("95000"), "quantity": D("0.000040")}, "170136", None),
        ("bybit", {"price": D("20000"), "quantity": D("0.000048")}, "170140", None),  # 0.96 < 1
        ("binance", {"price": D("95000"), "quantity": D("9001")}, "-1013",
         "Filter failure: LOT_SIZE"),  # above maxQty 9000
    ],
)  # fmt: skip
def test_filters_use_the_exchange_codes(
    exchange: str, kwargs: dict[str, Decimal], code: str, message: str | None
) -> None:
    sim = funded_sim()
    with pytest.raises(SimError) as error:
        place(sim, exchange, symbol="BTCUSDT", side="buy", type="limit", **kwargs)
    assert error.value.code == code
    if message is not None:
        assert error.value.message == message


def test_market_order_notional_uses_the_current_price() -> None:
    sim = funded_sim()
    with pytest.raises(SimError, match="NOTIONAL"):  # 0.00005 x 95992.3 = 4.79 < 5
        place(sim, symbol="BTCUSDT", side="buy", type="market", quantity=D("0.00005"))
    with pytest.raises(SimError, match="NOTIONAL"):
        place(sim, symbol="BTCUSDT", side="buy", type="market", quote_quantity=D("4.99"))


@pytest.mark.parametrize(
    ("kwargs", "code", "fragment"),
    [
        ({"type": "limit", "quantity": D(1)}, "-1102", "'price'"),
        ({"type": "market", "quantity": D(1), "price": D(2)}, "-1106", "'price'"),
        ({"type": "market"}, "-1102", "'quantity'"),
        ({"type": "market", "quantity": D(1), "quote_quantity": D(5)}, "-1106", "quote_quantity"),
        ({"type": "market", "quantity": D(1), "post_only": True}, "-1100", "post_only"),
        ({"type": "stop", "quantity": D(1)}, "-1100", "type"),
        ({"type": "limit", "quantity": D(1), "price": D(1), "time_in_force": "FOK"}, "-1100",
         "time_in_force"),
        ({"type": "limit", "quantity": 1, "price": D(1)}, "-1100", "quantity"),
    ],
)  # fmt: skip
def test_bad_parameters_name_the_field(kwargs: dict[str, object], code: str, fragment: str) -> None:
    sim = funded_sim()
    with pytest.raises(SimError) as error:
        place(sim, symbol="XRPUSDT", side="buy", **kwargs)
    assert error.value.code == code and fragment in error.value.message


def test_unknown_symbol_and_unknown_key() -> None:
    sim = funded_sim()
    with pytest.raises(SimError) as binance:
        place(sim, symbol="BTC1USDT", side="buy", type="market", quantity=D(1))
    assert (binance.value.code, binance.value.reason) == ("-1121", "invalid_symbol")
    with pytest.raises(SimError) as bybit:
        place(sim, "bybit", symbol="BTC1USDT", side="buy", type="market", quantity=D(1))
    assert bybit.value.code == "10001"
    with pytest.raises(SimError) as auth:
        sim.venue("binance").balances("nobody")
    assert (auth.value.code, auth.value.http_status) == ("-2015", 401)


def test_client_ids_echoed_and_duplicates_refused() -> None:
    sim = funded_sim()
    venue = sim.venue("binance")
    first = place(sim, symbol="BTCUSDT", side="buy", type="limit", quantity=D("0.001"),
                  price=D(90000), client_order_id="g1-p0-l1")  # fmt: skip
    with pytest.raises(SimError) as duplicate:
        place(sim, symbol="BTCUSDT", side="buy", type="limit", quantity=D("0.001"),
              price=D(90000), client_order_id="g1-p0-l1")  # fmt: skip
    assert (duplicate.value.code, duplicate.value.message) == ("-2010", "Duplicate order sent.")
    venue.cancel_order(KEY, symbol="BTCUSDT", client_order_id="g1-p0-l1")
    again = place(sim, symbol="BTCUSDT", side="buy", type="limit", quantity=D("0.001"),
                  price=D(90000), client_order_id="g1-p0-l1")  # fmt: skip
    assert again.order_id != first.order_id  # Binance: reusable once no longer open
    assert venue.get_order(KEY, symbol="BTCUSDT", client_order_id="g1-p0-l1") == again
    bybit = sim.venue("bybit")
    bybit.place_order(KEY, symbol="BTCUSDT", side="buy", type="limit", quantity=D("0.001"),
                      price=D(90000), client_order_id="x1")  # fmt: skip
    bybit.cancel_order(KEY, symbol="BTCUSDT", client_order_id="x1")
    with pytest.raises(SimError) as never:  # Bybit: an orderLinkId is never reusable
        bybit.place_order(KEY, symbol="BTCUSDT", side="buy", type="limit", quantity=D("0.001"),
                          price=D(90000), client_order_id="x1")  # fmt: skip
    assert never.value.code == "170141"
    with pytest.raises(SimError) as illegal:
        place(sim, symbol="BTCUSDT", side="buy", type="market", quantity=D("0.001"),
              client_order_id="x" * 37)  # fmt: skip
    assert illegal.value.code == "-1100"


def test_cancel_releases_the_lock_and_unknown_orders_use_exchange_codes() -> None:
    sim = funded_sim()
    venue = sim.venue("binance")
    order = place(sim, symbol="ETHUSDT", side="buy", type="limit", quantity=D("0.01"),
                  price=D("3300"))  # fmt: skip
    assert balance(sim, "USDT").locked == D("33.00")  # 0.01 x 3300
    cancelled = venue.cancel_order(KEY, symbol="ETHUSDT", order_id=order.order_id)
    assert cancelled.status == SimOrderStatus.CANCELED
    assert balance(sim, "USDT").locked == 0 and balance(sim, "USDT").free == D(100000)
    with pytest.raises(SimError) as twice:
        venue.cancel_order(KEY, symbol="ETHUSDT", order_id=order.order_id)
    assert (twice.value.code, twice.value.message) == ("-2011", "Unknown order sent.")
    with pytest.raises(SimError) as missing:
        venue.get_order(KEY, symbol="ETHUSDT", order_id="1")
    assert missing.value.code == "-2013"
    with pytest.raises(SimError) as wrong_symbol:
        venue.get_order(KEY, symbol="BTCUSDT", order_id=order.order_id)
    assert wrong_symbol.value.code == "-2013"
    with pytest.raises(SimError, match="'order_id'"):
        venue.cancel_order(KEY, symbol="ETHUSDT")


def test_order_and_trade_queries() -> None:
    sim = funded_sim()
    venue = sim.venue("bybit")
    market = venue.place_order(KEY, symbol="DOGEUSDT", side="buy", type="market",
                               quantity=D("100"))  # fmt: skip
    resting = venue.place_order(KEY, symbol="XRPUSDT", side="buy", type="limit",
                                quantity=D("10"), price=D("1.8"))  # fmt: skip
    assert market.order_id == "1800000000000000001"
    assert resting.order_id == "1800000000000000002"
    assert [o.order_id for o in venue.open_orders(KEY)] == [resting.order_id]
    assert venue.open_orders(KEY, "DOGEUSDT") == []
    assert len(venue.all_orders(KEY)) == 2
    (trade,) = venue.trades(KEY, "DOGEUSDT")
    assert trade.trade_id == "2100000000000000001" and trade.order_id == market.order_id
    assert trade.price == D("0.19500") and trade.quote_quantity == D("19.50000")
    assert venue.trades(KEY, start_ms=trade.time_ms + 1) == []
    with pytest.raises(SimError, match="10001"):
        venue.open_orders(KEY, "NOPEUSDT")


def test_same_inputs_same_ids_and_fills() -> None:
    def run() -> list[object]:
        sim = funded_sim()
        out: list[object] = []
        for symbol, qty in (("BTCUSDT", "0.001"), ("ETHUSDT", "0.01"), ("SOLUSDT", "0.1")):
            out.append(place(sim, symbol=symbol, side="buy", type="market", quantity=D(qty)))
        out.append(place(sim, symbol="SOLUSDT", side="sell", type="limit",
                         quantity=D("0.05"), price=D("130")))  # fmt: skip
        out += sim.set_price("binance", "SOLUSDT", D("131"))
        return out

    assert run() == run()
