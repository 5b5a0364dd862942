"""Binance spot v3 response bodies built from the simulator's value objects.

Numbers are strings with at least 8 decimals (Binance's style), ids and millisecond times are
ints, and no successful body carries ``code``/``msg`` keys (ccxt would read them as errors).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.domain import ZERO
from simulator.markets import SimMarket
from simulator.models import Balance, BookLevel, Kline, SimOrder, SimOrderStatus, SimTrade, Ticker
from simulator.rest.params import format_decimal

__all__ = [
    "ORDER_TYPES",
    "binance_number",
    "binance_status",
    "binance_order_type",
    "binance_order",
    "binance_fill",
    "binance_trade",
    "binance_symbol",
    "binance_ticker_24h",
    "binance_kline",
    "binance_book_levels",
    "binance_account",
]

ORDER_TYPES = ("LIMIT", "LIMIT_MAKER", "MARKET")


def binance_number(value: Decimal | None) -> str:
    return format_decimal(value if value is not None else ZERO, min_places=8)


def binance_status(order: SimOrder) -> str:
    """Neutral status → Binance's name (the neutral names are Binance's already)."""
    return order.status.value


def binance_order_type(order: SimOrder) -> str:
    if order.type == "market":
        return "MARKET"
    return "LIMIT_MAKER" if order.post_only else "LIMIT"


def binance_fill(trade: SimTrade) -> dict[str, Any]:
    return {
        "price": binance_number(trade.price),
        "qty": binance_number(trade.quantity),
        "commission": binance_number(trade.fee),
        "commissionAsset": trade.fee_asset,
        "tradeId": int(trade.trade_id),
    }


def binance_order(order: SimOrder, *, response_type: str = "GET") -> dict[str, Any]:
    """One order. ``response_type``: ``ACK``/``RESULT``/``FULL`` (POST answers) or ``GET``
    (query and cancel answers, which add ``time``/``updateTime``...)."""
    body: dict[str, Any] = {
        "symbol": order.symbol,
        "orderId": int(order.order_id),
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
    }
    if response_type in ("ACK", "RESULT", "FULL"):
        body["transactTime"] = order.created_ms
        if response_type == "ACK":
            return body
    # A quote-sized market order has no base quantity of its own: Binance reports the
    # executed base quantity as origQty.
    original_quantity = order.quantity if order.quantity is not None else order.filled_quantity
    body.update(
        {
            "price": binance_number(order.price),
            "origQty": binance_number(original_quantity),
            "executedQty": binance_number(order.filled_quantity),
            "origQuoteOrderQty": binance_number(order.quote_quantity),
            "cummulativeQuoteQty": binance_number(order.cumulative_quote),
            "status": binance_status(order),
            "timeInForce": order.time_in_force if not order.post_only else "GTC",
            "type": binance_order_type(order),
            "side": order.side.upper(),
            "workingTime": order.created_ms,
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }
    )
    if response_type == "FULL":
        body["fills"] = [binance_fill(trade) for trade in order.fills]
    elif response_type == "GET":
        body.update(
            {
                "stopPrice": binance_number(ZERO),
                "icebergQty": binance_number(ZERO),
                "time": order.created_ms,
                "updateTime": order.updated_ms,
                "isWorking": order.status is not SimOrderStatus.REJECTED,
            }
        )
    return body


def binance_trade(trade: SimTrade, *, order_side: str | None = None) -> dict[str, Any]:
    """One entry of ``GET /api/v3/myTrades``."""
    side = order_side or trade.side
    return {
        "symbol": trade.symbol,
        "id": int(trade.trade_id),
        "orderId": int(trade.order_id),
        "orderListId": -1,
        "price": binance_number(trade.price),
        "qty": binance_number(trade.quantity),
        "quoteQty": binance_number(trade.quote_quantity),
        "commission": binance_number(trade.fee),
        "commissionAsset": trade.fee_asset,
        "time": trade.time_ms,
        "isBuyer": side == "buy",
        "isMaker": trade.is_maker,
        "isBestMatch": True,
    }


def binance_symbol(market: SimMarket) -> dict[str, Any]:
    """One ``exchangeInfo`` symbol. A market whose tick size is hidden (metadata-missing
    fault) is listed without its ``PRICE_FILTER``."""
    filters: list[dict[str, Any]] = []
    if market.tick_size is not None:
        filters.append(
            {
                "filterType": "PRICE_FILTER",
                "minPrice": binance_number(market.tick_size),
                "maxPrice": binance_number(Decimal(1_000_000)),
                "tickSize": binance_number(market.tick_size),
            }
        )
    max_qty = market.max_qty if market.max_qty is not None else Decimal(9_000_000)
    lot = {
        "minQty": binance_number(market.min_qty),
        "maxQty": binance_number(max_qty),
        "stepSize": binance_number(market.step_size),
    }
    filters.append({"filterType": "LOT_SIZE", **lot})
    filters.append(
        {
            "filterType": "MARKET_LOT_SIZE",
            "minQty": binance_number(ZERO),
            "maxQty": binance_number(max_qty),
            "stepSize": binance_number(ZERO),
        }
    )
    max_notional = market.max_notional if market.max_notional is not None else Decimal(9_000_000)
    filters.append(
        {
            "filterType": "NOTIONAL",
            "minNotional": binance_number(market.min_notional),
            "applyMinToMarket": True,
            "maxNotional": binance_number(max_notional),
            "applyMaxToMarket": False,
            "avgPriceMins": 5,
        }
    )
    return {
        "symbol": market.symbol,
        "status": "TRADING" if market.status == "trading" else "HALT",
        "baseAsset": market.base,
        "baseAssetPrecision": 8,
        "quoteAsset": market.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": list(ORDER_TYPES),
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": filters,
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_MAKER"],
    }


def binance_ticker_24h(ticker: Ticker, *, bid_qty: Decimal, ask_qty: Decimal) -> dict[str, Any]:
    change = ticker.last - ticker.open_24h
    percent = (change / ticker.open_24h * 100) if ticker.open_24h != 0 else ZERO
    weighted = (
        ticker.quote_volume_24h / ticker.volume_24h if ticker.volume_24h != 0 else ticker.last
    )
    return {
        "symbol": ticker.symbol,
        "priceChange": binance_number(change),
        "priceChangePercent": format_decimal(percent.quantize(Decimal("0.001"))),
        "weightedAvgPrice": binance_number(weighted),
        "prevClosePrice": binance_number(ticker.open_24h),
        "lastPrice": binance_number(ticker.last),
        "lastQty": binance_number(ZERO),
        "bidPrice": binance_number(ticker.bid),
        "bidQty": binance_number(bid_qty),
        "askPrice": binance_number(ticker.ask),
        "askQty": binance_number(ask_qty),
        "openPrice": binance_number(ticker.open_24h),
        "highPrice": binance_number(ticker.high_24h),
        "lowPrice": binance_number(ticker.low_24h),
        "volume": binance_number(ticker.volume_24h),
        "quoteVolume": binance_number(ticker.quote_volume_24h),
        "openTime": ticker.time_ms - 86_400_000,
        "closeTime": ticker.time_ms,
        "firstId": -1,
        "lastId": -1,
        "count": 0,
    }


def binance_kline(kline: Kline) -> list[Any]:
    return [
        kline.open_ms,
        binance_number(kline.open),
        binance_number(kline.high),
        binance_number(kline.low),
        binance_number(kline.close),
        binance_number(kline.volume),
        kline.close_ms,
        binance_number(kline.quote_volume),
        kline.trades,
        binance_number(ZERO),
        binance_number(ZERO),
        "0",
    ]


def binance_book_levels(levels: list[BookLevel]) -> list[list[str]]:
    return [[binance_number(level.price), binance_number(level.quantity)] for level in levels]


def binance_account(
    balances: dict[str, Balance], *, update_ms: int, maker_fee: Decimal, taker_fee: Decimal
) -> dict[str, Any]:
    """``GET /api/v3/account``; commissions in basis points as Binance reports them."""
    maker_bps = int(maker_fee * 10_000)
    taker_bps = int(taker_fee * 10_000)
    return {
        "makerCommission": maker_bps,
        "takerCommission": taker_bps,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": binance_number(maker_fee),
            "taker": binance_number(taker_fee),
            "buyer": binance_number(ZERO),
            "seller": binance_number(ZERO),
        },
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": update_ms,
        "accountType": "SPOT",
        "balances": [
            {
                "asset": asset,
                "free": binance_number(balance.free),
                "locked": binance_number(balance.locked),
            }
            for asset, balance in sorted(balances.items())
        ],
        "permissions": ["SPOT"],
        "uid": 0,
    }
