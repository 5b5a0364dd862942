"""Benchmark: webhook acknowledgement latency of ``qtrade serve --exchange sim`` (SQLite).

Starts the service as a real process on an ephemeral port over a fresh temporary SQLite
database, creates the seed user (``scenarios/users/maaz.json``), then measures in one run:

- ``baseline``: ``GET /health`` round trips, one at a time (what HTTP and the event loop cost
  on this machine without any engine work or database write);
- ``sustained``: ``--rate`` signals per second for ``--duration`` seconds (default 100/s for
  30 s), paced by asyncio (each send is scheduled at t0 + i / rate, not after the previous
  answer): p50 / p99 / max acknowledgement latency (target p99 <= 20 ms), the achieved rate and
  how late the sends left;
- ``burst``: ``--burst`` signals (default 1,000) sent at once over ``--concurrency``
  connections: latency, throughput, and an audit of the database afterwards: every signal
  stored once with an outcome (none lost, none duplicated), matched by its trade id and by
  the signal id the service answered.

Signals are distinct (each carries its own ``strategy_info.trade_id``, so none is a
duplicate) and cycle over the seed symbols on binance and bybit and several timeframes; once
the user's pool of 3 is full most are queued, and repeats of a queued key replace it.
Percentiles are nearest-rank. Prints one JSON document.

    .venv/bin/python benchmarks/webhook.py [--duration 30] [--rate 100] [--burst 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import httpx

from engine.adapters.sql_store import SqlStore
from qtrade.tools.users import DEFAULT_CONFIG, create_test_user

__all__ = ["percentile", "signal_payload", "run", "main"]

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_P99_MS = 20.0
# seed symbols with the seed's price table (entry prices as TradingView would send them)
SYMBOLS = (
    ("BTCUSDT", "95992.3"), ("ETHUSDT", "3394"), ("SOLUSDT", "240.5"), ("DOTUSDT", "7.5"),
    ("XRPUSDT", "2.5"), ("TRXUSDT", "0.25"), ("DOGEUSDT", "0.38"), ("ADAUSDT", "1.05"),
    ("GALAUSDT", "0.0066"),
)  # fmt: skip
EXCHANGES = ("BINANCE", "BYBIT")
TIMEFRAMES = ("1", "5", "15", "60", "240", "1D")


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (the value at rank ceil(pct/100 × n)); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _summary(latencies_ms: Sequence[float]) -> dict[str, Any]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    return {
        "count": len(latencies_ms),
        "p50_ms": rounded(percentile(latencies_ms, 50)),
        "p90_ms": rounded(percentile(latencies_ms, 90)),
        "p99_ms": rounded(percentile(latencies_ms, 99)),
        "max_ms": rounded(max(latencies_ms) if latencies_ms else None),
    }


def signal_payload(secret: str, index: int, phase: str) -> dict[str, Any]:
    """A distinct, valid TradingView payload: 100 USDT of one seed symbol, long."""
    symbol, price = SYMBOLS[index % len(SYMBOLS)]
    exchange = EXCHANGES[(index // len(SYMBOLS)) % len(EXCHANGES)]
    timeframe = TIMEFRAMES[(index // (len(SYMBOLS) * len(EXCHANGES))) % len(TIMEFRAMES)]
    return {
        "secret": secret,
        "source": "tradingview",
        "timestamp": "2026-01-01T00:00:00.000Z",
        "tv": {
            "exchange": exchange,
            "symbol": symbol,
            "timeframe": timeframe,
            "action": "buy",
            "entry_price": price,
            "close_price": price,
            "order_size": "100",
        },
        "strategy_info": {"trade_id": f"bench-{phase}-{index}"},
        "execution_intent": {"type": "signal", "side": "long", "position_size_type": "quote"},
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_service(workdir: Path, url: str, log: IO[bytes]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    command = [sys.executable, "-m", "qtrade.cli", "serve", "--exchange", "sim",
               "--db", url, "--data-dir", str(workdir), "--port", str(port)]  # fmt: skip
    env = {**os.environ, "QTRADE_API_TOKEN": "bench-token"}
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=log, env=env)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((workdir / "serve.log").read_text(errors="replace"))
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return process, base_url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.terminate()
    process.wait(timeout=30)
    raise RuntimeError("qtrade serve did not answer /health within 120 s")


async def _post(
    client: httpx.AsyncClient, path: str, payload: dict[str, Any]
) -> tuple[float, int, dict[str, Any]]:
    started = time.perf_counter()
    try:
        response = await client.post(path, json=payload)
    except httpx.HTTPError as exc:
        return (time.perf_counter() - started) * 1000, 0, {"error": type(exc).__name__}
    elapsed = (time.perf_counter() - started) * 1000
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {}
    return elapsed, response.status_code, body


async def _baseline(client: httpx.AsyncClient, count: int) -> dict[str, Any]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        await client.get("/health")
        latencies.append((time.perf_counter() - started) * 1000)
    return _summary(latencies)


def _results(replies: Sequence[tuple[float, int, dict[str, Any]]]) -> dict[str, Any]:
    statuses = Counter(str(status) for _, status, _ in replies)
    outcomes = Counter(str(body.get("outcome")) for _, status, body in replies if status == 202)
    errors = Counter(str(body.get("error")) for _, status, body in replies if status == 0)
    return {
        "latency": _summary([latency for latency, _, _ in replies]),
        "status_codes": dict(sorted(statuses.items())),
        "outcomes": dict(sorted(outcomes.items())),
        # requests that got no HTTP answer (status code "0"), by exception
        "client_errors": dict(sorted(errors.items())),
    }


async def _sustained(
    client: httpx.AsyncClient, path: str, secret: str, rate: float, duration: float
) -> tuple[dict[str, Any], list[tuple[float, int, dict[str, Any]]]]:
    total = int(rate * duration)
    tasks: list[asyncio.Task[tuple[float, int, dict[str, Any]]]] = []
    late_ms: list[float] = []
    t0 = time.perf_counter()
    for index in range(total):
        due = t0 + index / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        late_ms.append(max(0.0, (time.perf_counter() - due) * 1000))
        payload = signal_payload(secret, index, "sustained")
        tasks.append(asyncio.create_task(_post(client, path, payload)))
    sent_in = time.perf_counter() - t0
    replies = list(await asyncio.gather(*tasks))
    result = _results(replies)
    result.update(
        sent=total,
        target_rate_per_s=rate,
        achieved_send_rate_per_s=round(total / sent_in, 2) if sent_in > 0 else None,
        send_lateness=_summary(late_ms),
    )
    return result, replies


async def _burst(
    client: httpx.AsyncClient, path: str, secret: str, count: int
) -> tuple[dict[str, Any], list[tuple[float, int, dict[str, Any]]]]:
    payloads = [signal_payload(secret, index, "burst") for index in range(count)]
    started = time.perf_counter()
    replies = list(await asyncio.gather(*(_post(client, path, p) for p in payloads)))
    wall = time.perf_counter() - started
    result = _results(replies)
    result.update(
        sent=count,
        wall_seconds=round(wall, 3),
        throughput_per_s=round(count / wall, 1) if wall > 0 else None,
    )
    return result, replies


def _stored_once(audit: dict[str, Any]) -> bool:
    return bool(
        audit["stored"] == audit["expected"] == audit["distinct_trade_ids"]
        and audit["not_stored"] == audit["stored_twice"] == audit["without_outcome"] == 0
        and audit["outcome_duplicate"] == audit["accepted_but_not_stored"] == 0
    )


def _audit(
    store: SqlStore, phase: str, count: int, replies: Sequence[tuple[float, int, dict[str, Any]]]
) -> dict[str, Any]:
    """Every signal of ``phase`` stored once, with an outcome, under the id it was answered.

    ``not_stored``: signals with no row at all; of them, ``unanswered_not_stored`` never got
    an HTTP answer (the connection failed: the sender knows), while
    ``accepted_but_not_stored`` were answered 202 and are missing (a real loss)."""
    prefix = f"bench-{phase}-"
    stored = [
        s
        for s in store.list_signals()
        if str(s.payload.get("strategy_info", {}).get("trade_id", "")).startswith(prefix)
    ]
    per_trade = Counter(str(s.payload["strategy_info"]["trade_id"]) for s in stored)
    accepted = {str(body.get("signal_id")) for _, status, body in replies if status == 202}
    stored_ids = {s.signal_id for s in stored}
    unanswered = [index for index, (_, status, _) in enumerate(replies) if status == 0]
    return {
        "expected": count,
        "stored": len(stored),
        "distinct_trade_ids": len(per_trade),
        "not_stored": sum(1 for index in range(count) if per_trade[f"{prefix}{index}"] == 0),
        "unanswered_not_stored": sum(1 for i in unanswered if per_trade[f"{prefix}{i}"] == 0),
        "accepted_but_not_stored": len(accepted - stored_ids),
        "stored_twice": sum(1 for n in per_trade.values() if n > 1),
        "without_outcome": sum(1 for s in stored if not s.outcome),
        "outcome_duplicate": sum(1 for s in stored if s.outcome == "duplicate"),
        "outcomes": dict(sorted(Counter(s.outcome for s in stored).items())),
    }


async def _measure(
    base_url: str, user_id: str, secret: str, args: argparse.Namespace
) -> dict[str, Any]:
    path = f"/webhooks/{user_id}"
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    timeout = httpx.Timeout(args.timeout)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:
        baseline = await _baseline(client, args.baseline)
        sustained, sustained_replies = await _sustained(
            client, path, secret, args.rate, args.duration
        )
        burst, burst_replies = await _burst(client, path, secret, args.burst)
    return {
        "baseline_health": baseline,
        "sustained": sustained,
        "burst": burst,
        "_replies": {"sustained": sustained_replies, "burst": burst_replies},
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the service, measure, audit the database, stop the service."""
    with tempfile.TemporaryDirectory(prefix="qtrade-bench-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'qtrade.db'}"
        store = SqlStore(url, data_dir=workdir)
        try:
            now_ms = time.time_ns() // 1_000_000
            user, _ = create_test_user(store, DEFAULT_CONFIG, now_ms=now_ms)
            with (workdir / "serve.log").open("wb") as log:
                process, base_url = _start_service(workdir, url, log)
                try:
                    measured = asyncio.run(
                        _measure(base_url, user.user_id, user.webhook_secret, args)
                    )
                finally:
                    process.terminate()
                    process.wait(timeout=30)
            replies = measured.pop("_replies")
            sustained, burst = measured["sustained"], measured["burst"]
            sustained["audit"] = _audit(store, "sustained", sustained["sent"], replies["sustained"])
            burst["audit"] = _audit(store, "burst", args.burst, replies["burst"])
        finally:
            store.close()
    p99 = measured["sustained"]["latency"]["p99_ms"]
    return {
        "benchmark": "webhook",
        "service": "qtrade serve --exchange sim (1 process, SQLite file, seed user)",
        "config": {
            "rate_per_s": args.rate,
            "duration_s": args.duration,
            "burst": args.burst,
            "concurrency": args.concurrency,
            "baseline_requests": args.baseline,
            "client_timeout_s": args.timeout,
        },
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        **measured,
        "verdict": {
            "target_p99_ms": TARGET_P99_MS,
            "sustained_p99_ms": p99,
            "p99_target_met": p99 is not None and p99 <= TARGET_P99_MS,
            "sustained_all_stored_once": _stored_once(measured["sustained"]["audit"]),
            "burst_all_stored_once": _stored_once(measured["burst"]["audit"]),
        },
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=30.0, help="sustained seconds")
    parser.add_argument("--rate", type=float, default=100.0, help="sustained signals per second")
    parser.add_argument("--burst", type=int, default=1000, help="signals sent at once")
    parser.add_argument("--concurrency", type=int, default=100, help="client connections")
    parser.add_argument("--baseline", type=int, default=200, help="GET /health round trips")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds a request may wait for its answer"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.rate <= 0 or args.duration <= 0 or args.burst < 1 or args.concurrency < 1:
        print(
            "rate, duration, burst, concurrency: must be positive (not_positive)", file=sys.stderr
        )
        return 2
    result = run(args)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
