"""Webhook intake, bad input (SPEC §2): the documented status, a clear message naming the
field, and storage exactly as engine/service/intake.py documents it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.domain import Category
from engine.service.auth import sign_body
from engine.service.intake import UNAUTHORIZED_BODY
from engine.store import EventQuery
from tests.kit.service_builders import AUTH, SimService, build_sim_service, plan_payload

LIMIT = 64 * 1024


@pytest.fixture
def service() -> SimService:
    return build_sim_service()


def _events(service: SimService) -> list[Any]:
    return service.store.query_events(EventQuery(category=Category.WEBHOOK))


async def _post(service: SimService, user_id: str, **kwargs: Any) -> Any:
    async with service.client() as client:
        return await client.post(f"/webhooks/{user_id}", **kwargs)


async def test_malformed_json_is_422_with_line_and_column_and_only_audited(
    service: SimService,
) -> None:
    body = b'{"secret": "x", "tv": {'
    response = await _post(service, service.user.user_id, content=body)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == "<json>"
    assert error["code"] == "invalid_json"
    # the body ends after 23 characters: the decoder expects a key at line 1, column 24
    assert "line 1, column 24" in error["message"]
    assert service.store.list_signals() == []
    assert [e.message for e in _events(service)] == ["Malformed webhook body"]


async def test_malformed_json_answer_does_not_reveal_whether_the_user_exists(
    service: SimService,
) -> None:
    body = b"{not json"
    known = await _post(service, service.user.user_id, content=body)
    unknown = await _post(service, "no-such-user", content=body)
    assert known.status_code == unknown.status_code == 422
    assert known.json() == unknown.json()


async def test_signed_malformed_json_from_a_known_user_is_stored_as_invalid(
    service: SimService,
) -> None:
    body = b'["not", "an", "object"]'
    headers = {"X-Signature": sign_body(service.user.webhook_secret, body)}
    response = await _post(service, service.user.user_id, content=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "<root>"
    [stored] = service.store.list_signals()
    assert stored.outcome == "invalid"
    assert stored.payload["_errors"][0]["code"] == "invalid_type"


async def test_missing_required_fields_are_all_named_and_stored_without_the_secret(
    service: SimService,
) -> None:
    payload = plan_payload(service.user.webhook_secret)
    del payload["tv"]["symbol"]
    del payload["execution_intent"]["type"]
    response = await _post(service, service.user.user_id, json=payload)
    assert response.status_code == 422
    fields = {(e["field"], e["code"]) for e in response.json()["detail"]}
    assert fields == {("tv.symbol", "missing"), ("execution_intent.type", "missing")}
    [stored] = service.store.list_signals()
    assert stored.outcome == "invalid"
    assert stored.reason == "invalid_signal"
    assert "secret" not in stored.payload
    assert service.user.webhook_secret not in json.dumps(stored.payload)
    assert {e["field"] for e in stored.payload["_errors"]} == {"tv.symbol", "execution_intent.type"}
    # the management API shows the errors with the signal
    async with service.client() as client:
        signals = (await client.get("/signals", headers=AUTH, params={"outcome": "invalid"})).json()
    assert [s["signal_id"] for s in signals] == [stored.signal_id]
    assert {e["field"] for e in signals[0]["errors"]} == {"tv.symbol", "execution_intent.type"}
    assert service.runtime.engine.groups() == []


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("order_size", "abc", "invalid_number"),
        ("timeframe", [1], "invalid_timeframe"),
        ("exchange", 7, "invalid_type"),
    ],
)
async def test_wrong_types_are_422_naming_the_field(
    service: SimService, field: str, value: Any, code: str
) -> None:
    payload = plan_payload(service.user.webhook_secret)
    payload["tv"][field] = value
    response = await _post(service, service.user.user_id, json=payload)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [(e["field"], e["code"]) for e in detail] == [(f"tv.{field}", code)]
    assert [s.outcome for s in service.store.list_signals()] == ["invalid"]


async def test_placeholder_is_422_and_never_echoes_the_secret(service: SimService) -> None:
    payload = plan_payload(service.user.webhook_secret, symbol="{{ticker}}")
    response = await _post(service, service.user.user_id, json=payload)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["field"], error["code"]) == ("tv.symbol", "placeholder")
    assert service.user.webhook_secret not in response.text


def _padded(secret: str, size: int) -> bytes:
    """A valid Test 1.1 payload padded with an extra key to exactly ``size`` bytes."""
    payload = plan_payload(secret)
    payload["pad"] = ""
    base = len(json.dumps(payload).encode())
    payload["pad"] = "x" * (size - base)
    body = json.dumps(payload).encode()
    assert len(body) == size
    return body


async def test_body_of_exactly_64_kib_is_accepted(service: SimService) -> None:
    body = _padded(service.user.webhook_secret, LIMIT)
    response = await _post(service, service.user.user_id, content=body)
    assert response.status_code == 202
    assert response.json()["outcome"] == "opened"


async def test_body_over_64_kib_is_413_and_only_audited(service: SimService) -> None:
    body = _padded(service.user.webhook_secret, LIMIT + 1)
    response = await _post(service, service.user.user_id, content=body)
    assert response.status_code == 413
    [error] = response.json()["detail"]
    assert error["code"] == "too_large"
    assert f"body is {LIMIT + 1} bytes; the limit is {LIMIT} bytes" == error["message"]
    assert service.store.list_signals() == []
    assert [e.message for e in _events(service)] == ["Webhook body too large"]


async def test_oversized_chunked_body_is_refused_while_streaming(service: SimService) -> None:
    chunk = b"x" * 16_384

    async def chunks() -> Any:
        for _ in range(5):  # 80 KiB, no Content-Length
            yield chunk

    response = await _post(service, service.user.user_id, content=chunks())
    assert response.status_code == 413
    assert response.json()["detail"][0]["message"].startswith(f"body is more than {LIMIT}")


async def test_wrong_secret_and_unknown_user_get_the_same_401(service: SimService) -> None:
    wrong = plan_payload("not-the-secret")
    bad_secret = await _post(service, service.user.user_id, json=wrong)
    unknown = await _post(service, "no-such-user", json=plan_payload(service.user.webhook_secret))
    assert bad_secret.status_code == unknown.status_code == 401
    assert bad_secret.json() == unknown.json() == UNAUTHORIZED_BODY
    assert service.store.list_signals() == []
    events = _events(service)
    assert [e.data["reason"] for e in events] == ["bad_secret", "unknown_user"]
    stored_text = json.dumps([e.data for e in events])
    assert "not-the-secret" not in stored_text
    assert service.user.webhook_secret not in stored_text


async def test_x_signature_authenticates_a_body_without_secret(service: SimService) -> None:
    payload = plan_payload(service.user.webhook_secret)
    del payload["secret"]
    body = json.dumps(payload).encode()
    good = {"X-Signature": sign_body(service.user.webhook_secret, body)}
    response = await _post(service, service.user.user_id, content=body, headers=good)
    assert response.status_code == 202
    assert response.json()["outcome"] == "opened"
    bad = {"X-Signature": sign_body("another-secret", body)}
    refused = await _post(service, service.user.user_id, content=body, headers=bad)
    assert refused.status_code == 401
