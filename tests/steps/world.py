"""The World: what the steps do to the system under test and what they read back.

It knows nothing about how the service runs: a :class:`~tests.steps.backends.Backend` gives it
two HTTP faces (the engine service's contract, /work/briefs/api_contract.md, and the
simulator's admin API) plus the database URL. Every check reads a real source: the service's
API (engine records, audit events), the simulator's own book and balances, the database.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from qtrade.tools.webhook import build_payload, webhook_parser
from tests.steps.backends import Backend, SeedUser
from tests.steps.support import describe

__all__ = ["SentSignal", "World", "ApiError", "REPO_ROOT"]

REPO_ROOT = Path(__file__).resolve().parents[2]


class ApiError(AssertionError):
    """The service answered something other than what the step expected."""


@dataclass
class SentSignal:
    """One webhook the scenario sent, and the service's answer."""

    user: SeedUser
    flags: dict[str, str]
    status_code: int
    body: dict[str, Any]

    @property
    def outcome(self) -> str | None:
        value = self.body.get("outcome")
        return None if value is None else str(value)

    @property
    def reason(self) -> str | None:
        value = self.body.get("reason")
        return None if value is None else str(value)


@dataclass
class World:
    backend: Backend
    user: SeedUser
    users: dict[str, SeedUser] = field(default_factory=dict)
    sent: list[SentSignal] = field(default_factory=list)
    batch: list[SentSignal] = field(default_factory=list)  # the last burst / repeated send
    start_balances: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    realised_before: dict[str, Decimal] = field(default_factory=dict)
    exports: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ plumbing
    def api(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        expect: Iterable[int] = (200,),
    ) -> Any:
        """Call the service (bearer token added) and return the decoded JSON body."""
        response = self.backend.request(method, path, params=params, json=json)
        allowed = tuple(expect)
        if response.status_code not in allowed:
            raise ApiError(
                f"{method} {path} answered {response.status_code} (expected {allowed}): "
                f"{response.text[:500]}"
            )
        return response.json() if response.content else None

    def admin(self, method: str, path: str, *, json: Any = None, params: Any = None) -> Any:
        """Call the simulator's admin API; in sim mode the engine has seen the consequences
        (fills, cancels, prices) before this returns."""
        if not self.backend.price_control:
            raise ApiError(f"backend {self.backend.name} has no simulator admin API")
        response = self.backend.admin(method, path, json=json, params=params)
        if response.status_code >= 300:
            raise ApiError(f"{method} {path} answered {response.status_code}: {response.text}")
        return response.json() if response.content else None

    def close(self) -> None:
        self.backend.close()

    # ------------------------------------------------------------------ users and config
    def user_named(self, username: str | None) -> SeedUser:
        if username is None:
            return self.user
        try:
            return self.users[username]
        except KeyError:
            raise AssertionError(f"no user {username!r} in this scenario") from None

    def config(self, user: SeedUser | None = None) -> dict[str, Any]:
        target = user or self.user
        body = self.api("GET", f"/config/{target.user_id}")
        return dict(body["config"])

    def apply_config(self, config: Mapping[str, Any], user: SeedUser | None = None) -> Any:
        target = user or self.user
        return self.api("PUT", f"/config/{target.user_id}", json=dict(config))

    def add_user(self, username: str, config: Mapping[str, Any]) -> SeedUser:
        body = self.api("POST", "/config/import", json=dict(config), expect=(200, 201))
        created = SeedUser(
            user_id=str(body["user_id"]),
            username=str(body["username"]),
            secret=str(config["webhook_secret"]),
            config=dict(config),
        )
        self.users[username] = created
        return created

    # ------------------------------------------------------------------ signals
    def send_webhook(self, flags: Mapping[str, str], user: SeedUser | None = None) -> SentSignal:
        """Send one webhook built exactly as scripts/simulate_webhook.py builds it from the
        plan's flags (``entry_price`` or ``entry-price`` spellings both accepted)."""
        target = user or self.user
        payload = self._payload(target, flags)
        response = self.backend.request("POST", f"/webhooks/{target.user_id}", json=payload)
        sent = SentSignal(target, dict(flags), response.status_code, _json_or_text(response))
        self.sent.append(sent)
        return sent

    def send_concurrently(
        self, flag_sets: Sequence[Mapping[str, str]], user: SeedUser | None = None
    ) -> list[SentSignal]:
        """Send several webhooks at the same time (one thread each, released together)."""
        target = user or self.user
        payloads = [self._payload(target, dict(flags)) for flags in flag_sets]
        results: list[SentSignal | None] = [None] * len(payloads)
        barrier = threading.Barrier(len(payloads))
        errors: list[BaseException] = []

        def send(index: int) -> None:
            try:
                barrier.wait(timeout=30)
                response = self.backend.request(
                    "POST", f"/webhooks/{target.user_id}", json=payloads[index]
                )
                results[index] = SentSignal(
                    target, dict(flag_sets[index]), response.status_code, _json_or_text(response)
                )
            except BaseException as exc:  # reported below, in the test thread
                errors.append(exc)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(payloads))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        if errors:
            raise errors[0]
        done = [r for r in results if r is not None]
        if len(done) != len(payloads):
            raise AssertionError(f"only {len(done)} of {len(payloads)} concurrent webhooks ended")
        self.sent.extend(done)
        return done

    def _payload(self, user: SeedUser, flags: Mapping[str, str]) -> dict[str, Any]:
        argv = ["--user-id", user.user_id, "--secret", user.secret]
        for key, value in flags.items():
            argv += ["--" + key.replace("_", "-").lstrip("-"), str(value)]
        args = webhook_parser().parse_args(argv)
        stamp = datetime.fromtimestamp(self.backend.clock_ms() / 1000, tz=UTC)
        return build_payload(args, timestamp=stamp.isoformat(timespec="milliseconds"))

    def signals(self, outcome: str | None = None, user: SeedUser | None = None) -> list[Any]:
        params: dict[str, Any] = {"user_id": (user or self.user).user_id, "limit": 10000}
        if outcome:
            params["outcome"] = outcome
        return list(self.api("GET", "/signals", params=params))

    # ------------------------------------------------------------------ prices and time
    def set_price(self, exchange: str, symbol: str, price: Decimal) -> Any:
        body = self.admin(
            "POST",
            "/admin/price",
            json={"exchange": exchange, "symbol": symbol, "price": str(price)},
        )
        self.backend.after_admin()
        return body

    def move_price(self, exchange: str, symbol: str, to: Decimal, over_seconds: int) -> Any:
        """A linear move over simulated time (a path keyframe), then the clock plays it."""
        text = f"step: 1s\ntimeline:\n  - {{{symbol}: {to} over {over_seconds}s}}\n"
        self.admin("POST", "/admin/path", json={"yaml": text})
        return self.advance(over_seconds)

    def advance(self, seconds: int | Decimal) -> Any:
        body = self.admin("POST", "/admin/advance", json={"seconds": str(seconds)})
        self.backend.after_admin()
        return body

    # ------------------------------------------------------------------ engine views
    def positions(self, status: str = "all", user: SeedUser | None = None) -> list[Any]:
        params = {"user_id": (user or self.user).user_id, "status": status}
        return list(self.api("GET", "/positions", params=params))

    def groups(
        self,
        exchange: str,
        symbol: str,
        timeframe: int | None = None,
        side: str | None = None,
        user: SeedUser | None = None,
    ) -> list[dict[str, Any]]:
        found = []
        for group in self.positions("all", user):
            if group["exchange"].lower() != exchange.lower() or group["symbol"] != symbol:
                continue
            if timeframe is not None and int(group["timeframe"]) != timeframe:
                continue
            if side is not None and group["side"] != side:
                continue
            found.append(group)
        return found

    def group(
        self, exchange: str, symbol: str, timeframe: int, side: str | None = None
    ) -> dict[str, Any]:
        """The newest group for that key (an earlier, closed one may exist)."""
        found = self.groups(exchange, symbol, timeframe, side)
        if not found:
            listed = [describe(g) for g in self.positions("all")]
            raise AssertionError(f"no {symbol} {timeframe} group on {exchange}; groups: {listed}")
        return max(found, key=lambda g: (int(g.get("created_at_ms") or 0), str(g["group_id"])))

    def remember_realised(self) -> None:
        """Note every group's realised PnL before an action, for "rose by ... " checks."""
        self.realised_before = {
            str(g["group_id"]): Decimal(str(g["realised_pnl"])) for g in self.positions("all")
        }

    def queue(self) -> list[Any]:
        return list(self.api("GET", "/queue", params={"user_id": self.user.user_id}))

    def pool(self) -> dict[str, Any]:
        return dict(self.api("GET", "/pool", params={"user_id": self.user.user_id}))

    def risk(self) -> list[Any]:
        return list(self.api("GET", "/risk", params={"user_id": self.user.user_id}))

    def risk_actions(self) -> list[Any]:
        return list(self.api("GET", "/risk/actions", params={"user_id": self.user.user_id}))

    def run_risk(self) -> Any:
        return self.api("POST", "/risk/run", params={"user_id": self.user.user_id})

    def risk_control(self, group_id: str, action: str) -> Any:
        return self.api("POST", f"/risk/{group_id}/{action}")

    def events(
        self,
        category: str | None = None,
        contains: str | None = None,
        symbol: str | None = None,
        severity: str | None = None,
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": 10000}
        for key, value in (
            ("category", category),
            ("contains", contains),
            ("symbol", symbol),
            ("severity", severity),
        ):
            if value is not None:
                params[key] = value
        return list(self.api("GET", "/events", params=params))

    def engine_orders(self) -> list[Any]:
        return list(self.api("GET", "/orders", params={"user_id": self.user.user_id}))

    def metrics(self) -> dict[str, Any]:
        return dict(self.api("GET", "/metrics", params={"user_id": self.user.user_id}))

    def health(self) -> dict[str, Any]:
        response = self.backend.request("GET", "/health", params=None, json=None)
        if response.status_code not in (200, 503):
            raise ApiError(f"GET /health answered {response.status_code}: {response.text}")
        return dict(response.json())

    def refresh_precision(self, exchange: str | None = None, symbol: str | None = None) -> Any:
        params = {k: v for k, v in (("exchange", exchange), ("symbol", symbol)) if v}
        body = self.api("POST", "/precision/refresh", params=params)
        return body

    # ------------------------------------------------------------------ the exchange's view
    def exchange_orders(
        self, exchange: str, symbol: str | None = None, open_only: bool = False
    ) -> list[dict[str, Any]]:
        return self.backend.exchange_orders(exchange, symbol, open_only)

    def exchange_balances(self, exchange: str) -> dict[str, Decimal]:
        return self.backend.exchange_balances(exchange)

    def exchange_log(self, kind: str | None = None) -> list[dict[str, Any]]:
        body = self.admin("GET", "/admin/log", params={"kind": kind} if kind else None)
        return list(body["entries"])

    def inject_fault(self, **fault: Any) -> Any:
        return self.admin("POST", "/admin/faults", json=fault)

    def clear_faults(self, exchange: str | None = None) -> Any:
        return self.admin(
            "DELETE", "/admin/faults", params={"exchange": exchange} if exchange else None
        )

    # ------------------------------------------------------------------ the database
    def export(self, kind: str) -> list[dict[str, Any]]:
        """Rows of the database as scripts/export_data.py writes them (JSON), read back."""
        rows = self.backend.export(kind)
        self.exports[kind] = rows
        return rows

    def verify_database(self) -> list[str]:
        """Problems reported by scripts/verify_database_state.py (empty list: clean)."""
        return self.backend.verify_database()

    def cleanup_user(self, username: str) -> None:
        self.backend.cleanup_user(self.user_named(username))


def _json_or_text(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"text": response.text}
    return body if isinstance(body, dict) else {"body": body}
