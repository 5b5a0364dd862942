"""``GET /orders`` ``fees`` is one unit, the quote currency, whatever asset the exchange
charged (Binance spot keeps a buy's fee in the base asset)."""

from __future__ import annotations

from decimal import Decimal

from engine.service.records import order_fee_total
from engine.views import OrderView


def _order(fees: tuple[tuple[str, Decimal], ...], average: str | None = "95000") -> OrderView:
    return OrderView(
        client_order_id="c1",
        exchange_order_id="e1",
        user_id="u1",
        exchange="binance",
        symbol="BTCUSDT",
        side="buy",
        type="market",
        purpose="entry",
        quantity=Decimal("0.002"),
        price=None,
        status="filled",
        filled_quantity=Decimal("0.002"),
        average_price=None if average is None else Decimal(average),
        fees=fees,
        group_id="g1",
        pyramid_index=0,
        leg_index=0,
        cancel_requested=False,
        created_at_ms=0,
        updated_at_ms=0,
    )


def test_a_base_asset_fee_is_valued_at_the_average_fill_price() -> None:
    # 0.1 % of 0.002 BTC = 0.000002 BTC, x 95000 = 0.19 USDT
    assert order_fee_total(_order((("BTC", Decimal("0.000002")),))) == Decimal("0.19")


def test_a_quote_fee_is_taken_as_it_is_and_added_to_a_base_fee() -> None:
    assert order_fee_total(_order((("USDT", Decimal("0.19")),))) == Decimal("0.19")
    # 0.000001 BTC x 95000 = 0.095, + 0.05 USDT
    both = (("BTC", Decimal("0.000001")), ("USDT", Decimal("0.05")))
    assert order_fee_total(_order(both)) == Decimal("0.145")


def test_a_third_asset_is_not_counted_and_nothing_filled_means_no_fee() -> None:
    assert order_fee_total(_order((("BNB", Decimal("0.0003")),))) == Decimal(0)
    assert order_fee_total(_order((), average=None)) == Decimal(0)
