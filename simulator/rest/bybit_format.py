"""Bybit v5 response bodies built from the simulator's value objects.

Every answer is the ``retCode`` envelope; numbers are strings without padding and
millisecond times are strings, as Bybit sends them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.domain import ZERO
from simulator.markets import SimMarket
from simulator.models import Balance, BookLevel, Kline, SimOrder, SimOrderStatus, SimTrade, Ticker
from simulator.rest.params import format_decimal

__all__ = [
    "bybit_envelope",
    "bybit_number",
    "bybit_status",
    "bybit_order",
    "bybit_execution",
    "bybit_instrument",
    "bybit_ticker",
    "bybit_kline",
    "bybit_book_levels",
    "bybit_wallet",
]


def bybit_envelope(
    result: object, *, now_ms: int, ret_code: int = 0, ret_msg: str = "OK"
) -> dict[str, Any]:
    return {
        "retCode": ret_code,
        "retMsg": ret_msg,
        "result": result,
        "retExtInfo": {},
        "time": now_ms,
    }


def bybit_number(value: Decimal | None) -> str:
    return format_decimal(value if value is not None else ZERO)


def bybit_status(order: SimOrder) -> str:
    status = order.status
    if status is SimOrderStatus.NEW:
        return "New"
    if status is SimOrderStatus.PARTIALLY_FILLED:
        return "PartiallyFilled"
    if status is SimOrderStatus.FILLED:
        return "Filled"
    if status is SimOrderStatus.REJECTED:
        return "Rejected"
    # CANCELED, and EXPIRED (IOC/market remainder): Bybit says which had fills.
    return "PartiallyFilledCanceled" if order.filled_quantity > 0 else "Cancelled"


def _time_in_force(order: SimOrder) -> str:
    if order.post_only:
        return "PostOnly"
    if order.type == "market":
        return "IOC"
    return order.time_in_force


def _market_unit(order: SimOrder) -> str:
    if order.type != "market":
        return ""
    return "quoteCoin" if order.quote_quantity is not None else "baseCoin"


def bybit_order(order: SimOrder) -> dict[str, Any]:
    """One order of ``/v5/order/realtime`` or ``/history``.

    A quote-sized market order reports ``qty`` as the quote amount with
    ``marketUnit: quoteCoin`` (how ccxt reads it); its ``leavesQty`` is 0 once closed.
    """
    quote_sized = order.type == "market" and order.quote_quantity is not None
    if quote_sized:
        qty = order.quote_quantity
        leaves = ZERO
        leaves_value = ZERO if not order.status.is_open else order.quote_quantity
    else:
        qty = order.quantity
        remaining = order.remaining_quantity or ZERO
        leaves = remaining if order.status.is_open else ZERO
        leaves_value = leaves * (order.price or ZERO)
    fee = order.fee_total
    fee_detail: dict[str, str] = {}
    if order.fills:
        fee_detail[order.fills[0].fee_asset] = bybit_number(fee)
    average = order.average_price
    return {
        "orderId": order.order_id,
        "orderLinkId": order.client_order_id,
        "blockTradeId": "",
        "symbol": order.symbol,
        "price": bybit_number(order.price) if order.price is not None else "0",
        "qty": bybit_number(qty),
        "side": "Buy" if order.side == "buy" else "Sell",
        "isLeverage": "0",
        "positionIdx": 0,
        "orderStatus": bybit_status(order),
        "cancelType": "UNKNOWN",
        "rejectReason": order.reject_reason or "EC_NoError",
        "avgPrice": bybit_number(average) if average is not None else "",
        "leavesQty": bybit_number(leaves),
        "leavesValue": bybit_number(leaves_value),
        "cumExecQty": bybit_number(order.filled_quantity),
        "cumExecValue": bybit_number(order.cumulative_quote),
        "cumExecFee": bybit_number(fee),
        "cumFeeDetail": fee_detail,
        "timeInForce": _time_in_force(order),
        "orderType": "Market" if order.type == "market" else "Limit",
        "stopOrderType": "",
        "orderIv": "",
        "marketUnit": _market_unit(order),
        "triggerPrice": "0",
        "takeProfit": "0",
        "stopLoss": "0",
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "triggerDirection": 0,
        "triggerBy": "",
        "lastPriceOnCreated": "",
        "reduceOnly": order.reduce_only,
        "closeOnTrigger": False,
        "placeType": "",
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "createdTime": str(order.created_ms),
        "updatedTime": str(order.updated_ms),
    }


def bybit_execution(trade: SimTrade, order: SimOrder | None, market: SimMarket) -> dict[str, Any]:
    """One entry of ``/v5/execution/list``."""
    rate = market.maker_fee if trade.is_maker else market.taker_fee
    return {
        "symbol": trade.symbol,
        "orderId": trade.order_id,
        "orderLinkId": trade.client_order_id,
        "side": "Buy" if trade.side == "buy" else "Sell",
        "orderPrice": bybit_number(order.price) if order and order.price is not None else "0",
        "orderQty": bybit_number(order.quantity) if order and order.quantity else "0",
        "leavesQty": "0",
        "orderType": ("Market" if order.type == "market" else "Limit") if order else "UNKNOWN",
        "stopOrderType": "",
        "execFee": bybit_number(trade.fee),
        "feeCurrency": trade.fee_asset,
        "feeCoin": trade.fee_asset,  # the field ccxt reads; without it ccxt guesses from side
        "execId": trade.trade_id,
        "execPrice": bybit_number(trade.price),
        "execQty": bybit_number(trade.quantity),
        "execType": "Trade",
        "execValue": bybit_number(trade.quote_quantity),
        "execTime": str(trade.time_ms),
        "isMaker": trade.is_maker,
        "feeRate": bybit_number(rate),
        "tradeIv": "",
        "markIv": "",
        "markPrice": "",
        "indexPrice": "",
        "underlyingPrice": "",
        "blockTradeId": "",
        "closedSize": "",
        "seq": int(trade.trade_id),
    }


def bybit_instrument(market: SimMarket) -> dict[str, Any]:
    """One spot entry of ``/v5/market/instruments-info``. A hidden tick size
    (metadata-missing fault) leaves ``priceFilter`` empty and drops ``quotePrecision``, which
    ccxt would otherwise use as the price precision."""
    price_filter = {} if market.tick_size is None else {"tickSize": bybit_number(market.tick_size)}
    max_qty = market.max_qty if market.max_qty is not None else Decimal(9_000_000)
    max_amount = market.max_notional if market.max_notional is not None else Decimal(9_000_000)
    lot_size: dict[str, str] = {
        "basePrecision": bybit_number(market.step_size),
        "quotePrecision": "0.00000001",
        "minOrderQty": bybit_number(market.min_qty),
        "maxOrderQty": bybit_number(max_qty),
        "minOrderAmt": bybit_number(market.min_notional),
        "maxOrderAmt": bybit_number(max_amount),
    }
    if market.tick_size is None:
        del lot_size["quotePrecision"]  # ccxt would take it as the price precision
    return {
        "symbol": market.symbol,
        "baseCoin": market.base,
        "quoteCoin": market.quote,
        "innovation": "0",
        "status": "Trading" if market.status == "trading" else "Closed",
        "marginTrading": "none",
        "stTag": "0",
        "lotSizeFilter": lot_size,
        "priceFilter": price_filter,
        "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.05"},
    }


def bybit_ticker(ticker: Ticker, depth: Decimal) -> dict[str, Any]:
    change = (ticker.last - ticker.open_24h) / ticker.open_24h if ticker.open_24h else ZERO
    return {
        "symbol": ticker.symbol,
        "bid1Price": bybit_number(ticker.bid),
        "bid1Size": bybit_number(depth),
        "ask1Price": bybit_number(ticker.ask),
        "ask1Size": bybit_number(depth),
        "lastPrice": bybit_number(ticker.last),
        "prevPrice24h": bybit_number(ticker.open_24h),
        "price24hPcnt": format_decimal(change.quantize(Decimal("0.0001"))),
        "highPrice24h": bybit_number(ticker.high_24h),
        "lowPrice24h": bybit_number(ticker.low_24h),
        "turnover24h": bybit_number(ticker.quote_volume_24h),
        "volume24h": bybit_number(ticker.volume_24h),
        "usdIndexPrice": bybit_number(ticker.last),
    }


def bybit_kline(kline: Kline) -> list[str]:
    return [
        str(kline.open_ms),
        bybit_number(kline.open),
        bybit_number(kline.high),
        bybit_number(kline.low),
        bybit_number(kline.close),
        bybit_number(kline.volume),
        bybit_number(kline.quote_volume),
    ]


def bybit_book_levels(levels: list[BookLevel]) -> list[list[str]]:
    return [[bybit_number(level.price), bybit_number(level.quantity)] for level in levels]


def bybit_wallet(balances: dict[str, Balance], usd_prices: dict[str, Decimal]) -> dict[str, Any]:
    """The UNIFIED account of ``/v5/account/wallet-balance``. ``usd_prices`` values each
    coin in USDT (coins without a price count as 0 in the totals)."""
    coins = []
    total = ZERO
    for asset, balance in sorted(balances.items()):
        usd = balance.total * usd_prices.get(asset, ZERO)
        total += usd
        coins.append(
            {
                "coin": asset,
                "equity": bybit_number(balance.total),
                "usdValue": bybit_number(usd),
                "walletBalance": bybit_number(balance.total),
                "free": bybit_number(balance.free),
                "locked": bybit_number(balance.locked),
                "spotHedgingQty": "0",
                "borrowAmount": "0",
                "availableToWithdraw": bybit_number(balance.free),
                "accruedInterest": "0",
                "totalOrderIM": "0",
                "totalPositionIM": "0",
                "totalPositionMM": "0",
                "unrealisedPnl": "0",
                "cumRealisedPnl": "0",
                "bonus": "0",
                "marginCollateral": True,
                "collateralSwitch": True,
            }
        )
    return {
        "list": [
            {
                "accountType": "UNIFIED",
                "accountIMRate": "0",
                "accountMMRate": "0",
                "accountLTV": "0",
                "totalEquity": bybit_number(total),
                "totalWalletBalance": bybit_number(total),
                "totalMarginBalance": bybit_number(total),
                "totalAvailableBalance": bybit_number(total),
                "totalPerpUPL": "0",
                "totalInitialMargin": "0",
                "totalMaintenanceMargin": "0",
                "coin": coins,
            }
        ]
    }
