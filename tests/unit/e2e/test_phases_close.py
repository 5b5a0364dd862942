"""Fill verification, monitoring, profit taking and settlement against a scripted service:
their checks and their fallbacks (simulated fill, simulated position, current state)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from qtrade.e2e.phases_close import (
    fill_verification,
    position_monitoring,
    profit_taking,
    record_current_state,
    settlement,
)
from qtrade.e2e.state import PhaseLog
from tests.kit.e2e import (
    ScriptedApi,
    answer,
    make_context,
    make_settings,
    make_trade,
    market,
    metrics_answer,
)

D = Decimal
ENTRY_ID = "e2e-g1-p0-l0-entry-0"


def order_answer(status: str = "filled") -> dict[str, Any]:
    return {
        "order_id": "5000000001",
        "client_order_id": ENTRY_ID,
        "status": status,
        "quantity": "0.00020",
        "filled_quantity": "0.00020" if status == "filled" else "0",
        "average_price": "96472.26" if status == "filled" else None,
    }


def exchange_orders(status: str = "FILLED", quantity: str = "0.00020") -> Any:
    return answer(
        {
            "orders": [
                {"client_order_id": "other", "status": "NEW", "filled_quantity": "0"},
                {
                    "order_id": "5000000001",
                    "client_order_id": ENTRY_ID,
                    "status": status,
                    "filled_quantity": quantity,
                    # Binance spot: a buy's 0.1 % fee is kept in the base asset
                    "fills": [
                        {
                            "quantity": quantity,
                            "price": "96472.26",
                            "fee": "0.00000020",
                            "fee_asset": "BTC",
                        }
                    ],
                },
            ]
        }
    )


# --------------------------------------------------------------------------- fills


def test_a_filled_entry_is_checked_on_the_exchange_too() -> None:
    api = ScriptedApi(
        {
            f"GET /trades/order/{ENTRY_ID}": answer(order_answer()),
            "GET /admin/orders": exchange_orders(),
        }
    )
    ctx = make_context(api)
    ctx.state.trades.append(make_trade())
    log = PhaseLog("fill_verification")
    fill_verification(ctx, log)
    (trade,) = ctx.state.trades
    assert (trade.status, trade.fill_quantity, trade.fill_price) == (
        "filled",
        D("0.00020"),
        D("96472.26"),
    )
    assert trade.simulated == set()
    assert trade.fill_base_fee == D("0.00000020")  # 0.1 % of 0.00020, from the exchange fill
    assert log.checks[0].message == (
        "0.00020 @ 96472.26, base fee 0.00000020; exchange order 5000000001 FILLED"
    )
    assert log.state == "complete"


def test_an_order_that_never_fills_is_polled_then_its_fill_simulated() -> None:
    api = ScriptedApi(
        {
            f"GET /trades/order/{ENTRY_ID}": answer(order_answer("open")),
            "POST /admin/advance": answer({"clock_ms": 0, "events": []}),
        }
    )
    ctx = make_context(api, make_settings(fill_poll_attempts=3))
    ctx.state.trades.append(make_trade())
    log = PhaseLog("fill_verification")
    fill_verification(ctx, log)
    # three polls, simulated time advanced between them
    assert api.paths() == [
        f"/trades/order/{ENTRY_ID}",
        "/admin/advance",
        f"/trades/order/{ENTRY_ID}",
        "/admin/advance",
        f"/trades/order/{ENTRY_ID}",
    ]
    (trade,) = ctx.state.trades
    assert trade.simulated == {"fill"}
    # the simulated fill: leg 0 as planned at the reference price
    assert (trade.status, trade.fill_quantity, trade.fill_price) == (
        "filled",
        D("0.00020"),
        D("96472.26"),
    )
    assert not trade.is_real
    assert (log.state, log.fallback) == ("failed", "simulated_fill")
    assert "open after 3 polls; fill simulated" in log.checks[0].message


def test_a_service_error_or_an_exchange_mismatch_simulates_the_fill() -> None:
    for routes in (
        {f"GET /trades/order/{ENTRY_ID}": answer({"detail": "x"}, 500)},
        {
            f"GET /trades/order/{ENTRY_ID}": answer(order_answer()),
            "GET /admin/orders": exchange_orders(quantity="0.00010"),
        },
    ):
        ctx = make_context(ScriptedApi(routes))
        ctx.state.trades.append(make_trade())
        log = PhaseLog("fill_verification")
        fill_verification(ctx, log)
        assert ctx.state.trades[0].simulated == {"fill"}
        assert log.fallback == "simulated_fill"


# --------------------------------------------------------------------------- monitoring


def position_row(**changes: Any) -> dict[str, Any]:
    row = {
        "trade_id": "g1",
        "symbol": "BTCUSDT",
        # held: the fill 0.00020 net of its 0.00000020 base fee
        "quantity": "0.00019980",
        "average_entry": "96472.26",
        "mark_price": "96500",
        # (96500 - 96472.26) x 0.00019980 = 0.005542452
        "unrealised_pnl": "0.005542452",
        "take_profit_prices": ["97436.98"],
        "stop_price": "94542.81",
    }
    row.update(changes)
    return row


def monitoring_context(rows: list[dict[str, Any]]) -> Any:
    api = ScriptedApi(
        {
            "POST /admin/advance": answer({"clock_ms": 0, "events": []}),
            "GET /trades/positions": answer(rows),
            "GET /metrics": metrics_answer(exposure="100", pool_used=1),
        }
    )
    ctx = make_context(api)
    trade = make_trade(status="filled", fill_quantity=D("0.00020"), fill_price=D("96472.26"))
    trade.fill_base_fee = D("0.00000020")
    ctx.state.trades.append(trade)
    return ctx


def test_monitoring_recomputes_the_unrealised_pnl() -> None:
    ctx = monitoring_context([position_row()])
    log = PhaseLog("position_monitoring")
    position_monitoring(ctx, log)
    assert log.state == "complete"
    assert ctx.calls.api.calls[0][3] == {"seconds": "60"}
    assert [c.name for c in log.checks] == [
        "BTCUSDT position tracked",
        "risk metrics track the positions",
    ]


def test_a_wrong_unrealised_pnl_fails_the_check() -> None:
    ctx = monitoring_context([position_row(unrealised_pnl="0.0056")])
    log = PhaseLog("position_monitoring")
    position_monitoring(ctx, log)
    assert log.checks[0].message == ("unrealised 0.0056 != (mark - average) x qty = 0.0055424520")
    assert log.state == "failed"
    assert log.fallback is None


def test_the_position_must_hold_the_fill_net_of_its_base_fee() -> None:
    # the gross fill 0.00020 is not what the account holds: 0.00020 - 0.00000020 = 0.00019980
    ctx = monitoring_context([position_row(quantity="0.00020", unrealised_pnl="0.005548")])
    log = PhaseLog("position_monitoring")
    position_monitoring(ctx, log)
    assert log.checks[0].message == (
        "quantity 0.00020 != filled 0.00020 - base fee 0.00000020 = 0.00019980"
    )
    assert log.state == "failed"


def test_a_missing_position_is_simulated() -> None:
    ctx = monitoring_context([])
    log = PhaseLog("position_monitoring")
    position_monitoring(ctx, log)
    assert ctx.state.trades[0].simulated == {"position"}
    assert (log.state, log.fallback) == ("failed", "simulated_position")


# --------------------------------------------------------------------------- profit taking


class Market:
    """A tiny stand-in for the service during profit taking: the group closes (by its stop)
    after ``closes_after`` advances."""

    def __init__(self, closes_after: int) -> None:
        self.advances = 0
        self.closes_after = closes_after

    def advance(self, _params: Any, _body: Any) -> tuple[int, Any]:
        self.advances += 1
        return 200, {"clock_ms": 0, "events": []}

    def group(self, _params: Any, _body: Any) -> tuple[int, Any]:
        closed = self.advances >= self.closes_after
        return 200, {
            "status": "closed" if closed else "partially_filled",
            "open_quantity": "0" if closed else "0.00103",
            "filled_quantity": "0.00103",
        }


def profit_context(closes_after: int, **settings: Any) -> tuple[Any, ScriptedApi]:
    market_state = Market(closes_after)
    api = ScriptedApi(
        {
            "GET /trades/positions": answer([position_row()]),
            "GET /admin/orders": answer(
                {"orders": [{"side": "sell", "client_order_id": "e2e-g1-p0-l0-tp-0"}]}
            ),
            "GET /admin/prices": answer({"binance": {"BTCUSDT": "96472.26"}}),
            "POST /admin/path": answer({"clock_ms": 0, "events": []}),
            "POST /admin/advance": market_state.advance,
            "GET /positions/g1": market_state.group,
            "GET /orders": answer(
                [
                    {"side": "buy", "purpose": "entry", "filled_quantity": "0.00020"},
                    {"side": "sell", "purpose": "tp", "filled_quantity": "0"},
                    {"side": "sell", "purpose": "stop", "filled_quantity": "0.00103"},
                ]
            ),
        }
    )
    ctx = make_context(api, make_settings(**settings))
    ctx.state.markets["BTCUSDT"] = market("BTCUSDT", "0.01", "0.00001", "0.00001")
    trade = make_trade(
        status="filled",
        fill_quantity=D("0.00020"),
        fill_price=D("96472.26"),
        take_profit=D("97436.98"),
        stop_loss=D("94542.81"),
    )
    ctx.state.trades.append(trade)
    return ctx, api


def test_profit_taking_drives_the_first_trade_through_its_stop() -> None:
    ctx, api = profit_context(closes_after=3)
    log = PhaseLog("profit_taking")
    profit_taking(ctx, log)
    (trade,) = ctx.state.trades
    # first trade: stop_loss; 94542.81 x 0.995 = 94070.09595 -> 94070.09
    assert (trade.exit_plan, trade.exit_target, trade.exit_result) == (
        "stop_loss",
        D("94070.09"),
        "stop_loss",
    )
    path = next(body for _, p, _, body in api.calls if p == "/admin/path")
    assert path["yaml"] == (
        "step: 1s\nprices: {BTCUSDT: 96472.26}\ntimeline:\n  - {BTCUSDT: 94070.09 over 30s}\n"
    )
    assert api.paths("POST").count("/admin/advance") == 3  # stopped polling once closed
    assert [c.passed for c in log.checks] == [True, True]
    assert log.checks[1].name == "BTCUSDT stop hit"


def test_a_trade_that_does_not_close_in_time_fails_its_check() -> None:
    ctx, api = profit_context(closes_after=99, exit_timeout_seconds=5)
    log = PhaseLog("profit_taking")
    profit_taking(ctx, log)
    assert api.paths("POST").count("/admin/advance") == 5
    assert log.checks[1].passed is False
    assert log.checks[1].message.endswith("still open after 5 s")


def test_missing_take_profit_or_stop_fails_the_setup_check() -> None:
    ctx, api = profit_context(closes_after=1)
    api.routes["GET /trades/positions"] = answer(
        [position_row(take_profit_prices=[], stop_price=None)]
    )
    api.routes["GET /admin/orders"] = answer({"orders": []})
    log = PhaseLog("profit_taking")
    profit_taking(ctx, log)
    assert log.checks[0].message == (
        "take-profit 97436.98 not in []; stop None != 94542.81; "
        "no take-profit order rests on the exchange"
    )


# --------------------------------------------------------------------------- settlement


def group(status: str, open_quantity: str, realised: str, fees: str) -> dict[str, Any]:
    return {
        "status": status,
        "open_quantity": open_quantity,
        "filled_quantity": "0.158",
        "realised_pnl": realised,
        "fees": fees,
        "pyramid_count": 1,
        "close_reason": "manual_close" if status == "closed" else None,
    }


SOL_ORDERS = [
    {
        "client_order_id": "e2e-g2-p0-l0-entry-0",
        "side": "buy",
        "purpose": "entry",
        "filled_quantity": "0.158",
        "average_price": "126.35",
        "created_at_ms": 1_000,
        "updated_at_ms": 1_000,
    },
    {
        "client_order_id": "e2e-g2-p0-l1-dca-0",
        "side": "buy",
        "purpose": "dca",
        "filled_quantity": "0",
        "average_price": None,
        "created_at_ms": 1_000,
        "updated_at_ms": 81_000,
    },
    {
        "client_order_id": "e2e-g2-p0-l0-tp-0",
        "side": "sell",
        "purpose": "tp",
        "filled_quantity": "0.157",
        "average_price": "127.61",
        "created_at_ms": 1_000,
        "updated_at_ms": 80_000,
    },
]


# the exchange's book of the SOL trade: the entry's fee kept in SOL, the TP sold the whole
# steps (step 0.001) of the 0.157842 held, its fee in USDT
SOL_EXCHANGE = {
    "orders": [
        {
            "client_order_id": "e2e-g2-p0-l0-entry-0",
            "fills": [
                {"quantity": "0.158", "price": "126.35", "fee": "0.000158", "fee_asset": "SOL"}
            ],
        },
        {"client_order_id": "e2e-g2-p0-l1-dca-0", "fills": []},
        {
            "client_order_id": "e2e-g2-p0-l0-tp-0",
            "fills": [
                {"quantity": "0.157", "price": "127.61", "fee": "0.02003477", "fee_asset": "USDT"}
            ],
        },
    ]
}
# realised from the fills: held 0.158 - 0.000158 = 0.157842, sold 0.157, dust 0.000842 open
# at its cost 0.000842 x 126.35 = 0.1063867 ;
# 0.157 x 127.61 - 0.158 x 126.35 + 0.1063867 - 0.02003477
# = 20.03477 - 19.9633 + 0.1063867 - 0.02003477 = 0.15782193
# (check: sold part's cost 0.157 x 126.35 = 19.83695 ; 20.03477 - 19.83695 = 0.19782, minus
# the fees 0.02003477 USDT and 0.000158 x 126.35 = 0.0199633 -> 0.15782193)
SOL_REALISED = "0.15782193"
SOL_FEES = "0.03999807"  # 0.02003477 + 0.0199633


def test_settlement_closes_a_flat_group_and_recomputes_its_pnl() -> None:
    reads = iter(
        [
            group("partially_filled", "0", SOL_REALISED, SOL_FEES),
            group("closed", "0", SOL_REALISED, SOL_FEES),
        ]
    )
    api = ScriptedApi(
        {
            "GET /positions/g2": lambda _p, _b: (200, next(reads)),
            "POST /positions/g2/close": answer({"group_id": "g2", "status": "closed"}),
            "GET /orders": answer(SOL_ORDERS),
            "GET /admin/orders": answer(SOL_EXCHANGE),
            "GET /trades/positions": answer([]),
            # the user's metrics moved by exactly this trade
            "GET /metrics": metrics_answer(realised=SOL_REALISED, closed=1),
        }
    )
    ctx = make_context(api)
    ctx.state.markets["SOLUSDT"] = market("SOLUSDT", "0.01", "0.001", "0.001")
    ctx.state.metrics_before = {"realised_pnl": D(0), "closed_groups": D(0)}
    trade = make_trade(
        "SOLUSDT",
        status="filled",
        price="126.35",
        trade_id="g2",
        order_id="e2e-g2-p0-l0-entry-0",
        fill_quantity=D("0.158"),
        fill_price=D("126.35"),
        exit_result="take_profit",
    )
    ctx.state.trades.append(trade)
    log = PhaseLog("settlement")
    settlement(ctx, log)
    assert "/positions/g2/close" in api.paths("POST")
    assert (trade.status, trade.settled_by_flow) == ("closed", True)
    record = trade.record
    assert record is not None
    # the record keeps the gross entry and its prices; the averages would say (127.61 -
    # 126.35) x 0.158 = 0.19908 - fees 0.03999807 = 0.15908193, as if the dust 0.000842 had
    # been sold too. It stays open at cost 0.000842 x 126.35 = 0.1063867, so the record's PnL
    # is the one from the fills: 20.03477 - 19.9633 + 0.1063867 - 0.02003477 = 0.15782193
    assert (record.entry_price, record.exit_price, record.quantity) == (
        D("126.35"),
        D("127.61"),
        D("0.158"),
    )
    assert record.realised_pnl == D("0.15782193")
    assert (record.entry_time_ms, record.exit_time_ms, record.exit_reason) == (
        1_000,
        80_000,
        "take_profit",
    )
    assert ctx.state.engine_latencies_ms == {"entry_to_exit": [79_000], "signal_to_fill": [0]}
    assert [c.passed for c in log.checks] == [True, True, True]
    assert log.state == "complete"


def test_settlement_flags_a_pnl_that_does_not_match_the_fills() -> None:
    api = ScriptedApi(
        {
            "GET /positions/g2": answer(group("closed", "0", "0.2", SOL_FEES)),
            "GET /orders": answer(SOL_ORDERS),
            "GET /admin/orders": answer(SOL_EXCHANGE),
            "GET /trades/positions": answer([]),
            "GET /metrics": metrics_answer(realised="0.2", closed=1),
        }
    )
    ctx = make_context(api)
    ctx.state.markets["SOLUSDT"] = market("SOLUSDT", "0.01", "0.001", "0.001")
    ctx.state.metrics_before = {"realised_pnl": D(0), "closed_groups": D(0)}
    ctx.state.trades.append(
        make_trade("SOLUSDT", status="filled", price="126.35", trade_id="g2",
                   fill_quantity=D("0.158"), fill_price=D("126.35"))
    )  # fmt: skip
    log = PhaseLog("settlement")
    settlement(ctx, log)
    assert log.checks[0].passed is False
    assert log.checks[0].message == (
        "closed (manual_close), realised 0.2, from fills 0.15782193, "
        "dust 0.000842 open at cost 0.10638670"
    )


def test_current_state_reports_simulated_trades_as_open() -> None:
    ctx = make_context(ScriptedApi())
    ctx.state.start_clock_ms = 5_000
    trade = make_trade(status="filled", fill_quantity=D("0.00020"), fill_price=D("96472.26"))
    trade.simulated.add("fill")
    ctx.state.trades.append(trade)
    record_current_state(ctx)
    record = trade.record
    assert record is not None
    assert (record.is_closed, record.entry_price, record.quantity, record.entry_time_ms) == (
        False,
        D("96472.26"),
        D("0.00020"),
        5_000,
    )
