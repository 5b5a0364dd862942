"""Wall time of the feature suite (tests/features) per backend, as JSON.

    .venv/bin/python benchmarks/features.py [--backends sim,sim-rest]

Each backend runs the whole suite once in a fresh pytest process (the way CI and
``qtrade run`` do); the target is under 120 s per backend on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 120.0


def run(backend: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        command = [
            sys.executable, "-m", "pytest", "tests/features", "-q", "-p", "no:cacheprovider",
            "--backend", backend, f"--junitxml={report}",
        ]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, env=dict(os.environ)
        )
        seconds = time.perf_counter() - started
        suite = ET.parse(report).getroot()
        suite = suite if suite.tag == "testsuite" else suite[0]
        counts = {k: int(suite.get(k, "0")) for k in ("tests", "failures", "errors", "skipped")}
        failed = [
            case.get("name")
            for case in suite.iter("testcase")
            if case.find("failure") is not None or case.find("error") is not None
        ]
    return {
        "backend": backend,
        "wall_seconds": round(seconds, 2),
        "under_target": seconds < TARGET_SECONDS,
        **counts,
        "passed": counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"],
        "failed_scenarios": failed,
        "exit_code": done.returncode,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sim,sim-rest")
    args = parser.parse_args()
    results = [run(name) for name in args.backends.split(",") if name]
    print(json.dumps({"target_seconds": TARGET_SECONDS, "cpus": os.cpu_count(), "runs": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
