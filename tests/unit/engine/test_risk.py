"""The risk engine through the Engine (SPEC §9).

Most tests use one-level grids (leg 0 is the whole pyramid), no take-profit orders
(aggregate mode with 0 % = off) and markets with zero fees, so every figure below is simple
hand arithmetic. Sizes are in quote currency (capital 100 unless said otherwise).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.domain import OrderType
from engine.domain.events import RiskControlRequested, RiskRunRequested
from tests.kit.engine_builders import D, Harness, make_config, make_rules

ONE_LEVEL = [{"gap_percent": "0", "weight_percent": "100", "tp_percent": "1"}]
RULES = (
    make_rules("XRPUSDT", tick="0.0001", step="0.1", min_qty="0.1", fee="0"),
    make_rules("DOGEUSDT", tick="0.00001", step="1", min_qty="1", fee="0"),
    make_rules("SOLUSDT", tick="0.01", step="0.001", min_qty="0.001", fee="0"),
    make_rules("ADAUSDT", tick="0.0001", step="0.1", min_qty="0.1", fee="0"),
    make_rules("BTCUSDT", fee="0"),
)
BASE_RISK: dict[str, Any] = {
    "require_full_pyramids": False,
    "max_open_positions_global": 6,
    "max_open_positions_per_symbol": 2,
    "max_total_exposure_usd": "100000",
    "post_full_wait_minutes": 2,
}
BASE_GRID: dict[str, Any] = {
    "levels": ONE_LEVEL,
    "tp_mode": "aggregate",
    "tp_aggregate_percent": "0",
}


def _harness(risk: dict[str, Any] | None = None, grid: dict[str, Any] | None = None) -> Harness:
    config = make_config(risk={**BASE_RISK, **(risk or {})}, grid={**BASE_GRID, **(grid or {})})
    return Harness.seed(config, rules=RULES)


def _open(h: Harness, symbol: str, price: str, capital: str = "100", **kw: Any) -> str:
    h.price(price, symbol=symbol)
    outcome = h.signal(
        symbol=symbol, entry_price=price, order_size=capital, size_type="quote", **kw
    )
    assert outcome.outcome in ("opened", "pyramid"), outcome
    assert outcome.group_id is not None
    return outcome.group_id


def _loser_and_winner(h: Harness, winner_mark: str) -> tuple[str, str]:
    # loser: 100 / 2.0 = 50.0 XRP; at 1.9: (1.9 − 2.0) × 50 = −5.0 USD, −5 %
    loser = _open(h, "XRPUSDT", "2.0")
    # winner: 100 / 0.2 = 500 DOGE
    winner = _open(h, "DOGEUSDT", "0.2")
    h.price("1.9", symbol="XRPUSDT")
    h.price(winner_mark, symbol="DOGEUSDT")
    return loser, winner


def _group(h: Harness, group_id: str) -> Any:
    group = h.engine.group(group_id)
    assert group is not None
    return group


def test_loser_partly_closed_when_winners_cover_less() -> None:
    h = _harness()
    loser, winner = _loser_and_winner(h, "0.204")  # winner: 0.004 × 500 = +2.0 USD
    h.advance(110)
    assert h.risk_actions == []  # timer (2 min from the fill) not expired yet
    h.advance(10)
    (action,) = h.risk_actions
    # required 5.0, available 2.0 → covered 2.0; loser closes 2/5 × 50.0 = 20.0 XRP
    # (realising −0.1 × 20 = −2.0); the winner needs 2.0 / 0.004 = 500 DOGE: all of it
    assert (action.loser_group_id, action.loser_close_quantity) == (loser, D("20.0"))
    assert action.loser_loss_percent == D("-5") and action.loser_loss_usd == D("-5.0")
    assert action.covered_usd == D("2.0")
    assert [(w.group_id, w.quantity) for w in action.winners] == [(winner, D("500"))]
    assert action.net_usd >= 0
    assert "Risk engine activated" in h.messages()
    closes = h.placed("risk")
    assert [(c.symbol, c.type, c.quantity) for c in closes] == [
        ("XRPUSDT", OrderType.MARKET, D("20.0")),
        ("DOGEUSDT", OrderType.MARKET, D("500")),
    ]
    loser_view, winner_view = _group(h, loser), _group(h, winner)
    assert loser_view.open_quantity == D("30.0") and loser_view.status == "active"
    assert loser_view.realised_usd == D("-2.0")  # (1.9 − 2.0) × 20
    assert winner_view.status == "closed" and winner_view.realised_usd == D("2.000")
    # net realised by the offset >= 0: −2.0 + 2.0 = 0
    assert loser_view.realised_usd + winner_view.realised_usd >= 0


def test_winner_partly_closed_and_loser_fully_closed_when_winners_cover_more() -> None:
    h = _harness()
    loser, winner = _loser_and_winner(h, "0.22")  # winner: 0.02 × 500 = +10.0 USD
    h.advance(120)
    (action,) = h.risk_actions
    # covered = min(5.0, 10.0) = 5.0 = required → loser closes all 50.0 (−5.0);
    # winner: 5.0 / 0.02 = 250 DOGE, notional 250 × 0.22 = 55 >= min_close_notional 10
    assert action.loser_close_quantity == D("50.0")
    assert [(w.group_id, w.quantity) for w in action.winners] == [(winner, D("250"))]
    assert _group(h, loser).status == "closed"
    assert _group(h, loser).realised_usd == D("-5.0")
    winner_view = _group(h, winner)
    assert winner_view.open_quantity == D("250") and winner_view.status == "active"
    assert winner_view.realised_usd == D("5.00")  # (0.22 − 0.2) × 250
    metrics = h.engine.metrics("maaz")
    assert metrics is not None and metrics.slots_used == 1  # partial close kept its slot


def test_timer_after_all_dca_filled_waits_for_every_leg() -> None:
    h = _harness(
        grid={
            "levels": [
                {"gap_percent": "0", "weight_percent": "50", "tp_percent": "1"},
                {"gap_percent": "-5", "weight_percent": "50", "tp_percent": "1"},
            ]
        }
    )
    group = _open(h, "XRPUSDT", "2.0")
    assert _group(h, group).timer_started_at_ms is None  # leg 1 rests at 1.9
    h.advance(30)
    h.price("1.9", symbol="XRPUSDT")
    started = _group(h, group).timer_started_at_ms
    assert started == h.now
    assert _group(h, group).timer_expires_at_ms == started + 2 * 60_000


def test_timer_with_require_full_pyramids_needs_max_pyramids() -> None:
    h = _harness(risk={"require_full_pyramids": True}, grid={"max_pyramids": 2})
    group = _open(h, "XRPUSDT", "2.0")
    assert _group(h, group).timer_started_at_ms is None
    h.advance(30)
    _open(h, "XRPUSDT", "2.0")
    assert _group(h, group).timer_started_at_ms == h.now


def test_timer_after_max_pyramids_ignores_fills() -> None:
    h = _harness(
        risk={"timer_start_condition": "after_5_pyramids"},
        grid={"max_pyramids": 2, "entry_order_type": "limit"},
    )
    h.price("2.1", symbol="XRPUSDT")
    h.signal(symbol="XRPUSDT", entry_price="2.0", order_size="100", size_type="quote")
    h.advance(10)
    h.signal(symbol="XRPUSDT", entry_price="2.0", order_size="100", size_type="quote")
    group = _group(h, "g1")
    assert group.status == "live"  # nothing filled (limits at 2.0, price 2.1)
    assert group.timer_started_at_ms == h.now


def test_reset_timer_on_new_pyramid() -> None:
    for reset in (False, True):
        h = _harness(risk={"reset_timer_on_replacement": reset}, grid={"max_pyramids": 3})
        group = _open(h, "XRPUSDT", "2.0")
        first = _group(h, group).timer_started_at_ms
        assert first == h.now
        h.advance(60)
        _open(h, "XRPUSDT", "2.0")  # pyramid 1, filled at once (market)
        expected = h.now if reset else first
        assert _group(h, group).timer_started_at_ms == expected


def test_reset_timer_on_replacement_of_the_groups_queued_signal() -> None:
    risk = {
        "reset_timer_on_replacement": True,
        "priority_rules": ["fifo"],  # pyramids compete for a slot: they can queue
        "max_open_positions_global": 2,
    }
    h = _harness(risk=risk, grid={"max_pyramids": 3})
    group = _open(h, "XRPUSDT", "2.0")
    _open(h, "DOGEUSDT", "0.2")
    h.advance(30)
    queued = h.signal(symbol="XRPUSDT", entry_price="2.0", order_size="100", size_type="quote")
    assert (queued.outcome, queued.reason) == ("queued", "pool_full")
    started = _group(h, group).timer_started_at_ms
    assert started == h.now - 30_000  # started when leg 0 filled, before the advance
    h.advance(30)
    replaced = h.signal(symbol="XRPUSDT", entry_price="1.99", order_size="100", size_type="quote")
    assert replaced.outcome == "replaced"
    assert _group(h, group).timer_started_at_ms == started + 60_000 == h.now
    assert "Risk timer reset" in h.messages()


def test_age_filter_delays_the_loser() -> None:
    h = _harness(risk={"use_trade_age_filter": True, "age_threshold_minutes": 5})
    _loser_and_winner(h, "0.204")
    h.advance(120)  # timer expired (2 min) but the group is 2 min old < 5
    assert h.risk_actions == []
    h.advance(170)
    assert h.risk_actions == []  # 4 min 50 s
    h.advance(10)  # 5 min
    assert len(h.risk_actions) == 1


def test_min_close_notional_skips_a_small_winner() -> None:
    h = _harness()
    loser, doge = _loser_and_winner(h, "0.204")  # DOGE +2.0
    # ADA: 8 / 0.4 = 20.0 ADA; at 0.44: +0.8 USD, but 20.0 × 0.44 = 8.8 < 10 → skipped
    ada = _open(h, "ADAUSDT", "0.4", capital="8")
    h.price("0.44", symbol="ADAUSDT")
    h.advance(120)
    (action,) = h.risk_actions
    # only DOGE pays: 2.0 / 0.1 per XRP = 20.0 XRP of the loser
    assert [w.group_id for w in action.winners] == [doge]
    assert action.loser_close_quantity == D("20.0")
    assert _group(h, ada).open_quantity == D("20.0")
    assert all(c.symbol != "ADAUSDT" for c in h.placed("risk"))
    assert loser


def test_partial_close_disabled_closes_whole_groups_or_nothing() -> None:
    h = _harness(risk={"partial_close_enabled": False})
    loser, doge = _loser_and_winner(h, "0.204")  # −5.0 vs +2.0: cannot cover
    h.advance(120)
    assert h.risk_actions == []
    assert "Risk engine: winners cannot cover any part of the loss; nothing closed" in (
        h.messages()
    )
    # SOL: 100 / 125 = 0.8 SOL; at 130: (130 − 125) × 0.8 = +4.0 → 4.0 + 2.0 = 6.0 >= 5.0
    sol = _open(h, "SOLUSDT", "125")
    h.price("130", symbol="SOLUSDT")
    h.advance(10)
    (action,) = h.risk_actions
    assert [(w.group_id, w.quantity) for w in action.winners] == [(sol, D("0.8")), (doge, D("500"))]
    assert action.loser_close_quantity == D("50.0")
    assert {_group(h, g).status for g in (loser, doge, sol)} == {"closed"}
    # −5.0 + 4.0 + 2.0 = +1.0 realised in total
    total = sum((_group(h, g).realised_usd for g in (loser, doge, sol)), Decimal(0))
    assert total == D("1.0")


def test_skip_once_clears_after_one_cycle_and_block_unblock() -> None:
    h = _harness()
    loser, _ = _loser_and_winner(h, "0.204")
    h.feed(RiskControlRequested(loser, "skip_once", h.now))
    assert _group(h, loser).skip_once
    h.advance(120)  # first due cycle after expiry: skipped
    assert h.risk_actions == []
    assert not _group(h, loser).skip_once
    h.feed(RiskControlRequested(loser, "block", h.now))
    h.advance(10)
    assert h.risk_actions == []
    h.feed(RiskControlRequested(loser, "unblock", h.now))
    h.advance(10)
    assert len(h.risk_actions) == 1
    h.feed(RiskControlRequested(loser, "explode", h.now))
    assert (h.audit[-1].data["field"], h.audit[-1].data["reason"]) == ("action", "invalid_action")


def test_one_offset_per_cycle_worst_loser_first() -> None:
    h = _harness()
    # loser 1: XRP −5 %; loser 2: SOL 0.8 @ 125 → 120: −4.0 USD, −4 %
    xrp, doge = _loser_and_winner(h, "0.24")  # DOGE: 0.04 × 500 = +20.0
    sol = _open(h, "SOLUSDT", "125")
    h.price("120", symbol="SOLUSDT")
    h.advance(120)
    assert [a.loser_group_id for a in h.risk_actions] == [xrp]  # −5 % before −4 %
    h.advance(10)
    assert [a.loser_group_id for a in h.risk_actions] == [xrp, sol]
    assert doge


def test_risk_run_requested_forces_a_cycle_and_nothing_without_winners() -> None:
    h = _harness(risk={"evaluate_interval_seconds": 3600})
    loser = _open(h, "XRPUSDT", "2.0")
    h.price("1.9", symbol="XRPUSDT")
    h.advance(120)
    assert h.risk_actions == []  # not due (interval 1 h)
    h.feed(RiskRunRequested(h.now, "maaz"))
    assert h.risk_actions == []
    assert "Risk engine: loser found but no winner to offset it" in h.messages()
    _open(h, "DOGEUSDT", "0.2")
    h.price("0.204", symbol="DOGEUSDT")
    h.feed(RiskRunRequested(h.now))
    assert [a.loser_group_id for a in h.risk_actions] == [loser]


def test_risk_close_with_fees_never_realises_a_net_loss() -> None:
    rules = tuple(
        make_rules(
            r.symbol,
            tick=str(r.tick_size),
            step=str(r.step_size),
            min_qty=str(r.min_qty),
            fee="0.001",
        )
        for r in RULES
    )
    config = make_config(risk=BASE_RISK, grid=BASE_GRID)
    h = Harness.seed(config, rules=rules, fee_rate=D("0.001"))
    loser, winner = _loser_and_winner(h, "0.204")
    h.advance(120)
    (action,) = h.risk_actions
    assert action.net_usd >= 0
    realised_after = _group(h, loser).realised_usd + _group(h, winner).realised_usd
    # entry fees were realised when paid: 100 × 0.001 each = 0.1 + 0.1
    entry_fees = D("0.2")
    assert realised_after + entry_fees >= 0


def test_partial_risk_close_keeps_resting_orders_and_shrinks_the_tp() -> None:
    far_tp = [{"gap_percent": "0", "weight_percent": "100", "tp_percent": "50"}]
    h = _harness(grid={"levels": far_tp, "tp_mode": "per_leg"})
    loser, winner = _loser_and_winner(h, "0.22")  # winner +10.0 → 250 of its 500 DOGE close
    (winner_tp,) = [o for o in h.open_on_exchange("tp") if o.command.symbol == "DOGEUSDT"]
    assert winner_tp.command.quantity == D("500")
    h.advance(120)
    assert len(h.risk_actions) == 1
    assert winner_tp.status == "cancelled"  # cancelled before the risk close was sent
    (new_tp,) = [o for o in h.open_on_exchange("tp") if o.command.symbol == "DOGEUSDT"]
    # 0.2 × 1.5 = 0.3: same price, quantity shrunk to the 250 still open
    assert (new_tp.command.price, new_tp.command.quantity) == (D("0.30000"), D("250"))
    assert _group(h, winner).open_quantity == D("250")
    assert loser
