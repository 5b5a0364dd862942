"""The testing plan's Test 1.1 command, run verbatim against a real ``qtrade serve`` process
in sim mode (ephemeral port; the script reads the service URL from ``QTRADE_URL``)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import httpx

from tests.kit.service_builders import REPO_ROOT, SEED_USER_FILE, serve_process

# Test 1.1 as the plan writes it, with the seed user's id and secret filled in.
TEST_1_1 = """python3 scripts/simulate_webhook.py \\
  --user-id e7d6ae10-2a7d-4383-90d3-461c986e1e71 \\
  --secret 1b6d3edada59826e786088a2161d70b6 \\
  --exchange BINANCE \\
  --symbol BTCUSDT \\
  --timeframe 60 \\
  --action buy \\
  --side long \\
  --type signal \\
  --entry-price 95992.3 \\
  --close-price 95992.3 \\
  --order-size 0.001"""


def test_plan_test_1_1_opens_the_group_with_dca_legs_resting(tmp_path: Path) -> None:
    token = "plan-token"
    args = ["--data-dir", str(tmp_path), "--users", str(SEED_USER_FILE)]
    with serve_process(args, env={"QTRADE_API_TOKEN": token}) as server:
        command = shlex.split(TEST_1_1.replace("\\\n", " "))  # the shell's line joins
        command[0] = sys.executable  # "python3" of this virtualenv
        result = subprocess.run(
            command,
            cwd=REPO_ROOT,
            env={"QTRADE_URL": server.base_url, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        answer = json.loads(result.stdout)
        groups = server.get("/positions").json()
        exchange = httpx.get(server.base_url + "/admin/orders", timeout=10).json()["orders"]
    assert answer["status_code"] == 202
    assert answer["response"]["outcome"] == "opened"
    [group] = groups
    assert (group["symbol"], group["timeframe"], group["side"]) == ("BTCUSDT", 60, "long")
    legs = group["pyramids"][0]["legs"]
    # SPEC §4: leg 0 0.00020 filled at 95992.30; legs 1 and 2 rest at 95992.30 × 0.995 and
    # × 0.99 rounded down to the tick: 95512.33 (0.00030) and 95032.37 (0.00050)
    assert (legs[0]["status"], legs[0]["quantity"], legs[0]["average_fill_price"]) == (
        "filled",
        "0.00020",
        "95992.30",
    )
    assert [(leg["status"], leg["price"], leg["quantity"]) for leg in legs[1:]] == [
        ("resting", "95512.33", "0.00030"),
        ("resting", "95032.37", "0.00050"),
    ]
    resting = sorted(
        (o["price"], o["quantity"])
        for o in exchange
        if o["status"] == "NEW" and o["side"] == "buy" and o["symbol"] == "BTCUSDT"
    )
    assert resting == [("95032.37", "0.00050"), ("95512.33", "0.00030")]
