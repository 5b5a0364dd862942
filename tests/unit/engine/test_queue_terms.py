"""``Engine.queue_terms``: the queued signals in queue order with their stored terms, not
ranked (the ranking is ``Engine.queue``)."""

from __future__ import annotations

from engine.domain import MarketType
from tests.kit.engine_builders import BTC_RULES, D, Harness, make_config, make_rules

RULES = (
    BTC_RULES,
    make_rules("ETHUSDT", step="0.0001", min_qty="0.0001", market_type=MarketType.LINEAR),
    make_rules("SOLUSDT", step="0.001", min_qty="0.001"),
    make_rules("XRPUSDT", tick="0.0001", step="0.1", min_qty="0.1"),
    make_rules("DOGEUSDT", tick="0.00001", step="1", min_qty="1"),
    make_rules("ADAUSDT", tick="0.0001", step="0.1", min_qty="0.1"),
)
PRICES = {
    "BTCUSDT": "95992.3",
    "ETHUSDT": "3394.0",
    "SOLUSDT": "125.97",
    "XRPUSDT": "1.874",
    "DOGEUSDT": "0.195",
    "ADAUSDT": "0.387",
}


def test_terms_keep_queue_order_while_the_ranking_reorders() -> None:
    h = Harness.seed(make_config(), rules=RULES)
    for symbol, price in PRICES.items():
        h.price(price, symbol=symbol)
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):  # the pool of 3 is full
        assert (
            h.signal(symbol=symbol, entry_price=PRICES[symbol], order_size=None).outcome == "opened"
        )
    h.signal(symbol="XRPUSDT", entry_price="1.874", order_size=None)  # qe1: loss 0 %
    h.signal(
        symbol="DOGEUSDT", entry_price="0.2", order_size=None
    )  # qe2: (0.195 − 0.2) / 0.2 = −2.5 %
    h.signal(symbol="ADAUSDT", entry_price="0.387", order_size=None)  # qe3: loss 0 %
    before = h.engine.queue_terms("maaz")  # read (and kept) before the replacement
    assert (before[2].replacement_count, before[2].entry_price) == (0, D("0.387"))
    h.advance(60)
    h.signal(
        symbol="ADAUSDT", entry_price="0.38", order_size="300"
    )  # qe3 replaced: 300 × 0.38 = 114 USDT

    # ranking, deepest loss first: qe2 −2.5 %, qe1 0 %, qe3 (0.387 − 0.38) / 0.38 = +1.84 %
    assert [e.queue_id for e in h.engine.queue("maaz")] == ["qe2", "qe1", "qe3"]
    terms = h.engine.queue_terms("maaz")
    assert [t.queue_id for t in terms] == ["qe1", "qe2", "qe3"]  # arrival order
    ada = terms[2]
    assert (ada.symbol, ada.side, ada.replacement_count) == ("ADAUSDT", "long", 1)
    assert (ada.entry_price, ada.order_size) == (D("0.38"), D("300"))
    assert ada.updated_at_ms == ada.queued_at_ms + 60_000  # replaced 60 s after queuing
    # the same terms as the ranked views, entry by entry
    views = {v.queue_id: v for v in h.engine.queue("maaz")}
    for term in terms:
        view = views[term.queue_id]
        assert (term.signal_id, term.reason, term.entry_price, term.timeframe) == (
            view.signal_id,
            view.reason,
            view.entry_price,
            view.timeframe,
        )


def test_unknown_user_has_no_terms() -> None:
    h = Harness.seed(make_config(), rules=RULES)
    assert h.engine.queue_terms("nobody") == []


def test_terms_follow_a_removal_and_a_new_entry() -> None:
    h = Harness.seed(make_config(), rules=RULES)
    for symbol, price in PRICES.items():
        h.price(price, symbol=symbol)
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        h.signal(symbol=symbol, entry_price=PRICES[symbol], order_size=None)
    h.signal(symbol="XRPUSDT", entry_price="1.874", order_size=None)  # qe1
    assert [t.queue_id for t in h.engine.queue_terms("maaz")] == ["qe1"]
    h.signal(symbol="XRPUSDT", type="exit", side=None)  # removes qe1 from the queue
    assert h.engine.queue_terms("maaz") == []
    h.signal(symbol="DOGEUSDT", entry_price="0.195", order_size=None)  # qe2
    (terms,) = h.engine.queue_terms("maaz")
    assert (terms.queue_id, terms.symbol, terms.replacement_count) == ("qe2", "DOGEUSDT", 0)
