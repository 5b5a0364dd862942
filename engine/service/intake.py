"""Webhook intake (SPEC §2): size limit, authentication, validation, duplicate gate, engine.

The steps, in order, and what each failure stores:

1. Body over the limit -> 413. Nothing stored but an audit event (size, claimed user id).
2. Body not decodable as a JSON object -> 422 for every user id, known or not (the secret
   cannot be read, so the answer must not reveal whether the user exists), unless an
   ``X-Signature`` header authenticates the raw body for a known user, in which case the
   request is stored as an ``invalid`` signal. Otherwise only an audit event.
3. Unknown user or wrong secret -> 401 with the same body for both. Nothing stored but an
   audit event that never contains the secret.
4. Schema errors and placeholders from an authenticated user -> 422 with every field error;
   stored as a signal with outcome ``invalid``, reason ``invalid_signal``, the payload without
   its secret, and the field errors under the payload key ``_errors``.
5. Same payload (minus ``timestamp``/``secret``) accepted within the user's
   ``duplicate_window_seconds`` -> 202 ``duplicate``: the store's atomic fingerprint claim
   decides, across processes. Stored with outcome ``duplicate``.
6. Otherwise the runtime hands ``SignalReceived`` to the engine, which stores the signal
   with its outcome before the 202 is sent.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.config import ConfigError, UserConfig, parse_user_config
from engine.domain import Category, Outcome, Severity
from engine.domain.events import SignalReceived
from engine.service.auth import webhook_authentic
from engine.service.logs import log_audit
from engine.service.runtime import Runtime
from engine.signals import (
    SignalError,
    SignalFieldError,
    load_payload,
    parse_signal,
    payload_fingerprint,
)
from engine.store import EventRecord, SignalRecord, StoreBatch, UserRecord

__all__ = [
    "INVALID_OUTCOME",
    "UNAUTHORIZED_BODY",
    "IntakeResponse",
    "WebhookIntake",
    "field_errors",
]

INVALID_OUTCOME = "invalid"
ERROR_OUTCOME = "error"
UNAUTHORIZED_BODY: dict[str, Any] = {
    "signal_id": None,
    "outcome": "unauthorized",
    "reason": "invalid_credentials",
    "group_id": None,
    "queue_id": None,
}
_log = logging.getLogger("qtrade.webhook")


@dataclass(frozen=True, slots=True)
class IntakeResponse:
    status_code: int
    body: dict[str, Any] = field(default_factory=dict)


def field_errors(errors: list[SignalFieldError]) -> list[dict[str, str]]:
    return [{"field": e.field, "message": e.message, "code": e.code} for e in errors]


def _accepted(
    signal_id: str,
    outcome: str,
    reason: str | None = None,
    group_id: str | None = None,
    queue_id: str | None = None,
) -> IntakeResponse:
    return IntakeResponse(
        202,
        {
            "signal_id": signal_id,
            "outcome": outcome,
            "reason": reason,
            "group_id": group_id,
            "queue_id": queue_id,
        },
    )


class WebhookIntake:
    """Turns raw webhook requests into stored signals and engine decisions."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        max_body_bytes: int,
        new_signal_id: Callable[[int], str] | None = None,
    ) -> None:
        self.runtime = runtime
        self.store = runtime.store
        self.max_body_bytes = max_body_bytes
        self._new_id = new_signal_id or self._time_ordered_id
        self._sequence = 0
        self._configs: dict[str, tuple[int, UserConfig]] = {}

    # ----------------------------------------------------------------- helpers
    def _time_ordered_id(self, now_ms: int) -> str:
        """``sig_<ms>_<sequence>_<random>``: sorts in arrival order within a process, and
        the random part keeps ids of several processes apart."""
        self._sequence += 1
        return f"sig_{now_ms:013d}_{self._sequence:06d}_{uuid.uuid4().hex[:8]}"

    def _now(self) -> int:
        return self.runtime.now_ms()

    def _audit(
        self, severity: Severity, message: str, *, user_id: str | None = None, **data: Any
    ) -> None:
        event = EventRecord(
            category=Category.WEBHOOK,
            severity=severity,
            message=message,
            at_ms=self._now(),
            data={k: v for k, v in data.items() if v is not None},
            user_id=user_id,
        )
        self.store.save_batch(StoreBatch(events=[event]))
        log_audit([event])

    def _config(self, user: UserRecord) -> UserConfig | None:
        cached = self._configs.get(user.user_id)
        if cached is not None and cached[0] == user.updated_at_ms:
            return cached[1]
        try:
            config = parse_user_config(user.config)
        except ConfigError:
            return None
        self._configs[user.user_id] = (user.updated_at_ms, config)
        return config

    def too_large(self, user_id: str, size: int | None) -> IntakeResponse:
        """The 413 answer (also used when the body is cut off while streaming)."""
        self._audit(
            Severity.WARNING,
            "Webhook body too large",
            claimed_user_id=user_id,
            size=size,
            limit=self.max_body_bytes,
        )
        limit = self.max_body_bytes
        shown = "more than " + str(limit) if size is None else str(size)
        return IntakeResponse(
            413,
            {
                "detail": [
                    {
                        "field": "<body>",
                        "message": f"body is {shown} bytes; the limit is {limit} bytes",
                        "code": "too_large",
                    }
                ]
            },
        )

    # ----------------------------------------------------------------- the request
    async def receive(
        self, user_id: str, body: bytes, *, signature: str | None = None
    ) -> IntakeResponse:
        if len(body) > self.max_body_bytes:
            return self.too_large(user_id, len(body))
        user = self.runtime.user_record(user_id)
        try:
            payload = load_payload(body)
        except SignalError as exc:
            return self._undecodable(user_id, user, body, signature, exc)
        secret = user.webhook_secret if user is not None else None
        if user is None or not webhook_authentic(
            secret, body_secret=payload.get("secret"), raw_body=body, signature=signature
        ):
            self._audit(
                Severity.WARNING,
                "Webhook authentication failed",
                user_id=user.user_id if user is not None else None,
                claimed_user_id=user_id,
                reason="unknown_user" if user is None else "bad_secret",
            )
            return IntakeResponse(401, dict(UNAUTHORIZED_BODY))
        return await self._authenticated(user, payload)

    def _undecodable(
        self,
        user_id: str,
        user: UserRecord | None,
        body: bytes,
        signature: str | None,
        exc: SignalError,
    ) -> IntakeResponse:
        errors = field_errors(exc.errors)
        signed = user is not None and webhook_authentic(
            user.webhook_secret, body_secret=None, raw_body=body, signature=signature
        )
        if user is not None and signed:
            signal_id = self._new_id(self._now())
            self._store_invalid(user, signal_id, {}, errors, payload_fingerprint({}))
        else:
            self._audit(
                Severity.WARNING,
                "Malformed webhook body",
                claimed_user_id=user_id,
                errors=errors,
            )
        return IntakeResponse(422, {"detail": errors})

    def _store_invalid(
        self,
        user: UserRecord,
        signal_id: str,
        payload: dict[str, Any],
        errors: list[dict[str, str]],
        fingerprint: str,
    ) -> None:
        now = self._now()
        kept = {k: v for k, v in payload.items() if k != "secret"}
        kept["_errors"] = errors
        record = SignalRecord(
            signal_id=signal_id,
            user_id=user.user_id,
            received_at_ms=now,
            payload=kept,
            fingerprint=fingerprint,
            outcome=INVALID_OUTCOME,
            reason="invalid_signal",
        )
        event = EventRecord(
            category=Category.WEBHOOK,
            severity=Severity.WARNING,
            message="Invalid signal refused",
            at_ms=now,
            data={"signal_id": signal_id, "errors": errors},
            user_id=user.user_id,
        )
        self.store.save_batch(StoreBatch(signals=[record], events=[event]))
        log_audit([event])

    async def accept(self, user: UserRecord, payload: dict[str, Any]) -> IntakeResponse:
        """Handle a payload from an already authenticated caller (``/trades/place``)."""
        return await self._authenticated(user, payload)

    async def _authenticated(self, user: UserRecord, payload: dict[str, Any]) -> IntakeResponse:
        signal_id = self._new_id(self._now())
        now = self._now()
        try:
            signal = parse_signal(
                payload, user_id=user.user_id, signal_id=signal_id, received_at_ms=now
            )
        except SignalError as exc:
            errors = field_errors(exc.errors)
            self._store_invalid(user, signal_id, payload, errors, payload_fingerprint(payload))
            return IntakeResponse(422, {"detail": errors})
        config = self._config(user)
        window_ms = 0 if config is None else config.dca_grid_config.duplicate_window_seconds * 1000
        if window_ms > 0:
            # a duplicate is a claim less than window_ms old (as the engine counts it)
            window_start = now - window_ms + 1
            claimed = self.store.claim_fingerprint(
                user.user_id, signal.fingerprint, window_start, signal_id, now
            )
            if not claimed:
                return self._duplicate(user, signal, window_start)
        try:
            price = await self.runtime.observe_price(
                signal.exchange, signal.symbol, refresh=signal.entry_price is None
            )
            if signal.entry_price is None and price is not None:
                # SPEC §2: no entry price -> the exchange's last price, taken at receipt
                signal = dataclasses.replace(signal, entry_price=price)
            # the store's claim above is the duplicate check (across processes too)
            decision = await self.runtime.submit(
                SignalReceived(signal, now, deduplicated=window_ms > 0)
            )
        except Exception:
            _log.exception("engine failed on signal %s", signal_id)
            self._store_error(user, signal)
            return IntakeResponse(
                500, {"detail": "internal error while handling the signal", "signal_id": signal_id}
            )
        for outcome in decision.outcomes:
            if outcome.signal_id == signal_id:
                return _accepted(
                    signal_id, outcome.outcome, outcome.reason, outcome.group_id, outcome.queue_id
                )
        self._store_error(user, signal)
        return IntakeResponse(
            500, {"detail": "the engine gave no outcome for the signal", "signal_id": signal_id}
        )

    def _duplicate(self, user: UserRecord, signal: Any, since_ms: int) -> IntakeResponse:
        original = self.store.find_recent_signal_by_fingerprint(
            user.user_id, signal.fingerprint, since_ms
        )
        group_id = original.group_id if original is not None else None
        record = SignalRecord(
            signal_id=signal.signal_id,
            user_id=user.user_id,
            received_at_ms=signal.received_at_ms,
            payload={k: v for k, v in signal.raw.items() if k != "secret"},
            fingerprint=signal.fingerprint,
            outcome=Outcome.DUPLICATE.value,
            reason=None,
            group_id=group_id,
        )
        event = EventRecord(
            category=Category.WEBHOOK,
            severity=Severity.INFO,
            message="Duplicate signal rejected",
            at_ms=signal.received_at_ms,
            data={
                "signal_id": signal.signal_id,
                "original_signal_id": original.signal_id if original is not None else None,
                "symbol": signal.symbol,
                "exchange": signal.exchange,
            },
            user_id=user.user_id,
            symbol=signal.symbol,
            exchange=signal.exchange,
        )
        self.store.save_batch(StoreBatch(signals=[record], events=[event]))
        log_audit([event])
        return _accepted(signal.signal_id, Outcome.DUPLICATE.value, None, group_id)

    def _store_error(self, user: UserRecord, signal: Any) -> None:
        record = SignalRecord(
            signal_id=signal.signal_id,
            user_id=user.user_id,
            received_at_ms=signal.received_at_ms,
            payload={k: v for k, v in signal.raw.items() if k != "secret"},
            fingerprint=signal.fingerprint,
            outcome=ERROR_OUTCOME,
            reason="internal_error",
        )
        event = EventRecord(
            category=Category.ERROR,
            severity=Severity.CRITICAL,
            message="Engine failed while handling a signal",
            at_ms=self._now(),
            data={"signal_id": signal.signal_id, "alert": True},
            user_id=user.user_id,
        )
        self.store.save_batch(StoreBatch(signals=[record], events=[event]))
        log_audit([event])
