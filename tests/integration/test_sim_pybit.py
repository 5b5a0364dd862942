"""Smoke test: the official pybit client against the Bybit face.

Redirected as ../shared/reference/ccxt_contract.md §8 shows (``session.endpoint``). pybit
signs JSON bodies with spaces after ``:`` and sends ``X-BAPI-SIGN-TYPE: 2``.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from pybit.exceptions import InvalidRequestError
from pybit.unified_trading import HTTP

from tests.kit.sim_server import SimServer, serving_simulator


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with serving_simulator() as running:
        yield running


@pytest.fixture(autouse=True)
def _reset(server: SimServer) -> None:
    assert server.admin("POST", "/admin/reset").status_code == 200


def _session(server: SimServer) -> HTTP:
    session = HTTP(testnet=True, api_key=server.api_key, api_secret=server.api_secret)
    session.endpoint = server.base_url
    return session


def test_pybit_trades_against_the_simulator(server: SimServer) -> None:
    session = _session(server)
    instrument = session.get_instruments_info(category="spot", symbol="BTCUSDT")
    lot = instrument["result"]["list"][0]["lotSizeFilter"]
    assert (Decimal(lot["basePrecision"]), Decimal(lot["minOrderQty"])) == (
        Decimal("0.000001"),
        Decimal("0.000048"),
    )
    wallet = session.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]
    assert [(c["coin"], Decimal(c["walletBalance"])) for c in wallet["coin"]] == [
        ("USDT", Decimal(100000))
    ]

    placed = session.place_order(
        category="spot",
        symbol="BTCUSDT",
        side="Buy",
        orderType="Limit",
        qty="0.001",
        price="95000",
        orderLinkId="pybit-1",
    )["result"]
    assert placed["orderLinkId"] == "pybit-1"
    open_orders = session.get_open_orders(category="spot", symbol="BTCUSDT")["result"]["list"]
    assert [(o["orderId"], o["orderStatus"]) for o in open_orders] == [(placed["orderId"], "New")]
    session.cancel_order(category="spot", symbol="BTCUSDT", orderId=placed["orderId"])
    history = session.get_order_history(category="spot", symbol="BTCUSDT")["result"]["list"]
    assert [o["orderStatus"] for o in history] == ["Cancelled"]

    # A market buy's qty is quote by default: 100 USDT / 95992.3 = 0.0010417..., rounded
    # down to the 0.000001 step = 0.001041 BTC, worth 0.001041 x 95992.3 = 99.9279843 USDT.
    session.place_order(
        category="spot", symbol="BTCUSDT", side="Buy", orderType="Market", qty="100"
    )
    executions = session.get_executions(category="spot", symbol="BTCUSDT")["result"]["list"]
    assert [(Decimal(e["execQty"]), Decimal(e["execValue"])) for e in executions] == [
        (Decimal("0.001041"), Decimal("99.9279843"))
    ]
    candles = session.get_kline(category="spot", symbol="BTCUSDT", interval="1")["result"]["list"]
    assert Decimal(candles[0][4]) == Decimal("95992.3")
    ticker = session.get_tickers(category="spot", symbol="BTCUSDT")["result"]["list"][0]
    assert Decimal(ticker["lastPrice"]) == Decimal("95992.3")


def test_pybit_sees_the_insufficient_balance_code(server: SimServer) -> None:
    session = _session(server)
    with pytest.raises(InvalidRequestError) as refused:  # 2 x 90000 > 100000 USDT
        session.place_order(
            category="spot", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="2", price="90000"
        )
    assert refused.value.status_code == 170131
