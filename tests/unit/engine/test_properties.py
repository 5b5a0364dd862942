"""Hypothesis properties of the engine core, driven through the test exchange stand-in.

Random runs mix entries (both sides on a linear market, longs on spot), pyramids, price
moves, exits, reduces, time and forced risk cycles, under every TP mode, with spot buys
paying their fee in the quote or (as on Binance) in the base asset. After every step:
- no open, filled or closed quantity is ever negative, and nothing is closed twice;
- every filled leg of an open group has resting TP orders for exactly its sellable quantity
  (open quantity net of base fees, rounded down to the step; per-leg limit TPs), unless that
  quantity is below the exchange minimums;
- no order was refused: in particular no sell ever exceeded the base balance the fills
  left on the account (the stand-in rejects those, as the exchange would);
- realised + unrealised PnL equals the mark-to-market of all the group's fills, computed
  independently from the stand-in's fill log: for longs Σ sells − Σ buys + held × mark −
  quote fees, held = bought − base fees − sold, dust included (mirrored for shorts);
and separately: the queue ranking is a total order that does not depend on insertion order,
and snapshot → restore → the same future decisions.
"""

from __future__ import annotations

import copy
import json
import random
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core import Engine
from engine.domain import MarketType, OrderSide, round_down
from engine.domain.events import RiskRunRequested
from engine.precision import check_minimums
from tests.kit.engine_builders import D, Harness, make_config, make_rules

BTC = make_rules("BTCUSDT")
ETH = make_rules("ETHUSDT", step="0.001", min_qty="0.001", market_type=MarketType.LINEAR)
RULES = {"BTCUSDT": BTC, "ETHUSDT": ETH}
START = {"BTCUSDT": D("95992.3"), "ETHUSDT": D("3394.0")}
MOVES = [D(x) for x in ("-3", "-1.2", "-0.6", "-0.3", "0.3", "0.6", "1.2", "3")]
SETTINGS = settings(
    max_examples=35,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

symbols = st.sampled_from(["BTCUSDT", "ETHUSDT"])
SIZES = {"BTCUSDT": ["0.001", "0.002", "0.005"], "ETHUSDT": ["0.05", "0.1", "0.3"]}
_BY_KIND = {
    "signal": symbols.flatmap(
        lambda symbol: st.tuples(
            st.just("signal"),
            st.just(symbol),
            st.sampled_from(["long", "short"]),
            st.sampled_from(SIZES[symbol]),
            st.sampled_from([60, 240]),
        )
    ),
    "price": st.tuples(st.just("price"), symbols, st.sampled_from(MOVES)),
    "exit": st.tuples(st.just("exit"), symbols, st.sampled_from([60, 240])),
    "reduce": st.tuples(
        st.just("reduce"), symbols, st.sampled_from(["25", "50"]), st.sampled_from([60, 240])
    ),
    "advance": st.tuples(st.just("advance"), st.sampled_from([5, 30, 130])),
    "risk": st.tuples(st.just("risk")),
}
# how often each kind of step comes up in a run
_KINDS = ["signal"] * 5 + ["price"] * 7 + ["exit", "reduce", "risk"] + ["advance"] * 3
operation = st.sampled_from(_KINDS).flatmap(lambda kind: _BY_KIND[kind])
configs = st.fixed_dictionaries(
    {
        "tp_mode": st.sampled_from(["per_leg", "aggregate", "hybrid", "pyramid_aggregate"]),
        "tp_order_type": st.sampled_from(["limit", "market"]),
        "entry_order_type": st.sampled_from(["market", "limit"]),
    }
)


def _harness(grid: dict[str, Any], base_fee: bool = False) -> Harness:
    config = make_config(
        risk={
            "max_open_positions_global": 3,
            "max_open_positions_per_symbol": 2,
            "max_total_exposure_usd": "100000",
            "require_full_pyramids": False,
            "post_full_wait_minutes": 1,
            "loss_threshold_percent": "-1",
            "min_close_notional": "5",
        },
        grid={**grid, "tp_aggregate_percent": "1"},
    )
    h = Harness.seed(
        config,
        rules=(BTC, ETH),
        fee_rate=D("0.001"),
        base_fee_symbols=("BTCUSDT",) if base_fee else (),
    )
    for symbol, price in START.items():
        h.price(price, symbol=symbol)
    return h


def _apply(h: Harness, index: int, op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind == "signal":
        _, symbol, side, size, timeframe = op
        if symbol == "BTCUSDT":
            side = "long"  # spot: shorts are rejected (tested elsewhere)
        mark = h.prices[("binance", symbol)]
        h.signal(
            signal_id=f"s{index}",
            symbol=symbol,
            side=side,
            order_size=size,
            entry_price=str(mark),
            timeframe=timeframe,
        )
    elif kind == "price":
        _, symbol, move = op
        rules = RULES[symbol]
        assert rules.tick_size is not None
        old = h.prices[("binance", symbol)]
        h.price(round_down(old * (1 + move / 100), rules.tick_size), symbol=symbol)
    elif kind == "exit":
        h.signal(signal_id=f"s{index}", symbol=op[1], type="exit", side=None, timeframe=op[2])
    elif kind == "reduce":
        _, symbol, percent, timeframe = op
        h.signal(
            signal_id=f"s{index}",
            symbol=symbol,
            type="reduce",
            side=None,
            order_size=percent,
            timeframe=timeframe,
        )
    elif kind == "advance":
        h.advance(op[1])
    else:
        h.feed(RiskRunRequested(h.now))


def _mark_to_market(h: Harness, group_id: str, side: str, mark: Decimal) -> Decimal:
    bought = sold = fees = opened = closed = Decimal(0)
    for fill in h.fills:
        command = h.book[fill.client_order_id].command
        if command.group_id != group_id:
            continue
        if fill.fee_asset == "USDT":
            fees += fill.fee
        else:  # paid in the base asset out of a buy: the account holds that much less
            assert command.side is OrderSide.BUY and fill.fee_asset == "BTC"
            opened -= fill.fee
        value = fill.quantity * fill.price
        if command.side is OrderSide.BUY:
            bought += value
        else:
            sold += value
        if command.purpose.value in ("entry", "dca"):
            opened += fill.quantity
        else:
            closed += fill.quantity
    open_quantity = opened - closed
    if side == "long":
        return sold - bought + open_quantity * mark - fees
    return sold - bought - open_quantity * mark - fees


def _check_invariants(h: Harness) -> None:
    state = h.engine._state  # internal reads for reservation bookkeeping only
    for view in h.engine.groups():
        group = state.groups[view.group_id]
        for leg in group.legs:
            assert leg.filled_quantity >= 0 and leg.closed_quantity >= 0
            assert leg.open_quantity >= 0, "closed more than filled"
            assert 0 <= leg.reserved_quantity <= leg.open_quantity
        mark = h.prices[(view.exchange, view.symbol)]
        expected = _mark_to_market(h, view.group_id, view.side, mark)
        assert abs(view.realised_usd + view.unrealised_usd - expected) <= D("1e-12")
        if view.status in ("closed", "failed", "closing"):
            continue
        if view.tp_mode not in ("per_leg", "hybrid") or group.settings.tp_order_type != "limit":
            continue
        rules = RULES[view.symbol]
        assert rules.step_size is not None
        for pyramid in view.pyramids:
            if pyramid.status != "open":
                continue
            for leg_view in pyramid.legs:
                resting = sum(
                    (
                        order.remaining
                        for order in h.open_on_exchange("tp")
                        if order.command.group_id == view.group_id
                        and f"-p{pyramid.index}-l{leg_view.index}-tp-"
                        in order.command.client_order_id
                    ),
                    Decimal(0),
                )
                wanted = round_down(leg_view.open_quantity, rules.step_size)
                assert wanted == leg_view.sellable_quantity
                big_enough = leg_view.tp_price is not None and (
                    check_minimums(wanted, leg_view.tp_price, rules) is None
                )
                assert resting == (wanted if big_enough else 0), (view, leg_view)
    for fill in h.fills:  # the stand-in never saw an order fill beyond its size
        order = h.book[fill.client_order_id]
        assert order.filled <= order.command.quantity
    assert h.rejected() == []  # no sell above the base balance the fills left


@SETTINGS
@given(grid=configs, base_fee=st.booleans(), ops=st.lists(operation, min_size=10, max_size=40))
def test_quantities_tps_and_mark_to_market_hold_on_random_runs(
    grid: dict[str, Any], base_fee: bool, ops: list[tuple[Any, ...]]
) -> None:
    h = _harness(grid, base_fee)
    for index, op in enumerate(ops):
        _apply(h, index, op)
        _check_invariants(h)


@SETTINGS
@given(
    grid=configs,
    base_fee=st.booleans(),
    before=st.lists(operation, min_size=5, max_size=25),
    after=st.lists(operation, min_size=5, max_size=25),
)
def test_snapshot_restore_gives_the_same_future_decisions(
    grid: dict[str, Any],
    base_fee: bool,
    before: list[tuple[Any, ...]],
    after: list[tuple[Any, ...]],
) -> None:
    original = _harness(grid, base_fee)
    for index, op in enumerate(before):
        _apply(original, index, op)
    clone = copy.deepcopy(original)
    clone.engine = Engine.restore(json.loads(json.dumps(original.engine.snapshot())))
    start = len(original.decisions)
    for index, op in enumerate(after, start=len(before)):
        _apply(original, index, op)
        _apply(clone, index, op)
    mine = [(d.commands, d.outcomes, d.audit, d.risk_actions) for d in clone.decisions[start:]]
    theirs = [(d.commands, d.outcomes, d.audit, d.risk_actions) for d in original.decisions[start:]]
    assert mine == theirs


QUEUE_SYMBOLS = ["XRPUSDT", "DOGEUSDT", "ADAUSDT", "SOLUSDT", "TRXUSDT"]
QUEUE_RULES = tuple(
    make_rules(symbol, tick="0.0001", step="0.1", min_qty="0.1") for symbol in QUEUE_SYMBOLS
)


@SETTINGS
@given(
    entries=st.lists(
        st.tuples(
            st.sampled_from(QUEUE_SYMBOLS),
            st.sampled_from(["0.9", "1.0", "1.1", "1.25"]),
            st.integers(min_value=0, max_value=2),
        ),
        min_size=1,
        max_size=12,
    ),
    rules=st.permutations(
        ["same_pair_timeframe", "deepest_loss_percent", "highest_replacement", "fifo"]
    ),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_queue_ranking_is_total_and_independent_of_insertion_order(
    entries: list[tuple[str, str, int]], rules: list[str], seed: int
) -> None:
    config = make_config(risk={"max_open_positions_global": 1, "priority_rules": rules})
    h = Harness.seed(config, rules=(make_rules(), *QUEUE_RULES))
    h.price("95992.3")
    for symbol in QUEUE_SYMBOLS:
        h.price("1.0", symbol=symbol)
    h.signal()  # takes the only slot: everything else queues
    for timeframe, (symbol, price, extra) in enumerate(entries, start=1):
        for _ in range(extra + 1):  # extra signals for the same key are replacements
            h.advance(1)
            h.signal(symbol=symbol, timeframe=timeframe, entry_price=price, order_size="60")
    ranked = h.engine.queue("maaz")
    assert [view.rank for view in ranked] == list(range(1, len(entries) + 1))
    assert len({view.queue_id for view in ranked}) == len(entries)
    queue = h.engine._state.users["maaz"].queue
    random.Random(seed).shuffle(queue)
    assert h.engine.queue("maaz") == ranked
