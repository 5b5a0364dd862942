"""Order lifecycle and engine plumbing: config updates, exchange reports out of the ordinary,
retries, manual close, exchange state, slippage guard, views."""

from __future__ import annotations

import dataclasses

import pytest

from engine.core import Engine, EngineInputError
from engine.domain.events import (
    ClosePositionRequested,
    ExchangeStateChanged,
    OrderCancelled,
    OrderFilled,
    TimePassed,
)
from tests.kit.engine_builders import D, Harness, make_config


def _started(**kwargs: object) -> Harness:
    h = Harness.seed(**kwargs)  # type: ignore[arg-type]
    h.price("95992.3")
    return h


def test_config_update_keeps_the_open_groups_grid() -> None:
    h = _started()
    h.signal()
    two_levels = [
        {"gap_percent": "0", "weight_percent": "50", "tp_percent": "3"},
        {"gap_percent": "-2", "weight_percent": "50", "tp_percent": "3"},
    ]
    h.configure(make_config(grid={"levels": two_levels}, risk={"max_open_positions_per_symbol": 2}))
    assert "User config updated" in h.messages()
    h.signal()  # pyramid of g1: still the 3-level grid it opened with
    assert len([c for c in h.placed("dca") if "-p1-" in c.client_order_id]) == 2
    h.signal(timeframe=15)  # a new group: the new 2-level grid, 50 % in leg 0
    new_group = [c for c in h.placed() if c.group_id == "g2"]
    # C = 95.9923; leg 0 = 47.99615 / 95992.3 = 0.0005 → 0.00050
    assert new_group[0].quantity == D("0.00050")
    assert len([c for c in new_group if c.purpose.value == "dca"]) == 1


def test_bigger_pool_in_a_new_config_promotes_at_once() -> None:
    h = _started(config=make_config(risk={"max_open_positions_global": 1}))
    h.signal(timeframe=60)
    h.configure(
        make_config(risk={"max_open_positions_global": 1, "max_open_positions_per_symbol": 3})
    )
    assert h.signal(timeframe=15).outcome == "queued"
    h.configure(
        make_config(risk={"max_open_positions_global": 2, "max_open_positions_per_symbol": 3})
    )
    assert h.outcomes[-1].outcome == "opened"
    assert h.engine.queue("maaz") == []


def test_reports_for_unknown_orders_are_logged_as_errors() -> None:
    h = _started()
    h.feed(OrderFilled("nope", D("1"), D("1"), D("0"), "USDT", h.now))
    h.feed(OrderCancelled("nope", h.now))
    errors = [a for a in h.audit if a.severity.value == "error"]
    assert [(a.data["field"], a.data["reason"]) for a in errors] == [
        ("client_order_id", "unknown_order"),
        ("client_order_id", "unknown_order"),
    ]


def test_repeated_trade_id_is_booked_once_and_overfill_is_capped() -> None:
    h = _started(auto_fill=False)
    h.signal()
    leg0 = h.placed("entry")[0].client_order_id
    fill = OrderFilled(leg0, D("0.00010"), D("95992.3"), D("0"), "USDT", h.now, "t-1")
    h.feed(fill)
    h.feed(fill)
    group = h.engine.group("g1")
    assert group is not None and group.filled_quantity == D("0.00010")
    h.feed(OrderFilled(leg0, D("0.00050"), D("95992.3"), D("0"), "USDT", h.now, "t-2"))
    group = h.engine.group("g1")
    assert group is not None and group.filled_quantity == D("0.00020")  # the order's size
    assert any(a.data.get("reason") == "overfill" for a in h.audit)


def test_invalid_fill_values_are_refused_with_the_field() -> None:
    h = _started(auto_fill=False)
    h.signal()
    leg0 = h.placed("entry")[0].client_order_id
    h.feed(OrderFilled(leg0, D("0"), D("95992.3"), D("0"), "USDT", h.now))
    h.feed(OrderFilled(leg0, D("0.0001"), D("-1"), D("0"), "USDT", h.now))
    reasons = [(a.data["field"], a.data["reason"]) for a in h.audit if "reason" in a.data][-2:]
    assert reasons == [("quantity", "invalid_fill"), ("price", "invalid_fill")]


def test_fee_in_the_base_asset_is_valued_at_the_fill_price() -> None:
    h = _started(auto_fill=False)
    h.signal()
    leg0 = h.placed("entry")[0].client_order_id
    # 0.0000002 BTC × 95992.3 = 0.01919846 USDT
    h.feed(OrderFilled(leg0, D("0.0002"), D("95992.3"), D("0.0000002"), "BTC", h.now))
    group = h.engine.group("g1")
    assert group is not None
    assert group.fees_usd == D("0.01919846") and group.realised_usd == D("-0.01919846")
    assert group.pyramids[0].legs[0].fees == (("BTC", D("0.0000002")),)


def test_rejected_tp_is_retried_after_the_evaluate_interval() -> None:
    h = _started()
    h.reject_next["tp"] = "order_rejected"
    h.signal()
    assert len(h.placed("tp")) == 1 and h.open_on_exchange("tp") == []
    h.advance(9)
    assert len(h.placed("tp")) == 1
    h.advance(1)
    assert len(h.placed("tp")) == 2 and len(h.open_on_exchange("tp")) == 1


def test_filter_rejection_asks_for_fresh_market_rules() -> None:
    h = _started()
    h.reject_next["dca"] = "below_min_notional"
    h.signal()
    refreshes = [c for c in h.commands if type(c).__name__ == "RefreshMarketRules"]
    assert len(refreshes) == 1
    group = h.engine.group("g1")
    assert group is not None
    assert group.pyramids[0].legs[1].status == "rejected"


def test_manual_close_and_unknown_group() -> None:
    h = _started()
    h.signal()
    h.feed(ClosePositionRequested("g1", h.now))
    group = h.engine.group("g1")
    assert group is not None and group.status == "closed" and group.close_reason == "manual_close"
    h.feed(ClosePositionRequested("g1", h.now))
    assert (h.audit[-1].data["field"], h.audit[-1].data["reason"]) == ("group_id", "not_open")
    h.feed(ClosePositionRequested("g9", h.now))
    assert h.audit[-1].data["reason"] == "unknown_group"


def test_exchange_auth_failed_rejects_entries_until_ok() -> None:
    h = _started()
    h.feed(ExchangeStateChanged("maaz", "binance", "auth_failed", h.now))
    outcome = h.signal()
    assert (outcome.outcome, outcome.reason) == ("rejected", "exchange_auth_failed")
    h.feed(ExchangeStateChanged("maaz", "binance", "ok", h.now))
    assert h.signal().outcome == "opened"


def test_signal_take_profit_price_closes_the_group_in_any_mode() -> None:
    h = _started()
    h.signal(take_profit="96500")
    h.price("96499.99")
    assert h.placed("atp") == []
    h.price("96500")
    group = h.engine.group("g1")
    assert group is not None and group.status == "closed"
    assert group.close_reason == "aggregate_take_profit"
    # leg 0 only (DCA legs never filled): (96500 − 95992.3) × 0.0002 = 0.10154
    assert group.realised_usd == D("0.10154")


def test_slippage_guard_warns_or_rejects() -> None:
    h = _started()
    h.price("97000")  # 1.05 % above the signal's 95992.3 (> max_slippage_percent 1)
    assert h.signal().outcome == "opened"
    assert "Market entry slippage above the limit" in h.messages()
    h2 = _started(config=make_config(risk={"slippage_action": "reject"}))
    h2.price("97000")
    outcome = h2.signal()
    assert (outcome.outcome, outcome.reason) == ("rejected", "slippage_exceeded")


def test_unknown_user_and_bad_event_time() -> None:
    h = _started()
    outcome = h.signal(user_id="ghost")
    assert (outcome.outcome, outcome.reason) == ("rejected", "user_not_configured")
    with pytest.raises(EngineInputError) as bad:
        h.engine.handle(TimePassed(-5))
    assert bad.value.field == "at_ms"


def test_dca_leg_cancelled_by_the_exchange_lets_the_group_become_active() -> None:
    h = _started()
    h.signal()
    h.price("95512.33")  # leg 1 filled; leg 2 rests
    h.feed(OrderCancelled("q-g1-p0-l2-dca-0", h.now))
    group = h.engine.group("g1")
    assert group is not None
    assert group.status == "active"
    assert group.legs_filled == 2 and group.legs_total == 3


def test_timestamps_are_ordered_and_views_are_frozen() -> None:
    h = _started()
    h.signal()
    h.advance(60)
    h.signal(type="exit", side=None)
    group = h.engine.group("g1")
    assert group is not None
    assert group.closed_at_ms is not None
    assert group.created_at_ms <= group.updated_at_ms <= group.closed_at_ms
    assert group.closed_at_ms == h.now
    with pytest.raises(dataclasses.FrozenInstanceError):
        group.status = "live"  # type: ignore[misc]
    order = h.engine.orders()[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        order.quantity = D("1")  # type: ignore[misc]


def test_engine_time_never_goes_backwards() -> None:
    engine = Engine()
    engine.handle(TimePassed(1_000))
    engine.handle(TimePassed(500))
    assert engine.now_ms == 1_000


def test_close_below_the_minimum_leaves_dust_and_closes() -> None:
    h = _started(auto_fill=False)
    h.signal()
    leg0 = h.placed("entry")[0].client_order_id
    # 0.00004 × 95992.3 = 3.84 < min notional 5: too small to close on the exchange
    h.fill(leg0, "0.00004", "95992.3")
    h.feed(OrderCancelled(leg0, h.now))  # the rest of leg 0 is cancelled
    h.signal(type="exit", side=None)
    for order in list(h.open_on_exchange()):
        h.confirm_cancel(order.command.client_order_id)
    group = h.engine.group("g1")
    assert group is not None and group.status == "closed"
    assert group.dust_quantity == D("0.00004")
    assert "Remaining quantity below the exchange minimum left as dust" in h.messages()


def test_a_signal_that_cannot_be_sized_is_rejected_not_raised() -> None:
    h = _started()
    outcome = h.signal(order_size="0", size_type="quote")
    assert (outcome.outcome, outcome.reason) == ("rejected", "invalid_signal")
    error = next(a for a in h.audit if a.message == "Signal cannot be sized")
    assert error.data["field"] == "capital"


def test_a_failed_pyramid_does_not_use_up_a_pyramid_or_its_levels() -> None:
    special = [{"gap_percent": "0", "weight_percent": "100", "tp_percent": "5"}]
    h = _started(config=make_config(grid={"pyramid_specific_levels": {"1": special}}))
    h.signal()
    h.reject_next["entry"] = "order_rejected"
    h.signal()  # pyramid (list position 1) fails at the exchange
    h.signal()  # the second real entry: still uses the index-1 levels
    group = h.engine.group("g1")
    assert group is not None
    assert group.pyramid_count == 2
    assert [p.status for p in group.pyramids] == ["open", "failed", "open"]
    # one level of 100 %: C = 95.9923 → 95.9923 / 95992.3 = 0.001 → 0.00100
    assert h.placed("entry")[-1].quantity == D("0.00100")


def test_unknown_events_and_states_are_refused() -> None:
    engine = Engine()
    with pytest.raises(EngineInputError) as unknown:
        engine.handle("tick")  # type: ignore[arg-type]
    assert (unknown.value.field, unknown.value.reason) == ("event", "unknown_event")
    assert engine.now_ms == 0
    h = _started()
    h.feed(ExchangeStateChanged("maaz", "binance", "sleepy", h.now))
    assert (h.audit[-1].data["field"], h.audit[-1].data["reason"]) == ("state", "invalid_state")
    assert h.signal().outcome == "opened"
