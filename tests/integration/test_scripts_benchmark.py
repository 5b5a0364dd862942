"""benchmarks/webhook.py end to end on a tiny load (the real figures come from running it
with its defaults): the service starts, every signal is answered and stored once."""

from __future__ import annotations

import pytest

from benchmarks.webhook import build_parser, percentile, run, signal_payload

pytestmark = pytest.mark.slow


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == 50.0  # rank ceil(0.5 × 100) = 50
    assert percentile(values, 99) == 99.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0  # rank ceil(1.5) = 2 of [1, 2, 3]
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_payloads_are_distinct_and_cycle_over_symbols_exchanges_timeframes() -> None:
    payloads = [signal_payload("s", i, "x") for i in range(200)]
    assert len({p["strategy_info"]["trade_id"] for p in payloads}) == 200
    keys = {(p["tv"]["exchange"], p["tv"]["symbol"], p["tv"]["timeframe"]) for p in payloads}
    assert len(keys) == 9 * 2 * 6  # 9 seed symbols × 2 exchanges × 6 timeframes = 108


def test_small_run_stores_every_signal_once() -> None:
    args = build_parser().parse_args(
        ["--duration", "1", "--rate", "20", "--burst", "20", "--baseline", "5"]
    )
    result = run(args)
    assert result["sustained"]["sent"] == 20 and result["burst"]["sent"] == 20
    assert result["sustained"]["status_codes"] == {"202": 20}
    assert result["burst"]["status_codes"] == {"202": 20}
    assert result["verdict"]["sustained_all_stored_once"] is True
    assert result["verdict"]["burst_all_stored_once"] is True
    assert result["baseline_health"]["count"] == 5
