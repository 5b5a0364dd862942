"""Trade against ``qtrade sim serve`` with unmodified ccxt, as a new user would.

Start the simulator first (``qtrade sim serve --port 8900``) and run this script, or pass
``--serve`` to let the script start one on a free port. Steps: load markets, buy 0.001 BTC at
market, place a limit buy 1 % below the price, move the price through it with
``POST /admin/price``, see the order fill, and check that the balances changed by exactly
the fills and fees (Decimal arithmetic on the exchange's own strings). Exit status 1 when a
check fails.

    .venv/bin/python scripts/sim_demo.py [--base-url http://127.0.0.1:8900] [--seed 0]
        [--api-key K --api-secret S] [--serve]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import httpx

ROOT = Path(__file__).resolve().parent.parent
SYMBOL = "BTC/USDT"


def _say(step: str, **values: Any) -> None:
    details = ", ".join(f"{key}={value}" for key, value in values.items())
    print(f"- {step}{': ' + details if details else ''}", flush=True)


def _client(base_url: str, api_key: str, api_secret: str) -> Any:
    """ccxt binance pointed at the simulator as ../shared/reference/ccxt_contract.md §1 shows."""
    exchange = ccxt.binance(
        {
            "apiKey": api_key,
            "secret": api_secret,
            "options": {
                "fetchCurrencies": False,
                "fetchMargins": False,
                "fetchMarkets": {"types": ["spot"]},
            },
        }
    )
    exchange.urls["api"] = {
        key: re.sub(r"^https?://[^/]+", base_url, value) if isinstance(value, str) else value
        for key, value in exchange.urls["api"].items()
    }
    return exchange


def _balances(exchange: Any) -> dict[str, Decimal]:
    """Total per asset from the raw /api/v3/account answer (exact strings, not floats)."""
    raw = exchange.privateGetAccount()
    return {b["asset"]: Decimal(b["free"]) + Decimal(b["locked"]) for b in raw["balances"]}


def _expected_change(trades: list[dict[str, Any]]) -> dict[str, Decimal]:
    """What buy fills do to balances: quote -= price x qty; base += qty - fee (fee in base),
    or quote -= fee when the fee is charged in quote."""
    change: dict[str, Decimal] = {}
    for trade in trades:
        info = trade["info"]
        quantity, quote = Decimal(info["qty"]), Decimal(info["quoteQty"])
        fee, fee_asset = Decimal(info["commission"]), info["commissionAsset"]
        change["USDT"] = change.get("USDT", Decimal(0)) - quote
        change["BTC"] = change.get("BTC", Decimal(0)) + quantity
        change[fee_asset] = change.get(fee_asset, Decimal(0)) - fee
    return change


def run(base_url: str, api_key: str, api_secret: str) -> bool:
    exchange = _client(base_url, api_key, api_secret)
    admin = httpx.Client(base_url=base_url, timeout=30)
    markets = exchange.load_markets()
    market = markets[SYMBOL]
    _say(
        "loaded markets",
        count=len(markets),
        btc_tick=market["precision"]["price"],
        btc_step=market["precision"]["amount"],
        btc_min_notional=market["limits"]["cost"]["min"],
    )
    before = _balances(exchange)
    _say("balances before", **{k: str(v) for k, v in sorted(before.items())})
    seen_trades = {t["id"] for t in exchange.fetch_my_trades(SYMBOL)}

    bought = exchange.create_order(SYMBOL, "market", "buy", 0.001)
    _say(
        "market buy 0.001 BTC",
        id=bought["id"],
        status=bought["status"],
        average=bought["average"],
        fills=[(f["price"], f["qty"], f["commission"], f["commissionAsset"])
               for f in bought["info"].get("fills", [])],
    )  # fmt: skip

    last = Decimal(str(exchange.fetch_ticker(SYMBOL)["last"]))
    limit_price = exchange.price_to_precision(SYMBOL, last * Decimal("0.99"))
    resting = exchange.create_order(SYMBOL, "limit", "buy", 0.001, limit_price)
    _say("limit buy 0.001 BTC 1 % below", last=str(last), price=limit_price, id=resting["id"])
    status = exchange.fetch_order(resting["id"], SYMBOL)["status"]
    _say("limit order before the move", status=status)

    target = exchange.price_to_precision(SYMBOL, last * Decimal("0.985"))
    moved = admin.post(
        "/admin/price", json={"exchange": "binance", "symbol": "BTCUSDT", "price": target}
    )
    moved.raise_for_status()
    events = [(e["kind"], e["order_id"], e["status"]) for e in moved.json()["events"]]
    _say("POST /admin/price", price=target, events=events)
    filled = exchange.fetch_order(resting["id"], SYMBOL)
    _say("limit order after the move", status=filled["status"], average=filled["average"])

    trades = [t for t in exchange.fetch_my_trades(SYMBOL) if t["id"] not in seen_trades]
    for trade in trades:
        _say(
            "fill",
            order=trade["order"],
            role=trade["takerOrMaker"],
            price=trade["info"]["price"],
            qty=trade["info"]["qty"],
            fee=f"{trade['info']['commission']} {trade['info']['commissionAsset']}",
        )
    after = _balances(exchange)
    _say("balances after", **{k: str(v) for k, v in sorted(after.items())})

    expected = _expected_change(trades)
    actual = {asset: after.get(asset, Decimal(0)) - before.get(asset, Decimal(0))
              for asset in expected}  # fmt: skip
    checks = {
        "market order filled": bought["status"] == "closed",
        "limit order open before the move": status == "open",
        "limit order filled after the move": filled["status"] == "closed",
        "limit filled at its own price": Decimal(str(filled["average"])) == Decimal(limit_price),
        "two new fills": len(trades) == 2,
        "balances changed by the fills and fees": actual == expected,
    }
    _say("balance change", **{k: str(v) for k, v in sorted(actual.items())})
    _say("expected from fills", **{k: str(v) for k, v in sorted(expected.items())})
    for name, passed in checks.items():
        print(f"  [{'ok' if passed else 'FAIL'}] {name}")
    admin.close()
    return all(checks.values())


def _serve() -> tuple[subprocess.Popen[str], dict[str, str]]:
    command = [
        sys.executable,
        "-c",
        "from qtrade.cli import main; raise SystemExit(main())",
        "sim",
        "serve",
        "--port",
        "0",
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ccxt against qtrade sim serve")
    parser.add_argument("--base-url", default="http://127.0.0.1:8900")
    parser.add_argument("--seed", type=int, default=0, help="the server's --seed (for the keys)")
    parser.add_argument("--api-key")
    parser.add_argument("--api-secret")
    parser.add_argument("--serve", action="store_true", help="start a server on a free port")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from simulator.server import default_credentials

    process = None
    if args.serve:
        process, credentials = _serve()
        base_url, api_key, api_secret = (
            credentials["base_url"],
            credentials["api_key"],
            credentials["api_secret"],
        )
        print(json.dumps(credentials))
    else:
        key, secret = default_credentials(args.seed)
        base_url, api_key, api_secret = (
            args.base_url,
            args.api_key or key,
            args.api_secret or secret,
        )
    try:
        ok = run(base_url, api_key, api_secret)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)
    print("demo: OK" if ok else "demo: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
