"""The database as the plan's scripts see it: export (scripts/export_data.py), verification
(scripts/verify_database_state.py) and cleanup (scripts/clean_positions_for_user.py).

When a script exists it is run as a user would run it (a subprocess with DATABASE_URL set);
when it does not, the same result is read through the store's export helpers or plain SQL.
The integrity checks below are written here, independently of the code under test.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = ["SCRIPTS", "export", "verify", "cleanup_user", "integrity_problems", "fills_pnl"]

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = REPO_ROOT / "scripts"
VALID_GROUP_STATUSES = {"live", "partially_filled", "active", "closing", "closed", "failed"}


def _run(script: Path, args: list[str], database_url: str) -> subprocess.CompletedProcess[str]:
    """Run one of scripts/*.py. The scripts are thin wrappers around ``qtrade.tools.<name>.main``:
    that function is called in this process (same argv, stdout and exit code as the script),
    sparing an interpreter start per call; a script without that shape runs as a subprocess."""
    module = _TOOLS.get(script.name)
    if module is None:
        env = dict(os.environ, DATABASE_URL=database_url, PYTHONPATH=str(REPO_ROOT))
        return subprocess.run(
            [sys.executable, str(script), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=REPO_ROOT,
        )
    main = importlib.import_module(module).main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = int(main(args) or 0)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess([str(script), *args], code, out.getvalue(), err.getvalue())


_TOOLS = {
    "export_data.py": "qtrade.tools.export",
    "verify_database_state.py": "qtrade.tools.verify",
    "clean_positions_for_user.py": "qtrade.tools.cleanup",
}


def export(database_url: str, kind: str, work_dir: Path) -> list[dict[str, Any]]:
    """``python scripts/export_data.py --type <kind> --format json --output <file>``."""
    script = SCRIPTS / "export_data.py"
    if script.exists():
        output = work_dir / f"{kind}_export.json"
        done = _run(
            script,
            [
                "--type",
                kind,
                "--format",
                "json",
                "--output",
                str(output),
                "--db",
                database_url,
                "--data-dir",
                str(work_dir),
            ],
            database_url,
        )
        if done.returncode != 0:
            raise AssertionError(f"export_data.py --type {kind} failed: {done.stderr[-2000:]}")
        document = json.loads(output.read_text(encoding="utf-8"))
        rows = document.get("rows", document) if isinstance(document, dict) else document
        return list(rows)
    from engine.adapters.sql_store import SqlStore

    store = SqlStore(database_url, migrate=False, data_dir=work_dir)
    try:
        plain = json.loads(json.dumps(store.export_rows(kind), default=str))  # type: ignore[arg-type]
        return [dict(row) for row in plain]
    finally:
        store.close()


def verify(database_url: str, work_dir: Path) -> list[str]:
    """Problems found by our own integrity checks plus scripts/verify_database_state.py."""
    problems = integrity_problems(database_url)
    script = SCRIPTS / "verify_database_state.py"
    if script.exists():
        done = _run(script, ["--db", database_url, "--data-dir", str(work_dir)], database_url)
        if done.returncode != 0:
            problems.append(f"verify_database_state.py: {done.stdout[-1500:]}{done.stderr[-500:]}")
    return problems


def cleanup_user(database_url: str, user_id: str, username: str, work_dir: Path) -> None:
    """Delete one user's positions (groups, pyramids, legs, orders, fills)."""
    script = SCRIPTS / "clean_positions_for_user.py"
    if script.exists():
        args = ["--username", username, "--confirm", "--db", database_url]
        done = _run(script, [*args, "--data-dir", str(work_dir)], database_url)
        if done.returncode != 0:
            raise AssertionError(f"clean_positions_for_user.py failed: {done.stderr[-2000:]}")
        return
    from engine.adapters.sql_store import SqlStore

    store = SqlStore(database_url, migrate=False, data_dir=work_dir)
    try:
        store.delete_user_positions(user_id)
    finally:
        store.close()


def _query(database_url: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


_ORPHANS = {
    "pyramids without a group": (
        "SELECT p.id AS id FROM pyramids p LEFT JOIN position_groups g ON g.id = p.group_id "
        "WHERE g.id IS NULL"
    ),
    "DCA legs without a pyramid": (
        "SELECT l.id AS id FROM dca_legs l LEFT JOIN pyramids p ON p.id = l.pyramid_id "
        "WHERE p.id IS NULL"
    ),
    "orders without their group": (
        "SELECT o.client_order_id AS id FROM orders o "
        "LEFT JOIN position_groups g ON g.id = o.group_id "
        "WHERE o.group_id IS NOT NULL AND g.id IS NULL"
    ),
    "fills without an order": (
        "SELECT f.trade_id AS id FROM fills f LEFT JOIN orders o "
        "ON o.client_order_id = f.client_order_id WHERE o.client_order_id IS NULL"
    ),
    "groups without a user": (
        "SELECT g.id AS id FROM position_groups g LEFT JOIN users u ON u.id = g.user_id "
        "WHERE u.id IS NULL"
    ),
    "legs whose client order id is not an order": (
        "SELECT l.id AS id FROM dca_legs l LEFT JOIN orders o "
        "ON o.client_order_id = l.client_order_id "
        "WHERE l.client_order_id IS NOT NULL AND o.client_order_id IS NULL"
    ),
}


def orphan_problems(database_url: str) -> list[str]:
    problems = []
    for what, sql in _ORPHANS.items():
        rows = _query(database_url, sql)
        if rows:
            problems.append(f"{len(rows)} {what}: {[r['id'] for r in rows[:5]]}")
    return problems


def integrity_problems(database_url: str) -> list[str]:
    """Orphans, invalid statuses, timestamps out of order, SQLite foreign-key violations."""
    problems = orphan_problems(database_url)
    groups = _query(
        database_url, "SELECT id, status, created_at, updated_at, closed_at FROM position_groups"
    )
    for group in groups:
        if group["status"] not in VALID_GROUP_STATUSES:
            problems.append(f"group {group['id']}: invalid status {group['status']!r}")
        created, updated, closed = group["created_at"], group["updated_at"], group["closed_at"]
        if not created <= updated:
            problems.append(f"group {group['id']}: created {created} after updated {updated}")
        if closed is not None and not updated <= closed:
            problems.append(f"group {group['id']}: updated {updated} after closed {closed}")
        if (group["status"] == "closed") != (closed is not None):
            problems.append(f"group {group['id']}: status {group['status']} with closed {closed}")
    if database_url.startswith("sqlite"):
        violations = _query(database_url, "PRAGMA foreign_key_check")
        if violations:
            problems.append(f"foreign key violations: {violations[:5]}")
    return problems


def fills_pnl(database_url: str, group_id: str, base: str, quote: str) -> Decimal:
    """A group's realised PnL recomputed from its stored fills alone:
    Σ sells − Σ buys (long; mirrored for shorts) − fees valued in the quote currency, plus the
    cost of whatever is still open (so a closed group's dust does not count as a loss)."""
    orders = _query(
        database_url, "SELECT client_order_id, side FROM orders WHERE group_id = :g", g=group_id
    )
    side_of = {o["client_order_id"]: o["side"] for o in orders}
    group = _query(database_url, "SELECT side FROM position_groups WHERE id = :g", g=group_id)[0]
    sign = Decimal(1) if group["side"] == "long" else Decimal(-1)
    cash = Decimal(0)
    bought = Decimal(0)
    cost = Decimal(0)
    sold = Decimal(0)
    fees = Decimal(0)
    for order_id, side in side_of.items():
        for fill in _query(
            database_url,
            "SELECT quantity, price, fee, fee_asset FROM fills WHERE client_order_id = :o",
            o=order_id,
        ):
            quantity, price = Decimal(str(fill["quantity"])), Decimal(str(fill["price"]))
            fee = Decimal(str(fill["fee"]))
            opening = (side == "buy") == (sign > 0)
            if opening:
                bought += quantity
                cost += quantity * price
            else:
                sold += quantity
            cash += (-quantity * price) if side == "buy" else quantity * price
            asset = str(fill["fee_asset"]).upper()
            if asset == base.upper():
                fees += fee * price
            elif asset in ("", quote.upper()):
                fees += fee
    still_open = bought - sold
    average = cost / bought if bought else Decimal(0)
    return cash + sign * still_open * average - fees
