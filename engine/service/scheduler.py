"""The live-mode scheduler: every ``sync_interval_seconds`` of wall time it syncs orders and
prices and lets engine time pass (risk cycle, timers, daily reset); market rules are reloaded
every ``precision.refresh_seconds`` (the smallest over users); old duplicate-window claims
are pruned. In sim mode nothing runs on a timer: the ``/admin`` hook calls ``runtime.sync``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from engine.service.runtime import Runtime

__all__ = ["DEFAULT_REFRESH_SECONDS", "FINGERPRINT_KEEP_MS", "Scheduler"]

DEFAULT_REFRESH_SECONDS = 172_800
FINGERPRINT_KEEP_MS = 24 * 3_600_000  # far longer than any sane duplicate window
_log = logging.getLogger("qtrade.scheduler")


class Scheduler:
    """Runs :meth:`Runtime.sync` periodically in a background task."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        interval_seconds: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runtime = runtime
        self.interval_seconds = interval_seconds
        self._sleep = sleep
        self._monotonic = monotonic
        self._task: asyncio.Task[None] | None = None
        self._last_refresh = monotonic()
        self.cycles = 0
        self.failures = 0

    def refresh_seconds(self) -> float:
        """The smallest ``precision.refresh_seconds`` of the registered users."""
        values = []
        for user_id in self.runtime.engine.users():
            config = self.runtime.user_config(user_id)
            if config is not None:
                values.append(config.risk_config.precision.refresh_seconds)
        return float(min(values)) if values else float(DEFAULT_REFRESH_SECONDS)

    async def run_once(self) -> None:
        """One cycle: sync, maybe reload markets, prune claims. Errors are logged, never
        raised: a failing exchange must not stop the loop."""
        self.cycles += 1
        try:
            await self.runtime.sync()
            if self._monotonic() - self._last_refresh >= self.refresh_seconds():
                self._last_refresh = self._monotonic()
                await self.runtime.refresh_markets()
            now = self.runtime.clock.now_ms()
            self.runtime.store.prune_fingerprints(now - FINGERPRINT_KEEP_MS)
        except Exception:
            self.failures += 1
            _log.exception("scheduler cycle failed")

    async def _loop(self) -> None:
        while True:
            await self._sleep(self.interval_seconds)
            await self.run_once()

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
