"""Response shapes and parameter parsing of the REST faces, on hand-built value objects."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from qtrade.commands.sim import parse_balances
from simulator.models import SimOrder, SimOrderStatus, SimTrade
from simulator.rest.binance import param_error_body
from simulator.rest.binance_format import binance_number, binance_order
from simulator.rest.bybit_format import bybit_order, bybit_status
from simulator.rest.params import (
    INVALID_VALUE,
    MALFORMED,
    MISSING,
    NOT_ALLOWED,
    ParamError,
    choice,
    decimal_value,
    format_decimal,
    int_value,
)
from simulator.server import default_credentials


def _trade(**changes: object) -> SimTrade:
    values: dict[str, object] = {
        "trade_id": "400000001",
        "order_id": "5000000001",
        "client_order_id": "c-1",
        "symbol": "BTCUSDT",
        "side": "buy",
        "price": Decimal("95992.3"),
        "quantity": Decimal("0.00104"),
        "quote_quantity": Decimal("99.831992"),  # 0.00104 x 95992.3
        "fee": Decimal("0.00000104"),  # 0.1 % of 0.00104
        "fee_asset": "BTC",
        "is_maker": False,
        "time_ms": 1767225600000,
    }
    values.update(changes)
    return SimTrade(**values)  # type: ignore[arg-type]


def _order(**changes: object) -> SimOrder:
    values: dict[str, object] = {
        "order_id": "5000000001",
        "client_order_id": "c-1",
        "symbol": "BTCUSDT",
        "side": "buy",
        "type": "limit",
        "price": Decimal("90000"),
        "quantity": Decimal("0.002"),
        "quote_quantity": None,
        "filled_quantity": Decimal("0"),
        "cumulative_quote": Decimal("0"),
        "status": SimOrderStatus.NEW,
        "time_in_force": "GTC",
        "post_only": False,
        "created_ms": 1767225600000,
        "updated_ms": 1767225600000,
    }
    values.update(changes)
    return SimOrder(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        (Decimal("0.001"), 8, "0.00100000"),
        (Decimal("95992.3"), 8, "95992.30000000"),
        (Decimal("1E-9"), 8, "0.000000001"),  # more places than the padding: kept
        (Decimal("100000"), 0, "100000"),
        (Decimal("1.2300"), 0, "1.23"),
        (Decimal("-0"), 2, "0.00"),
        (Decimal("1E+3"), 0, "1000"),
    ],
)
def test_format_decimal(value: Decimal, places: int, text: str) -> None:
    assert format_decimal(value, min_places=places) == text


def test_binance_quote_sized_market_order_reports_executed_base_as_orig_qty() -> None:
    fill = _trade()
    order = _order(
        type="market", price=None, quantity=None, quote_quantity=Decimal("100"),
        filled_quantity=Decimal("0.00104"), cumulative_quote=Decimal("99.831992"),
        status=SimOrderStatus.FILLED, fills=(fill,),
    )  # fmt: skip
    body = binance_order(order, response_type="FULL")
    assert (body["orderId"], body["type"], body["origQty"], body["origQuoteOrderQty"]) == (
        5000000001,
        "MARKET",
        "0.00104000",
        "100.00000000",
    )
    assert body["cummulativeQuoteQty"] == "99.83199200"
    assert body["fills"] == [
        {
            "price": "95992.30000000",
            "qty": "0.00104000",
            "commission": "0.00000104",
            "commissionAsset": "BTC",
            "tradeId": 400000001,
        }
    ]
    assert "code" not in body and "msg" not in body


def test_binance_post_only_is_limit_maker_and_get_adds_times() -> None:
    body = binance_order(_order(post_only=True, updated_ms=1767225601000))
    assert (body["type"], body["timeInForce"], body["time"], body["updateTime"]) == (
        "LIMIT_MAKER",
        "GTC",
        1767225600000,
        1767225601000,
    )
    assert binance_number(None) == "0.00000000"


@pytest.mark.parametrize(
    ("status", "filled", "name"),
    [
        (SimOrderStatus.NEW, "0", "New"),
        (SimOrderStatus.PARTIALLY_FILLED, "0.001", "PartiallyFilled"),
        (SimOrderStatus.FILLED, "0.002", "Filled"),
        (SimOrderStatus.CANCELED, "0", "Cancelled"),
        (SimOrderStatus.CANCELED, "0.001", "PartiallyFilledCanceled"),
        (SimOrderStatus.EXPIRED, "0", "Cancelled"),
        (SimOrderStatus.EXPIRED, "0.001", "PartiallyFilledCanceled"),
        (SimOrderStatus.REJECTED, "0", "Rejected"),
    ],
)
def test_bybit_status_names(status: SimOrderStatus, filled: str, name: str) -> None:
    assert bybit_status(_order(status=status, filled_quantity=Decimal(filled))) == name


def test_bybit_order_fields() -> None:
    fill = _trade(quantity=Decimal("0.001"), quote_quantity=Decimal("90"), fee=Decimal("0.000001"),
                  price=Decimal("90000"), is_maker=True)  # fmt: skip
    order = _order(
        filled_quantity=Decimal("0.001"), cumulative_quote=Decimal("90"),
        status=SimOrderStatus.PARTIALLY_FILLED, fills=(fill,),
    )  # fmt: skip
    body = bybit_order(order)
    # 0.002 ordered, 0.001 filled at 90000: 0.001 left, worth 0.001 x 90000 = 90
    assert (body["qty"], body["cumExecQty"], body["leavesQty"], body["leavesValue"]) == (
        "0.002",
        "0.001",
        "0.001",
        "90",
    )
    assert (body["avgPrice"], body["cumFeeDetail"], body["createdTime"]) == (
        "90000",
        {"BTC": "0.000001"},
        "1767225600000",
    )
    quote_market = _order(type="market", price=None, quantity=Decimal("0.00104"),
                          quote_quantity=Decimal("100"), status=SimOrderStatus.FILLED,
                          filled_quantity=Decimal("0.00104"))  # fmt: skip
    market_body = bybit_order(quote_market)
    assert (market_body["qty"], market_body["marketUnit"], market_body["timeInForce"]) == (
        "100",
        "quoteCoin",
        "IOC",
    )


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ParamError("quantity", MISSING), -1102),
        (ParamError("price", MALFORMED), -1100),
        (ParamError("timeInForce", NOT_ALLOWED), -1106),
        (ParamError("side", INVALID_VALUE), -1117),
        (ParamError("type", INVALID_VALUE), -1116),
        (ParamError("timeInForce", INVALID_VALUE), -1115),
        (ParamError("interval", INVALID_VALUE), -1120),
        (ParamError("limit", INVALID_VALUE), -1100),
    ],
)
def test_binance_parameter_error_codes(error: ParamError, code: int) -> None:
    body = param_error_body(error)
    assert body["code"] == code
    if code in (-1100, -1102, -1106):  # these messages name the parameter
        assert f"'{error.field}'" in body["msg"]


def test_parameter_parsing() -> None:
    params = {"qty": "0.001", "bad": "1e-3", "neg": "-1", "n": "7", "side": "BUY", "empty": ""}
    assert decimal_value(params, "qty") == Decimal("0.001")
    assert decimal_value(params, "empty") is None  # empty counts as absent
    for name, reason in (("bad", MALFORMED), ("neg", MALFORMED)):
        with pytest.raises(ParamError) as exc:
            decimal_value(params, name)
        assert (exc.value.field, exc.value.reason) == (name, reason)
    with pytest.raises(ParamError) as missing:
        decimal_value(params, "price", required=True)
    assert missing.value.reason == MISSING
    assert int_value(params, "n", minimum=1, maximum=10) == 7
    with pytest.raises(ParamError):
        int_value(params, "n", maximum=5)
    assert choice(params, "side", ("BUY", "SELL")) == "BUY"
    assert choice(params, "tif", ("GTC",), default="GTC") == "GTC"
    with pytest.raises(ParamError) as invalid:
        choice(params, "side", ("Buy", "Sell"))
    assert invalid.value.reason == INVALID_VALUE


def test_default_credentials_follow_the_documented_formula() -> None:
    key, secret = default_credentials(7)
    assert key == "qtsim" + hashlib.sha256(b"qtrade-sim-key:7").hexdigest()[:27]
    assert secret == hashlib.sha256(b"qtrade-sim-secret:7").hexdigest()
    assert len(key) == 32 and len(secret) == 64
    assert default_credentials(7) == (key, secret) != default_credentials(8)


def test_parse_balances() -> None:
    assert parse_balances([]) is None
    assert parse_balances(["usdt=100000", "BTC=0.5"]) == {
        "USDT": Decimal(100000),
        "BTC": Decimal("0.5"),
    }
    for bad in (["USDT"], ["USDT=abc"], ["USDT=-1"], ["=5"]):
        with pytest.raises(ValueError):
            parse_balances(bad)
