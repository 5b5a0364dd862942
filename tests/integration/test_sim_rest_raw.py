"""The REST faces at the wire level: exact codes, shapes and order semantics that ccxt does
not exercise (it validates some inputs locally). Requests are signed here with hmac directly,
independently of the server's own signing code."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.kit.sim_server import SimServer, serving_simulator


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with serving_simulator() as running:
        yield running


@pytest.fixture(autouse=True)
def _reset(server: SimServer) -> None:
    assert server.admin("POST", "/admin/reset").status_code == 200


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def binance(
    server: SimServer,
    method: str,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    signed: bool = True,
    secret: str | None = None,
    key: str | None = None,
    timestamp: int | None = None,
) -> httpx.Response:
    """A Binance request as Binance documents it: query for GET/DELETE, form body for POST."""
    data = dict(params or {})
    headers = {}
    if signed:
        data["timestamp"] = timestamp if timestamp is not None else _now_ms()
        data["recvWindow"] = 5000
        text = urlencode(data)
        sign_with = secret if secret is not None else server.api_secret
        signature = hmac.new(sign_with.encode(), text.encode(), hashlib.sha256).hexdigest()
        text += f"&signature={signature}"
        headers["X-MBX-APIKEY"] = key if key is not None else server.api_key
    else:
        text = urlencode(data)
    if method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return server.http.request(method, path, content=text, headers=headers)
    return server.http.request(method, f"{path}?{text}", headers=headers)


def bybit(
    server: SimServer,
    method: str,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    signed: bool = True,
    secret: str | None = None,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A Bybit v5 request: query for GET, compact JSON body for POST; returns the body."""
    data = dict(params or {})
    payload = json.dumps(data, separators=(",", ":")) if method == "POST" else urlencode(data)
    headers = {"Content-Type": "application/json"}
    if signed:
        ts = str(timestamp if timestamp is not None else _now_ms())
        sign_with = (secret if secret is not None else server.api_secret).encode()
        text = ts + server.api_key + "5000" + payload
        headers.update(
            {
                "X-BAPI-API-KEY": server.api_key,
                "X-BAPI-TIMESTAMP": ts,
                "X-BAPI-RECV-WINDOW": "5000",
                "X-BAPI-SIGN": hmac.new(sign_with, text.encode(), hashlib.sha256).hexdigest(),
            }
        )
    if method == "POST":
        response = server.http.request(method, path, content=payload, headers=headers)
    else:
        response = server.http.request(method, f"{path}?{payload}", headers=headers)
    body = response.json()
    assert set(body) >= {"retCode", "retMsg", "result", "retExtInfo", "time"}, body
    return dict(body)


def _limit(**extra: Any) -> dict[str, Any]:
    order = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.001",
        "price": "90000",
    }
    order.update(extra)
    return {k: v for k, v in order.items() if v is not None}


def _binance_error(response: httpx.Response) -> tuple[int, int, str]:
    body = response.json()
    return response.status_code, body["code"], body["msg"]


# -- Binance --------------------------------------------------------------------------------


def test_binance_public_endpoints(server: SimServer) -> None:
    assert binance(server, "GET", "/api/v3/ping", signed=False).json() == {}
    server_time = binance(server, "GET", "/api/v3/time", signed=False).json()["serverTime"]
    assert abs(server_time - _now_ms()) < 5000  # wall time: clients sign with it
    info = binance(server, "GET", "/api/v3/exchangeInfo", {"symbol": "XRPUSDT"}, signed=False)
    (symbol,) = info.json()["symbols"]
    filters = {f["filterType"]: f for f in symbol["filters"]}
    assert Decimal(filters["PRICE_FILTER"]["tickSize"]) == Decimal("0.0001")
    assert Decimal(filters["LOT_SIZE"]["stepSize"]) == Decimal("0.1")
    book = binance(server, "GET", "/api/v3/depth", {"symbol": "BTCUSDT"}, signed=False).json()
    assert Decimal(book["bids"][0][0]) == Decimal(book["asks"][0][0]) == Decimal("95992.3")
    price = binance(server, "GET", "/api/v3/ticker/price", {"symbol": "DOGEUSDT"}, signed=False)
    assert price.json() == {"symbol": "DOGEUSDT", "price": "0.19500000"}
    bad = binance(
        server, "GET", "/api/v3/klines", {"symbol": "BTCUSDT", "interval": "7m"}, signed=False
    )
    assert _binance_error(bad) == (400, -1120, "Invalid interval.")
    unknown = binance(server, "GET", "/api/v3/ticker/24hr", {"symbol": "NOPEUSDT"}, signed=False)
    assert _binance_error(unknown)[:2] == (400, -1121)


def test_binance_successful_bodies_carry_no_code_or_msg(server: SimServer) -> None:
    created = binance(server, "POST", "/api/v3/order", _limit()).json()
    order_id = created["orderId"]
    fetched = binance(server, "GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": order_id})
    cancelled = binance(
        server, "DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": order_id}
    )
    account = binance(server, "GET", "/api/v3/account")
    for body in (created, fetched.json(), cancelled.json(), account.json()):
        assert "code" not in body and "msg" not in body
    assert fetched.json()["status"] == "NEW" and cancelled.json()["status"] == "CANCELED"


def test_binance_response_types(server: SimServer) -> None:
    ack = binance(server, "POST", "/api/v3/order", _limit(newOrderRespType="ACK")).json()
    assert sorted(ack) == ["clientOrderId", "orderId", "orderListId", "symbol", "transactTime"]
    result = binance(server, "POST", "/api/v3/order", _limit(newOrderRespType="RESULT")).json()
    assert "fills" not in result and result["status"] == "NEW"
    market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.002"}
    full = binance(server, "POST", "/api/v3/order", market).json()  # FULL by default
    # 0.002 x 95992.3 = 191.9846; fee 0.1 % of 0.002 BTC = 0.000002 BTC
    assert (full["status"], full["executedQty"], full["cummulativeQuoteQty"]) == (
        "FILLED",
        "0.00200000",
        "191.98460000",
    )
    assert [(f["price"], f["commission"], f["commissionAsset"]) for f in full["fills"]] == [
        ("95992.30000000", "0.00000200", "BTC")
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"quantity": None}, (-1102, "Mandatory parameter 'quantity'")),
        ({"side": "HOLD"}, (-1117, "Invalid side.")),
        ({"type": "STOP_LOSS"}, (-1116, "Invalid orderType.")),
        ({"timeInForce": None}, (-1102, "Mandatory parameter 'timeInForce'")),
        ({"type": "LIMIT_MAKER"}, (-1106, "Parameter 'timeInForce' sent when not required.")),
        ({"quantity": "1e-3"}, (-1100, "Illegal characters found in parameter 'quantity'")),
        ({"quantity": "0.000001"}, (-1013, "Filter failure: LOT_SIZE")),  # step 0.00001
        ({"price": "90000.001"}, (-1013, "Filter failure: PRICE_FILTER")),  # tick 0.01
        ({"quantity": "0.00001"}, (-1013, "Filter failure: NOTIONAL")),  # 0.9 USDT < 5
        ({"quantity": "2"}, (-2010, "Account has insufficient balance")),  # 180000 > 100000
        ({"symbol": "NOPEUSDT"}, (-1121, "Invalid symbol.")),
        ({"quoteOrderQty": "100"}, (-1106, "Parameter 'quoteOrderQty' sent when not required.")),
    ],
)
def test_binance_order_refusals(
    server: SimServer, changes: dict[str, Any], expected: tuple[int, str]
) -> None:
    status, code, message = _binance_error(
        binance(server, "POST", "/api/v3/order", _limit(**changes))
    )
    assert status == 400 and code == expected[0] and message.startswith(expected[1])


def test_binance_market_with_a_price_is_refused(server: SimServer) -> None:
    market = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "MARKET",
        "quantity": "0.001",
        "price": "1",
    }
    assert _binance_error(binance(server, "POST", "/api/v3/order", market))[1] == -1106


def test_binance_ioc_and_quote_sized_sell(server: SimServer) -> None:
    resting_ioc = binance(server, "POST", "/api/v3/order", _limit(timeInForce="IOC")).json()
    assert (resting_ioc["status"], resting_ioc["executedQty"]) == ("EXPIRED", "0.00000000")
    taking_ioc = _limit(timeInForce="IOC", price="96000", quantity="0.01")
    filled = binance(server, "POST", "/api/v3/order", taking_ioc).json()
    # taker at the current price 95992.3, not the limit 96000; fee 0.00001 BTC
    assert (filled["status"], filled["fills"][0]["price"]) == ("FILLED", "95992.30000000")
    # sell 500 USDT worth: 500 / 95992.3 = 0.0052087... -> 0.00520 at the 0.00001 step
    sell = {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quoteOrderQty": "500"}
    sold = binance(server, "POST", "/api/v3/order", sell).json()
    assert (sold["status"], sold["executedQty"]) == ("FILLED", "0.00520000")
    assert Decimal(sold["cummulativeQuoteQty"]) == Decimal("0.0052") * Decimal("95992.3")


def test_binance_client_ids_lookup_duplicates_and_cancel_all(server: SimServer) -> None:
    first = binance(server, "POST", "/api/v3/order", _limit(newClientOrderId="grid-1")).json()
    assert first["clientOrderId"] == "grid-1"
    by_client = binance(
        server, "GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "grid-1"}
    ).json()
    assert by_client["orderId"] == first["orderId"]
    duplicate = binance(server, "POST", "/api/v3/order", _limit(newClientOrderId="grid-1"))
    assert _binance_error(duplicate) == (400, -2010, "Duplicate order sent.")
    binance(server, "POST", "/api/v3/order", _limit(newClientOrderId="grid-2", price="89000"))
    cancelled = binance(server, "DELETE", "/api/v3/openOrders", {"symbol": "BTCUSDT"}).json()
    assert sorted(o["origClientOrderId"] for o in cancelled) == ["grid-1", "grid-2"]
    assert binance(server, "GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"}).json() == []
    history = binance(server, "GET", "/api/v3/allOrders", {"symbol": "BTCUSDT"}).json()
    assert [o["status"] for o in history] == ["CANCELED", "CANCELED"]
    missing = binance(server, "GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": 1})
    assert _binance_error(missing) == (400, -2013, "Order does not exist.")
    gone = binance(server, "DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": 1})
    assert _binance_error(gone) == (400, -2011, "Unknown order sent.")


def test_binance_my_trades_filters(server: SimServer) -> None:
    market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
    first = binance(server, "POST", "/api/v3/order", market).json()
    second = binance(server, "POST", "/api/v3/order", market).json()
    trades = binance(server, "GET", "/api/v3/myTrades", {"symbol": "BTCUSDT"}).json()
    assert [t["orderId"] for t in trades] == [first["orderId"], second["orderId"]]
    only = binance(
        server, "GET", "/api/v3/myTrades", {"symbol": "BTCUSDT", "orderId": second["orderId"]}
    ).json()
    assert [t["id"] for t in only] == [trades[1]["id"]]
    latest = binance(server, "GET", "/api/v3/myTrades", {"symbol": "BTCUSDT", "limit": 1}).json()
    assert [t["id"] for t in latest] == [trades[1]["id"]]


def test_binance_authentication_codes(server: SimServer) -> None:
    assert _binance_error(binance(server, "GET", "/api/v3/account", secret="wrong"))[:2] == (
        400,
        -1022,
    )
    assert _binance_error(binance(server, "GET", "/api/v3/account", key="nobody"))[:2] == (
        401,
        -2015,
    )
    stale = binance(server, "GET", "/api/v3/account", timestamp=_now_ms() - 60_000)
    assert _binance_error(stale)[:2] == (400, -1021)
    unsigned = server.http.get("/api/v3/account", params={"timestamp": _now_ms()})
    assert _binance_error(unsigned)[:2] == (401, -2014)


def test_binance_default_client_extras_answer_empty(server: SimServer) -> None:
    assert binance(server, "GET", "/sapi/v1/margin/allPairs").json() == []
    assert binance(server, "GET", "/fapi/v1/exchangeInfo", signed=False).json()["symbols"] == []


# -- Bybit ----------------------------------------------------------------------------------


def _bybit_limit(**extra: Any) -> dict[str, Any]:
    order = {
        "category": "spot",
        "symbol": "BTCUSDT",
        "side": "Buy",
        "orderType": "Limit",
        "qty": "0.001",
        "price": "90000",
    }
    order.update(extra)
    return {k: v for k, v in order.items() if v is not None}


def test_bybit_market_data(server: SimServer) -> None:
    spot = bybit(server, "GET", "/v5/market/instruments-info", {"category": "spot"}, signed=False)
    doge = next(i for i in spot["result"]["list"] if i["symbol"] == "DOGEUSDT")
    assert (doge["status"], doge["lotSizeFilter"]["basePrecision"]) == ("Trading", "0.1")
    for category in ("linear", "inverse", "option"):
        other = bybit(
            server, "GET", "/v5/market/instruments-info", {"category": category}, signed=False
        )
        assert other["result"]["list"] == []
    ticker = bybit(
        server, "GET", "/v5/market/tickers", {"category": "spot", "symbol": "SOLUSDT"}, signed=False
    )
    assert ticker["result"]["list"][0]["lastPrice"] == "125.97"
    server.admin("POST", "/admin/advance", json={"seconds": 60})
    server.admin(
        "POST", "/admin/price", json={"exchange": "bybit", "symbol": "SOLUSDT", "price": "130"}
    )
    candles = bybit(
        server,
        "GET",
        "/v5/market/kline",
        {"category": "spot", "symbol": "SOLUSDT", "interval": "1"},
        signed=False,
    )
    # newest first: the 130 candle one minute after the 125.97 one
    assert [(c[0], c[4]) for c in candles["result"]["list"]] == [
        ("1767225660000", "130"),
        ("1767225600000", "125.97"),
    ]
    bad = bybit(server, "GET", "/v5/market/tickers", {"category": "futures"}, signed=False)
    assert bad["retCode"] == 10001


def test_bybit_market_units(server: SimServer) -> None:
    # buy by base (marketUnit baseCoin), then sell by quote (marketUnit quoteCoin)
    buy = _bybit_limit(orderType="Market", qty="0.01", price=None, marketUnit="baseCoin")
    bought = bybit(server, "POST", "/v5/order/create", buy)
    assert bought["retCode"] == 0, bought
    sell = _bybit_limit(
        side="Sell", orderType="Market", qty="200", price=None, marketUnit="quoteCoin"
    )
    assert bybit(server, "POST", "/v5/order/create", sell)["retCode"] == 0
    executions = bybit(server, "GET", "/v5/execution/list", {"category": "spot"})
    # newest first: sold 200 / 95992.3 = 0.0020835... -> 0.002083 (step 0.000001); bought 0.01
    assert [(e["side"], e["execQty"]) for e in executions["result"]["list"]] == [
        ("Sell", "0.002083"),
        ("Buy", "0.01"),
    ]
    wallet = bybit(server, "GET", "/v5/account/wallet-balance", {"accountType": "UNIFIED"})
    coins = {c["coin"]: Decimal(c["walletBalance"]) for c in wallet["result"]["list"][0]["coin"]}
    # BTC: 0.01 - 0.1 % fee (0.00001) - 0.002083 = 0.007907
    # USDT: 100000 - 959.923 + 0.002083 x 95992.3 x (1 - 0.001)
    assert coins["BTC"] == Decimal("0.007907")
    proceeds = Decimal("0.002083") * Decimal("95992.3")
    assert coins["USDT"] == Decimal(100000) - Decimal("959.923") + proceeds - proceeds / 1000


def test_bybit_order_queries(server: SimServer) -> None:
    created = bybit(server, "POST", "/v5/order/create", _bybit_limit(orderLinkId="link-1"))
    order_id = created["result"]["orderId"]
    assert created["result"]["orderLinkId"] == "link-1"
    realtime = bybit(
        server,
        "GET",
        "/v5/order/realtime",
        {"category": "spot", "symbol": "BTCUSDT", "orderLinkId": "link-1"},
    )
    assert [
        (o["orderId"], o["orderStatus"], o["leavesQty"]) for o in realtime["result"]["list"]
    ] == [(order_id, "New", "0.001")]
    cancel = {"category": "spot", "symbol": "BTCUSDT", "orderId": order_id}
    assert bybit(server, "POST", "/v5/order/cancel", cancel)["retCode"] == 0
    # realtime answers a named order whatever its status
    after = bybit(
        server,
        "GET",
        "/v5/order/realtime",
        {"category": "spot", "symbol": "BTCUSDT", "orderId": order_id},
    )
    assert [o["orderStatus"] for o in after["result"]["list"]] == ["Cancelled"]
    unknown = bybit(
        server,
        "GET",
        "/v5/order/realtime",
        {"category": "spot", "symbol": "BTCUSDT", "orderId": "42"},
    )
    assert (unknown["retCode"], unknown["result"]["list"]) == (0, [])
    again = bybit(server, "POST", "/v5/order/cancel", cancel)
    assert again["retCode"] == 170213
    reused = bybit(server, "POST", "/v5/order/create", _bybit_limit(orderLinkId="link-1"))
    assert reused["retCode"] == 170141  # Bybit never reuses an orderLinkId
    history = bybit(
        server, "GET", "/v5/order/history", {"category": "spot", "orderStatus": "Cancelled"}
    )
    assert [o["orderId"] for o in history["result"]["list"]] == [order_id]


def test_bybit_post_only_crossing_is_cancelled_not_refused(server: SimServer) -> None:
    crossing = _bybit_limit(price="96000", timeInForce="PostOnly")
    created = bybit(server, "POST", "/v5/order/create", crossing)
    assert created["retCode"] == 0
    found = bybit(
        server,
        "GET",
        "/v5/order/realtime",
        {"category": "spot", "symbol": "BTCUSDT", "orderId": created["result"]["orderId"]},
    )
    (order,) = found["result"]["list"]
    assert (order["orderStatus"], order["rejectReason"], order["timeInForce"]) == (
        "Cancelled",
        "EC_PostOnlyWillTakeLiquidity",
        "PostOnly",
    )


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"qty": None}, 10001),
        ({"side": "Hold"}, 10001),
        ({"qty": "0.00001"}, 170136),  # below minOrderQty 0.000048
        ({"qty": "0.0010001"}, 170137),  # more decimals than basePrecision 0.000001
        ({"price": "90000.001"}, 170134),  # more decimals than tickSize 0.01
        ({"qty": "2"}, 170131),  # 180000 USDT > 100000
        ({"symbol": "NOPEUSDT"}, 10001),
        ({"category": "linear"}, 10001),  # only spot markets are simulated over REST
    ],
)
def test_bybit_order_refusals(server: SimServer, changes: dict[str, Any], code: int) -> None:
    refused = bybit(server, "POST", "/v5/order/create", _bybit_limit(**changes))
    assert refused["retCode"] == code and refused["result"] == {}


def test_bybit_authentication_codes(server: SimServer) -> None:
    wallet = {"accountType": "UNIFIED"}
    assert (
        bybit(server, "GET", "/v5/account/wallet-balance", wallet, secret="wrong")["retCode"]
        == 10004
    )
    stale = bybit(server, "GET", "/v5/account/wallet-balance", wallet, timestamp=_now_ms() - 60_000)
    assert stale["retCode"] == 10002
    unsigned = server.http.get("/v5/account/wallet-balance", params=wallet)
    assert (unsigned.status_code, unsigned.json()["retCode"]) == (401, 10003)
    spot_only = bybit(server, "GET", "/v5/account/wallet-balance", {"accountType": "SPOT"})
    assert spot_only["retCode"] == 10001
