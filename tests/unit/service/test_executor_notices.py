"""The executor turns failures an adapter retried by itself (``drain_notices``) into warnings:
a 429 that the ccxt adapter waited out still reaches the operator's event log."""

from __future__ import annotations

from decimal import Decimal

from engine.domain import ConnectionState
from engine.ports import PortNotice
from engine.service.execution import Executor
from engine.store import Severity


class _Clock:
    def now_ms(self) -> int:
        return 1_767_225_600_000


class _RetryingPort:
    """A port whose price call succeeded after the adapter absorbed a rate limit."""

    name = "binance"

    def __init__(self, notices: list[PortNotice]) -> None:
        self.notices = notices

    def drain_notices(self) -> list[PortNotice]:
        drained, self.notices = self.notices, []
        return drained

    async def fetch_price(self, symbol: str) -> Decimal:
        return Decimal("95992.3")


class _PlainPort:
    name = "bybit"

    async def fetch_price(self, symbol: str) -> Decimal:
        return Decimal("3338.7")


def _executor(port: object) -> Executor:
    return Executor({"x": port}, _Clock(), users_of=lambda exchange: [])  # type: ignore[dict-item]


async def test_an_absorbed_rate_limit_becomes_a_warning_and_the_call_succeeds() -> None:
    notice = PortNotice("rate_limited", "fetch_price", "binance -1003 Too many requests", 3.0)
    executor = _executor(_RetryingPort([notice]))
    price, result = await executor.price("x", "BTCUSDT")
    assert price == Decimal("95992.3")
    assert executor.health.state("x") is ConnectionState.OK
    assert len(result.alerts) == 1
    alert = result.alerts[0]
    assert alert.severity is Severity.WARNING
    assert "rate limit" in alert.message
    assert alert.data["retry_after_seconds"] == 3.0
    assert alert.data["operation"] == "fetch_price"
    assert alert.symbol == "BTCUSDT" and alert.exchange == "x"
    # drained: the next call reports nothing again
    _, again = await executor.price("x", "BTCUSDT")
    assert again.alerts == []


async def test_other_retried_failures_are_named_as_retries() -> None:
    notice = PortNotice("retried", "fetch_price", "request timeout")
    _, result = await _executor(_RetryingPort([notice])).price("x", "BTCUSDT")
    assert [a.message for a in result.alerts] == ["Exchange call failed; the adapter retried"]


async def test_a_port_without_notices_adds_no_alert() -> None:
    _, result = await _executor(_PlainPort()).price("x", "ETHUSDT")
    assert result.alerts == []
