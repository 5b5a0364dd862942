"""Structured logs: one JSON object per line, on stderr and (optionally) a rotating file.

Secrets never reach a log line: the service logs only audit data, which the intake strips of
the webhook secret, and exchange keys are never put in messages (``ExchangeCredentials``
hides them from ``repr``).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from engine.store import EventRecord

__all__ = ["JsonFormatter", "configure_logging", "log_audit", "LOGGER_NAME"]

LOGGER_NAME = "qtrade"
_HANDLER_MARK = "_qtrade_handler"


class JsonFormatter(logging.Formatter):
    """``{"at", "level", "logger", "message", ...extra}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({k: v for k, v in fields.items() if k not in entry})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


# Until configure_logging attaches handlers, the service logs nowhere (no lastResort output).
logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())
_AUDIT = logging.getLogger(LOGGER_NAME + ".audit")
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


def log_audit(events: Iterable[EventRecord]) -> None:
    """Every audit event also becomes a log line (category, severity, message, data)."""
    for event in events:
        level = _LEVELS.get(event.severity.value, logging.INFO)
        if not _AUDIT.isEnabledFor(level):
            continue
        fields = {
            "category": event.category.value,
            "severity": event.severity.value,
            "at_ms": event.at_ms,
            "user_id": event.user_id,
            "symbol": event.symbol,
            "exchange": event.exchange,
            "data": event.data,
        }
        _AUDIT.log(level, event.message, extra={"fields": fields})


def configure_logging(
    *,
    level: int = logging.INFO,
    log_file: Path | None = None,
    max_bytes: int = 5 * 1024 * 1024,
    backups: int = 5,
    stream: bool = True,
) -> logging.Logger:
    """Attach JSON handlers to the ``qtrade`` logger (idempotent: replaces its own)."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    logger.propagate = False
    for handler in list(logger.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            logger.removeHandler(handler)
            handler.close()
    formatter = JsonFormatter()
    handlers: list[logging.Handler] = []
    if stream:
        handlers.append(logging.StreamHandler(sys.stderr))
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
            )
        )
    for handler in handlers:
        handler.setFormatter(formatter)
        setattr(handler, _HANDLER_MARK, True)
        logger.addHandler(handler)
    return logger
