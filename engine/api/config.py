"""User configuration over HTTP: get (secret masked), validate, apply without restart,
export, import (SPEC §3)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from engine.api.deps import (
    AUTH_RESPONSES,
    CONFLICT_RESPONSES,
    ApiError,
    error_response,
    fresh_runtime,
    require_token,
)
from engine.api.schemas import (
    ConfigApplyResponse,
    ConfigFieldErrorModel,
    ConfigImportResponse,
    ConfigResponse,
    ConfigValidateResponse,
)
from engine.config import ConfigError, UserConfig, parse_user_config
from engine.service.jsonpos import with_positions
from engine.service.runtime import Runtime
from engine.service.users import apply_config, import_user, masked_config, stored_config
from engine.store import StoreError, UserRecord

__all__ = ["router", "CONFIG_BODY"]

router = APIRouter(tags=["config"], dependencies=[Depends(require_token)])

CONFIG_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "A user config in the seed format (risk_config, "
                    "dca_grid_config, configured_exchanges, webhook_secret, id, username)",
                }
            }
        },
    }
}


def _errors(exc: ConfigError, text: bytes = b"") -> list[ConfigFieldErrorModel]:
    return [
        ConfigFieldErrorModel(
            field=error.field,
            message=error.message,
            code=error.code,
            line=error.line,
            column=error.column,
        )
        for error in with_positions(text, exc.errors)
    ]


async def _parse(request: Request) -> UserConfig:
    body = await request.body()
    try:
        return parse_user_config(body)
    except ConfigError as exc:
        raise _Invalid(exc, body) from None


class _Invalid(Exception):
    def __init__(self, error: ConfigError, text: bytes) -> None:
        super().__init__(str(error))
        self.error = error
        self.text = text


def _user(runtime: Runtime, user_id: str) -> UserRecord:
    user = runtime.store.get_user(user_id)
    if user is None:
        raise ApiError(404, "user_id", f"no user {user_id!r}", "unknown_user")
    return user


def _config_response(runtime: Runtime, user: UserRecord) -> ConfigResponse:
    keys = [
        {
            "exchange": item.exchange,
            "api_key": item.api_key_masked,
            "testnet": item.testnet,
        }
        for item in runtime.store.list_exchange_credentials(user.user_id)
    ]
    return ConfigResponse(
        user_id=user.user_id,
        username=user.username,
        config=masked_config(user),
        exchange_keys=keys,
    )


@router.get("/config/{user_id}", response_model=ConfigResponse, responses=AUTH_RESPONSES)
async def get_config(user_id: str, runtime: Runtime = Depends(fresh_runtime)) -> ConfigResponse:
    return _config_response(runtime, _user(runtime, user_id))


@router.post(
    "/config/validate",
    response_model=ConfigValidateResponse,
    responses=AUTH_RESPONSES,
    openapi_extra=CONFIG_BODY,
)
async def validate_config(request: Request) -> ConfigValidateResponse:
    """Check a config without applying it: every field error with line and column."""
    body = await request.body()
    try:
        parse_user_config(body)
    except ConfigError as exc:
        return ConfigValidateResponse(valid=False, errors=_errors(exc, body))
    return ConfigValidateResponse(valid=True, errors=[])


@router.put(
    "/config/{user_id}",
    response_model=ConfigApplyResponse,
    responses=CONFLICT_RESPONSES,
    openapi_extra=CONFIG_BODY,
)
async def put_config(
    user_id: str, request: Request, runtime: Runtime = Depends(fresh_runtime)
) -> Any:
    """Validate and apply a new config at once; open groups keep the grid they opened with.
    A missing or masked ``webhook_secret`` keeps the current secret."""
    user = _user(runtime, user_id)
    try:
        config = await _parse(request)
    except _Invalid as invalid:
        return error_response(422, [e.model_dump() for e in _errors(invalid.error, invalid.text)])
    if config.id is not None and config.id != user_id:
        raise ApiError(422, "id", f"config id {config.id!r} is not {user_id!r}", "id_mismatch")
    try:
        updated = await apply_config(runtime, user, config)
    except StoreError as exc:
        raise ApiError(409, exc.field or "config", str(exc), exc.reason) from None
    return ConfigApplyResponse(user_id=user_id, applied=True, config=masked_config(updated))


@router.get("/config/{user_id}/export", response_model=dict[str, Any], responses=AUTH_RESPONSES)
async def export_config(user_id: str, runtime: Runtime = Depends(fresh_runtime)) -> dict[str, Any]:
    """The whole config, webhook secret included (a backup for ``/config/import``; exchange
    API keys are never exported)."""
    user = _user(runtime, user_id)
    return stored_config(user, with_secret=True)


@router.post(
    "/config/import",
    response_model=ConfigImportResponse,
    responses=CONFLICT_RESPONSES,
    openapi_extra=CONFIG_BODY,
)
async def import_config(request: Request, runtime: Runtime = Depends(fresh_runtime)) -> Any:
    """Create the user of an exported config, or update it when the id exists."""
    try:
        config = await _parse(request)
    except _Invalid as invalid:
        return error_response(422, [e.model_dump() for e in _errors(invalid.error, invalid.text)])
    try:
        user, created = await import_user(runtime, config)
    except StoreError as exc:
        raise ApiError(409, exc.field or "config", str(exc), exc.reason) from None
    return ConfigImportResponse(user_id=user.user_id, username=user.username, created=created)
