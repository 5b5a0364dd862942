"""The result of handling one signal: its outcome, reason code, group and queue entry."""

from __future__ import annotations

from dataclasses import dataclass

from engine.domain import Outcome, Reason

__all__ = ["Result", "rejected"]


@dataclass(frozen=True, slots=True)
class Result:
    outcome: str
    reason: str | None = None
    group_id: str | None = None
    queue_id: str | None = None


def rejected(reason: str | Reason, group_id: str | None = None) -> Result:
    text = reason.value if isinstance(reason, Reason) else reason
    return Result(Outcome.REJECTED.value, text, group_id)
