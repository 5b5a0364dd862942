"""The working context of one ``Engine.handle`` call: state, engine time, the decision being
built, and the groups/users whose derived state must be settled before returning."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.config import UserConfig
from engine.domain import (
    AuditEvent,
    Category,
    Command,
    Decision,
    MarketRules,
    Severity,
    SignalOutcome,
)
from engine.precision import RulesResolution, RulesStatus, resolve_rules
from engine.state import EngineState, GroupState, UserState

__all__ = ["Context", "KNOWN_QUOTES", "guess_base_quote"]

# Quote currencies recognised when a symbol has no metadata at all (fallback rules).
KNOWN_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI", "USD", "EUR", "BTC", "ETH", "BNB")


def guess_base_quote(symbol: str) -> tuple[str, str]:
    """Split ``BTCUSDT`` into (``BTC``, ``USDT``) using the known quote suffixes."""
    for quote in KNOWN_QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return symbol, ""


class Context:
    """State plus the outputs of the event being handled."""

    def __init__(self, state: EngineState, at_ms: int, cache: dict[str, Any] | None = None) -> None:
        self.state = state
        # memo of values derived from the state (never part of it), owned by the Engine
        self.cache: dict[str, Any] = {} if cache is None else cache
        self.now = max(state.now_ms, at_ms)
        state.now_ms = self.now
        self.decision = Decision()
        self.dirty_groups: list[str] = []
        self.dirty_users: set[str] = set()

    # ----------------------------------------------------------------- outputs
    def emit(self, command: Command) -> None:
        self.decision.commands.append(command)

    def outcome(
        self,
        signal_id: str,
        outcome: str,
        reason: str | None = None,
        group_id: str | None = None,
        queue_id: str | None = None,
    ) -> None:
        self.decision.outcomes.append(
            SignalOutcome(signal_id, outcome, reason, group_id, queue_id, self.now)
        )

    def audit(self, category: Category, severity: Severity, message: str, **data: Any) -> None:
        clean = {key: _jsonable(value) for key, value in data.items() if value is not None}
        self.decision.audit.append(AuditEvent(category, severity, message, self.now, clean))

    # ----------------------------------------------------------------- dirtiness
    def touch(self, group: GroupState) -> None:
        if group.group_id not in self.dirty_groups:
            self.dirty_groups.append(group.group_id)
        group.updated_at_ms = max(group.updated_at_ms, self.now)

    def touch_user(self, user_id: str) -> None:
        self.dirty_users.add(user_id)

    # ----------------------------------------------------------------- lookups
    def user(self, user_id: str) -> UserState | None:
        return self.state.users.get(user_id)

    def config(self, user_id: str) -> UserConfig:
        config = self.state.users[user_id].config
        assert isinstance(config, UserConfig)
        return config

    def mark(self, exchange: str, symbol: str) -> Decimal | None:
        return self.state.mark(exchange, symbol)

    def raw_rules(self, exchange: str, symbol: str) -> MarketRules | None:
        return self.state.rules.get(exchange, {}).get(symbol)

    def resolve(self, user_id: str, exchange: str, symbol: str) -> RulesResolution:
        """Rules to size a new entry with (SPEC §5).

        Symbol listed: resolved with the user's fallback/block settings. Exchange listing
        loaded and complete but without the symbol: ``unknown``. No metadata at all: treated
        as incomplete metadata (blocked, or all fallback fields).
        """
        precision = self.config(user_id).risk_config.precision
        rules = self.raw_rules(exchange, symbol)
        if rules is None:
            if self.state.listings.get(exchange, False):
                return resolve_rules(
                    None,
                    precision.fallback_rules,
                    block_on_missing=precision.block_on_missing_metadata,
                )
            base, quote = guess_base_quote(symbol)
            rules = MarketRules(exchange, symbol, base, quote, None, None, None, None)
        return resolve_rules(
            rules, precision.fallback_rules, block_on_missing=precision.block_on_missing_metadata
        )

    def group_rules(self, group: GroupState) -> MarketRules:
        """Rules for orders of an open group: never blocked (closes must always be sizable),
        missing fields come from the user's fallback rules."""
        precision = self.config(group.user_id).risk_config.precision
        rules = self.raw_rules(group.exchange, group.symbol)
        if rules is None:
            base, quote = guess_base_quote(group.symbol)
            rules = MarketRules(group.exchange, group.symbol, base, quote, None, None, None, None)
        resolution = resolve_rules(rules, precision.fallback_rules, block_on_missing=False)
        assert resolution.status in (RulesStatus.OK, RulesStatus.FALLBACK)
        assert resolution.rules is not None
        return resolution.rules


def _jsonable(value: Any) -> Any:
    """Audit data must be JSON-able: Decimals become strings, enums their value."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (str, int, bool, float)) or value is None:
        return value.value if hasattr(value, "value") and isinstance(value, str) else value
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return str(value)
