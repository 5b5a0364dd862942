"""Bybit v5 response bodies built from the simulator's value objects.

Every answer is the ``retCode`` envelope; numbers are strings without padding and
millisecond times are strings, as Bybit sends them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.domain import ZERO
from simulator.markets import SimMarket
from simulator.models import (
    Balance,
    BookLevel,
    Kline,
    Position,
    SimOrder,
    SimOrderStatus,
    SimTrade,
    Ticker,
)
from simulator.rest.params import format_decimal

__all__ = [
    "bybit_envelope",
    "bybit_number",
    "bybit_status",
    "bybit_order",
    "bybit_execution",
    "bybit_instrument",
    "bybit_linear_instrument",
    "bybit_ticker",
    "bybit_linear_ticker",
    "bybit_position",
    "CoinHoldings",
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


def bybit_order(order: SimOrder, *, linear: bool = False) -> dict[str, Any]:
    """One order of ``/v5/order/realtime`` or ``/history``.

    A quote-sized market order reports ``qty`` as the quote amount with
    ``marketUnit: quoteCoin`` (how ccxt reads it); its ``leavesQty`` is 0 once closed.
    A ``linear`` order (always sized in base) carries the contract fields Bybit adds
    (``tpslMode``, ``tpLimitPrice``, ``slLimitPrice``; ``isLeverage`` and ``marketUnit``
    empty): ccxt takes an order with ``tpslMode`` for a contract order when it does not know
    the market.
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
    body = {
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
    if linear:
        body["isLeverage"] = ""
        body["marketUnit"] = ""
        body["tpslMode"] = ""
        body["tpLimitPrice"] = ""
        body["slLimitPrice"] = ""
    return body


def bybit_execution(trade: SimTrade, order: SimOrder | None, market: SimMarket) -> dict[str, Any]:
    """One entry of ``/v5/execution/list``. A linear fill also carries ``createType``
    (ccxt's sign of a contract execution when it does not know the market)."""
    rate = market.maker_fee if trade.is_maker else market.taker_fee
    body = {
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
    if market.market_type == "linear":
        body["createType"] = "CreateByUser"
    return body


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


# A perpetual has no price ceiling in the simulator; Bybit publishes one, so the listing
# shows a large one (rounded down to the tick). Funding is not simulated.
_MAX_PRICE = Decimal(999_999_999)
_LINEAR_FUNDING_INTERVAL_MIN = 480


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def bybit_linear_instrument(market: SimMarket) -> dict[str, Any]:
    """One ``category=linear`` entry of ``/v5/market/instruments-info``: a USDT-settled
    perpetual at 1x (``leverageFilter`` 1..1). ccxt reads ``contractType``, ``status``,
    ``baseCoin``/``quoteCoin``/``settleCoin``, ``priceFilter.tickSize`` (price precision),
    ``lotSizeFilter.qtyStep`` (amount precision), ``minOrderQty``/``maxOrderQty`` and
    ``minNotionalValue`` (cost minimum). A hidden tick size (metadata-missing fault) leaves
    ``priceFilter`` empty and drops ``priceScale``."""
    max_qty = market.max_qty if market.max_qty is not None else Decimal(9_000_000)
    price_filter: dict[str, str] = {}
    if market.tick_size is not None:
        tick = market.tick_size
        price_filter = {
            "minPrice": bybit_number(tick),
            "maxPrice": bybit_number((_MAX_PRICE // tick) * tick),
            "tickSize": bybit_number(tick),
        }
    entry: dict[str, Any] = {
        "symbol": market.symbol,
        "contractType": "LinearPerpetual",
        "status": "Trading" if market.status == "trading" else "Closed",
        "baseCoin": market.base,
        "quoteCoin": market.quote,
        "launchTime": "0",
        "deliveryTime": "0",
        "deliveryFeeRate": "",
        "priceScale": str(_decimals(market.tick_size)) if market.tick_size is not None else "",
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "1", "leverageStep": "0.01"},
        "priceFilter": price_filter,
        "lotSizeFilter": {
            "maxOrderQty": bybit_number(max_qty),
            "minOrderQty": bybit_number(market.min_qty),
            "qtyStep": bybit_number(market.step_size),
            "postOnlyMaxOrderQty": bybit_number(max_qty),
            "maxMktOrderQty": bybit_number(max_qty),
            "minNotionalValue": bybit_number(market.min_notional),
        },
        "unifiedMarginTrade": True,
        "fundingInterval": _LINEAR_FUNDING_INTERVAL_MIN,
        "settleCoin": market.quote,
        "copyTrading": "none",
        "upperFundingRate": "0",
        "lowerFundingRate": "0",
        "isPreListing": False,
        "preListingInfo": None,
        "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.05"},
        "displayName": "",
    }
    if market.tick_size is None:
        del entry["priceScale"]
    return entry


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


def bybit_linear_ticker(ticker: Ticker, depth: Decimal, open_interest: Decimal) -> dict[str, Any]:
    """One ``category=linear`` ticker. Mark and index prices are the last price (the
    simulator has one price per market); funding is not simulated (rate 0, no next time);
    ``openInterest`` is the sum of the accounts' position sizes (the venue is every
    position's counterparty). ccxt takes a ticker with ``openInterestValue`` for a contract."""
    change = (ticker.last - ticker.open_24h) / ticker.open_24h if ticker.open_24h else ZERO
    return {
        "symbol": ticker.symbol,
        "lastPrice": bybit_number(ticker.last),
        "indexPrice": bybit_number(ticker.last),
        "markPrice": bybit_number(ticker.last),
        "prevPrice24h": bybit_number(ticker.open_24h),
        "price24hPcnt": format_decimal(change.quantize(Decimal("0.0001"))),
        "highPrice24h": bybit_number(ticker.high_24h),
        "lowPrice24h": bybit_number(ticker.low_24h),
        "openInterest": bybit_number(open_interest),
        "openInterestValue": bybit_number(open_interest * ticker.last),
        "turnover24h": bybit_number(ticker.quote_volume_24h),
        "volume24h": bybit_number(ticker.volume_24h),
        "fundingRate": "0",
        "nextFundingTime": "0",
        "predictedDeliveryPrice": "",
        "basisRate": "",
        "deliveryFeeRate": "",
        "deliveryTime": "0",
        "ask1Size": bybit_number(depth),
        "bid1Price": bybit_number(ticker.bid),
        "ask1Price": bybit_number(ticker.ask),
        "bid1Size": bybit_number(depth),
        "basis": "",
    }


def bybit_position(
    symbol: str, position: Position | None, mark: Decimal, now_ms: int
) -> dict[str, Any]:
    """One entry of ``/v5/position/list`` (one-way mode, ``positionIdx`` 0, 1x). ``side`` is
    ``Buy`` (long), ``Sell`` (short) or empty with size 0. The simulator keeps no position
    times: ``createdTime``/``updatedTime`` are the simulator's clock."""
    quantity = position.quantity if position is not None else ZERO
    margin = position.margin if position is not None else ZERO
    entry = position.entry_price if position is not None else None
    side = "Buy" if quantity > 0 else "Sell" if quantity < 0 else ""
    value = abs(quantity) * mark
    unrealised = (value - margin) if quantity > 0 else (margin - value) if quantity < 0 else ZERO
    return {
        "positionIdx": 0,
        "riskId": 1,
        "riskLimitValue": "2000000",
        "symbol": symbol,
        "side": side,
        "size": bybit_number(abs(quantity)),
        "avgPrice": bybit_number(entry),
        "positionValue": bybit_number(margin),
        "tradeMode": 0,
        "positionStatus": "Normal",
        "autoAddMargin": 0,
        "adlRankIndicator": 0,
        "leverage": "1",
        "positionBalance": bybit_number(margin),
        "markPrice": bybit_number(mark),
        "liqPrice": "",
        "bustPrice": "",
        "positionMM": "0",
        "positionIM": bybit_number(margin),
        "tpslMode": "Full",
        "takeProfit": "0",
        "stopLoss": "0",
        "trailingStop": "0",
        "unrealisedPnl": bybit_number(unrealised),
        "curRealisedPnl": "0",
        "cumRealisedPnl": bybit_number(position.realised_pnl if position else ZERO),
        "sessionAvgPrice": "",
        "isReduceOnly": False,
        "createdTime": str(now_ms),
        "updatedTime": str(now_ms),
        "seq": 0,
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


@dataclass(frozen=True, slots=True)
class CoinHoldings:
    """What the linear positions settled in one coin hold: their margin (the notional at
    entry, at 1x) and their unrealised PnL at the current price."""

    margin: Decimal = ZERO
    unrealised: Decimal = ZERO


def bybit_wallet(
    balances: dict[str, Balance],
    usd_prices: dict[str, Decimal],
    holdings: Mapping[str, CoinHoldings] | None = None,
) -> dict[str, Any]:
    """The UNIFIED account of ``/v5/account/wallet-balance``. ``usd_prices`` values each
    coin in USDT (coins without a price count as 0 in the totals).

    ``holdings`` adds the linear positions, as Bybit counts them: ``walletBalance`` is the
    cash including the positions' margin (free + locked + margin), ``totalPositionIM`` the
    margin, ``equity`` the wallet balance plus the unrealised PnL; ``free`` and
    ``availableToWithdraw`` stay the free balance, so ccxt's ``used`` is order locks plus
    position margin."""
    held_by_coin = holdings or {}
    coins = []
    wallet_total = equity_total = margin_total = upl_total = ZERO
    for asset, balance in sorted(balances.items()):
        held = held_by_coin.get(asset, CoinHoldings())
        wallet = balance.total + held.margin
        equity = wallet + held.unrealised
        price = usd_prices.get(asset, ZERO)
        usd = equity * price
        wallet_total += wallet * price
        equity_total += usd
        margin_total += held.margin * price
        upl_total += held.unrealised * price
        coins.append(
            {
                "coin": asset,
                "equity": bybit_number(equity),
                "usdValue": bybit_number(usd),
                "walletBalance": bybit_number(wallet),
                "free": bybit_number(balance.free),
                "locked": bybit_number(balance.locked),
                "spotHedgingQty": "0",
                "borrowAmount": "0",
                "availableToWithdraw": bybit_number(balance.free),
                "accruedInterest": "0",
                "totalOrderIM": "0",
                "totalPositionIM": bybit_number(held.margin),
                "totalPositionMM": "0",
                "unrealisedPnl": bybit_number(held.unrealised),
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
                "totalEquity": bybit_number(equity_total),
                "totalWalletBalance": bybit_number(wallet_total),
                "totalMarginBalance": bybit_number(equity_total),
                "totalAvailableBalance": bybit_number(equity_total - margin_total),
                "totalPerpUPL": bybit_number(upl_total),
                "totalInitialMargin": bybit_number(margin_total),
                "totalMaintenanceMargin": "0",
                "coin": coins,
            }
        ]
    }
