"""Settings of the engine service (one frozen record, built by the composition root)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["MODES", "DEFAULT_DATABASE_URL", "MAX_WEBHOOK_BYTES", "ServiceSettings"]

MODES = ("sim", "live")
DEFAULT_DATABASE_URL = "sqlite:///var/qtrade.db"
MAX_WEBHOOK_BYTES = 64 * 1024  # SPEC §2: bodies over 64 KiB are refused with 413


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """How the service runs.

    ``mode``: ``sim`` (in-process simulator: order sync runs after every ``/admin`` call, engine
    time is the simulator's clock) or ``live`` (a scheduler syncs every
    ``sync_interval_seconds`` of wall time). ``snapshot_interval_seconds``: how long the
    engine snapshot may lag behind changes the exchange can report again (fills, prices,
    ticks); orders, signals and manual actions are always saved at once.
    ``shared_database``: several worker processes use the same database, so every state
    change takes a database lock and reloads the engine snapshot when another process wrote
    a newer one. ``api_token`` guards the management
    routes (bearer). Retry timings are in seconds of wall time.
    """

    mode: str = "live"
    data_dir: Path = Path("var")
    database_url: str = DEFAULT_DATABASE_URL
    api_token: str = ""
    sync_interval_seconds: float = 5.0
    max_body_bytes: int = MAX_WEBHOOK_BYTES
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 60.0
    rate_limit_max_wait_seconds: float = 10.0
    snapshot_interval_seconds: float = 2.0
    shared_database: bool = False
    exchanges: tuple[str, ...] = field(default=("binance", "bybit"))
    log_file: Path | None = None
    log_max_bytes: int = 5 * 1024 * 1024
    log_backups: int = 5

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode: must be one of {MODES} (invalid_mode), got {self.mode!r}")
        if self.sync_interval_seconds <= 0:
            raise ValueError("sync_interval_seconds: must be > 0 (not_positive)")
        if self.max_body_bytes <= 0:
            raise ValueError("max_body_bytes: must be > 0 (not_positive)")
        if self.retry_base_seconds < 0 or self.retry_max_seconds < self.retry_base_seconds:
            raise ValueError(
                "retry_base_seconds/retry_max_seconds: need 0 <= base <= max (invalid_value)"
            )
        if self.snapshot_interval_seconds < 0:
            raise ValueError("snapshot_interval_seconds: must be >= 0 (negative)")
        if self.rate_limit_max_wait_seconds < 0:
            raise ValueError("rate_limit_max_wait_seconds: must be >= 0 (negative)")

    @property
    def is_sim(self) -> bool:
        return self.mode == "sim"
