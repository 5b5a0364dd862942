"""Exchange accounts: whose keys an order is sent with.

Every exchange has the service's own account (the port built at start: the operator's testnet
keys, the simulator's default account). A user who stored API keys for an exchange
(``qtrade users set-keys``, SPEC §11: encrypted at rest) trades on an account of their own: a
port built from those keys by the service's port factory, on first use. A user without keys
uses the service's account. Public calls (market rules, prices) always go through the
service's account.

Each account has its own connection health under its key: the exchange name for the
service's account, ``<exchange>:<user_id>`` for a user's, so one user's refused keys mark only
that user's account ``auth_failed``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from engine.ports import ExchangePort
from engine.store import ExchangeCredentials, Store

__all__ = ["PortFactory", "UserAccounts", "account_key", "close_port", "split_account"]

PortFactory = Callable[[str, ExchangeCredentials], ExchangePort]


def account_key(exchange: str, user_id: str | None) -> str:
    """``binance`` for the service's account, ``binance:<user_id>`` for a user's own."""
    return exchange if user_id is None else f"{exchange}:{user_id}"


def split_account(key: str) -> tuple[str, str | None]:
    """(exchange, user id or None) of an account key."""
    exchange, _, user_id = key.partition(":")
    return exchange, user_id or None


class UserAccounts:
    """Ports of users' own accounts, built from their stored keys on first use and kept until
    :meth:`forget` (keys or config changed). Without a factory (the in-process simulator, whose
    accounts are not keyed by users' real keys) every user trades on the service's account."""

    def __init__(self, store: Store, factory: PortFactory | None) -> None:
        self._store = store
        self._factory = factory
        self._ports: dict[tuple[str, str], ExchangePort | None] = {}

    def port(self, exchange: str, user_id: str) -> ExchangePort | None:
        """The user's own port on ``exchange``, or None when they trade on the service's."""
        if self._factory is None:
            return None
        key = (exchange, user_id)
        if key not in self._ports:
            credentials = self._store.get_exchange_credentials(user_id, exchange)
            self._ports[key] = None if credentials is None else self._factory(exchange, credentials)
        return self._ports[key]

    def built(self) -> list[tuple[str, str, ExchangePort]]:
        """(exchange, user id, port) of every user account built so far."""
        return [(ex, user, port) for (ex, user), port in self._ports.items() if port is not None]

    async def forget(self, user_id: str | None = None) -> None:
        """Drop (and close) the ports of one user, or of everyone: the next call reads the
        stored keys again."""
        keys = [key for key in self._ports if user_id is None or key[1] == user_id]
        for key in keys:
            port = self._ports.pop(key)
            await close_port(port)


async def close_port(port: ExchangePort | None) -> None:
    """Close a port that has a ``close`` (sync or async)."""
    closer = getattr(port, "close", None)
    if closer is None:
        return
    result = closer()
    if asyncio.iscoroutine(result):
        await result
