"""Exchange keys are encrypted at rest, the key comes from the environment or a 0600 key file,
and secrets are masked as ``****A4B1``."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from engine.adapters.crypto import (
    KEY_FILE_NAME,
    SECRET_KEY_ENV,
    SecretCipher,
    SecretKeyError,
    load_or_create_key,
    mask_secret,
)
from engine.adapters.sql_store import SqlStore
from engine.store import ExchangeCredentials
from tests.kit.store_builders import T0, user

RAW_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MKIXA4B1"
RAW_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (RAW_KEY, "****A4B1"),
        ("abcdA4B1", "****A4B1"),
        ("abcde", "****bcde"),
        ("abcd", "****"),  # 4 characters or fewer: showing them would show it all
        ("", ""),
        (None, ""),
    ],
)
def test_mask_secret(value: str | None, masked: str) -> None:
    assert mask_secret(value) == masked


def test_raw_keys_never_reach_the_sqlite_files(tmp_path: Path) -> None:
    db = tmp_path / "keys.db"
    store = SqlStore(f"sqlite:///{db}", cipher=SecretCipher.generate())
    store.create_user(user("u1"))
    store.set_exchange_credentials("u1", ExchangeCredentials("binance", RAW_KEY, RAW_SECRET), T0)
    got = store.get_exchange_credentials("u1", "binance")
    assert got is not None and (got.api_key, got.api_secret) == (RAW_KEY, RAW_SECRET)
    store.close()
    # the database file and its WAL/SHM companions, byte for byte
    files = [p for p in tmp_path.iterdir() if p.name.startswith("keys.db")]
    assert db in files
    blob = b"".join(p.read_bytes() for p in files)
    assert RAW_KEY.encode() not in blob
    assert RAW_SECRET.encode() not in blob
    assert b"****A4B1" in blob  # only the mask is stored in clear


def test_wrong_key_cannot_read_stored_credentials(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    writer = SqlStore(url, cipher=SecretCipher.generate())
    writer.create_user(user("u1"))
    writer.set_exchange_credentials("u1", ExchangeCredentials("bybit", RAW_KEY, RAW_SECRET), T0)
    writer.close()
    reader = SqlStore(url, cipher=SecretCipher.generate())
    with pytest.raises(SecretKeyError, match="cannot be decrypted"):
        reader.get_exchange_credentials("u1", "bybit")
    # listing needs no decryption
    assert [c.api_key_masked for c in reader.list_exchange_credentials("u1")] == ["****A4B1"]
    reader.close()


def test_key_file_is_created_once_with_0600(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = load_or_create_key(data_dir, environ={})
    path = data_dir / KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(data_dir, environ={}) == first
    token = SecretCipher(first).encrypt("x")
    assert Fernet(first).decrypt(token.encode()) == b"x"


def test_environment_key_wins_over_the_file(tmp_path: Path) -> None:
    env_key = Fernet.generate_key().decode()
    assert load_or_create_key(tmp_path, environ={SECRET_KEY_ENV: env_key}) == env_key.encode()
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_malformed_environment_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(SecretKeyError, match=SECRET_KEY_ENV):
        load_or_create_key(tmp_path, environ={SECRET_KEY_ENV: "not-a-key"})


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    load_or_create_key(tmp_path, environ={})
    os.chmod(tmp_path / KEY_FILE_NAME, 0o644)
    with pytest.raises(SecretKeyError, match="too open"):
        load_or_create_key(tmp_path, environ={})


def test_store_creates_its_key_file_only_when_keys_are_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    data_dir = tmp_path / "data"
    store = SqlStore(f"sqlite:///{tmp_path / 's.db'}", data_dir=data_dir)
    store.create_user(user("u1"))
    assert not (data_dir / KEY_FILE_NAME).exists()
    store.set_exchange_credentials("u1", ExchangeCredentials("binance", RAW_KEY, RAW_SECRET), T0)
    assert stat.S_IMODE((data_dir / KEY_FILE_NAME).stat().st_mode) == 0o600
    store.close()


def test_cipher_repr_hides_the_key() -> None:
    assert repr(SecretCipher.generate()) == "SecretCipher(****)"
    creds = ExchangeCredentials("binance", RAW_KEY, RAW_SECRET)
    assert RAW_KEY not in repr(creds) and RAW_SECRET not in repr(creds)
