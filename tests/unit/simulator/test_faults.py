"""Each fault kind, its scheduling by request count and by time window, and the log."""

from __future__ import annotations

import pytest

from simulator import (
    Fault,
    SimAuthError,
    SimDown,
    SimError,
    SimOrderStatus,
    SimRateLimited,
    SimTimeout,
)
from tests.kit.simulator import KEY, T0, D, funded_sim


def market_buy(sim, exchange="binance", **kw):  # type: ignore[no-untyped-def]
    return sim.venue(exchange).place_order(
        KEY, symbol="BTCUSDT", side="buy", type="market", quantity=D("0.001"), **kw
    )


def test_exchange_down_503_or_refused() -> None:
    sim = funded_sim()
    sim.faults.add("down", exchange="binance")
    with pytest.raises(SimDown) as down:
        sim.venue("binance").ticker("BTCUSDT")
    assert (down.value.http_status, down.value.mode) == (503, "503")
    assert sim.venue("bybit").ticker("BTCUSDT").last == D("95992.30")  # other venue is up
    sim.faults.clear()
    sim.faults.add("down", exchange="bybit", mode="refused")
    with pytest.raises(SimDown) as refused:
        market_buy(sim, "bybit")
    assert refused.value.mode == "refused"


def test_rate_limit_carries_retry_after_and_the_exchange_code() -> None:
    sim = funded_sim()
    sim.faults.add("rate_limit", retry_after_s=2)
    with pytest.raises(SimRateLimited) as binance:
        market_buy(sim)
    assert (binance.value.code, binance.value.http_status) == ("-1003", 429)
    assert binance.value.retry_after_s == 2
    with pytest.raises(SimRateLimited) as bybit:
        sim.venue("bybit").server_time()
    assert bybit.value.code == "10006"


def test_bad_keys_only_on_private_endpoints() -> None:
    sim = funded_sim()
    sim.faults.add("bad_keys")
    assert sim.venue("binance").ticker("ETHUSDT").last == D("3394.00")
    with pytest.raises(SimAuthError) as binance:
        sim.venue("binance").balances(KEY)
    assert (binance.value.code, binance.value.http_status) == ("-2015", 401)
    with pytest.raises(SimAuthError) as bybit:
        market_buy(sim, "bybit")
    assert bybit.value.code == "10003"


def test_reject_with_a_chosen_code_narrowed_to_a_symbol() -> None:
    sim = funded_sim()
    sim.faults.add("reject", exchange="binance", symbol="BTCUSDT", code="-1013",
                   message="Filter failure: PERCENT_PRICE_BY_SIDE")  # fmt: skip
    with pytest.raises(SimError) as rejected:
        market_buy(sim)
    assert (rejected.value.code, rejected.value.message) == (
        "-1013", "Filter failure: PERCENT_PRICE_BY_SIDE",
    )  # fmt: skip
    assert rejected.value.reason == "order_rejected"
    eth = sim.venue("binance").place_order(KEY, symbol="ETHUSDT", side="buy", type="market",
                                           quantity=D("0.01"))  # fmt: skip
    assert eth.status == "FILLED"


def test_reject_in_status_mode_stores_a_rejected_order() -> None:
    sim = funded_sim()
    sim.faults.add("reject", exchange="bybit", mode="status", code="170193",
                   message="Buy order price cannot be higher than 43.")  # fmt: skip
    order = market_buy(sim, "bybit", client_order_id="r1")
    assert order.status == SimOrderStatus.REJECTED and order.filled_quantity == 0
    assert order.reject_reason == "170193 Buy order price cannot be higher than 43."
    assert sim.venue("bybit").balances(KEY)["USDT"].free == D(100000)
    assert sim.venue("bybit").open_orders(KEY) == []
    stored = sim.venue("bybit").get_order(KEY, symbol="BTCUSDT", client_order_id="r1")
    assert stored.status == SimOrderStatus.REJECTED
    with pytest.raises(ValueError, match="mode: must be 'error' or 'status' for a reject"):
        Fault(kind="reject", mode="503")


def test_latency_calls_the_hook_outside_the_state() -> None:
    waited: list[int] = []
    sim = funded_sim(latency_hook=waited.append)
    sim.faults.add("latency", exchange="bybit", endpoint="order.*", latency_ms=250)
    market_buy(sim, "bybit")
    market_buy(sim)
    sim.venue("bybit").ticker("BTCUSDT")
    assert waited == [250]


def test_metadata_missing_hides_the_tick_size() -> None:
    sim = funded_sim()
    sim.faults.add("metadata_missing", exchange="binance", symbol="dogeusdt")
    listing = {m.symbol: m for m in sim.venue("binance").list_markets()}
    assert listing["DOGEUSDT"].tick_size is None
    assert listing["BTCUSDT"].tick_size == D("0.01")
    rules = {r.symbol: r for r in sim.venue("binance").market_rules()}
    assert not rules["DOGEUSDT"].is_complete
    assert all(m.tick_size is not None for m in sim.venue("bybit").list_markets())


def test_response_lost_creates_the_order_but_the_caller_times_out() -> None:
    sim = funded_sim()
    sim.faults.add("response_lost", exchange="binance", count=1)
    with pytest.raises(SimTimeout) as lost:
        market_buy(sim, client_order_id="g1-p0-l0-entry-0")
    assert lost.value.code == "-1007" and lost.value.result.status == "FILLED"
    found = sim.venue("binance").get_order(
        KEY, symbol="BTCUSDT", client_order_id="g1-p0-l0-entry-0"
    )
    assert found.status == "FILLED" and found.order_id == lost.value.result.order_id
    assert market_buy(sim).status == "FILLED"  # count=1: the next request is answered


def test_schedule_by_request_count() -> None:
    sim = funded_sim()
    sim.faults.add("down", exchange="binance", endpoint="ticker", after_requests=2, count=2)
    venue = sim.venue("binance")
    outcomes = []
    for _ in range(6):
        try:
            venue.ticker("BTCUSDT")
            outcomes.append("ok")
        except SimDown:
            outcomes.append("down")
    assert outcomes == ["ok", "ok", "down", "down", "ok", "ok"]
    venue.balances(KEY)  # another endpoint does not count


def test_schedule_by_time_window() -> None:
    sim = funded_sim()
    sim.faults.add("down", start_ms=T0 + 1000, end_ms=T0 + 2000)
    venue = sim.venue("bybit")
    venue.server_time()
    sim.advance(by_ms=1000)
    with pytest.raises(SimDown):
        venue.server_time()
    sim.advance(by_ms=1000)
    assert venue.server_time() == T0 + 2000


def test_every_fired_fault_is_logged() -> None:
    sim = funded_sim()
    fault = sim.faults.add("rate_limit", exchange="binance", count=1)
    with pytest.raises(SimRateLimited):
        sim.venue("binance").server_time()
    sim.venue("binance").server_time()
    records = [r for r in sim.log if r["kind"] == "fault"]
    assert records == [
        {"time_ms": T0, "kind": "fault", "fault": "rate_limit", "fault_id": fault.fault_id,
         "exchange": "binance", "endpoint": "time", "symbol": None},
    ]  # fmt: skip
    assert fault.fired == 1 and fault.seen == 2
    sim.faults.remove(fault.fault_id)
    assert sim.faults.faults == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "meteor"}, "kind: must be one of"),
        ({}, "kind: required"),
        ({"kind": "down", "colour": "red"}, "colour: unknown fault field"),
        ({"kind": "down", "count": "3"}, "count: must be an integer"),
        ({"kind": "down", "count": 0}, "count: must be >= 1"),
        ({"kind": "down", "mode": "slow"}, "mode: must be '503' or 'refused'"),
        ({"kind": "latency"}, "latency_ms: must be > 0"),
        ({"kind": "metadata_missing"}, "symbol: required"),
        ({"kind": "down", "start_ms": 5, "end_ms": 5}, "end_ms: must be after start_ms"),
        ({"kind": "down", "exchange": 7}, "exchange: must be a string"),
    ],
)
def test_fault_specs_from_json_name_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Fault.from_dict(data)


def test_schedule_refuses_unknown_targets() -> None:
    sim = funded_sim()
    with pytest.raises(ValueError, match="exchange: no venue matches 'kraken'"):
        sim.faults.add("down", exchange="kraken")
    with pytest.raises(ValueError, match="endpoint: no endpoint matches 'withdraw'"):
        sim.faults.add(Fault.from_dict({"kind": "down", "endpoint": "withdraw"}))
