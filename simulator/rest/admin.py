"""The admin API (``/admin/...``): move prices, play the path, load paths, inject faults,
inspect orders, balances and the log, create accounts, reset.

JSON in and out; amounts are Decimal strings (JSON numbers are accepted only as integers,
never as floats); bad input answers 422 with ``detail: [{loc, msg, type}]`` naming the field.
No authentication: the server is a local test tool (bind it to 127.0.0.1).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, StrictInt

from engine.domain import to_decimal
from simulator.errors import SimError
from simulator.faults import Fault
from simulator.models import SimEvent, SimOrder, SimTrade
from simulator.rest.common import RestContext
from simulator.rest.params import format_decimal

__all__ = ["admin_router", "event_json", "order_json", "trade_json", "json_safe"]


def _decimal_input(value: object) -> Decimal:
    return to_decimal(value, field="value")


DecimalText = Annotated[Decimal, BeforeValidator(_decimal_input)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PriceBody(_Strict):
    exchange: str
    symbol: str
    price: DecimalText


class AdvanceBody(_Strict):
    seconds: DecimalText | None = None
    until_ms: StrictInt | None = None


class PathBody(_Strict):
    file: str | None = None
    yaml: str | None = None
    symbol: str | None = None


class AccountBody(_Strict):
    api_key: str | None = None
    api_secret: str | None = None
    balances: dict[str, DecimalText] | None = None
    exchanges: list[str] | None = None


class SettingsBody(_Strict):
    response_lost_delay_ms: StrictInt


def _unprocessable(field: str, message: str, *, index: int | None = None) -> HTTPException:
    loc: list[Any] = ["body", field] if index is None else ["body", index, field]
    return HTTPException(
        status_code=422, detail=[{"loc": loc, "msg": message, "type": "value_error"}]
    )


def _from_value_error(
    exc: Exception, default_field: str, *, index: int | None = None
) -> HTTPException:
    """``ValueError("field: reason")`` (the simulator's convention) → a 422 naming field
    (``index``: the position in a list body)."""
    text = str(exc)
    field, sep, message = text.partition(": ")
    if not sep or " " in field:
        field, message = default_field, text
    return _unprocessable(field, message, index=index)


def json_safe(value: Any) -> Any:
    """Decimals as strings, containers recursively, other non-JSON values as strings."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def trade_json(trade: SimTrade) -> dict[str, Any]:
    return {
        "trade_id": trade.trade_id,
        "order_id": trade.order_id,
        "client_order_id": trade.client_order_id,
        "symbol": trade.symbol,
        "side": trade.side,
        "price": format(trade.price, "f"),
        "quantity": format(trade.quantity, "f"),
        "quote_quantity": format(trade.quote_quantity, "f"),
        "fee": format(trade.fee, "f"),
        "fee_asset": trade.fee_asset,
        "is_maker": trade.is_maker,
        "time_ms": trade.time_ms,
    }


def order_json(order: SimOrder) -> dict[str, Any]:
    def text(value: Decimal | None) -> str | None:
        return None if value is None else format(value, "f")

    return {
        "exchange": order.exchange,
        "order_id": order.order_id,
        "client_order_id": order.client_order_id,
        "symbol": order.symbol,
        "side": order.side,
        "type": order.type,
        "price": text(order.price),
        "quantity": text(order.quantity),
        "quote_quantity": text(order.quote_quantity),
        "filled_quantity": format(order.filled_quantity, "f"),
        "cumulative_quote": format(order.cumulative_quote, "f"),
        "status": order.status.value,
        "time_in_force": order.time_in_force,
        "post_only": order.post_only,
        "created_ms": order.created_ms,
        "updated_ms": order.updated_ms,
        "fills": [trade_json(t) for t in order.fills],
    }


def event_json(event: SimEvent) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "time_ms": event.time_ms,
        "exchange": event.exchange,
        "api_key": event.api_key,
        "symbol": event.symbol,
        "order_id": event.order_id,
        "client_order_id": event.client_order_id,
        "status": event.status.value,
        "trade": trade_json(event.trade) if event.trade is not None else None,
    }


def admin_router(context: RestContext) -> APIRouter:
    """The ``/admin`` routes over ``context.sim`` (plain ``def`` handlers: FastAPI runs them
    in its thread pool, so a long ``advance`` does not block the exchange faces)."""
    sim = context.sim
    router = APIRouter(prefix="/admin", tags=["admin"])

    def venue_names(exchange: str | None) -> list[str]:
        if exchange is None:
            return sorted(sim.venues)
        try:
            return [sim.venue(exchange).name]
        except ValueError as exc:
            raise _from_value_error(exc, "exchange") from None

    def status() -> dict[str, Any]:
        return {
            "clock_ms": sim.clock_ms,
            "seed": sim.seed,
            "exchanges": {
                name: {"symbols": sorted(venue.markets), "accounts": len(venue.accounts)}
                for name, venue in sorted(sim.venues.items())
            },
            "path_symbols": sorted(sim.path),
            "response_lost_delay_ms": context.response_lost_delay_ms,
        }

    @router.get("/status")
    def get_status() -> dict[str, Any]:
        with sim.lock:
            return status()

    @router.get("/prices")
    def get_prices(exchange: str | None = None) -> dict[str, Any]:
        with sim.lock:
            return {
                name: {
                    symbol: format(sim.venue(name).last_price(symbol), "f")
                    for symbol in sorted(sim.venue(name).markets)
                }
                for name in venue_names(exchange)
            }

    @router.post("/price")
    def post_price(body: PriceBody) -> dict[str, Any]:
        try:
            events = sim.set_price(body.exchange, body.symbol, body.price)
            venue = sim.venue(body.exchange)
            price = venue.last_price(body.symbol)
        except ValueError as exc:
            raise _from_value_error(exc, "price") from None
        except SimError as exc:  # unknown symbol
            raise _unprocessable("symbol", exc.message) from None
        return {
            "clock_ms": sim.clock_ms,
            "exchange": venue.name,
            "symbol": body.symbol.upper(),
            "price": format(price, "f"),
            "events": [event_json(e) for e in events],
        }

    @router.post("/advance")
    def post_advance(body: AdvanceBody) -> dict[str, Any]:
        if (body.seconds is None) == (body.until_ms is None):
            raise _unprocessable("seconds", "give exactly one of seconds or until_ms")
        try:
            if body.seconds is not None:
                milliseconds = body.seconds * 1000
                if milliseconds < 0 or milliseconds != milliseconds.to_integral_value():
                    raise _unprocessable("seconds", "must be >= 0 with at most 3 decimals")
                events = sim.advance(by_ms=int(milliseconds))
            else:
                events = sim.advance(until_ms=body.until_ms)
        except ValueError as exc:
            raise _from_value_error(exc, "until_ms") from None
        return {"clock_ms": sim.clock_ms, "events": [event_json(e) for e in events]}

    @router.post("/path")
    def post_path(body: PathBody) -> dict[str, Any]:
        if (body.file is None) == (body.yaml is None):
            raise _unprocessable("file", "give exactly one of file (a path file) or yaml")
        try:
            if body.file is not None:
                file = Path(body.file)
                if not file.is_file():
                    raise _unprocessable("file", f"no such file: {body.file}")
                events = sim.load_path(file, symbol=body.symbol)
            else:
                events = sim.load_path_text(str(body.yaml))
        except ValueError as exc:
            raise _from_value_error(exc, "yaml" if body.yaml is not None else "file") from None
        return {
            "clock_ms": sim.clock_ms,
            "path_symbols": sorted(sim.path),
            "events": [event_json(e) for e in events],
        }

    @router.get("/faults")
    def get_faults() -> dict[str, Any]:
        with sim.lock:
            return {"faults": [json_safe(f.to_dict()) for f in sim.faults.faults]}

    @router.post("/faults")
    def post_faults(
        body: Annotated[dict[str, Any] | list[dict[str, Any]], Body()],
    ) -> dict[str, Any]:
        items = body if isinstance(body, list) else [body]
        with sim.lock:
            parsed = []
            for index, item in enumerate(items):
                try:
                    parsed.append(Fault.from_dict(item))
                except (ValueError, TypeError) as exc:
                    where = index if isinstance(body, list) else None
                    raise _from_value_error(exc, "kind", index=where) from None
            added: list[Fault] = []
            for index, fault in enumerate(parsed):
                try:
                    added.append(sim.faults.add(fault))
                except ValueError as exc:
                    for done in added:  # all or nothing
                        sim.faults.remove(done.fault_id)
                    where = index if isinstance(body, list) else None
                    raise _from_value_error(exc, "kind", index=where) from None
            return {"faults": [json_safe(f.to_dict()) for f in added]}

    @router.delete("/faults")
    def delete_faults(exchange: str | None = None) -> dict[str, Any]:
        with sim.lock:
            before = len(sim.faults.faults)
            sim.faults.clear(exchange)
            return {"cleared": before - len(sim.faults.faults)}

    @router.delete("/faults/{fault_id}")
    def delete_fault(fault_id: str) -> dict[str, Any]:
        with sim.lock:
            try:
                sim.faults.remove(fault_id)
            except KeyError:
                raise HTTPException(404, detail=f"fault_id: unknown fault {fault_id!r}") from None
            return {"cleared": 1}

    @router.get("/orders")
    def get_orders(
        exchange: str | None = None, symbol: str | None = None, open_only: bool = False
    ) -> dict[str, Any]:
        with sim.lock:
            listed = []
            for name in venue_names(exchange):
                venue = sim.venue(name)
                orders = venue.all_open_orders() if open_only else venue.orders_snapshot()
                listed += [
                    order_json(o) for o in orders if symbol is None or o.symbol == symbol.upper()
                ]
            return {"orders": listed}

    @router.get("/balances")
    def get_balances(exchange: str | None = None, api_key: str | None = None) -> dict[str, Any]:
        with sim.lock:
            result: dict[str, Any] = {}
            for name in venue_names(exchange):
                venue = sim.venue(name)
                keys = [api_key] if api_key is not None else sorted(venue.accounts)
                per_key: dict[str, Any] = {}
                for key in keys:
                    account = venue.accounts.get(key)
                    if account is None:
                        raise HTTPException(404, detail=f"api_key: unknown account on {name}")
                    per_key[key] = {
                        asset: {
                            "free": format_decimal(b.free),
                            "locked": format_decimal(b.locked),
                            "total": format_decimal(b.total),
                        }
                        for asset, b in sorted(account.balances().items())
                    }
                result[name] = per_key
            return result

    @router.post("/reset")
    def post_reset() -> dict[str, Any]:
        with sim.lock:
            sim.reset()
            return status()

    @router.get("/log")
    def get_log(since: Annotated[int, Query(ge=0)] = 0, kind: str | None = None) -> dict[str, Any]:
        with sim.lock:
            entries = sim.log[since:]
            total = len(sim.log)
        selected = [e for e in entries if kind is None or e.get("kind") == kind]
        return {"entries": json_safe(selected), "next": total}

    @router.post("/accounts", status_code=201)
    def post_account(body: AccountBody) -> dict[str, Any]:
        with sim.lock:
            names = venue_names(None) if body.exchanges is None else body.exchanges
            for name in names:
                venue_names(name)
            index = 1 + max((len(v.accounts) for v in sim.venues.values()), default=0)
            digest = hashlib.sha256(f"qtrade-sim-account:{sim.seed}:{index}".encode()).hexdigest()
            api_key = body.api_key or f"qtsim-acct-{index}-{digest[:16]}"
            api_secret = body.api_secret or digest
            for name in names:
                if api_key in sim.venue(name).accounts:
                    raise _unprocessable("api_key", f"already exists on {name}")
            try:
                sim.create_account(api_key, api_secret, body.balances, exchanges=names)
            except ValueError as exc:
                raise _from_value_error(exc, "balances") from None
            return {
                "api_key": api_key,
                "api_secret": api_secret,
                "exchanges": [sim.venue(n).name for n in names],
                "balances": json_safe(
                    body.balances if body.balances is not None else sim.default_balances
                ),
            }

    @router.post("/settings")
    def post_settings(body: SettingsBody) -> dict[str, Any]:
        if body.response_lost_delay_ms < 0:
            raise _unprocessable("response_lost_delay_ms", "must be >= 0")
        context.response_lost_delay_ms = body.response_lost_delay_ms
        return {"response_lost_delay_ms": context.response_lost_delay_ms}

    return router
