"""The service's FastAPI application: ``create_app(runtime, settings)``.

- Routes: webhooks (user secret), management (bearer token), ``/health`` (public) and the
  e2e flow's routes; extra routers (the simulator's REST faces and admin API in sim mode) are
  mounted by the composition root.
- The runtime starts on the first request or at lifespan start, whichever comes first (so the
  app also works under transports that do not run the lifespan).
- Sim mode: after every state-changing ``/admin`` call (POST, PUT, DELETE) the runtime syncs
  orders and prices and lets engine time pass *before* the admin response is sent, so a
  caller that moves the price and then reads ``/positions`` sees the consequences.
- Live mode: a scheduler syncs every ``sync_interval_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.api import config, journal, metrics, positions, queue, risk, trades, webhooks
from engine.api.deps import ApiError, error_response
from engine.service.intake import WebhookIntake
from engine.service.runtime import Runtime
from engine.service.scheduler import Scheduler
from engine.service.settings import ServiceSettings

__all__ = ["create_app", "RuntimeMiddleware", "SYNC_METHODS"]

SYNC_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_log = logging.getLogger("qtrade.api")


class RuntimeMiddleware:
    """Starts the runtime on first use; in sim mode syncs it after each ``/admin`` change."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        runtime: Runtime,
        sync_prefixes: Sequence[str],
    ) -> None:
        self.app = app
        self.runtime = runtime
        self.sync_prefixes = tuple(sync_prefixes)
        self._start_lock = asyncio.Lock()

    async def ensure_started(self) -> None:
        if self.runtime.started:
            return
        async with self._start_lock:
            if not self.runtime.started:
                await self.runtime.start()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.ensure_started()
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        if method not in SYNC_METHODS or not path.startswith(self.sync_prefixes):
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        try:
            await self.runtime.sync()
        except Exception:
            _log.exception("sync after %s %s failed", method, path)
        for message in held:
            await send(message)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for item in exc.errors():
        location = [str(part) for part in item.get("loc", ()) if part not in ("body", "query")]
        errors.append(
            {
                "field": ".".join(location) or "<request>",
                "message": str(item.get("msg", "invalid")),
                "code": str(item.get("type", "invalid")),
            }
        )
    return errors


def create_app(
    runtime: Runtime,
    settings: ServiceSettings,
    *,
    extra_routers: Sequence[APIRouter] = (),
    extra_routes: Sequence[BaseRoute] = (),
    sync_prefixes: Sequence[str] = ("/admin",),
    startup: Sequence[Callable[[], Awaitable[None]]] = (),
    shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
    title: str = "qtrade engine",
) -> FastAPI:
    """The service app for ``runtime`` (see the module docstring). ``extra_routers`` and
    ``extra_routes`` are mounted as they are (the simulator's faces in sim mode);
    ``startup``/``shutdown`` hooks run in the lifespan after/before the runtime's own."""
    scheduler = (
        None
        if settings.is_sim
        else Scheduler(runtime, interval_seconds=settings.sync_interval_seconds)
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not runtime.started:
            await runtime.start()
        if scheduler is not None:
            scheduler.start()
        for hook in startup:
            await hook()
        try:
            yield
        finally:
            for hook in shutdown:
                await hook()
            if scheduler is not None:
                await scheduler.stop()
            await runtime.close()

    app = FastAPI(
        title=title,
        version="1.0",
        description="TradingView-driven DCA execution engine: webhooks, positions, queue, "
        "risk, audit. Decimals are strings; times are ISO 8601 UTC with _ms twins.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.settings = settings
    app.state.intake = WebhookIntake(runtime, max_body_bytes=settings.max_body_bytes)
    app.state.scheduler = scheduler

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return error_response(
            exc.status_code,
            [{"field": exc.field, "message": exc.message, "code": exc.code}],
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, _validation_errors(exc))

    for module in (webhooks, positions, queue, risk, journal, metrics, config, trades):
        app.include_router(module.router)
    app.include_router(metrics.public_router)
    for router in extra_routers:
        app.include_router(router)
    app.router.routes.extend(extra_routes)
    prefixes = tuple(sync_prefixes) if settings.is_sim else ()
    app.add_middleware(RuntimeMiddleware, runtime=runtime, sync_prefixes=prefixes)
    return app
