"""Unmodified ccxt (sync and async) trading against the simulator's REST faces.

One server per module on an ephemeral port; every test starts from ``POST /admin/reset``
(start prices, no orders, default balances, no faults). Expected numbers are worked out by
hand from the seed prices (BTCUSDT 95992.3) and the 0.1 % fees of scenarios/markets/*.json.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
import pytest

from simulator.exchange import Simulator
from simulator.server import ServerThread, create_app
from tests.kit.sim_server import (
    SimServer,
    binance_options,
    bybit_options,
    redirect_ccxt,
    serving_simulator,
)

MARKETS_DIR = Path(__file__).resolve().parents[2] / "scenarios" / "markets"
LOST_DELAY_MS = 600
CLIENT_TIMEOUT_MS = 3000
SHORT_TIMEOUT_MS = 300


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with serving_simulator(response_lost_delay_ms=LOST_DELAY_MS) as running:
        yield running


@pytest.fixture(autouse=True)
def _reset(server: SimServer) -> None:
    assert server.admin("POST", "/admin/reset").status_code == 200


class Client:
    """One ccxt client, sync or async, called the same way from the tests."""

    def __init__(self, exchange: str, mode: str, server: SimServer, **config: Any) -> None:
        self.exchange_id = exchange
        self.mode = mode
        module = ccxt if mode == "sync" else ccxt_async
        options = binance_options if exchange == "binance" else bybit_options
        settings = options(server.api_key, server.api_secret, timeout=CLIENT_TIMEOUT_MS)
        for key, value in config.items():
            if key == "options":
                settings["options"].update(value)
            else:
                settings[key] = value
        self.loop = asyncio.new_event_loop() if mode == "async" else None
        self.ex = redirect_ccxt(getattr(module, exchange)(settings), server.base_url)

    def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.ex, method)(*args, **kwargs)
        if self.loop is not None:
            return self.loop.run_until_complete(result)
        return result

    def close(self) -> None:
        if self.loop is not None:
            self.loop.run_until_complete(self.ex.close())
            self.loop.close()


CLIENTS = [("binance", "sync"), ("binance", "async"), ("bybit", "sync"), ("bybit", "async")]


@pytest.fixture(scope="module")
def shared_clients(server: SimServer) -> Iterator[dict[tuple[str, str], Client]]:
    """One client per (exchange, mode) for the module, markets loaded once (ccxt clients are
    slow to build). Tests that need a fresh client use ``make_client``."""
    made: dict[tuple[str, str], Client] = {}
    yield made
    for one in made.values():
        one.close()


@pytest.fixture(params=CLIENTS, ids=["-".join(c) for c in CLIENTS])
def client(
    request: pytest.FixtureRequest,
    server: SimServer,
    shared_clients: dict[tuple[str, str], Client],
) -> Client:
    key = request.param
    if key not in shared_clients:
        shared_clients[key] = Client(key[0], key[1], server)
    return shared_clients[key]


@pytest.fixture
def make_client(server: SimServer) -> Iterator[Any]:
    made: list[Client] = []

    def build(exchange: str, mode: str, **config: Any) -> Client:
        made.append(Client(exchange, mode, server, **config))
        return made[-1]

    yield build
    for one in made:
        one.close()


def _d(value: Any) -> Decimal:
    """A ccxt float as the Decimal it prints as (ccxt parses our decimal strings)."""
    return Decimal(str(value))


def _set_price(server: SimServer, exchange: str, symbol: str, price: str) -> dict[str, Any]:
    response = server.admin(
        "POST", "/admin/price", json={"exchange": exchange, "symbol": symbol, "price": price}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _add_fault(server: SimServer, **fault: Any) -> None:
    response = server.admin("POST", "/admin/faults", json=fault)
    assert response.status_code == 200, response.text


# -- market data ----------------------------------------------------------------------------


def test_load_markets_filters_match_the_market_files(client: Client) -> None:
    markets = client("load_markets", True)  # reload: ask the server
    records = json.loads((MARKETS_DIR / f"{client.exchange_id}.json").read_text())["markets"]
    assert len(records) >= 9
    for record in records:
        market = markets[f"{record['base']}/{record['quote']}"]
        assert market["spot"] is True and market["active"] is True
        assert _d(market["precision"]["price"]) == Decimal(record["tick_size"])
        assert _d(market["precision"]["amount"]) == Decimal(record["step_size"])
        assert _d(market["limits"]["amount"]["min"]) == Decimal(record["min_qty"])
        assert _d(market["limits"]["cost"]["min"]) == Decimal(record["min_notional"])


def test_fetch_ticker_is_the_seed_price(client: Client) -> None:
    client("load_markets")
    ticker = client("fetch_ticker", "BTC/USDT")
    assert _d(ticker["last"]) == Decimal("95992.3")
    assert _d(ticker["bid"]) == Decimal("95992.3") and _d(ticker["ask"]) == Decimal("95992.3")


def test_fetch_balance_is_the_default_100000_usdt(client: Client) -> None:
    client("load_markets")
    balance = client("fetch_balance")
    assert _d(balance["USDT"]["free"]) == Decimal(100000)
    assert _d(balance["USDT"]["used"]) == 0
    assert _d(balance["USDT"]["total"]) == Decimal(100000)


def test_fetch_ohlcv_follows_the_prices_set_over_time(client: Client, server: SimServer) -> None:
    # Clock starts at 2026-01-01T00:00Z (1767225600000) at 95992.3; one minute later 96000,
    # one more minute later 95900: three 1m candles, each flat at its price.
    start = 1767225600000
    assert server.admin("POST", "/admin/advance", json={"seconds": 60}).status_code == 200
    _set_price(server, client.exchange_id, "BTCUSDT", "96000")
    assert server.admin("POST", "/admin/advance", json={"seconds": 60}).status_code == 200
    _set_price(server, client.exchange_id, "BTCUSDT", "95900")
    client("load_markets")
    candles = client("fetch_ohlcv", "BTC/USDT", "1m")
    assert [c[0] for c in candles] == [start, start + 60_000, start + 120_000]
    assert [_d(c[4]) for c in candles] == [Decimal("95992.3"), Decimal(96000), Decimal(95900)]
    assert [_d(c[1]) for c in candles] == [Decimal("95992.3"), Decimal(96000), Decimal(95900)]


# -- orders ---------------------------------------------------------------------------------


def test_market_buy_fills_at_the_current_price_and_books_the_fee(client: Client) -> None:
    client("load_markets")
    order = client("create_order", "BTC/USDT", "market", "buy", 0.001)
    fetched = client("fetch_order", order["id"], "BTC/USDT")
    assert fetched["status"] == "closed"
    assert _d(fetched["filled"]) == Decimal("0.001")
    assert _d(fetched["average"]) == Decimal("95992.3")
    # cost = 0.001 x 95992.3 = 95.9923 USDT; fee 0.1 % of the base bought = 0.000001 BTC
    assert _d(fetched["cost"]) == Decimal("95.9923")
    balance = client("fetch_balance")
    assert _d(balance["USDT"]["total"]) == Decimal("99904.0077")  # 100000 - 95.9923
    assert _d(balance["BTC"]["total"]) == Decimal("0.000999")  # 0.001 - 0.000001
    trades = client("fetch_my_trades", "BTC/USDT")
    assert len(trades) == 1
    trade = trades[0]
    assert trade["order"] == order["id"] and trade["takerOrMaker"] == "taker"
    assert _d(trade["price"]) == Decimal("95992.3") and _d(trade["amount"]) == Decimal("0.001")
    assert trade["fee"]["currency"] == "BTC" and _d(trade["fee"]["cost"]) == Decimal("1E-6")


def test_market_buy_by_cost(client: Client) -> None:
    client("load_markets")
    order = client("create_market_buy_order_with_cost", "BTC/USDT", 100)
    fetched = client("fetch_order", order["id"], "BTC/USDT")
    # 100 / 95992.3 = 0.0010417... rounded down to the step: binance 0.00001 -> 0.00104,
    # bybit 0.000001 -> 0.001041
    expected = Decimal("0.00104") if client.exchange_id == "binance" else Decimal("0.001041")
    assert fetched["status"] == "closed"
    assert _d(fetched["filled"]) == expected
    assert _d(fetched["cost"]) == expected * Decimal("95992.3")


def test_limit_order_lifecycle_open_then_cancelled(client: Client) -> None:
    client("load_markets")
    order = client("create_order", "BTC/USDT", "limit", "buy", 0.002, 90000)
    fetched = client("fetch_order", order["id"], "BTC/USDT")
    assert fetched["status"] == "open"
    assert _d(fetched["amount"]) == Decimal("0.002") and _d(fetched["price"]) == Decimal(90000)
    assert [o["id"] for o in client("fetch_open_orders", "BTC/USDT")] == [order["id"]]
    balance = client("fetch_balance")
    assert _d(balance["USDT"]["used"]) == Decimal(180)  # 0.002 x 90000 locked
    client("cancel_order", order["id"], "BTC/USDT")
    assert client("fetch_order", order["id"], "BTC/USDT")["status"] == "canceled"
    assert client("fetch_open_orders", "BTC/USDT") == []
    balance = client("fetch_balance")
    assert _d(balance["USDT"]["free"]) == Decimal(100000) and _d(balance["USDT"]["used"]) == 0


def test_resting_limit_fills_after_the_admin_api_moves_the_price(
    client: Client, server: SimServer
) -> None:
    client("load_markets")
    order = client("create_order", "BTC/USDT", "limit", "buy", 0.001, 95000)
    assert client("fetch_order", order["id"], "BTC/USDT")["status"] == "open"
    moved = _set_price(server, client.exchange_id, "BTCUSDT", "94999.99")
    assert [e["kind"] for e in moved["events"]] == ["fill"]
    fetched = client("fetch_order", order["id"], "BTC/USDT")
    assert fetched["status"] == "closed"
    assert _d(fetched["average"]) == Decimal(95000)  # at the limit price, not the new price
    trades = client("fetch_my_trades", "BTC/USDT")
    assert [t["takerOrMaker"] for t in trades] == ["maker"]
    balance = client("fetch_balance")
    assert _d(balance["USDT"]["total"]) == Decimal(99905)  # 100000 - 0.001 x 95000
    assert _d(balance["BTC"]["total"]) == Decimal("0.000999")  # 0.001 - 0.1 % fee


def test_resting_limit_fills_when_the_path_trades_through(
    client: Client, server: SimServer
) -> None:
    client("load_markets")
    order = client("create_order", "BTC/USDT", "limit", "buy", 0.001, 95500)
    path = "timeline:\n  - BTCUSDT: 95000 over 2m\n"
    response = server.admin("POST", "/admin/path", json={"yaml": path})
    assert response.status_code == 200, response.text
    assert client("fetch_order", order["id"], "BTC/USDT")["status"] == "open"
    played = server.admin("POST", "/admin/advance", json={"seconds": 120})
    assert played.status_code == 200, played.text
    fetched = client("fetch_order", order["id"], "BTC/USDT")
    assert fetched["status"] == "closed" and _d(fetched["average"]) == Decimal(95500)


def test_client_order_id_is_echoed_and_found(client: Client) -> None:
    client("load_markets")
    order = client(
        "create_order", "BTC/USDT", "limit", "buy", 0.001, 90000, {"clientOrderId": "grid-1_a"}
    )
    fetched = client("fetch_order", order["id"], "BTC/USDT")
    assert fetched["clientOrderId"] == "grid-1_a"


def test_post_only_that_would_take(client: Client) -> None:
    client("load_markets")
    if client.exchange_id == "binance":
        with pytest.raises(ccxt.OrderImmediatelyFillable):
            client("create_order", "BTC/USDT", "limit", "buy", 0.001, 96000, {"postOnly": True})
        return
    # Bybit creates the PostOnly order and cancels it at once.
    order = client("create_order", "BTC/USDT", "limit", "buy", 0.001, 96000, {"postOnly": True})
    assert client("fetch_order", order["id"], "BTC/USDT")["status"] == "canceled"


# -- errors and faults ----------------------------------------------------------------------


def test_insufficient_balance(client: Client) -> None:
    client("load_markets")
    with pytest.raises(ccxt.InsufficientFunds):
        client("create_order", "BTC/USDT", "limit", "buy", 2, 90000)  # 180000 > 100000 USDT


def test_below_min_notional(client: Client) -> None:
    client("load_markets")
    if client.exchange_id == "binance":
        with pytest.raises(ccxt.BadRequest):  # -1013 NOTIONAL (contract §7)
            client("create_order", "BTC/USDT", "limit", "buy", 0.00001, 90000)  # 0.9 < 5
    else:
        with pytest.raises(ccxt.InvalidOrder):  # 170140
            client("create_order", "BTC/USDT", "limit", "buy", 0.00005, 10000)  # 0.5 < 1


def test_lot_size_above_max_quantity(client: Client) -> None:
    client("load_markets")
    with pytest.raises(ccxt.InvalidOrder):  # binance -1013 LOT_SIZE / bybit max qty
        client("create_order", "BTC/USDT", "limit", "buy", 10000, 1)


def test_unknown_order(client: Client) -> None:
    client("load_markets")
    with pytest.raises(ccxt.OrderNotFound):
        client("fetch_order", "1234567", "BTC/USDT")
    with pytest.raises(ccxt.OrderNotFound):
        client("cancel_order", "1234567", "BTC/USDT")


def test_rate_limit_fault(client: Client, server: SimServer) -> None:
    client("load_markets")
    _add_fault(server, kind="rate_limit", exchange=client.exchange_id, endpoint="balances")
    expected = ccxt.DDoSProtection if client.exchange_id == "binance" else ccxt.RateLimitExceeded
    with pytest.raises(expected):
        client("fetch_balance")


def test_bad_keys_fault(client: Client, make_client: Any, server: SimServer) -> None:
    # A fresh client: after a successful private call ccxt-binance maps -2015 to
    # DDoSProtection (contract §7).
    fresh = make_client(client.exchange_id, client.mode)
    fresh("load_markets")
    _add_fault(server, kind="bad_keys", exchange=client.exchange_id)
    with pytest.raises(ccxt.AuthenticationError):
        fresh("fetch_balance")


def test_wrong_secret_and_unknown_key(make_client: Any, server: SimServer) -> None:
    for exchange in ("binance", "bybit"):
        wrong_secret = make_client(exchange, "sync", secret="not-the-secret")
        wrong_secret("load_markets")
        with pytest.raises(ccxt.AuthenticationError):
            wrong_secret("fetch_balance")
        unknown = make_client(exchange, "sync", apiKey="nobody")
        unknown("load_markets")
        with pytest.raises(ccxt.AuthenticationError):
            unknown("fetch_balance")


def test_timestamp_outside_the_window_is_invalid_nonce(make_client: Any) -> None:
    for exchange in ("binance", "bybit"):
        # ccxt signs with now - timeDifference: 20 s in the past, outside both windows
        late = make_client(exchange, "sync", options={"timeDifference": 20_000})
        late("load_markets")
        with pytest.raises(ccxt.InvalidNonce):
            late("fetch_balance")


def test_order_reject_fault_with_a_chosen_code(client: Client, server: SimServer) -> None:
    client("load_markets")
    if client.exchange_id == "binance":
        fault = {"code": "-2010", "message": "Account has insufficient balance for requested "
                 "action."}  # fmt: skip
    else:
        fault = {"code": "170131", "message": "Insufficient balance."}
    _add_fault(server, kind="reject", exchange=client.exchange_id, count=1, **fault)
    with pytest.raises(ccxt.InsufficientFunds):
        client("create_order", "BTC/USDT", "limit", "buy", 0.001, 90000)
    order = client("create_order", "BTC/USDT", "limit", "buy", 0.001, 90000)  # once only
    assert client("fetch_order", order["id"], "BTC/USDT")["status"] == "open"


def test_latency_fault_delays_the_answer(client: Client, server: SimServer) -> None:
    client("load_markets")
    _add_fault(server, kind="latency", exchange=client.exchange_id, latency_ms=300, count=1)
    started = time.monotonic()
    client("fetch_balance")
    assert time.monotonic() - started >= 0.3


def test_metadata_missing_hides_the_tick_size(
    client: Client, make_client: Any, server: SimServer
) -> None:
    _add_fault(server, kind="metadata_missing", exchange=client.exchange_id, symbol="ETHUSDT")
    markets = make_client(client.exchange_id, client.mode)("load_markets")
    assert markets["ETH/USDT"]["precision"]["price"] is None
    assert _d(markets["BTC/USDT"]["precision"]["price"]) == Decimal("0.01")


def test_exchange_down_503(client: Client, server: SimServer) -> None:
    client("load_markets")
    _add_fault(server, kind="down", exchange=client.exchange_id, mode="503")
    with pytest.raises(ccxt.ExchangeNotAvailable):
        client("fetch_ticker", "BTC/USDT")


def test_exchange_down_refused_resets_the_connection(client: Client, server: SimServer) -> None:
    client("load_markets")
    _add_fault(server, kind="down", exchange=client.exchange_id, mode="refused")
    # contract §7: connection refused -> sync NetworkError, async ExchangeNotAvailable
    # (aiohttp retries once on a reused connection, so the fault stays until removed)
    expected = ccxt.NetworkError if client.mode == "sync" else ccxt.ExchangeNotAvailable
    with pytest.raises(expected):
        client("fetch_ticker", "BTC/USDT")
    assert server.admin("DELETE", "/admin/faults").json() == {"cleared": 1}
    assert _d(client("fetch_ticker", "BTC/USDT")["last"]) == Decimal("95992.3")


def test_response_lost_times_out_but_the_order_exists(
    make_client: Any, client: Client, server: SimServer
) -> None:
    impatient = make_client(client.exchange_id, client.mode, timeout=SHORT_TIMEOUT_MS)
    impatient("load_markets")
    _add_fault(server, kind="response_lost", exchange=client.exchange_id, count=1)
    with pytest.raises(ccxt.RequestTimeout):
        impatient(
            "create_order", "BTC/USDT", "limit", "buy", 0.001, 90000, {"clientOrderId": "lost-1"}
        )
    # The order was created before the answer was lost.
    client("load_markets")
    open_orders = client("fetch_open_orders", "BTC/USDT")
    assert [o["clientOrderId"] for o in open_orders] == ["lost-1"]
    log = server.admin("GET", "/admin/log", params={"kind": "fault"}).json()["entries"]
    assert [e["fault"] for e in log] == ["response_lost"]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_stopped_server_refuses_connections(mode: str) -> None:
    sim = Simulator(seed=0)
    thread = ServerThread(create_app(sim)).start()
    base_url = thread.base_url
    thread.stop()
    module = ccxt if mode == "sync" else ccxt_async
    ex = redirect_ccxt(module.binance(binance_options("k", "s", timeout=2000)), base_url)
    expected = ccxt.NetworkError if mode == "sync" else ccxt.ExchangeNotAvailable
    if mode == "sync":
        with pytest.raises(expected):
            ex.fetch_time()
        return
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(expected):
            loop.run_until_complete(ex.fetch_time())
    finally:
        loop.run_until_complete(ex.close())
        loop.close()


def test_default_configured_clients_load_markets(server: SimServer) -> None:
    """Without the contract's options ccxt also asks sapi/fapi/dapi (binance) and the account
    type (bybit): the simulator answers those with empty lists / a UTA account."""
    binance = redirect_ccxt(
        ccxt.binance({"apiKey": server.api_key, "secret": server.api_secret}), server.base_url
    )
    assert "BTC/USDT" in binance.load_markets()
    assert _d(binance.fetch_balance()["USDT"]["free"]) == Decimal(100000)
    bybit = redirect_ccxt(
        ccxt.bybit({"apiKey": server.api_key, "secret": server.api_secret}), server.base_url
    )
    assert "BTC/USDT" in bybit.load_markets()
    assert _d(bybit.fetch_balance()["USDT"]["free"]) == Decimal(100000)
