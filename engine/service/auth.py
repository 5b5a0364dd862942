"""Authentication: the management bearer token and the webhook secret (SPEC §2, §11).

- The bearer token comes from ``QTRADE_API_TOKEN`` or from ``<data_dir>/api_token``, which is
  generated on first start (mode 0600) and reported once to the caller so it can be printed.
- A webhook is authentic when the body's ``secret`` equals the user's webhook secret, or when
  the header ``X-Signature: sha256=<hex>`` is the HMAC-SHA256 of the raw body keyed with that
  secret. Both comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "API_TOKEN_ENV",
    "TOKEN_FILE_NAME",
    "TokenError",
    "ApiToken",
    "load_or_create_api_token",
    "tokens_equal",
    "bearer_token",
    "sign_body",
    "webhook_authentic",
]

API_TOKEN_ENV = "QTRADE_API_TOKEN"
TOKEN_FILE_NAME = "api_token"
_SIGNATURE_PREFIX = "sha256="


class TokenError(Exception):
    """The token file is unusable (too open permissions, empty)."""


@dataclass(frozen=True, slots=True)
class ApiToken:
    """The bearer token and where it came from; ``created`` is True on the start that
    generated it (the only time it should be printed)."""

    value: str
    source: str  # "env" | "file"
    created: bool

    def __repr__(self) -> str:  # never print the token itself
        return f"ApiToken(source={self.source!r}, created={self.created})"


def load_or_create_api_token(data_dir: Path, environ: Mapping[str, str] | None = None) -> ApiToken:
    """Return the management token from the environment or the token file, creating the file
    (0600, atomically) with a fresh random token when neither exists."""
    env = os.environ if environ is None else environ
    from_env = env.get(API_TOKEN_ENV, "").strip()
    if from_env:
        return ApiToken(from_env, "env", created=False)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / TOKEN_FILE_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise TokenError(
                f"{path}: permissions {oct(mode)} are too open; run chmod 600 {path}"
            ) from None
        return ApiToken(_read_token(path), "file", created=False)
    # A credential, not an engine decision: OS randomness is what it needs.
    value = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return ApiToken(value, "file", created=True)


def _read_token(path: Path) -> str:
    value = path.read_text(encoding="utf-8").strip()
    if not value:
        raise TokenError(f"{path}: the token file is empty; delete it to generate one")
    return value


def tokens_equal(given: str, expected: str) -> bool:
    """Constant-time comparison of two secrets (an empty expected value never matches)."""
    if not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else ``None``."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def sign_body(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of body keyed with secret>``: the X-Signature header value."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return _SIGNATURE_PREFIX + digest


def webhook_authentic(
    expected_secret: str | None,
    *,
    body_secret: object,
    raw_body: bytes,
    signature: str | None,
) -> bool:
    """True when the body's secret matches, or the X-Signature header signs the raw body."""
    if not expected_secret:
        return False
    if isinstance(body_secret, str) and tokens_equal(body_secret, expected_secret):
        return True
    if signature:
        given = signature.strip()
        if not given.lower().startswith(_SIGNATURE_PREFIX):
            given = _SIGNATURE_PREFIX + given
        expected = sign_body(expected_secret, raw_body)
        return hmac.compare_digest(given.lower().encode("utf-8"), expected.encode("utf-8"))
    return False
