"""engine.signals: TradingView payload -> Signal, field errors, fingerprint (SPEC §2)."""

from __future__ import annotations

import hashlib
import json
import random
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.domain import PositionSide, SignalType
from engine.signals import (
    SignalError,
    SignalFieldError,
    canonical_json,
    load_payload,
    parse_signal,
    parse_timeframe,
    payload_fingerprint,
    signal_capital,
    signal_max_slippage_percent,
)
from tests.kit.config_builders import make_signal, tv_payload

D = Decimal


def _parse(payload: Any) -> Any:
    return parse_signal(payload, user_id="user-1", signal_id="sig-1", received_at_ms=1_000)


def _errors(payload: Any) -> list[SignalFieldError]:
    with pytest.raises(SignalError) as caught:
        _parse(payload)
    return caught.value.errors


def _pairs(payload: Any) -> list[tuple[str, str]]:
    return [(error.field, error.code) for error in _errors(payload)]


class TestSeedTest11:
    def test_full_payload_parses_into_the_signal(self) -> None:
        signal = parse_signal(
            tv_payload(), user_id="maaz", signal_id="sig-42", received_at_ms=1_736_157_600_000
        )
        assert signal.signal_id == "sig-42"
        assert signal.user_id == "maaz"
        assert signal.received_at_ms == 1_736_157_600_000
        assert signal.exchange == "binance"  # "BINANCE" lower-cased
        assert signal.symbol == "BTCUSDT"
        assert signal.timeframe == 60
        assert signal.type is SignalType.SIGNAL
        assert signal.side is PositionSide.LONG
        assert signal.entry_price == D("95992.3")
        assert signal.close_price == D("95992.3")
        assert signal.order_size == D("0.001")
        assert signal.size_type == "contracts"
        assert signal.trade_id == "t1_1"
        assert signal.stop_loss is None and signal.take_profit is None
        assert signal_max_slippage_percent(signal) == D("1")
        assert len(signal.fingerprint) == 64 and int(signal.fingerprint, 16) >= 0

    def test_capital_is_contracts_times_price(self) -> None:
        # 0.001 × 95992.3 = 95.9923
        signal = make_signal()
        assert signal_capital(signal, D("95992.3")) == D("95.9923")

    def test_raw_keeps_the_payload_without_the_secret(self) -> None:
        signal = make_signal()
        assert "secret" not in signal.raw
        assert signal.raw["timestamp"] == "2025-01-06T10:00:00Z"
        assert signal.raw["tv"]["order_size"] == "0.001"
        assert signal.raw["strategy_info"]["alert_name"] == "Test 1.1 basic entry"

    def test_json_body_numbers_are_exact_decimals(self) -> None:
        body = json.dumps(tv_payload()).replace('"95992.3"', "95992.3").encode()
        assert b'"entry_price": 95992.3' in body
        signal = _parse(body)
        assert signal.entry_price == D("95992.3")
        assert type(signal.entry_price) is Decimal
        assert signal.raw["tv"]["entry_price"] == D("95992.3")

    def test_minimal_payload_with_only_required_fields(self) -> None:
        payload = {
            "tv": {"exchange": "bybit", "symbol": "SOLUSDT", "timeframe": "60", "action": "buy"},
            "execution_intent": {"type": "signal"},
        }
        signal = _parse(payload)
        assert (signal.exchange, signal.symbol, signal.timeframe) == ("bybit", "SOLUSDT", 60)
        assert signal.side is PositionSide.LONG
        assert signal.entry_price is None and signal.order_size is None
        assert signal.size_type == "contracts" and signal.trade_id is None
        assert signal_capital(signal, D("125.97")) is None

    def test_extra_keys_are_ignored_and_kept_in_raw(self) -> None:
        signal = make_signal(tv={"note": "x"}, comment={"free": "text"})
        assert signal.raw["comment"] == {"free": "text"}
        assert signal.raw["tv"]["note"] == "x"


class TestTimeframe:
    @pytest.mark.parametrize(
        ("value", "minutes"),
        [
            (60, 60),
            ("60", 60),
            ("15", 15),
            (" 240 ", 240),
            ("1", 1),
            ("D", 1440),  # 24 × 60
            ("1D", 1440),
            ("2D", 2880),  # 2 × 1440
            ("W", 10080),  # 7 × 1440
            ("1W", 10080),
            ("M", 43200),  # 30 × 1440
            ("1M", 43200),
            ("3M", 129600),  # 3 × 43200
            ("1h", 60),
            ("4H", 240),  # 4 × 60
            ("15m", 15),
            ("1d", 1440),
            (D("60.0"), 60),
        ],
    )
    def test_forms(self, value: Any, minutes: int) -> None:
        assert parse_timeframe(value) == minutes
        assert make_signal(tv={"timeframe": value}).timeframe == minutes

    def test_json_number_with_fraction_zero(self) -> None:
        body = json.dumps(tv_payload()).replace('"timeframe": 60', '"timeframe": 15.0')
        assert _parse(body).timeframe == 15

    @pytest.mark.parametrize("value", ["0", 0, -5, "-5", "30S", "abc", "1.5", D("1.5"), True, "h1"])
    def test_invalid_forms(self, value: Any) -> None:
        assert _pairs(tv_payload(tv={"timeframe": value})) == [
            ("tv.timeframe", "invalid_timeframe")
        ]


class TestSide:
    @pytest.mark.parametrize(
        ("action", "side", "kind", "expected"),
        [
            ("buy", None, "signal", PositionSide.LONG),
            ("sell", None, "signal", PositionSide.SHORT),
            ("BUY", None, "signal", PositionSide.LONG),
            ("sell", "long", "signal", PositionSide.LONG),  # explicit side wins
            ("buy", "sell", "signal", PositionSide.SHORT),
            ("buy", "Buy", "signal", PositionSide.LONG),
            ("sell", "SHORT", "signal", PositionSide.SHORT),
            ("sell", None, "reverse", PositionSide.SHORT),  # reverse: enter the action's side
            ("sell", None, "exit", None),  # exit without side: the open group's side
            ("buy", None, "exit", None),
            ("sell", "short", "exit", PositionSide.SHORT),
            ("sell", None, "reduce", None),
            ("sell", "", "exit", None),  # empty side counts as absent
        ],
    )
    def test_inference(
        self, action: str, side: str | None, kind: str, expected: PositionSide | None
    ) -> None:
        intent: dict[str, Any] = {"type": kind, "side": side}
        tv: dict[str, Any] = {"action": action}
        if kind == "reduce":
            tv["order_size"] = "50"
        assert make_signal(tv=tv, execution_intent=intent).side is expected

    def test_type_is_case_insensitive(self) -> None:
        assert make_signal(execution_intent={"type": "EXIT"}).type is SignalType.EXIT

    @pytest.mark.parametrize(
        ("section", "key", "value"),
        [
            ("tv", "action", "hold"),
            ("execution_intent", "side", "up"),
            ("execution_intent", "type", "entry"),
            ("execution_intent", "position_size_type", "lots"),
        ],
    )
    def test_unknown_enum_values(self, section: str, key: str, value: str) -> None:
        assert _pairs(tv_payload(**{section: {key: value}})) == [
            (f"{section}.{key}", "invalid_value")
        ]


class TestSizes:
    def test_base_is_like_contracts(self) -> None:
        signal = make_signal(execution_intent={"position_size_type": "base"})
        assert signal.size_type == "base"
        assert signal_capital(signal, D("95992.3")) == D("95.9923")  # 0.001 × 95992.3

    def test_quote_is_the_size_itself(self) -> None:
        signal = make_signal(
            tv={"order_size": "250"}, execution_intent={"position_size_type": "QUOTE"}
        )
        assert signal.size_type == "quote"
        assert signal_capital(signal, D("95992.3")) == D("250")

    def test_missing_size_type_defaults_to_contracts(self) -> None:
        signal = make_signal(execution_intent={"position_size_type": None})
        assert signal.size_type == "contracts"
        # ETH 2 × 3394.0 = 6788.0
        signal = make_signal(tv={"order_size": 2}, execution_intent={"position_size_type": None})
        assert signal_capital(signal, D("3394.0")) == D("6788.0")

    def test_capital_needs_a_positive_price(self) -> None:
        with pytest.raises(ValueError, match="price must be positive"):
            signal_capital(make_signal(), D("0"))

    def test_reduce_takes_a_percentage(self) -> None:
        signal = make_signal(tv={"order_size": "50"}, execution_intent={"type": "reduce"})
        assert signal.type is SignalType.REDUCE and signal.order_size == D("50")

    @pytest.mark.parametrize(
        ("kind", "size", "code"),
        [
            ("reduce", None, "missing"),
            ("reduce", "150", "invalid_value"),
            ("reduce", "0", "invalid_value"),
            ("signal", "0", "invalid_value"),
            ("signal", "-0.001", "invalid_value"),
            ("exit", "-1", "invalid_value"),
            ("signal", "abc", "invalid_number"),
            ("signal", "NaN", "invalid_number"),
            ("signal", "Infinity", "invalid_number"),
            ("signal", True, "invalid_number"),
            ("signal", [1], "invalid_number"),
        ],
    )
    def test_bad_sizes(self, kind: str, size: Any, code: str) -> None:
        payload = tv_payload(tv={"order_size": size}, execution_intent={"type": kind})
        assert _pairs(payload) == [("tv.order_size", code)]

    def test_exit_may_carry_a_zero_size(self) -> None:
        signal = make_signal(tv={"order_size": 0}, execution_intent={"type": "exit"})
        assert signal.order_size == D("0")

    def test_prices_must_be_positive(self) -> None:
        payload = tv_payload(tv={"entry_price": "0", "close_price": "-1"})
        assert _pairs(payload) == [
            ("tv.entry_price", "invalid_value"),
            ("tv.close_price", "invalid_value"),
        ]

    def test_stop_and_take_profit(self) -> None:
        signal = make_signal(risk={"stop_loss": "94000", "take_profit": 97000})
        assert (signal.stop_loss, signal.take_profit) == (D("94000"), D("97000"))
        zero = make_signal(risk={"stop_loss": 0, "take_profit": "0"})
        assert (zero.stop_loss, zero.take_profit) == (None, None)
        assert _pairs(tv_payload(risk={"stop_loss": "-5"})) == [("risk.stop_loss", "invalid_value")]

    def test_negative_slippage_is_refused(self) -> None:
        payload = tv_payload(risk={"max_slippage_percent": "-1"})
        assert _pairs(payload) == [("risk.max_slippage_percent", "invalid_value")]


class TestSymbolAndIds:
    @pytest.mark.parametrize(
        "symbol",
        ["BTCUSDT", "BTC/USDT", "btcusdt", "BINANCE:BTCUSDT", "BTCUSDT.P", "BTC/USDT:USDT"],
    )
    def test_symbol_forms(self, symbol: str) -> None:
        assert make_signal(tv={"symbol": symbol}).symbol == "BTCUSDT"

    def test_bad_symbol(self) -> None:
        assert _pairs(tv_payload(tv={"symbol": "BTC USDT"})) == [("tv.symbol", "invalid_symbol")]

    def test_trade_id_number_becomes_a_string(self) -> None:
        assert make_signal(strategy_info={"trade_id": 12345}).trade_id == "12345"

    def test_trade_id_must_be_text_or_number(self) -> None:
        payload = tv_payload(strategy_info={"trade_id": True})
        assert _pairs(payload) == [("strategy_info.trade_id", "invalid_type")]

    def test_exchange_must_be_a_string(self) -> None:
        assert _pairs(tv_payload(tv={"exchange": 7})) == [("tv.exchange", "invalid_type")]

    def test_sections_must_be_objects(self) -> None:
        payload = tv_payload()
        payload["tv"] = ["BTCUSDT"]
        payload["risk"] = "none"
        assert _pairs(payload) == [("tv", "invalid_type"), ("risk", "invalid_type")]


class TestRequiredFields:
    def test_empty_payload_names_every_required_field(self) -> None:
        assert _pairs({}) == [
            ("tv.exchange", "missing"),
            ("tv.symbol", "missing"),
            ("tv.timeframe", "missing"),
            ("tv.action", "missing"),
            ("execution_intent.type", "missing"),
        ]

    @pytest.mark.parametrize(
        ("section", "key"),
        [
            ("tv", "exchange"),
            ("tv", "symbol"),
            ("tv", "timeframe"),
            ("tv", "action"),
            ("execution_intent", "type"),
        ],
    )
    def test_each_missing_field_is_named(self, section: str, key: str) -> None:
        payload = tv_payload()
        del payload[section][key]
        assert _pairs(payload) == [(f"{section}.{key}", "missing")]
        payload[section][key] = "  "
        assert _pairs(payload) == [(f"{section}.{key}", "missing")]

    def test_error_string_is_readable(self) -> None:
        with pytest.raises(SignalError) as caught:
            _parse(tv_payload(tv={"symbol": None, "timeframe": "x"}))
        text = str(caught.value)
        assert text.startswith("invalid signal (2 errors):")
        assert "tv.symbol: required field is missing [missing]" in text
        assert "tv.timeframe:" in text and "[invalid_timeframe]" in text


class TestPlaceholders:
    def test_placeholder_names_the_field_and_nothing_else(self) -> None:
        errors = _errors(tv_payload(tv={"symbol": "{{ticker}}"}))
        assert [(e.field, e.code) for e in errors] == [("tv.symbol", "placeholder")]
        assert "{{ticker}}" in errors[0].message

    def test_every_placeholder_is_reported(self) -> None:
        payload = tv_payload(
            tv={"entry_price": "{{close}}", "timeframe": "{{interval}}"},
            strategy_info={"alert_message": "order {{strategy.order.id}} filled"},
            tags=["a", "{{x}}"],
        )
        assert sorted(_pairs(payload)) == [
            ("strategy_info.alert_message", "placeholder"),
            ("tags[1]", "placeholder"),
            ("tv.entry_price", "placeholder"),
            ("tv.timeframe", "placeholder"),
        ]

    def test_secret_placeholder_is_not_echoed(self) -> None:
        errors = _errors(tv_payload(secret="{{secret}}"))
        assert [(e.field, e.code) for e in errors] == [("secret", "placeholder")]
        assert "{{" not in errors[0].message

    def test_single_braces_are_fine(self) -> None:
        assert (
            make_signal(strategy_info={"alert_message": "{not a placeholder}"}).trade_id == "t1_1"
        )


class TestJsonBody:
    def test_malformed_json_reports_line_and_column(self) -> None:
        body = b'{\n  "tv": {"exchange": "BINANCE"\n  "symbol": "BTCUSDT"}\n}'
        # line 2 lacks a comma; the next token `"symbol"` is on line 3 after 2 spaces: column 3
        (error,) = _errors(body)
        assert (error.field, error.code) == ("<json>", "invalid_json")
        assert "line 3, column 3" in error.message

    def test_non_object_body(self) -> None:
        assert _pairs(b"[1, 2]") == [("<root>", "invalid_type")]

    def test_non_finite_numbers_are_refused(self) -> None:
        body = json.dumps(tv_payload()).replace('"0.001"', "NaN", 1)
        assert _pairs(body) == [("tv.market_position_size", "invalid_number")]
        mapping = tv_payload(tv={"close_price": float("inf")})
        assert _pairs(mapping) == [("tv.close_price", "invalid_number")]

    def test_float_in_a_mapping_becomes_its_literal(self) -> None:
        # the shortest repr of the float 95992.3 is "95992.3", the literal JSON carried
        signal = make_signal(tv={"entry_price": 95992.3})
        assert signal.entry_price == D("95992.3")

    def test_load_payload_decodes_with_decimals(self) -> None:
        assert load_payload(b'{"a": 0.1, "b": [1, 2.50]}') == {"a": D("0.1"), "b": [1, D("2.50")]}


class TestFingerprint:
    def test_matches_an_independent_sha256_of_sorted_compact_json(self) -> None:
        payload = tv_payload()  # strings, ints, None only: json.dumps can encode it
        kept = {k: v for k, v in payload.items() if k not in ("timestamp", "secret")}
        text = json.dumps(kept, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert make_signal().fingerprint == hashlib.sha256(text.encode()).hexdigest()

    def test_timestamp_and_secret_are_ignored(self) -> None:
        first = make_signal(timestamp="2025-01-06T10:00:00Z", secret="a")
        second = make_signal(timestamp="2025-01-06T10:00:07Z", secret="b")
        without = make_signal(timestamp=None, secret=None)
        assert first.fingerprint == second.fingerprint == without.fingerprint

    def test_only_top_level_timestamp_is_ignored(self) -> None:
        first = make_signal(tv={"timestamp": "1"})
        second = make_signal(tv={"timestamp": "2"})
        assert first.fingerprint != second.fingerprint

    def test_any_other_change_changes_it(self) -> None:
        assert make_signal().fingerprint != make_signal(tv={"order_size": "0.002"}).fingerprint

    def test_key_order_does_not_matter(self) -> None:
        payload = tv_payload()
        reordered = {key: payload[key] for key in reversed(list(payload))}
        reordered["tv"] = {key: payload["tv"][key] for key in sorted(payload["tv"], reverse=True)}
        assert _parse(reordered).fingerprint == _parse(payload).fingerprint

    def test_json_text_and_mapping_agree(self) -> None:
        body = json.dumps(tv_payload()).replace('"95992.3"', "95992.3")
        mapping = tv_payload(tv={"entry_price": 95992.3, "close_price": 95992.3})
        assert _parse(body).fingerprint == _parse(mapping).fingerprint

    def test_canonical_json_writes_decimals_as_numbers(self) -> None:
        assert (
            canonical_json({"b": D("1.50"), "a": [None, True, "é"]})
            == '{"a":[null,true,"é"],"b":1.50}'
        )
        assert (
            payload_fingerprint({"secret": "x", "k": 1}) == hashlib.sha256(b'{"k":1}').hexdigest()
        )


def _shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {key: _shuffled(value[key], rng) for key in keys}
    if isinstance(value, list):
        return [_shuffled(item, rng) for item in value]
    return value


_json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.text(max_size=8).filter(lambda text: "{{" not in text),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=4, min_value=-(10**6), max_value=10**6
    ),
)
_json_values = st.recursive(
    _json_leaves,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(
    extra=st.dictionaries(st.text(min_size=1, max_size=6), _json_values, max_size=5),
    seed=st.integers(0, 2**32 - 1),
)
def test_fingerprint_is_stable_under_key_permutation(extra: dict[str, Any], seed: int) -> None:
    payload = tv_payload()
    payload["extra"] = extra
    permuted = _shuffled(payload, random.Random(seed))
    assert _parse(permuted).fingerprint == _parse(payload).fingerprint
    assert payload_fingerprint(load_payload(permuted)) == payload_fingerprint(load_payload(payload))
