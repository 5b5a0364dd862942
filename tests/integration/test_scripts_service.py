"""The operator scripts around a real ``qtrade serve --exchange sim`` process (SQLite file):
create the seed user, run the plan's Test 1.1, fill the DCA legs and then the take-profits by
moving the price through the admin API, export and verify along the way, and clean up, as an
operator would."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from qtrade.tools import cleanup, export, prices, users, verify, webhook
from tests.kit.service_builders import REPO_ROOT, serve_process

pytestmark = pytest.mark.slow

SEED_ID = "e7d6ae10-2a7d-4383-90d3-461c986e1e71"
SEED_SECRET = "1b6d3edada59826e786088a2161d70b6"

# SPEC §4's worked example once both DCA legs have filled (fees 0.1 %, taken in BTC on buys
# and valued at the fill price):
#   bought 0.00020 + 0.00030 + 0.00050 = 0.00100; the exchange keeps 0.1 % of it as the fee,
#   so the group holds 0.00100 − 0.000001 = 0.000999
#   cost 0.0002 × 95992.30 + 0.0003 × 95512.33 + 0.0005 × 95032.37
#        = 19.19846 + 28.653699 + 47.516185 = 95.368344 → average 95368.344
#   realised so far: minus the entry fees, 0.1 % of the cost = −0.095368344
OPEN_QUANTITY = Decimal("0.000999")
AVERAGE = Decimal("95368.344")
REALISED_ENTRIES = Decimal("-0.095368344")


def _json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def test_operator_flow_against_qtrade_serve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'qtrade.db'}", "--data-dir", str(tmp_path)]
    assert users.main(db) == 0
    assert _json(capsys) == {"user_id": SEED_ID, "webhook_secret": SEED_SECRET}
    with serve_process(["--exchange", "sim", *db]) as service:
        url = ["--url", service.base_url]
        plan = ["--user-id", SEED_ID, "--secret", SEED_SECRET, "--exchange", "BINANCE",
                "--symbol", "BTCUSDT", "--timeframe", "60", "--action", "buy", "--side", "long",
                "--type", "signal", "--entry-price", "95992.3", "--close-price", "95992.3",
                "--order-size", "0.001"]  # fmt: skip
        assert webhook.main([*plan, *url]) == 0
        assert _json(capsys)["response"]["outcome"] == "opened"  # type: ignore[index]
        move = ["--exchange", "binance", "--symbol", "BTCUSDT", *url]
        assert prices.main([*move, "--to", "95000"]) == 0  # both DCA legs fill
        assert _json(capsys)["fills"] == 2  # type: ignore[index]
        assert export.main(["--type", "positions", *db]) == 0
        (group,) = _json(capsys)  # type: ignore[misc]
        assert group["status"] == "active"
        assert Decimal(group["open_quantity"]) == OPEN_QUANTITY
        assert Decimal(group["average_entry"]) == AVERAGE
        assert Decimal(group["realised_pnl"]) == REALISED_ENTRIES
        legs = group["pyramids"][0]["legs"]
        assert [(leg["price"], leg["filled_quantity"], leg["tp_price"]) for leg in legs] == [
            ("95992.30", "0.00020", "96952.22"),
            ("95512.33", "0.00030", "96467.45"),
            ("95032.37", "0.00050", "96933.01"),
        ]
        assert verify.main(db) == 0  # read while the service runs
        assert _json(capsys) == []
        assert export.main(["--type", "orders", *db]) == 0
        orders: list[dict[str, str]] = _json(capsys)  # type: ignore[assignment]
        resting_tps = [o for o in orders if o["purpose"] == "tp" and o["status"] == "open"]
        # a 30 s path up through every TP price: each resting TP fills, and what the engine
        # booked must still agree with the fills
        assert prices.main([*move, "--to", "97000", "--over", "30"]) == 0
        assert _json(capsys)["fills"] == len(resting_tps) > 0  # type: ignore[index]
        assert verify.main(db) == 0
        assert _json(capsys) == []
    # with the service stopped: clean the seed user's positions
    assert cleanup.main(["--username", "maaz", "--confirm", *db]) == 0
    report = _json(capsys)
    deleted = report["deleted"]  # type: ignore[index]
    assert (deleted["groups"], deleted["pyramids"], deleted["legs"]) == (1, 1, 3)
    assert deleted["orders"] >= 6  # 3 entries and a TP per leg (more when a TP was re-sent)
    assert (deleted["queued_signals"], deleted["risk_actions"]) == (0, 0)
    assert report["snapshot_holds_user"] is True  # type: ignore[index]
    assert verify.main(db) == 0
    capsys.readouterr()


def test_the_wrappers_run_as_scripts(tmp_path: Path) -> None:
    """The files under scripts/ are runnable as the plan writes them (python scripts/x.py)."""
    db = ["--db", f"sqlite:///{tmp_path / 'qtrade.db'}", "--data-dir", str(tmp_path)]
    created = subprocess.run(
        [sys.executable, "scripts/create_test_user.py", *db],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["user_id"] == SEED_ID
    audited = subprocess.run(
        [sys.executable, "scripts/verify_database_state.py", *db],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert (audited.returncode, json.loads(audited.stdout)) == (0, [])
    refused = subprocess.run(
        [sys.executable, "scripts/clean_positions_for_user.py", "--username", "maaz", *db],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert refused.returncode == 2 and "--confirm" in refused.stderr
