"""Decimals and timestamps come back exactly as written, on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.adapters.crypto import SecretCipher
from engine.adapters.sql_models import datetime_to_ms, ms_to_datetime
from engine.adapters.sql_store import SqlStore
from engine.store import Store
from tests.kit import store_builders as kit
from tests.kit.store_builders import group, user

any_store, cipher, pg_url, pg_schema, _pg_store = (
    kit.any_store,
    kit.cipher,
    kit.pg_url,
    kit.pg_schema,
    kit._pg_store,
)

# Values chosen to break lossy storage: float rounding (0.1), trailing zeros that carry the
# tick's scale (0.00020), more than 18 decimal places (a Numeric(38, 18) column would round
# them), 28 significant digits, tiny and huge magnitudes, negative zero's sibling -0.0001.
TRICKY = [
    "0",
    "0.1",
    "0.00020",
    "95992.30",
    "95368.344",
    "-0.0001",
    "0.123456789012345678901234",
    "1234567890123456.789012345678",
    "0.00000001",
    "99999999999999999999.99999999",
]


@pytest.mark.parametrize("text", TRICKY)
def test_decimal_round_trip_is_exact_in_value_and_scale(any_store: Store, text: str) -> None:
    value = Decimal(text)
    any_store.create_user(user("u1"))
    any_store.upsert_group(group("g1", open_quantity=value, average_entry=value))
    got = any_store.get_group("g1")
    assert got is not None
    # equal as numbers AND as written: same sign, digits and exponent
    assert got.open_quantity == value
    assert got.open_quantity.as_tuple() == value.as_tuple()
    assert str(got.average_entry) == str(value)


def test_positive_exponent_is_stored_as_plain_integer(any_store: Store) -> None:
    any_store.create_user(user("u1"))
    any_store.upsert_group(group("g1", open_quantity=Decimal("1E+2")))
    got = any_store.get_group("g1")
    assert got is not None
    # 1E+2 == 100; every backend returns the positional form "100"
    assert got.open_quantity == 100
    assert str(got.open_quantity) in {"100", "1E+2"}


# engine times: 1970 start, the seed's February 2026, far future (year 2100 = 4102444800000)
@pytest.mark.parametrize("at_ms", [0, 1, 1_770_000_000_123, 4_102_444_800_000])
def test_timestamps_round_trip_to_the_millisecond(any_store: Store, at_ms: int) -> None:
    any_store.create_user(user("u1", created_at_ms=at_ms, updated_at_ms=at_ms))
    got = any_store.get_user("u1")
    assert got is not None and (got.created_at_ms, got.updated_at_ms) == (at_ms, at_ms)


def test_ms_datetime_conversion_is_utc() -> None:
    # 1_770_000_000_123 ms = 2026-02-02T02:40:00.123Z (1_770_000_000 s after the epoch:
    # 20_486 days = 1_769_990_400 s, plus 9_600 s = 2 h 40 min)
    moment = ms_to_datetime(1_770_000_000_123)
    assert moment == datetime(2026, 2, 2, 2, 40, 0, 123_000, tzinfo=UTC)
    assert datetime_to_ms(moment) == 1_770_000_000_123
    assert datetime_to_ms(moment.replace(tzinfo=None)) == 1_770_000_000_123  # naive = UTC


def test_sqlite_stores_decimals_as_text_not_floats(tmp_path: Path, cipher: SecretCipher) -> None:
    store = SqlStore(f"sqlite:///{tmp_path}/v.db", cipher=cipher)
    store.create_user(user("u1"))
    store.upsert_group(group("g1", open_quantity=Decimal("0.1")))
    with store.engine.connect() as conn:
        raw = conn.exec_driver_sql(
            "SELECT open_quantity, typeof(open_quantity) FROM position_groups"
        ).one()
    assert tuple(raw) == ("0.1", "text")
    store.close()


@pytest.fixture(scope="module")
def memory_sql() -> Iterator[SqlStore]:
    store = SqlStore("sqlite://", cipher=SecretCipher.generate())
    store.create_user(user("u1"))
    yield store
    store.close()


def _no_positive_exponent(value: Decimal) -> bool:
    exponent = value.as_tuple().exponent
    return isinstance(exponent, int) and exponent <= 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.decimals(allow_nan=False, allow_infinity=False).filter(_no_positive_exponent))
def test_any_finite_decimal_round_trips_through_sqlite(
    memory_sql: SqlStore, value: Decimal
) -> None:
    memory_sql.upsert_group(group("g1", open_quantity=value))
    got = memory_sql.get_group("g1")
    expected = value.copy_abs() if value.is_zero() else value  # -0 is stored as 0
    assert got is not None and got.open_quantity.as_tuple() == expected.as_tuple()


def test_negative_zero_is_stored_as_zero(any_store: Store) -> None:
    any_store.create_user(user("u1"))
    any_store.upsert_group(group("g1", realised_pnl=Decimal("-0.00")))
    got = any_store.get_group("g1")
    assert got is not None and got.realised_pnl.as_tuple() == Decimal("0.00").as_tuple()
