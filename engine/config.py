"""Typed, frozen user configuration (SPEC §3), parsed from the seed's JSON format.

Every model rejects unknown keys; every key except ``dca_grid_config.levels`` has a default.
Numbers are ``Decimal`` (JSON is parsed with ``parse_float=Decimal`` so no float ever enters);
ints, numeric strings and Decimals are accepted, floats and booleans are refused. Every error
names the dotted path of the field (``dca_grid_config.levels[1].weight_percent``); malformed
JSON is reported with its line and column.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "PRIORITY_RULE_NAMES",
    "ConfigError",
    "ConfigFieldError",
    "DcaGridConfig",
    "FallbackRules",
    "GridLevel",
    "PrecisionConfig",
    "PriorityRuleName",
    "PriorityRules",
    "RiskConfig",
    "UserConfig",
    "load_user_config",
    "parse_user_config",
    "user_config_to_dict",
]

PriorityRuleName = Literal[
    "same_pair_timeframe", "deepest_loss_percent", "highest_replacement", "fifo"
]
PRIORITY_RULE_NAMES: tuple[PriorityRuleName, ...] = (
    "same_pair_timeframe",
    "deepest_loss_percent",
    "highest_replacement",
    "fifo",
)
_TIMER_ALIASES = {"after_5_pyramids": "after_max_pyramids"}
_PathPart = str | int


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True, slots=True)
class ConfigFieldError:
    """One problem in a config: the dotted field path, why, and where in the JSON text."""

    field: str
    message: str
    line: int | None = None
    column: int | None = None
    code: str = "invalid"

    def __str__(self) -> str:
        where = f" (line {self.line}, column {self.column})" if self.line is not None else ""
        return f"{self.field}: {self.message}{where}"


class ConfigError(Exception):
    """A user config could not be parsed or validated; ``errors`` lists every problem."""

    def __init__(self, errors: Sequence[ConfigFieldError]) -> None:
        self.errors: list[ConfigFieldError] = list(errors)
        count = len(self.errors)
        lines = "\n".join(f"  {error}" for error in self.errors)
        super().__init__(
            f"invalid user config ({count} error{'s' if count != 1 else ''}):\n{lines}"
        )


class _PathErrors(ValueError):
    """Raised inside validators to report errors below the validated model's location."""

    def __init__(self, items: Sequence[tuple[tuple[_PathPart, ...], str, str]]) -> None:
        self.items = list(items)
        super().__init__("; ".join(message for _, message, _ in self.items))


def _join_path(parts: Sequence[_PathPart]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "<root>"


# --------------------------------------------------------------------------- scalar types


def _as_decimal(value: object) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, float):
        raise ValueError("floats are not accepted; write the number as a JSON number or a string")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
    else:
        raise ValueError(f"expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"must be a finite number, got {value!r}")
    return result


def _as_int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    number = _as_decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"expected an integer, got {value!r}")
    return int(number)


Dec = Annotated[Decimal, BeforeValidator(_as_decimal)]
Int = Annotated[int, BeforeValidator(_as_int)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- grid


class GridLevel(_Model):
    """One DCA level: distance from the pyramid's entry, share of its capital, TP distance."""

    gap_percent: Dec = Field(gt=-100)
    weight_percent: Dec = Field(gt=0, le=100)
    tp_percent: Dec = Field(gt=0, lt=100)


def _level_problems(
    levels: Sequence[GridLevel], prefix: tuple[_PathPart, ...]
) -> list[tuple[tuple[_PathPart, ...], str, str]]:
    problems: list[tuple[tuple[_PathPart, ...], str, str]] = []
    total = sum((level.weight_percent for level in levels), Decimal(0))
    if total != 100:
        problems.append(
            (prefix, f"weight_percent values sum to {total}, must be exactly 100", "weights_sum")
        )
    for index in range(1, len(levels)):
        previous, current = levels[index - 1].gap_percent, levels[index].gap_percent
        if current > previous:
            problems.append(
                (
                    (*prefix, index, "gap_percent"),
                    f"gaps must not increase from one level to the next ({current} > {previous})",
                    "gap_order",
                )
            )
    return problems


class DcaGridConfig(_Model):
    """The DCA grid and take-profit settings (SPEC §3, §4, §6.3)."""

    levels: tuple[GridLevel, ...]
    pyramid_specific_levels: dict[str, tuple[GridLevel, ...]] = Field(default_factory=dict)
    max_pyramids: Int = Field(default=5, ge=1, le=20)
    entry_order_type: Literal["market", "limit"] = "market"
    tp_mode: Literal["per_leg", "aggregate", "hybrid", "pyramid_aggregate"] = "per_leg"
    tp_aggregate_percent: Dec = Field(default=Decimal(0), ge=0, lt=100)
    tp_order_type: Literal["limit", "market"] = "limit"
    stop_loss_percent: Dec | None = Field(default=None, gt=0, lt=100)
    default_capital_usd: Dec = Field(default=Decimal(100), gt=0)
    duplicate_window_seconds: Int = Field(default=30, ge=0)

    @field_validator("levels")
    @classmethod
    def _levels_not_empty(cls, levels: tuple[GridLevel, ...]) -> tuple[GridLevel, ...]:
        # checked here, not with min_length, so an invalid single level is not also
        # reported as "too short"
        if not levels:
            raise ValueError("must list at least one level")
        return levels

    @model_validator(mode="after")
    def _check_grids(self) -> DcaGridConfig:
        problems = _level_problems(self.levels, ("levels",))
        allowed = {str(index) for index in range(1, self.max_pyramids)}
        for key, levels in self.pyramid_specific_levels.items():
            path: tuple[_PathPart, ...] = ("pyramid_specific_levels", key)
            if key not in allowed:
                expected = f'"1".."{self.max_pyramids - 1}"' if allowed else "none"
                problems.append(
                    (
                        path,
                        f"pyramid index must be one of {expected}"
                        f" (max_pyramids {self.max_pyramids})",
                        "invalid_key",
                    )
                )
            if not levels:
                problems.append((path, "must list at least one level", "too_short"))
            else:
                problems.extend(_level_problems(levels, path))
        if problems:
            raise _PathErrors(problems)
        return self

    def levels_for(self, pyramid_index: int) -> tuple[GridLevel, ...]:
        """Grid of pyramid ``pyramid_index`` (0 = first entry): its override, else ``levels``."""
        if not 0 <= pyramid_index < self.max_pyramids:
            raise ValueError(
                f"pyramid_index {pyramid_index} out of range 0..{self.max_pyramids - 1}"
            )
        return self.pyramid_specific_levels.get(str(pyramid_index), self.levels)


# --------------------------------------------------------------------------- risk


class FallbackRules(_Model):
    """Market rules used when metadata is incomplete and blocking is off (SPEC §5)."""

    tick_size: Dec = Field(default=Decimal("1e-8"), gt=0)
    step_size: Dec = Field(default=Decimal("1e-6"), gt=0)
    min_qty: Dec = Field(default=Decimal("1e-6"), gt=0)
    min_notional: Dec = Field(default=Decimal(1), gt=0)


class PrecisionConfig(_Model):
    refresh_seconds: Int = Field(default=172_800, ge=1)
    block_on_missing_metadata: StrictBool = True
    fallback_rules: FallbackRules = Field(default_factory=FallbackRules)


class PriorityRules(_Model):
    """Queue ranking rules: which are on, and in which order they are applied (SPEC §7).

    Accepts the object form ``{"same_pair_timeframe": true, ..., "order": [...]}`` (missing
    names in ``order`` are appended in the default order) or a list of the enabled rule
    names in order (rules not listed are off).
    """

    same_pair_timeframe: StrictBool = True
    deepest_loss_percent: StrictBool = True
    highest_replacement: StrictBool = True
    fifo: StrictBool = True
    order: tuple[PriorityRuleName, ...] = PRIORITY_RULE_NAMES

    @model_validator(mode="before")
    @classmethod
    def _from_list_or_partial_order(cls, data: Any) -> Any:
        if isinstance(data, (list, tuple)):
            problems = _rule_name_problems(data, ())
            if problems:
                raise _PathErrors(problems)
            listed = [str(name) for name in data]
            result: dict[str, Any] = {name: name in listed for name in PRIORITY_RULE_NAMES}
            result["order"] = listed + [name for name in PRIORITY_RULE_NAMES if name not in listed]
            return result
        if isinstance(data, Mapping) and isinstance(data.get("order"), (list, tuple)):
            order = data["order"]
            problems = _rule_name_problems(order, ("order",))
            if problems:
                raise _PathErrors(problems)
            full = [str(name) for name in order]
            full += [name for name in PRIORITY_RULE_NAMES if name not in full]
            return {**data, "order": full}
        return data

    @property
    def priority_order(self) -> tuple[str, ...]:
        return tuple(name for name in self.order if getattr(self, name))


def _rule_name_problems(
    names: Sequence[Any], prefix: tuple[_PathPart, ...]
) -> list[tuple[tuple[_PathPart, ...], str, str]]:
    problems: list[tuple[tuple[_PathPart, ...], str, str]] = []
    seen: set[str] = set()
    for index, name in enumerate(names):
        path = (*prefix, index)
        if name not in PRIORITY_RULE_NAMES:
            known = ", ".join(PRIORITY_RULE_NAMES)
            problems.append(
                (path, f"unknown priority rule {name!r} (known: {known})", "invalid_value")
            )
        elif name in seen:
            problems.append((path, f"priority rule {name!r} listed twice", "duplicate"))
        else:
            seen.add(name)
    return problems


class RiskConfig(_Model):
    """Pool, pre-trade limits, risk engine and precision settings (SPEC §3, §5, §7-§9)."""

    max_open_positions_global: Int = Field(default=10, ge=1)
    max_open_positions_per_symbol: Int = Field(default=1, ge=1)
    max_total_exposure_usd: Dec = Field(default=Decimal(10_000), gt=0)
    max_daily_loss_usd: Dec = Field(default=Decimal(500), gt=0)
    loss_threshold_percent: Dec = Field(default=Decimal(-3), lt=0)
    timer_start_condition: Literal["after_all_dca_filled", "after_max_pyramids"] = (
        "after_all_dca_filled"
    )
    post_full_wait_minutes: Int = Field(default=15, ge=0)
    max_winners_to_combine: Int = Field(default=3, ge=1)
    use_trade_age_filter: StrictBool = False
    age_threshold_minutes: Int = Field(default=120, ge=0)
    require_full_pyramids: StrictBool = True
    reset_timer_on_replacement: StrictBool = False
    partial_close_enabled: StrictBool = True
    min_close_notional: Dec = Field(default=Decimal(10), ge=0)
    evaluate_interval_seconds: Int = Field(default=10, ge=1)
    max_slippage_percent: Dec = Field(default=Decimal(1), ge=0)
    slippage_action: Literal["warn", "reject"] = "warn"
    priority_rules: PriorityRules = Field(default_factory=PriorityRules)
    precision: PrecisionConfig = Field(default_factory=PrecisionConfig)

    @field_validator("timer_start_condition", mode="before")
    @classmethod
    def _timer_alias(cls, value: Any) -> Any:
        return _TIMER_ALIASES.get(value, value) if isinstance(value, str) else value

    @property
    def priority_order(self) -> tuple[str, ...]:
        """The enabled queue-ranking rules, in the order they apply."""
        return self.priority_rules.priority_order


# --------------------------------------------------------------------------- user


class UserConfig(_Model):
    """One user's whole configuration, in the seed's format."""

    username: str | None = None
    id: str | None = None
    webhook_secret: str | None = Field(default=None, min_length=1, repr=False)
    configured_exchanges: tuple[str, ...] = ()
    risk_config: RiskConfig = Field(default_factory=RiskConfig)
    dca_grid_config: DcaGridConfig

    @field_validator("configured_exchanges", mode="before")
    @classmethod
    def _lower_exchanges(cls, value: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            return value
        problems: list[tuple[tuple[_PathPart, ...], str, str]] = []
        names: list[Any] = []
        for index, name in enumerate(value):
            if not isinstance(name, str):
                names.append(name)  # the tuple[str] check reports the wrong type
                continue
            clean = name.strip().lower()
            if not clean:
                problems.append(((index,), "exchange name is empty", "invalid_value"))
            elif clean in names:
                problems.append(((index,), f"exchange {clean!r} listed twice", "duplicate"))
            names.append(clean)
        if problems:
            raise _PathErrors(problems)
        return tuple(names)

    def allows_exchange(self, exchange: str) -> bool:
        """True when signals for ``exchange`` may trade: listed, or no list configured."""
        return not self.configured_exchanges or exchange.lower() in self.configured_exchanges


# --------------------------------------------------------------------------- parsing


class _DuplicateKey(ValueError):
    pass


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _load_json(data: str | bytes) -> Any:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError(
                [ConfigFieldError("<json>", f"not valid UTF-8: {exc.reason}", code="invalid_json")]
            ) from None
    try:
        return json.loads(
            data.removeprefix("\ufeff"),
            parse_float=Decimal,
            parse_constant=Decimal,  # NaN/Infinity then fail the finite-number check by field
            object_pairs_hook=_reject_duplicate_keys,
        )
    except json.JSONDecodeError as exc:
        raise ConfigError(
            [ConfigFieldError("<json>", exc.msg, exc.lineno, exc.colno, code="invalid_json")]
        ) from None
    except _DuplicateKey as exc:
        raise ConfigError(
            [ConfigFieldError("<json>", f"duplicate key {exc.args[0]!r}", code="duplicate_key")]
        ) from None


def _field_errors(exc: ValidationError) -> list[ConfigFieldError]:
    errors: list[ConfigFieldError] = []
    for item in exc.errors(include_url=False):
        loc: tuple[_PathPart, ...] = tuple(item["loc"])
        cause = (item.get("ctx") or {}).get("error")
        if isinstance(cause, _PathErrors):
            for sub_path, message, code in cause.items:
                errors.append(ConfigFieldError(_join_path(loc + sub_path), message, code=code))
            continue
        kind = item["type"]
        message = item["msg"]
        if kind == "extra_forbidden":
            message, kind = "unknown key", "unknown_key"
        elif kind == "value_error":
            message, kind = message.removeprefix("Value error, "), "invalid_value"
        errors.append(ConfigFieldError(_join_path(loc), message, code=kind))
    return errors


def parse_user_config(data: str | bytes | Mapping[str, Any]) -> UserConfig:
    """Parse and validate a user config from JSON text or an already-decoded mapping.

    Raises :class:`ConfigError` listing every problem with its dotted field path.
    """
    payload = _load_json(data) if isinstance(data, (str, bytes)) else data
    if not isinstance(payload, Mapping):
        kind = type(payload).__name__
        raise ConfigError(
            [ConfigFieldError("<root>", f"expected a JSON object, got {kind}", code="invalid_type")]
        )
    try:
        return UserConfig.model_validate(dict(payload))
    except ValidationError as exc:
        raise ConfigError(_field_errors(exc)) from None


def load_user_config(path: str | Path) -> UserConfig:
    """Read and parse a user config file (JSON)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(
            [ConfigFieldError("<file>", f"cannot read {path}: {exc.strerror}", code="unreadable")]
        ) from None
    return parse_user_config(raw)


def user_config_to_dict(config: UserConfig) -> dict[str, Any]:
    """JSON-able dict of ``config`` (Decimals as strings) that parses back to an equal config."""
    return config.model_dump(mode="json")
