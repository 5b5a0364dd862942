"""Check the service's exchange connections (the plan's ``exchange_health_check.py``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

import httpx

from qtrade.tools.webhook import DEFAULT_URL

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="exchange_health_check.py", description=__doc__)
    parser.add_argument("--url", default=os.environ.get("QTRADE_URL", DEFAULT_URL))
    args = parser.parse_args(argv)
    try:
        response = httpx.get(f"{args.url.rstrip('/')}/health", timeout=10.0)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        print(json.dumps({"status": "unreachable", "message": str(exc)}), file=sys.stderr)
        return 2
    print(json.dumps(body, indent=2, sort_keys=True))
    exchanges = body.get("exchanges", {}) if isinstance(body, dict) else {}
    healthy = response.is_success and all(state == "ok" for state in exchanges.values())
    return 0 if healthy else 1
