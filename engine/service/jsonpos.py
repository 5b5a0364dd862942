"""Where a dotted field path (``dca_grid_config.levels[1].gap_percent``) sits in a JSON text,
so config errors can name a line and column even when they come from schema validation.

:func:`json_positions` scans a (valid) JSON text once and maps every member key and list item
to the 1-based (line, column) where it starts; :func:`locate` looks a field up, falling back to
its nearest ancestor that is present (an unknown key reports its own position; a missing
required key reports its parent's)."""

from __future__ import annotations

import bisect
import dataclasses
import json
import re
from collections.abc import Sequence

from engine.config import ConfigFieldError

__all__ = ["json_positions", "locate", "with_positions"]

_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SCALAR = re.compile(
    r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null|NaN|-?Infinity"
)


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
        self.found: dict[str, tuple[int, int]] = {}

    def where(self, index: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, index)
        return line, index - self.starts[line - 1] + 1

    def skip(self) -> None:
        match = _WS.match(self.text, self.pos)
        self.pos = match.end() if match else self.pos

    def value(self, path: str) -> None:
        self.skip()
        char = self.text[self.pos : self.pos + 1]
        if char == "{":
            self.members(path)
        elif char == "[":
            self.items(path)
        elif char == '"':
            self.string()
        else:
            match = _SCALAR.match(self.text, self.pos)
            if match is None:
                raise ValueError(f"unexpected character at {self.where(self.pos)}")
            self.pos = match.end()

    def string(self) -> str:
        match = _STRING.match(self.text, self.pos)
        if match is None:
            raise ValueError(f"bad string at {self.where(self.pos)}")
        self.pos = match.end()
        decoded: str = json.loads(match.group(0))
        return decoded

    def members(self, path: str) -> None:
        self.pos += 1
        self.skip()
        if self.text.startswith("}", self.pos):
            self.pos += 1
            return
        while True:
            self.skip()
            start = self.pos
            key = self.string()
            child = f"{path}.{key}" if path else key
            self.found.setdefault(child, self.where(start))
            self.skip()
            self.pos += 1  # ':'
            self.value(child)
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            self.pos += 1  # '}'
            return

    def items(self, path: str) -> None:
        self.pos += 1
        self.skip()
        if self.text.startswith("]", self.pos):
            self.pos += 1
            return
        index = 0
        while True:
            self.skip()
            child = f"{path}[{index}]"
            self.found.setdefault(child, self.where(self.pos))
            self.value(child)
            self.skip()
            index += 1
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            self.pos += 1  # ']'
            return


def json_positions(text: str) -> dict[str, tuple[int, int]]:
    """Every member key / list item path of ``text`` -> (line, column); ``{}`` if unreadable."""
    scanner = _Scanner(text.removeprefix("\ufeff"))
    try:
        scanner.value("")
    except (ValueError, IndexError):
        return {}
    return scanner.found


def _parent(path: str) -> str | None:
    if not path:
        return None
    if path.endswith("]"):
        return path[: path.rindex("[")]
    cut = max(path.rfind("."), path.rfind("["))
    return "" if cut < 0 else path[:cut]


def locate(positions: dict[str, tuple[int, int]], field: str) -> tuple[int, int] | None:
    """Position of ``field`` or of its nearest present ancestor (``None``: the root)."""
    current: str | None = field
    while current:
        if current in positions:
            return positions[current]
        current = _parent(current)
    return None


def with_positions(text: str | bytes, errors: Sequence[ConfigFieldError]) -> list[ConfigFieldError]:
    """``errors`` with line and column filled in from ``text`` where they were missing."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    positions = json_positions(text)
    located: list[ConfigFieldError] = []
    for error in errors:
        if error.line is None:
            place = locate(positions, error.field)
            if place is not None:
                error = dataclasses.replace(error, line=place[0], column=place[1])
        located.append(error)
    return located
