"""Send many webhooks from a JSON file (the plan's ``bulk_webhook_test.py``).

The file holds a list of objects, each with ``user_id`` and either a full ``payload`` or the
flags of ``simulate_webhook.py`` in snake case (``exchange``, ``symbol``, ``timeframe``...).
Signals go out concurrently (``--concurrency``) and every response is printed, one JSON line
each, in input order, followed by a summary line that counts the outcomes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from qtrade.tools.webhook import DEFAULT_URL, build_payload, webhook_parser

__all__ = ["load_bulk_file", "send_bulk", "main"]


def _flags_to_args(entry: dict[str, Any]) -> argparse.Namespace:
    argv: list[str] = []
    for key, value in entry.items():
        if key in ("payload",) or value is None:
            continue
        argv += [f"--{key.replace('_', '-')}", str(value)]
    return webhook_parser().parse_args(argv)


def load_bulk_file(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """Return (user_id, payload) pairs; raise ValueError naming the bad entry."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of signals")
    pairs: list[tuple[str, dict[str, Any]]] = []
    for index, entry in enumerate(data):
        if not isinstance(entry, dict) or "user_id" not in entry:
            raise ValueError(f"{path}: entry {index}: needs an object with user_id")
        if "payload" in entry:
            pairs.append((str(entry["user_id"]), dict(entry["payload"])))
            continue
        try:
            args = _flags_to_args(entry)
        except SystemExit:
            raise ValueError(f"{path}: entry {index}: bad or missing flags") from None
        pairs.append((args.user_id, build_payload(args)))
    return pairs


async def send_bulk(
    url: str, pairs: Sequence[tuple[str, dict[str, Any]]], *, concurrency: int = 20
) -> list[dict[str, Any]]:
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url.rstrip("/"), timeout=30.0) as client:

        async def one(user_id: str, payload: dict[str, Any]) -> dict[str, Any]:
            async with gate:
                try:
                    response = await client.post(f"/webhooks/{user_id}", json=payload)
                except httpx.HTTPError as exc:
                    return {"status_code": None, "error": str(exc)}
                try:
                    body = response.json()
                except ValueError:
                    body = {"text": response.text}
                return {"status_code": response.status_code, "response": body}

        return list(await asyncio.gather(*(one(u, p) for u, p in pairs)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bulk_webhook_test.py", description=__doc__)
    parser.add_argument("file")
    parser.add_argument("--url", default=os.environ.get("QTRADE_URL", DEFAULT_URL))
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args(argv)
    try:
        pairs = load_bulk_file(args.file)
    except (OSError, ValueError) as exc:
        print(json.dumps({"error": "bad_input", "message": str(exc)}), file=sys.stderr)
        return 2
    results = asyncio.run(send_bulk(args.url, pairs, concurrency=args.concurrency))
    outcomes: Counter[str] = Counter()
    for result in results:
        print(json.dumps(result))
        response = result.get("response")
        outcome = response.get("outcome") if isinstance(response, dict) else None
        outcomes[str(outcome or result.get("status_code"))] += 1
    print(json.dumps({"sent": len(results), "outcomes": dict(sorted(outcomes.items()))}))
    return 0 if all(r.get("status_code") == 202 for r in results) else 1
