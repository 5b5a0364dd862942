"""Steps that read the audit log ("logs show ..."): GET /events, the append-only audit table."""

from __future__ import annotations

import json
from typing import Any

from pytest_bdd import then

from tests.steps.support import step_parser
from tests.steps.world import World

__all__ = ["mentions", "ALERT_SEVERITIES"]

ALERT_SEVERITIES = ("warning", "error", "critical")


def mentions(event: dict[str, Any], text: str) -> bool:
    """The event's message or structured data mentions ``text`` (case-insensitive)."""
    haystack = (event.get("message", "") + " " + json.dumps(event.get("data", {}))).lower()
    return text.lower() in haystack


def _events_for(world: World, symbol: str | None = None, **filters: str) -> list[dict[str, Any]]:
    """Events about ``symbol``: naming it, or naming a group of that symbol."""
    events = world.events(**filters)
    if symbol is None:
        return events
    groups = {g["group_id"] for g in world.positions("all") if g["symbol"] == symbol}
    found = []
    for event in events:
        data = event.get("data") or {}
        if symbol in (event.get("symbol"), data.get("symbol")) or data.get("group_id") in groups:
            found.append(event)
    return found


def _summary(events: list[dict[str, Any]]) -> list[str]:
    return [f"[{e['category']}/{e['severity']}] {e['message']}" for e in events[-25:]]


@then(step_parser('logs show "{text}"'))
def logs_show(world: World, text: str) -> None:
    events = world.events()
    assert any(mentions(e, text) for e in events), f"no event mentions {text!r}: {_summary(events)}"


@then(step_parser('logs show "{text}" for {symbol:Sym}'))
def logs_show_for(world: World, text: str, symbol: str) -> None:
    events = _events_for(world, symbol)
    assert any(mentions(e, text) for e in events), (
        f"no {symbol} event mentions {text!r}: {_summary(events)}"
    )


@then(step_parser('logs show "{text}" for {symbol:Sym} {count:d} times'))
def logs_show_times(world: World, text: str, symbol: str, count: int) -> None:
    events = [e for e in _events_for(world, symbol) if text.lower() in e["message"].lower()]
    assert len(events) == count, f"{len(events)} {symbol} events say {text!r}: {_summary(events)}"


@then(step_parser("logs show the webhook was received for {symbol:Sym}"))
def webhook_received(world: World, symbol: str) -> None:
    events = _events_for(world, symbol, category="webhook")
    assert events, f"no webhook event for {symbol}: {_summary(world.events())}"


@then(step_parser('an error is logged about "{text}" for {symbol:Sym}'))
def error_logged(world: World, text: str, symbol: str) -> None:
    events = [
        e
        for e in _events_for(world, symbol)
        if e["severity"] in ("error", "critical") and mentions(e, text)
    ]
    assert events, f"no error event about {text!r} for {symbol}: {_summary(world.events())}"


@then(step_parser("an alert is raised about {exchange:Ex}"))
def alert_exchange(world: World, exchange: str) -> None:
    events = [
        e
        for e in world.events()
        if e["severity"] in ALERT_SEVERITIES
        and (e.get("exchange") == exchange or mentions(e, exchange))
    ]
    assert events, f"no alert about {exchange}: {_summary(world.events())}"


@then("an alert is raised about the rate limit")
def alert_rate_limit(world: World) -> None:
    events = [
        e for e in world.events() if e["severity"] in ALERT_SEVERITIES and mentions(e, "rate")
    ]
    assert events, f"no alert about the rate limit: {_summary(world.events())}"


@then(step_parser("every order event for {symbol:Sym} names exchange {exchange:Ex}"))
def order_events_exchange(world: World, symbol: str, exchange: str) -> None:
    """Each order event is traceable to one exchange: its own exchange field, or else the
    exchange of the group it names."""
    events = _events_for(world, symbol, category="order")
    assert events, f"no order events for {symbol}"
    groups = {g["group_id"]: g["exchange"] for g in world.positions("all")}
    for event in events:
        data = event.get("data") or {}
        named = event.get("exchange") or data.get("exchange") or groups.get(data.get("group_id"))
        assert named == exchange, f"{symbol} order event traced to {named!r}: {event}"


@then(step_parser("a precision refresh on {exchange:Ex} is logged after the rejection"))
def precision_refresh_logged(world: World, exchange: str) -> None:
    events = world.events()
    rejected = [e for e in events if mentions(e, "rejected") and e["category"] == "order"]
    assert rejected, f"no order rejection logged: {_summary(events)}"
    after = int(rejected[-1]["id"])
    refreshed = [
        e
        for e in events
        if e["category"] == "precision"
        and int(e["id"]) > after
        and mentions(e, exchange)
        and (mentions(e, "refresh") or mentions(e, "loaded"))
    ]
    assert refreshed, f"no precision refresh for {exchange} after the rejection: {_summary(events)}"


@then("no order was rejected by the exchange")
def none_rejected(world: World) -> None:
    rejected = [
        e for e in world.events() if e["category"] in ("order", "error") and mentions(e, "rejected")
    ]
    assert not rejected, f"orders rejected: {[(e['message'], e['data']) for e in rejected]}"


@then("the simulator recorded no rate-limit error")
def no_rate_limit(world: World) -> None:
    entries = [e for e in world.exchange_log() if "rate" in json.dumps(e).lower()]
    assert not entries, f"rate-limit entries in the simulator log: {entries[:5]}"


@then(step_parser("{exchange:Ex} answered at most {count:d} requests with an authentication error"))
def auth_errors_at_most(world: World, exchange: str, count: int) -> None:
    entries = [
        e
        for e in world.exchange_log()
        if e.get("exchange") == exchange and "bad_keys" in json.dumps(e)
    ]
    assert 0 < len(entries) <= count, (
        f"{len(entries)} bad-keys answers on {exchange} (expected 1..{count}): {entries[:5]}"
    )
