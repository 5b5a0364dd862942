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
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["JsonFormatter", "configure_logging", "LOGGER_NAME"]

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
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


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
