"""Encryption at rest for exchange API keys (Fernet) and masking for display.

The key comes from the environment variable ``QTRADE_SECRET_KEY`` (a Fernet key: 32 bytes,
url-safe base64) or, when that is unset, from ``<data_dir>/secret.key``, which is generated
on first use with permissions 0600. Plain keys are never logged; :func:`mask_secret` gives the
``****A4B1`` form shown by the API and the exports.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

__all__ = [
    "SECRET_KEY_ENV",
    "KEY_FILE_NAME",
    "SecretKeyError",
    "SecretCipher",
    "load_or_create_key",
    "mask_secret",
]

SECRET_KEY_ENV = "QTRADE_SECRET_KEY"
KEY_FILE_NAME = "secret.key"


class SecretKeyError(Exception):
    """The encryption key is missing, malformed, or does not open a stored value."""


def mask_secret(value: str | None, visible: int = 4) -> str:
    """``"abcdefA4B1"`` -> ``"****A4B1"``. Values of ``visible`` characters or fewer are
    fully masked (showing them would reveal the whole secret)."""
    if not value:
        return ""
    if len(value) <= visible:
        return "****"
    return "****" + value[-visible:]


def _validate_key(raw: bytes, source: str) -> bytes:
    key = raw.strip()
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise SecretKeyError(
            f"{source}: not a Fernet key (32 url-safe base64 bytes); generate one with "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key()"
            ".decode())'"
        ) from None
    return key


def load_or_create_key(data_dir: Path, environ: dict[str, str] | None = None) -> bytes:
    """Return the Fernet key from ``QTRADE_SECRET_KEY`` or ``data_dir/secret.key``.

    The key file is created atomically with mode 0600 when it does not exist; an existing file
    with group or world permissions is refused."""
    env = os.environ if environ is None else environ
    from_env = env.get(SECRET_KEY_ENV)
    if from_env:
        return _validate_key(from_env.encode(), SECRET_KEY_ENV)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise SecretKeyError(
                f"{path}: permissions {oct(mode)} are too open; run chmod 600 {path}"
            ) from None
        return _validate_key(path.read_bytes(), str(path))
    key = Fernet.generate_key()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key


class SecretCipher:
    """Encrypts and decrypts short secrets with one Fernet key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(_validate_key(key, "key"))

    @classmethod
    def generate(cls) -> SecretCipher:
        return cls(Fernet.generate_key())

    @classmethod
    def from_environment(cls, data_dir: Path) -> SecretCipher:
        return cls(load_or_create_key(data_dir))

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SecretKeyError(
                "a stored secret cannot be decrypted with the current key "
                f"({SECRET_KEY_ENV} or {KEY_FILE_NAME} changed?)"
            ) from None

    def __repr__(self) -> str:
        return "SecretCipher(****)"
