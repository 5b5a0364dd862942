"""Response (and request) models of the HTTP API: the contract other parts test against.

Decimals are strings, times ISO 8601 UTC strings with ``_ms`` epoch twins. Field names follow
the contract; extra fields may be added, none renamed.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "FieldErrorModel",
    "ErrorResponse",
    "WebhookResponse",
    "LegModel",
    "PyramidModel",
    "GroupModel",
    "CloseResponse",
    "PoolModel",
    "QueueEntryModel",
    "QueueActionResponse",
    "RiskGroupModel",
    "RiskWinnerModel",
    "RiskActionModel",
    "RiskPlanModel",
    "RiskRunResponse",
    "RiskControlResponse",
    "SignalModel",
    "EventModel",
    "OrderModel",
    "MetricsModel",
    "PrecisionExchangeModel",
    "PrecisionRefreshResponse",
    "ConfigFieldErrorModel",
    "ConfigResponse",
    "ConfigValidateResponse",
    "ConfigApplyResponse",
    "ConfigImportResponse",
    "HealthModel",
    "PredictRequest",
    "PredictResponse",
    "TradePlaceRequest",
    "TradePlaceResponse",
    "TradeOrderModel",
    "TradePositionModel",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldErrorModel(_Model):
    field: str = Field(description="dotted path of the offending input")
    message: str
    code: str = Field(description="stable reason code")


class ErrorResponse(_Model):
    detail: list[FieldErrorModel]


class WebhookResponse(_Model):
    """202 for every authenticated, valid webhook (business outcomes are never HTTP errors);
    401 uses the same shape with outcome ``unauthorized``."""

    signal_id: str | None
    outcome: str = Field(description="opened, pyramid, queued, replaced, exited, ... duplicate")
    reason: str | None
    group_id: str | None
    queue_id: str | None


class LegModel(_Model):
    index: int
    pyramid_index: int
    side: str = Field(description="entry order side: buy (long) or sell (short)")
    price: str | None = Field(description="limit price; null for a market leg 0")
    quantity: str
    status: str = Field(
        description="not_placed, resting, partially_filled, filled, closed, cancelled, rejected"
    )
    filled_quantity: str
    average_fill_price: str | None
    tp_price: str | None
    closed_quantity: str
    open_quantity: str = Field(
        description="what the account holds for the leg: filled - base_fee_quantity - closed"
    )
    base_fee_quantity: str = Field(
        description="base asset the exchange kept as entry fees (open_quantity is net of it)"
    )
    sellable_quantity: str = Field(
        description="open quantity rounded down to the market's step (what an order can sell)"
    )
    dust_quantity: str = Field(
        description="open quantity below one step: held, valued at the mark, never sold"
    )
    realised_pnl: str
    fees: str = Field(description="fees of the leg in the quote currency")
    client_order_id: str | None
    tp_order_id: str | None
    gap_percent: str
    weight_percent: str
    tp_percent: str


class PyramidModel(_Model):
    index: int
    signal_id: str
    status: str
    capital: str
    entry_price: str
    leg0_fill_price: str | None
    created_at: str | None
    created_at_ms: int
    legs: list[LegModel]


class GroupModel(_Model):
    group_id: str
    user_id: str
    exchange: str
    symbol: str
    timeframe: int
    side: str
    status: str
    pyramid_count: int
    max_pyramids: int
    average_entry: str | None
    open_quantity: str = Field(
        description="held quantity net of base-asset fees; for a closed group its dust"
    )
    filled_quantity: str
    sellable_quantity: str = Field(description="sum of the legs' sellable quantities (whole steps)")
    dust_quantity: str = Field(
        description="closed: what the group left unsold (below one step or below the "
        "minimums); open: sum of the legs' sub-step remainders"
    )
    realised_pnl: str
    unrealised_pnl: str
    unrealised_percent: str | None
    mark_price: str | None
    fees: str
    legs_filled: int
    legs_total: int
    created_at: str | None
    created_at_ms: int
    updated_at: str | None
    updated_at_ms: int
    closed_at: str | None
    closed_at_ms: int | None
    close_reason: str | None
    tp_mode: str
    stop_price: str | None
    take_profit_price: str | None
    timer_started_at: str | None
    timer_expires_at: str | None
    blocked: bool
    skip_once: bool
    pyramids: list[PyramidModel]


class CloseResponse(_Model):
    group_id: str
    status: str


class PoolModel(_Model):
    user_id: str
    used: int
    max: int
    groups: list[str]


class QueueEntryModel(_Model):
    queue_id: str
    rank: int
    user_id: str
    exchange: str
    symbol: str
    timeframe: int
    side: str
    entry_price: str | None
    order_size: str | None
    size_type: str
    replacement_count: int
    queued_at: str | None
    queued_at_ms: int
    updated_at: str | None
    reason: str
    loss_percent: str | None
    is_continuation: bool
    signal_id: str


class QueueActionResponse(_Model):
    queue_id: str
    action: str
    outcome: str | None = Field(description="the queued signal's outcome after the action")
    reason: str | None
    group_id: str | None


class RiskGroupModel(_Model):
    user_id: str
    group_id: str
    symbol: str
    exchange: str
    status: str
    loss_percent: str | None = Field(description="unrealised % (negative when losing)")
    loss_usd: str | None = Field(description="unrealised USD (negative when losing)")
    timer_started_at: str | None
    timer_expires_at: str | None
    timer_remaining_seconds: int | None
    pyramids: int
    max_pyramids: int
    age_minutes: int
    age_ok: bool
    eligible: bool
    blocked: bool
    skip_once: bool
    reasons: list[str] = Field(description="why the group is not an eligible loser")


class RiskWinnerModel(_Model):
    group_id: str
    quantity: str
    realised_usd: str


class RiskActionModel(_Model):
    action_id: str
    user_id: str
    loser_group_id: str
    loser_loss_percent: str
    loser_loss_usd: str
    loser_close_quantity: str
    covered_usd: str
    winners: list[RiskWinnerModel]
    net_usd: str
    at: str | None
    at_ms: int


class RiskPlanModel(_Model):
    user_id: str
    offset: RiskActionModel | None = Field(description="what a risk cycle would do now")


class RiskRunResponse(_Model):
    actions: list[RiskActionModel]


class RiskControlResponse(_Model):
    group_id: str
    action: str
    blocked: bool
    skip_once: bool


class SignalModel(_Model):
    signal_id: str
    user_id: str
    received_at: str | None
    received_at_ms: int
    outcome: str
    reason: str | None
    group_id: str | None
    queue_id: str | None
    exchange: str | None
    symbol: str | None
    timeframe: str | None
    type: str | None
    action: str | None
    fingerprint: str
    errors: list[FieldErrorModel] = Field(default_factory=list)
    payload: dict[str, Any]


class EventModel(_Model):
    id: int | None
    at: str | None
    at_ms: int
    category: str
    severity: str
    message: str
    user_id: str | None
    symbol: str | None
    exchange: str | None
    data: dict[str, Any]


class OrderModel(_Model):
    client_order_id: str
    exchange_order_id: str | None
    user_id: str
    exchange: str
    symbol: str
    side: str
    type: str
    purpose: str
    price: str | None
    quantity: str
    status: str
    filled_quantity: str
    average_price: str | None
    fees: str = Field(
        description="fees in the quote currency; a fee kept in the base asset is valued at "
        "the average fill price, one in a third asset (BNB) is not counted here"
    )
    group_id: str | None
    reduce_only: bool
    reason: str | None
    created_at: str | None
    created_at_ms: int
    updated_at: str | None
    updated_at_ms: int


class MetricsModel(_Model):
    user_id: str
    realised_pnl: str
    unrealised_pnl: str
    win_rate: str | None = Field(description="share of closed groups with realised PnL > 0")
    closed_groups: int
    open_groups: int
    pool_used: int
    pool_max: int
    queue_length: int
    exposure_usd: str
    max_total_exposure_usd: str
    daily_realised_pnl: str
    max_daily_loss_usd: str


class PrecisionExchangeModel(_Model):
    exchange: str
    loaded: bool
    symbols: int
    error: str | None
    symbol: str | None = None
    known: bool | None = None
    complete: bool | None = None
    tick_size: str | None = None
    step_size: str | None = None
    min_qty: str | None = None
    min_notional: str | None = None


class PrecisionRefreshResponse(_Model):
    exchanges: list[PrecisionExchangeModel]


class ConfigFieldErrorModel(_Model):
    field: str
    message: str
    code: str
    line: int | None
    column: int | None


class ConfigResponse(_Model):
    user_id: str
    username: str
    config: dict[str, Any] = Field(description="the user config; webhook_secret masked")
    exchange_keys: list[dict[str, Any]] = Field(description="stored API keys, masked")


class ConfigValidateResponse(_Model):
    valid: bool
    errors: list[ConfigFieldErrorModel]


class ConfigApplyResponse(_Model):
    user_id: str
    applied: bool
    config: dict[str, Any]


class ConfigImportResponse(_Model):
    user_id: str
    username: str
    created: bool


class HealthModel(_Model):
    status: str = Field(
        description="ok when the database and the service's account on every exchange are ok"
    )
    mode: str
    exchanges: dict[str, str] = Field(
        description="state of the service's own account per exchange: ok, degraded, "
        "disconnected or auth_failed"
    )
    user_accounts: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="users trading with keys of their own: per exchange, how many accounts "
        "are in each state (no user ids)",
    )
    database: str
    engine_time: str | None
    engine_time_ms: int


class PredictRequest(_Model):
    symbol: str
    exchange: str = "binance"


class PredictResponse(_Model):
    symbol: str
    exchange: str
    action: str
    confidence: str
    predicted_return: str
    price: str | None
    observations: int
    model: str


class TradePlaceRequest(_Model):
    user_id: str | None = None
    exchange: str = "binance"
    symbol: str
    side: str = Field(description="buy/long or sell/short")
    timeframe: str = "60"
    order_size: str | None = None
    position_size_type: str = "contracts"
    entry_price: str | None = None
    take_profit: str | None = None
    stop_loss: str | None = None


class TradePlaceResponse(_Model):
    signal_id: str | None
    outcome: str
    reason: str | None
    trade_id: str | None = Field(description="the position group id")
    order_id: str | None = Field(description="client order id of the entry order")
    status: str | None


class TradeOrderModel(_Model):
    order_id: str
    client_order_id: str
    exchange_order_id: str | None
    symbol: str
    side: str
    type: str
    purpose: str
    status: str
    price: str | None
    quantity: str
    filled_quantity: str
    average_price: str | None
    group_id: str
    created_at: str | None
    updated_at: str | None


class TradePositionModel(_Model):
    trade_id: str
    user_id: str
    exchange: str
    symbol: str
    side: str
    status: str
    quantity: str
    average_entry: str | None
    mark_price: str | None
    unrealised_pnl: str
    unrealised_percent: str | None
    realised_pnl: str
    take_profit_prices: list[str]
    stop_price: str | None
