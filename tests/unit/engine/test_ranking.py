"""engine.ranking: queue ranking rules and the signal loss % (SPEC §7)."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.domain import PositionSide
from engine.math_checks import InvalidInput
from engine.ranking import RANKING_RULES, QueueCandidate, rank_queue, signal_loss_percent
from tests.kit.math_builders import D


def cand(
    queue_id: str,
    *,
    cont: bool = False,
    loss: str | None = None,
    repl: int = 0,
    at: int = 1_000,
    seq: int = 0,
) -> QueueCandidate:
    return QueueCandidate(
        queue_id=queue_id,
        is_continuation=cont,
        loss_percent=None if loss is None else D(loss),
        replacement_count=repl,
        queued_at_ms=at,
        sequence=seq,
    )


def ids(ranked: list[QueueCandidate]) -> list[str]:
    return [candidate.queue_id for candidate in ranked]


class TestEachRuleAlone:
    def test_same_pair_timeframe(self) -> None:
        pool = [cand("new", seq=1), cand("cont", cont=True, seq=2)]
        assert ids(rank_queue(pool, ["same_pair_timeframe"])) == ["cont", "new"]

    def test_deepest_loss_percent_lowest_first_none_last(self) -> None:
        pool = [
            cand("unknown", loss=None, seq=1),
            cand("up", loss="2.5", seq=2),
            cand("deep", loss="-4.1", seq=3),
            cand("shallow", loss="-0.3", seq=4),
        ]
        assert ids(rank_queue(pool, ["deepest_loss_percent"])) == [
            "deep",
            "shallow",
            "up",
            "unknown",
        ]

    def test_highest_replacement(self) -> None:
        pool = [cand("once", repl=1, seq=1), cand("thrice", repl=3, seq=2), cand("never", seq=3)]
        assert ids(rank_queue(pool, ["highest_replacement"])) == ["thrice", "once", "never"]

    def test_fifo(self) -> None:
        pool = [cand("late", at=3_000, seq=1), cand("early", at=1_000, seq=2)]
        assert ids(rank_queue(pool, ["fifo"])) == ["early", "late"]

    def test_no_rules_is_sequence_order(self) -> None:
        pool = [cand("b", seq=2, cont=True), cand("a", seq=1)]
        assert ids(rank_queue(pool, [])) == ["a", "b"]


class TestOrderAndTies:
    def test_default_order(self) -> None:
        pool = [
            cand("fifo-winner", loss="-1", repl=2, at=500, seq=1),
            cand("repl-winner", loss="-1", repl=5, at=900, seq=2),
            cand("loss-winner", loss="-3", repl=0, at=999, seq=3),
            cand("continuation", cont=True, loss="1", repl=0, at=2_000, seq=4),
            cand("seq-loser", loss="-1", repl=2, at=500, seq=5),
        ]
        # continuation first; then deepest loss (−3); then among −1: repl 5 before repl 2;
        # then equal repl 2 and time 500: sequence 1 before 5
        assert ids(rank_queue(pool, RANKING_RULES)) == [
            "continuation",
            "loss-winner",
            "repl-winner",
            "fifo-winner",
            "seq-loser",
        ]

    def test_order_is_configurable(self) -> None:
        pool = [cand("old", at=1, repl=0, seq=1), cand("busy", at=2, repl=4, seq=2)]
        assert ids(rank_queue(pool, ["fifo", "highest_replacement"])) == ["old", "busy"]
        assert ids(rank_queue(pool, ["highest_replacement", "fifo"])) == ["busy", "old"]

    def test_disabled_rule_is_ignored(self) -> None:
        pool = [cand("new", at=1, seq=1), cand("cont", cont=True, at=2, seq=2)]
        # same_pair_timeframe off: fifo decides
        assert ids(rank_queue(pool, ["deepest_loss_percent", "fifo"])) == ["new", "cont"]

    def test_equal_sequence_falls_back_to_queue_id(self) -> None:
        pool = [cand("q2", seq=7), cand("q1", seq=7)]
        assert ids(rank_queue(pool, RANKING_RULES)) == ["q1", "q2"]

    def test_same_names_as_the_config(self) -> None:
        from engine.config import PRIORITY_RULE_NAMES

        assert tuple(PRIORITY_RULE_NAMES) == RANKING_RULES


class TestBadInput:
    def test_unknown_rule(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            rank_queue([], ["fifo", "loudest"])
        assert (caught.value.field, caught.value.code) == ("priority_rules[1]", "unknown_value")

    def test_duplicate_rule(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            rank_queue([], ["fifo", "fifo"])
        assert caught.value.code == "duplicate"

    def test_rule_string_instead_of_list(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            rank_queue([], "fifo")
        assert caught.value.code == "not_a_list"


class TestSignalLossPercent:
    def test_long_below_entry_is_negative(self) -> None:
        # (97 − 100) / 100 × 100 = −3
        assert signal_loss_percent(D("100"), D("97"), PositionSide.LONG) == D("-3")

    def test_short_below_entry_is_positive(self) -> None:
        # −(97 − 100) / 100 × 100 = 3
        assert signal_loss_percent(D("100"), D("97"), PositionSide.SHORT) == D("3")

    def test_worked_example_prices(self) -> None:
        # (95032.37 − 95992.3) / 95992.3 × 100 = −959.93 / 959.923 = −1.00000729...
        result = signal_loss_percent(D("95992.3"), D("95032.37"), PositionSide.LONG)
        assert abs(result - D("-959.93") / D("959.923")) < D("1e-24")

    def test_entry_must_be_positive(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            signal_loss_percent(D("0"), D("1"), PositionSide.LONG)
        assert caught.value.field == "entry_price"


_candidates = st.lists(
    st.builds(
        QueueCandidate,
        queue_id=st.sampled_from(["a", "b", "c"]),
        is_continuation=st.booleans(),
        loss_percent=st.one_of(
            st.none(), st.decimals(min_value=D("-5"), max_value=D("5"), places=1)
        ),
        replacement_count=st.integers(min_value=0, max_value=2),
        queued_at_ms=st.integers(min_value=0, max_value=3),
        sequence=st.integers(min_value=0, max_value=10_000),
    ),
    max_size=8,
    unique_by=lambda candidate: candidate.sequence,
)


@given(
    pool=_candidates,
    rules=st.permutations(RANKING_RULES).flatmap(
        lambda order: st.integers(min_value=0, max_value=4).map(lambda n: order[:n])
    ),
    data=st.data(),
)
def test_ranking_is_a_total_deterministic_order(
    pool: list[QueueCandidate], rules: tuple[str, ...], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(pool))
    ranked = rank_queue(pool, rules)
    assert rank_queue(shuffled, rules) == ranked
    assert sorted(ranked, key=lambda c: c.sequence) == sorted(pool, key=lambda c: c.sequence)
    # independent pairwise check: no later candidate beats an earlier one on the first rule
    # that separates them
    for better, worse in pairwise(ranked):
        assert _first_difference(better, worse, rules) <= 0


def _first_difference(a: QueueCandidate, b: QueueCandidate, rules: tuple[str, ...]) -> int:
    """−1 when a ranks before b, 1 when after, under the SPEC §7 wording; 0 if identical."""
    for rule in rules:
        if rule == "same_pair_timeframe" and a.is_continuation != b.is_continuation:
            return -1 if a.is_continuation else 1
        if rule == "deepest_loss_percent" and a.loss_percent != b.loss_percent:
            if a.loss_percent is None or b.loss_percent is None:
                return 1 if a.loss_percent is None else -1
            return -1 if a.loss_percent < b.loss_percent else 1
        if rule == "highest_replacement" and a.replacement_count != b.replacement_count:
            return -1 if a.replacement_count > b.replacement_count else 1
        if rule == "fifo" and a.queued_at_ms != b.queued_at_ms:
            return -1 if a.queued_at_ms < b.queued_at_ms else 1
    return (a.sequence > b.sequence) - (a.sequence < b.sequence)
