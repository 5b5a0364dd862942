"""engine.config: defaults, the seed user, validation with field paths, JSON errors (SPEC §3)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from engine.config import (
    ConfigError,
    ConfigFieldError,
    DcaGridConfig,
    GridLevel,
    RiskConfig,
    load_user_config,
    parse_user_config,
    user_config_to_dict,
)
from tests.kit.config_builders import (
    MAAZ_JSON,
    make_dca_config,
    make_user_config,
    seed_level_dicts,
    user_config_dict,
)

D = Decimal

# The seed's "User CURRENT Configuration" block, copied verbatim (seed lines 3-48): the `id`
# and `webhook_secret` lines miss their commas and a stray `}` closes dca_grid_config before
# tp_mode. Line 1 of this string is the opening brace (seed line 3).
SEED_CONFIG_TEXT = """{
    "username": "maaz",
    "id": "e7d6ae10-2a7d-4383-90d3-461c986e1e71"
    "webhook_secret":"1b6d3edada59826e786088a2161d70b6"
    "configured_exchanges": [
      "bybit",
      "binance"
    ],
    "risk_config": {
      "max_open_positions_global": 3,
      "max_open_positions_per_symbol": 1,
      "max_total_exposure_usd": "1000",
      "max_daily_loss_usd": "500",
      "loss_threshold_percent": "-3",
      "timer_start_condition": "after_all_dca_filled",
      "post_full_wait_minutes": 2,
      "max_winners_to_combine": 3,
      "use_trade_age_filter": false,
      "age_threshold_minutes": 120,
      "require_full_pyramids": true,
      "reset_timer_on_replacement": false,
      "partial_close_enabled": true,
      "min_close_notional": "10"
    },
    "dca_grid_config": {
      "levels": [
        {
          "gap_percent": 0,
          "weight_percent": 20,
          "tp_percent": 1
        },
        {
          "gap_percent": -0.5,
          "weight_percent": 30,
          "tp_percent": 1
        },
        {
          "gap_percent": -1,
          "weight_percent": 50,
          "tp_percent": 2
        }
      ],
      }
      "tp_mode": "per_leg",
      "tp_aggregate_percent": 0
}"""


def _errors(data: Any) -> list[ConfigFieldError]:
    with pytest.raises(ConfigError) as caught:
        parse_user_config(data)
    return caught.value.errors


def _fields(data: Any) -> list[str]:
    return [error.field for error in _errors(data)]


class TestDefaults:
    def test_every_key_has_the_spec_default(self) -> None:
        config = parse_user_config(
            {
                "dca_grid_config": {
                    "levels": [{"gap_percent": 0, "weight_percent": 100, "tp_percent": 1}]
                }
            }
        )
        assert config.username is None and config.id is None and config.webhook_secret is None
        assert config.configured_exchanges == ()
        risk = config.risk_config
        assert risk.max_open_positions_global == 10
        assert risk.max_open_positions_per_symbol == 1
        assert risk.max_total_exposure_usd == D("10000")
        assert risk.max_daily_loss_usd == D("500")
        assert risk.loss_threshold_percent == D("-3")
        assert risk.timer_start_condition == "after_all_dca_filled"
        assert risk.post_full_wait_minutes == 15
        assert risk.max_winners_to_combine == 3
        assert risk.use_trade_age_filter is False
        assert risk.age_threshold_minutes == 120
        assert risk.require_full_pyramids is True
        assert risk.reset_timer_on_replacement is False
        assert risk.partial_close_enabled is True
        assert risk.min_close_notional == D("10")
        assert risk.evaluate_interval_seconds == 10
        assert risk.max_slippage_percent == D("1")
        assert risk.slippage_action == "warn"
        assert risk.priority_order == (
            "same_pair_timeframe",
            "deepest_loss_percent",
            "highest_replacement",
            "fifo",
        )
        precision = risk.precision
        assert precision.refresh_seconds == 172_800  # 2 days × 86400 s
        assert precision.block_on_missing_metadata is True
        assert precision.fallback_rules.tick_size == D("0.00000001")
        assert precision.fallback_rules.step_size == D("0.000001")
        assert precision.fallback_rules.min_qty == D("0.000001")
        assert precision.fallback_rules.min_notional == D("1")
        grid = config.dca_grid_config
        assert grid.pyramid_specific_levels == {}
        assert grid.max_pyramids == 5
        assert grid.entry_order_type == "market"
        assert grid.tp_mode == "per_leg"
        assert grid.tp_aggregate_percent == D("0")
        assert grid.tp_order_type == "limit"
        assert grid.stop_loss_percent is None
        assert grid.default_capital_usd == D("100")
        assert grid.duplicate_window_seconds == 30

    def test_levels_are_required(self) -> None:
        errors = _errors({"dca_grid_config": {}})
        assert [(e.field, e.code) for e in errors] == [("dca_grid_config.levels", "missing")]

    def test_levels_must_not_be_empty(self) -> None:
        errors = _errors({"dca_grid_config": {"levels": []}})
        assert [(e.field, e.code) for e in errors] == [("dca_grid_config.levels", "invalid_value")]
        assert errors[0].message == "must list at least one level"

    def test_dca_grid_config_is_required(self) -> None:
        assert _fields({}) == ["dca_grid_config"]

    def test_default_models_build_without_arguments(self) -> None:
        assert RiskConfig().max_open_positions_global == 10


class TestSeedUser:
    def test_maaz_json_loads_with_the_seed_values(self) -> None:
        config = load_user_config(MAAZ_JSON)
        assert config.username == "maaz"
        assert config.id == "e7d6ae10-2a7d-4383-90d3-461c986e1e71"
        assert config.webhook_secret == "1b6d3edada59826e786088a2161d70b6"
        assert config.configured_exchanges == ("bybit", "binance")
        risk = config.risk_config
        assert risk.max_open_positions_global == 3
        assert risk.max_open_positions_per_symbol == 1
        assert risk.max_total_exposure_usd == D("1000")
        assert risk.max_daily_loss_usd == D("500")
        assert risk.loss_threshold_percent == D("-3")
        assert risk.timer_start_condition == "after_all_dca_filled"
        assert risk.post_full_wait_minutes == 2
        assert risk.max_winners_to_combine == 3
        assert risk.use_trade_age_filter is False
        assert risk.age_threshold_minutes == 120
        assert risk.require_full_pyramids is True
        assert risk.reset_timer_on_replacement is False
        assert risk.partial_close_enabled is True
        assert risk.min_close_notional == D("10")
        grid = config.dca_grid_config
        assert grid.levels == (
            GridLevel(gap_percent=D("0"), weight_percent=D("20"), tp_percent=D("1")),
            GridLevel(gap_percent=D("-0.5"), weight_percent=D("30"), tp_percent=D("1")),
            GridLevel(gap_percent=D("-1"), weight_percent=D("50"), tp_percent=D("2")),
        )
        assert grid.tp_mode == "per_leg"
        assert grid.tp_aggregate_percent == D("0")

    def test_json_fraction_is_an_exact_decimal(self) -> None:
        # -0.5 in the file must be Decimal("-0.5") exactly, not the float -0.5 converted
        gap = load_user_config(MAAZ_JSON).dca_grid_config.levels[1].gap_percent
        assert type(gap) is Decimal and gap.as_tuple() == (1, (5,), -1)

    def test_secret_is_not_in_repr(self) -> None:
        assert "1b6d3edada59826e786088a2161d70b6" not in repr(load_user_config(MAAZ_JSON))

    def test_seed_original_text_reports_the_first_missing_comma(self) -> None:
        # Line 3 (`"id": ...`) ends without a comma; the parser stops at the next token, the
        # opening quote of `"webhook_secret"` on line 4 after 4 spaces of indent: column 5.
        errors = _errors(SEED_CONFIG_TEXT)
        assert len(errors) == 1
        error = errors[0]
        assert (error.field, error.line, error.column, error.code) == (
            "<json>",
            4,
            5,
            "invalid_json",
        )
        assert "delimiter" in error.message
        assert "line 4, column 5" in str(ConfigError(errors))

    def test_seed_text_second_slip_is_the_next_missing_comma(self) -> None:
        lines = SEED_CONFIG_TEXT.split("\n")
        lines[2] += ","  # fix line 3; line 4 (webhook_secret) still has no comma
        # next token: `"configured_exchanges"` on line 5, indent 4 -> column 5
        (error,) = _errors("\n".join(lines))
        assert (error.line, error.column) == (5, 5)

    def test_seed_text_with_commas_fixed_and_stray_brace_removed_lacks_a_closing_brace(
        self,
    ) -> None:
        lines = SEED_CONFIG_TEXT.split("\n")
        lines[2] += ","
        lines[3] += ","
        assert lines[42] == "      }"  # line 43: the stray brace
        del lines[42]
        # 45 lines remain; the last `}` closes dca_grid_config, the top-level object is
        # still open when the text ends right after that `}` on line 45 (column 1):
        # the parser expects a delimiter at column 2.
        (error,) = _errors("\n".join(lines))
        assert (error.line, error.column) == (45, 2)
        fixed = "\n".join([*lines, "}"])
        assert parse_user_config(fixed) == load_user_config(MAAZ_JSON)


class TestValidation:
    @pytest.mark.parametrize(
        ("overrides", "field", "code"),
        [
            (
                {
                    "dca_grid_config": {
                        "levels": [
                            {"gap_percent": 0, "weight_percent": 20, "tp_percent": 1},
                            {"gap_percent": "-0.5", "weight_percent": "-30", "tp_percent": 1},
                            {"gap_percent": -1, "weight_percent": 110, "tp_percent": 2},
                        ]
                    }
                },
                "dca_grid_config.levels[1].weight_percent",
                "greater_than",
            ),
            (
                {
                    "dca_grid_config": {
                        "levels": [
                            {"gap_percent": 0, "weight_percent": 20, "tp_percent": 0},
                            {"gap_percent": -1, "weight_percent": 80, "tp_percent": 1},
                        ]
                    }
                },
                "dca_grid_config.levels[0].tp_percent",
                "greater_than",
            ),
            (
                {"risk_config": {"loss_threshold_percent": "3"}},
                "risk_config.loss_threshold_percent",
                "less_than",
            ),
            (
                {"risk_config": {"loss_threshold_percent": 0}},
                "risk_config.loss_threshold_percent",
                "less_than",
            ),
            (
                {"risk_config": {"max_open_positions_global": 0}},
                "risk_config.max_open_positions_global",
                "greater_than_equal",
            ),
            (
                {"risk_config": {"max_total_exposure_usd": "-1"}},
                "risk_config.max_total_exposure_usd",
                "greater_than",
            ),
            (
                {"risk_config": {"max_daily_loss_usd": 0}},
                "risk_config.max_daily_loss_usd",
                "greater_than",
            ),
            (
                {"dca_grid_config": {"max_pyramids": 0}},
                "dca_grid_config.max_pyramids",
                "greater_than_equal",
            ),
            (
                {"dca_grid_config": {"max_pyramids": 21}},
                "dca_grid_config.max_pyramids",
                "less_than_equal",
            ),
            (
                {"dca_grid_config": {"tp_mode": "trailing"}},
                "dca_grid_config.tp_mode",
                "literal_error",
            ),
            (
                {"dca_grid_config": {"entry_order_type": "stop"}},
                "dca_grid_config.entry_order_type",
                "literal_error",
            ),
            (
                {"risk_config": {"slippage_action": "ignore"}},
                "risk_config.slippage_action",
                "literal_error",
            ),
            (
                {"risk_config": {"timer_start_condition": "after_3_pyramids"}},
                "risk_config.timer_start_condition",
                "literal_error",
            ),
            (
                {"risk_config": {"use_trade_age_filter": "yes"}},
                "risk_config.use_trade_age_filter",
                "bool_type",
            ),
            (
                {"risk_config": {"max_open_positions_global": "3.5"}},
                "risk_config.max_open_positions_global",
                "invalid_value",
            ),
            (
                {"risk_config": {"max_total_exposure_usd": "lots"}},
                "risk_config.max_total_exposure_usd",
                "invalid_value",
            ),
            (
                {"risk_config": {"precision": {"fallback_rules": {"tick_size": "0"}}}},
                "risk_config.precision.fallback_rules.tick_size",
                "greater_than",
            ),
            (
                {"dca_grid_config": {"stop_loss_percent": "-2"}},
                "dca_grid_config.stop_loss_percent",
                "greater_than",
            ),
            (
                {"dca_grid_config": {"default_capital_usd": 0}},
                "dca_grid_config.default_capital_usd",
                "greater_than",
            ),
            (
                {"username": 42},
                "username",
                "string_type",
            ),
        ],
    )
    def test_error_names_the_field(self, overrides: dict[str, Any], field: str, code: str) -> None:
        errors = _errors(user_config_dict(**overrides))
        assert (field, code) in [(e.field, e.code) for e in errors]

    def test_weights_must_sum_to_exactly_100(self) -> None:
        # 20 + 30 + 49.99 = 99.99
        levels = seed_level_dicts()
        levels[2]["weight_percent"] = "49.99"
        errors = _errors(user_config_dict(dca_grid_config={"levels": levels}))
        assert [(e.field, e.code) for e in errors] == [("dca_grid_config.levels", "weights_sum")]
        assert "99.99" in errors[0].message

    def test_gaps_must_not_increase(self) -> None:
        # level 2 at -0.2 % sits above level 1 at -0.5 %
        levels = seed_level_dicts()
        levels[2]["gap_percent"] = "-0.2"
        errors = _errors(user_config_dict(dca_grid_config={"levels": levels}))
        assert [(e.field, e.code) for e in errors] == [
            ("dca_grid_config.levels[2].gap_percent", "gap_order")
        ]

    def test_equal_gaps_and_a_non_zero_first_gap_are_allowed(self) -> None:
        levels = [
            {"gap_percent": "-0.2", "weight_percent": 50, "tp_percent": 1},
            {"gap_percent": "-0.2", "weight_percent": 50, "tp_percent": 2},
        ]
        config = make_user_config(dca_grid_config={"levels": levels})
        assert config.dca_grid_config.levels[0].gap_percent == D("-0.2")

    def test_pyramid_specific_levels_are_validated_with_their_path(self) -> None:
        bad = seed_level_dicts()
        bad[0]["weight_percent"] = "10"  # 10 + 30 + 50 = 90
        errors = _errors(
            user_config_dict(
                dca_grid_config={"pyramid_specific_levels": {"2": bad, "5": seed_level_dicts()}}
            )
        )
        assert [(e.field, e.code) for e in errors] == [
            ("dca_grid_config.pyramid_specific_levels.2", "weights_sum"),
            # max_pyramids 5 -> pyramids 0..4; "0" is `levels`, so overrides are "1".."4"
            ("dca_grid_config.pyramid_specific_levels.5", "invalid_key"),
        ]

    def test_unknown_keys_are_rejected_at_every_level(self) -> None:
        data = user_config_dict(
            nickname="m",
            risk_config={
                "max_open_position_global": 3,
                "precision": {"fallback_rules": {"tick": 1}},
            },
            dca_grid_config={
                "levels": [{**seed_level_dicts()[0], "weight_percent": 100, "size": 1}]
            },
        )
        errors = _errors(data)
        assert sorted((e.field, e.code, e.message) for e in errors) == [
            ("dca_grid_config.levels[0].size", "unknown_key", "unknown key"),
            ("nickname", "unknown_key", "unknown key"),
            ("risk_config.max_open_position_global", "unknown_key", "unknown key"),
            ("risk_config.precision.fallback_rules.tick", "unknown_key", "unknown key"),
        ]

    def test_floats_from_a_mapping_are_refused_but_json_fractions_are_exact(self) -> None:
        errors = _errors(user_config_dict(risk_config={"max_total_exposure_usd": 1000.5}))
        assert [(e.field, e.code) for e in errors] == [
            ("risk_config.max_total_exposure_usd", "invalid_value")
        ]
        assert "float" in errors[0].message
        config = parse_user_config(
            '{"risk_config": {"max_total_exposure_usd": 1000.10},'
            ' "dca_grid_config": {"levels": [{"gap_percent": 0, "weight_percent": 100,'
            ' "tp_percent": 0.1}]}}'
        )
        assert config.risk_config.max_total_exposure_usd == D("1000.10")
        assert config.dca_grid_config.levels[0].tp_percent == D("0.1")

    def test_nan_in_json_is_refused_by_field(self) -> None:
        text = json.dumps(user_config_dict()).replace(
            '"risk_config": {}', '"risk_config": {"max_slippage_percent": NaN}'
        )
        errors = _errors(text)
        assert [(e.field, e.code) for e in errors] == [
            ("risk_config.max_slippage_percent", "invalid_value")
        ]

    def test_duplicate_json_keys_are_refused(self) -> None:
        text = '{"dca_grid_config": {"levels": []}, "dca_grid_config": {"levels": []}}'
        (error,) = _errors(text)
        assert (error.field, error.code) == ("<json>", "duplicate_key")
        assert "dca_grid_config" in error.message

    def test_top_level_must_be_an_object(self) -> None:
        (error,) = _errors("[1, 2]")
        assert (error.field, error.code) == ("<root>", "invalid_type")

    def test_configured_exchanges_are_lower_cased_and_duplicates_refused(self) -> None:
        config = make_user_config(configured_exchanges=[" Binance", "BYBIT"])
        assert config.configured_exchanges == ("binance", "bybit")
        assert config.allows_exchange("BINANCE") and not config.allows_exchange("okx")
        assert make_user_config(configured_exchanges=[]).allows_exchange("okx")
        errors = _errors(user_config_dict(configured_exchanges=["binance", "BINANCE"]))
        assert [(e.field, e.code) for e in errors] == [("configured_exchanges[1]", "duplicate")]

    def test_error_string_lists_every_field(self) -> None:
        with pytest.raises(ConfigError) as caught:
            parse_user_config(
                user_config_dict(risk_config={"max_open_positions_global": 0, "fifo": 1})
            )
        text = str(caught.value)
        assert text.startswith("invalid user config (2 errors):")
        assert "risk_config.max_open_positions_global:" in text
        assert "risk_config.fifo: unknown key" in text

    def test_models_are_frozen(self) -> None:
        config = make_user_config()
        with pytest.raises(ValidationError):
            config.risk_config.max_open_positions_global = 99

    def test_unreadable_file_is_a_config_error(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError) as caught:
            load_user_config(tmp_path / "missing.json")
        assert caught.value.errors[0].field == "<file>"

    def test_utf8_bom_file_loads(self, tmp_path: Path) -> None:
        path = tmp_path / "user.json"
        path.write_bytes(b"\xef\xbb\xbf" + MAAZ_JSON.read_bytes())
        assert load_user_config(path) == load_user_config(MAAZ_JSON)


class TestTimerAndPriority:
    def test_after_5_pyramids_is_an_alias(self) -> None:
        config = make_user_config(risk_config={"timer_start_condition": "after_5_pyramids"})
        assert config.risk_config.timer_start_condition == "after_max_pyramids"

    def test_priority_rules_as_a_list_enables_only_those_in_that_order(self) -> None:
        config = make_user_config(risk_config={"priority_rules": ["fifo", "deepest_loss_percent"]})
        assert config.risk_config.priority_order == ("fifo", "deepest_loss_percent")

    def test_priority_rules_as_an_object_switches_rules_off(self) -> None:
        config = make_user_config(
            risk_config={
                "priority_rules": {"same_pair_timeframe": False, "highest_replacement": False}
            }
        )
        assert config.risk_config.priority_order == ("deepest_loss_percent", "fifo")

    def test_priority_rules_partial_order_appends_the_rest_in_default_order(self) -> None:
        config = make_user_config(
            risk_config={"priority_rules": {"order": ["highest_replacement"], "fifo": False}}
        )
        assert config.risk_config.priority_order == (
            "highest_replacement",
            "same_pair_timeframe",
            "deepest_loss_percent",
        )

    @pytest.mark.parametrize(
        ("rules", "field", "code"),
        [
            (["fifo", "newest"], "risk_config.priority_rules[1]", "invalid_value"),
            (["fifo", "fifo"], "risk_config.priority_rules[1]", "duplicate"),
            ({"order": ["fifo", "x"]}, "risk_config.priority_rules.order[1]", "invalid_value"),
            ({"lifo": True}, "risk_config.priority_rules.lifo", "unknown_key"),
        ],
    )
    def test_bad_priority_rules_name_the_entry(self, rules: Any, field: str, code: str) -> None:
        errors = _errors(user_config_dict(risk_config={"priority_rules": rules}))
        assert [(e.field, e.code) for e in errors] == [(field, code)]


class TestLevelsFor:
    def test_override_for_one_pyramid_index(self) -> None:
        second = [
            {"gap_percent": 0, "weight_percent": 50, "tp_percent": 1},
            {"gap_percent": -2, "weight_percent": 50, "tp_percent": 1},
        ]
        grid = make_dca_config(pyramid_specific_levels={"1": second})
        assert [lv.weight_percent for lv in grid.levels_for(0)] == [D(20), D(30), D(50)]
        assert [lv.gap_percent for lv in grid.levels_for(1)] == [D(0), D(-2)]
        assert grid.levels_for(4) == grid.levels

    @pytest.mark.parametrize("index", [-1, 5])
    def test_index_outside_max_pyramids_is_refused(self, index: int) -> None:
        with pytest.raises(ValueError, match=r"out of range 0\.\.4"):
            make_dca_config().levels_for(index)


class TestRoundTrip:
    def test_maaz_round_trips_through_json_text(self) -> None:
        config = load_user_config(MAAZ_JSON)
        as_dict = user_config_to_dict(config)
        assert as_dict["risk_config"]["max_total_exposure_usd"] == "1000"
        assert as_dict["dca_grid_config"]["levels"][1]["gap_percent"] == "-0.5"
        assert parse_user_config(json.dumps(as_dict)) == config

    def test_every_non_default_value_round_trips(self) -> None:
        config = make_user_config(
            risk_config={
                "timer_start_condition": "after_max_pyramids",
                "slippage_action": "reject",
                "priority_rules": ["deepest_loss_percent", "fifo"],
                "precision": {"refresh_seconds": 60, "block_on_missing_metadata": False},
            },
            dca_grid_config={
                "max_pyramids": 3,
                "pyramid_specific_levels": {"2": seed_level_dicts()},
                "entry_order_type": "limit",
                "tp_mode": "hybrid",
                "tp_aggregate_percent": "1.5",
                "tp_order_type": "market",
                "stop_loss_percent": "4",
            },
        )
        again = parse_user_config(json.dumps(user_config_to_dict(config)))
        assert again == config
        assert again.risk_config.priority_order == ("deepest_loss_percent", "fifo")


@st.composite
def _grids(draw: st.DrawFn) -> list[dict[str, str]]:
    # weights: positive integer parts of 100; gaps: strictly falling hundredths of a percent
    count = draw(st.integers(min_value=1, max_value=6))
    cuts = sorted(draw(st.sets(st.integers(1, 99), min_size=count - 1, max_size=count - 1)))
    weights = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    gap = 0
    levels = []
    for weight in weights:
        levels.append(
            {"gap_percent": str(D(gap) / 100), "weight_percent": str(weight), "tp_percent": "1"}
        )
        gap -= draw(st.integers(min_value=0, max_value=500))
    return levels


@settings(max_examples=40, deadline=None)
@given(levels=_grids())
def test_any_valid_grid_round_trips(levels: list[dict[str, str]]) -> None:
    grid = DcaGridConfig.model_validate({"levels": levels})
    assert sum(level.weight_percent for level in grid.levels) == 100
    config = make_user_config(dca_grid_config={"levels": levels})
    assert parse_user_config(json.dumps(user_config_to_dict(config))) == config
