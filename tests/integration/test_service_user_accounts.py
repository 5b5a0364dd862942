"""``qtrade serve --exchange sim --sim-url URL``: a user who stored API keys trades on their own
simulator account through ccxt; a user without keys on the service's account. The simulator's
own books say which account received which order."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from engine.config import parse_user_config
from engine.service.users import create_user
from engine.store import ExchangeCredentials
from qtrade.commands.serve import ServeOptions, Service, build_service
from tests.kit.service_builders import SEED_USER_FILE
from tests.kit.sim_server import serving_simulator

SEED_ID = "e7d6ae10-2a7d-4383-90d3-461c986e1e71"
SEED_SECRET = "1b6d3edada59826e786088a2161d70b6"
ALICE_ID = "a11ce000-0000-4000-8000-000000000001"
ALICE_SECRET = "alice-webhook-secret-0123456789ab"
ALICE_KEY, ALICE_API_SECRET = "alice-sim-key", "alice-sim-secret"


def _payload(secret: str, symbol: str, price: str, size: str) -> dict[str, Any]:
    return {
        "secret": secret,
        "tv": {
            "exchange": "BINANCE",
            "symbol": symbol,
            "timeframe": "60",
            "action": "buy",
            "entry_price": price,
            "close_price": price,
            "order_size": size,
        },
        "execution_intent": {"type": "signal", "side": "long", "position_size_type": "base"},
    }


@asynccontextmanager
async def _running_with_alice(
    tmp_path: Path, sim_url: str
) -> AsyncIterator[tuple[Service, httpx.AsyncClient]]:
    """``qtrade serve --exchange sim --sim-url``, started, with the seed user (no keys: the
    service's account) and alice, whose stored keys are ALICE_KEY / ALICE_API_SECRET."""
    options = ServeOptions(
        data_dir=str(tmp_path),
        db=f"sqlite:///{tmp_path / 'q.db'}",
        users=(str(SEED_USER_FILE),),
        namespace="t",
        exchange="sim",
        sim_url=sim_url,
        exchanges=("binance",),
    )
    service = build_service(options, environ={"QTRADE_API_TOKEN": "tok"})
    seed = json.loads(SEED_USER_FILE.read_text(), parse_float=Decimal)
    alice_config = {
        **seed,
        "id": ALICE_ID,
        "username": "alice",
        "webhook_secret": ALICE_SECRET,
        "configured_exchanges": ["binance"],
    }
    create_user(service.store, parse_user_config(alice_config), now_ms=1)
    service.store.set_exchange_credentials(
        ALICE_ID, ExchangeCredentials("binance", ALICE_KEY, ALICE_API_SECRET), 1
    )
    transport = httpx.ASGITransport(app=service.app)
    try:
        async with (
            service.app.router.lifespan_context(service.app),
            httpx.AsyncClient(transport=transport, base_url="http://s") as client,
        ):
            await service.runtime.refresh_users()
            yield service, client
    finally:
        service.store.close()


async def test_each_user_trades_on_the_account_of_their_keys(tmp_path: Path) -> None:
    with serving_simulator() as server:
        server.sim.create_account(
            ALICE_KEY, ALICE_API_SECRET, {"USDT": Decimal(5000)}, exchanges=["binance"]
        )
        async with _running_with_alice(tmp_path, server.base_url) as (service, client):
            alice = await client.post(
                f"/webhooks/{ALICE_ID}", json=_payload(ALICE_SECRET, "BTCUSDT", "95992.3", "0.001")
            )
            maaz = await client.post(
                f"/webhooks/{SEED_ID}", json=_payload(SEED_SECRET, "ETHUSDT", "3394", "0.03")
            )
            # the price reaches alice's first DCA limit: the fill happens on her account, and
            # the order sync reads it from there
            server.sim.set_price("binance", "BTCUSDT", Decimal("95500"))
            await service.runtime.sync()
            positions = (
                await client.get("/positions", headers={"Authorization": "Bearer tok"})
            ).json()
            health = (await client.get("/health")).json()
        venue = server.sim.venue("binance")
        alice_orders = {(o.symbol, o.side, o.type) for o in venue.all_orders(ALICE_KEY)}
        service_orders = {(o.symbol, o.side, o.type) for o in venue.all_orders(server.api_key)}
        alice_usdt = venue.balances(ALICE_KEY)["USDT"]
    assert alice.json()["outcome"] == "opened" and maaz.json()["outcome"] == "opened"
    # alice's BTCUSDT entry and DCA grid went to her account only, the seed user's ETHUSDT to
    # the service's account only
    assert {s for s, _, _ in alice_orders} == {"BTCUSDT"}
    assert ("BTCUSDT", "buy", "market") in alice_orders
    assert ("BTCUSDT", "buy", "limit") in alice_orders
    assert {s for s, _, _ in service_orders} == {"ETHUSDT"}
    # alice paid from her own 5,000 USDT: leg 0 is 20 % of 0.001 BTC = 0.0002 at 95992.3 =
    # 19.19846 USDT (the buy's fee is kept in BTC, as Binance does); her DCA buys cost
    # 0.0003 x 95512.33 = 28.653699 and 0.0005 x 95032.37 = 47.516185 USDT
    # after the first DCA filled: 5000 - 19.19846 - 28.653699 = 4952.147841 USDT in all,
    # the second DCA's 47.516185 locked
    assert alice_usdt.free + alice_usdt.locked == Decimal("4952.147841")
    assert alice_usdt.locked == Decimal("47.516185")
    [btc] = [g for g in positions if g["symbol"] == "BTCUSDT"]
    legs = btc["pyramids"][0]["legs"]
    assert [(leg["status"], leg["quantity"]) for leg in legs[:2]] == [
        ("filled", "0.00020"),
        ("filled", "0.00030"),
    ]
    assert legs[1]["average_fill_price"] == "95512.33"
    assert health["exchanges"] == {"binance": "ok"}
    assert health["user_accounts"] == {"binance": {"ok": 1}}


async def test_refused_user_keys_stop_only_that_user_until_the_account_answers(
    tmp_path: Path,
) -> None:
    with serving_simulator() as server:
        # alice's keys are not known to the simulator (yet): every signed call answers 401
        async with _running_with_alice(tmp_path, server.base_url) as (service, client):
            first = await client.post(
                f"/webhooks/{ALICE_ID}", json=_payload(ALICE_SECRET, "BTCUSDT", "95992.3", "0.001")
            )
            refused = await client.post(
                f"/webhooks/{ALICE_ID}", json=_payload(ALICE_SECRET, "SOLUSDT", "240.5", "1")
            )
            maaz = await client.post(
                f"/webhooks/{SEED_ID}", json=_payload(SEED_SECRET, "ETHUSDT", "3394", "0.03")
            )
            during = (await client.get("/health")).json()
            # the keys become valid on the exchange: the next sync's probe finds the account
            server.sim.create_account(
                ALICE_KEY, ALICE_API_SECRET, {"USDT": Decimal(5000)}, exchanges=["binance"]
            )
            await service.runtime.sync()
            after = (await client.get("/health")).json()
            again = await client.post(  # another size: not a duplicate of the refused one
                f"/webhooks/{ALICE_ID}", json=_payload(ALICE_SECRET, "SOLUSDT", "240.5", "2")
            )
    # the first entry was decided (opened), then its order met the refused keys
    assert first.json()["outcome"] == "opened"
    assert (refused.json()["outcome"], refused.json()["reason"]) == (
        "rejected",
        "exchange_auth_failed",
    )
    assert maaz.json()["outcome"] == "opened"  # the service's account is unaffected
    assert during["exchanges"] == {"binance": "ok"}
    assert during["user_accounts"] == {"binance": {"auth_failed": 1}}
    assert after["user_accounts"] == {"binance": {"ok": 1}}
    assert again.json()["outcome"] == "opened"
