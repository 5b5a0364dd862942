"""Shared pieces of the routers: the error type, the bearer guard, the runtime accessor and
user selection."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from engine.api.schemas import ErrorResponse
from engine.service.auth import bearer_token, tokens_equal
from engine.service.intake import WebhookIntake
from engine.service.runtime import Runtime
from engine.service.settings import ServiceSettings

__all__ = [
    "ApiError",
    "ERROR_RESPONSES",
    "AUTH_RESPONSES",
    "CONFLICT_RESPONSES",
    "error_response",
    "require_token",
    "runtime_of",
    "intake_of",
    "settings_of",
    "fresh_runtime",
    "user_ids",
    "one_user",
]


class ApiError(Exception):
    """An error answered as ``{"detail": [{"field", "message", "code"}]}``."""

    def __init__(self, status_code: int, field: str, message: str, code: str) -> None:
        super().__init__(f"{field}: {message} ({code})")
        self.status_code = status_code
        self.field = field
        self.message = message
        self.code = code


def error_response(
    status_code: int, errors: list[dict[str, Any]], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"detail": errors}, status_code=status_code, headers=headers)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "Not found"},
    422: {"model": ErrorResponse, "description": "Invalid input, with the field errors"},
}
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing or wrong bearer token"},
    **ERROR_RESPONSES,
}
CONFLICT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **AUTH_RESPONSES,
    409: {"model": ErrorResponse, "description": "The id or username is taken"},
}


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def intake_of(request: Request) -> WebhookIntake:
    intake: WebhookIntake = request.app.state.intake
    return intake


def settings_of(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


async def require_token(request: Request) -> None:
    """Dependency of every management route: ``Authorization: Bearer <token>``."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None or not tokens_equal(token, settings_of(request).api_token):
        raise ApiError(401, "Authorization", "missing or wrong bearer token", "unauthorized")


async def fresh_runtime(request: Request) -> Runtime:
    """The runtime, with this process's engine brought up to the newest stored state."""
    runtime = runtime_of(request)
    await runtime.refresh()
    return runtime


def user_ids(runtime: Runtime, user_id: str | None) -> list[str]:
    """``[user_id]`` (404 when unknown) or every registered user."""
    users = runtime.engine.users()
    if user_id is None:
        return users
    if user_id not in users:
        raise ApiError(404, "user_id", f"no user {user_id!r}", "unknown_user")
    return [user_id]


def one_user(runtime: Runtime, user_id: str | None) -> str:
    """The user named, or the only user; 422 when there are several and none is named."""
    users = user_ids(runtime, user_id)
    if len(users) == 1:
        return users[0]
    if not users:
        raise ApiError(404, "user_id", "no user is registered", "unknown_user")
    raise ApiError(422, "user_id", "several users are registered: name one", "required")
