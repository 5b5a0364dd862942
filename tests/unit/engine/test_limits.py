"""Pre-trade limits through the Engine (SPEC §8)."""

from __future__ import annotations

from decimal import Decimal

from engine.accounting import MS_PER_DAY
from tests.kit.engine_builders import D, Harness, make_config, make_rules

ETH = make_rules("ETHUSDT", step="0.0001", min_qty="0.0001")


def test_exposure_counts_filled_cost_and_resting_entry_orders() -> None:
    # after leg 0 fills, a pyramid commits its filled leg 0 plus its two resting DCA legs:
    # 0.0002 × 95992.3 + 0.0003 × 95512.33 + 0.0005 × 95032.37
    #   = 19.19846 + 28.653699 + 47.516185 = 95.368344
    per_pyramid = D("19.19846") + D("28.653699") + D("47.516185")
    capital = D("95.9923")  # 0.001 × 95992.3, the next pyramid's capital
    limit = per_pyramid * 2 + capital  # 286.728988: the third pyramid fits exactly
    h = Harness.seed(make_config(risk={"max_total_exposure_usd": str(limit)}))
    h.price("95992.3")
    assert h.signal().outcome == "opened"
    assert h.signal().outcome == "pyramid"
    metrics = h.engine.metrics("maaz")
    assert metrics is not None and metrics.committed_capital_usd == per_pyramid * 2
    assert h.signal().outcome == "pyramid"  # 2 × 95.368344 + 95.9923 = limit: allowed
    outcome = h.signal()  # 3 × 95.368344 + 95.9923 > limit
    assert (outcome.outcome, outcome.reason) == ("rejected", "exposure_limit")


def test_exposure_would_pass_if_resting_orders_were_ignored() -> None:
    # limit 200: filled cost alone is 2 × 19.19846 = 38.39692, + 95.9923 = 134.38922 < 200;
    # with the resting DCA legs: 2 × 95.368344 + 95.9923 = 286.728988 > 200 → rejected
    h = Harness.seed(make_config(risk={"max_total_exposure_usd": "200"}))
    h.price("95992.3")
    h.signal()
    h.signal()
    outcome = h.signal()
    assert (outcome.outcome, outcome.reason) == ("rejected", "exposure_limit")


def test_daily_loss_counts_partial_closes_and_resets_at_utc_midnight() -> None:
    config = make_config(risk={"max_daily_loss_usd": "0.39", "max_total_exposure_usd": "5000"})
    h = Harness.seed(config, rules=(make_rules(), ETH))
    h.price("95992.3")
    h.price("3394.0", symbol="ETHUSDT")
    h.signal(order_size="0.01")  # leg 0: 959.923 × 20 % / 95992.3 = 0.002 BTC
    h.price("95600")  # above the DCA legs (95512.33): nothing else fills
    assert h.signal(type="reduce", side=None, order_size="50").outcome == "reduced"
    # partial close 0.001 at 95600: (95600 − 95992.3) × 0.001 = −0.3923 <= −0.39
    metrics = h.engine.metrics("maaz")
    assert metrics is not None and metrics.realised_today_usd == D("-0.3923")
    eth = {"symbol": "ETHUSDT", "entry_price": "3394.0", "order_size": "0.03"}
    outcome = h.signal(**eth)
    assert (outcome.outcome, outcome.reason) == ("rejected", "daily_loss_limit")
    pyramid = h.signal(order_size="0.01")
    assert (pyramid.outcome, pyramid.reason) == ("rejected", "daily_loss_limit")
    # exits keep working
    assert h.signal(type="exit", side=None).outcome == "exited"
    group = h.engine.group("g1")
    assert group is not None and group.status == "closed"
    # next UTC day of the engine clock: new entries are allowed again
    midnight = (h.now // MS_PER_DAY + 1) * MS_PER_DAY
    h.advance((midnight - h.now) // 1000 - 1)
    assert h.signal(**eth).reason == "daily_loss_limit"
    h.advance(1)
    assert h.now == midnight
    assert h.signal(**eth).outcome == "opened"
    metrics = h.engine.metrics("maaz")
    assert metrics is not None and metrics.realised_today_usd == Decimal(0)


def test_fees_are_realised_when_paid() -> None:
    h = Harness.seed(fee_rate=D("0.001"))
    h.price("95992.3")
    h.signal()
    # leg 0 fee = 0.0002 × 95992.3 × 0.001 = 0.01919846 USDT
    group = h.engine.group("g1")
    assert group is not None
    assert group.realised_usd == D("-0.01919846") and group.fees_usd == D("0.01919846")
    metrics = h.engine.metrics("maaz")
    assert metrics is not None and metrics.realised_today_usd == D("-0.01919846")
