"""Fixtures behind the World: one fresh system per scenario, closed afterwards."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.steps.backends import BACKENDS, load_seed_user, make_backend
from tests.steps.world import World

__all__ = ["backend_name", "start_world"]


@pytest.fixture
def backend_name(request: pytest.FixtureRequest) -> str:
    chosen = request.config.getoption("--backend") or os.environ.get("QTRADE_BACKEND") or "sim"
    if chosen not in BACKENDS:
        raise pytest.UsageError(f"QTRADE_BACKEND: unknown backend {chosen!r}; use {BACKENDS}")
    return str(chosen)


@pytest.fixture
def start_world(backend_name: str, tmp_path: Path) -> Iterator[Callable[[str], World]]:
    """``start_world(username)``: a running system with that seed user registered through
    the API (POST /config/import); the World is closed when the scenario ends."""
    started: list[World] = []

    def start(username: str) -> World:
        if started:
            raise AssertionError("the trading system is already running in this scenario")
        backend = make_backend(backend_name, tmp_path)
        user = load_seed_user(username)
        world = World(backend=backend, user=user)
        started.append(world)
        world.add_user(username, user.config)
        world.user = world.users[username]
        return world

    yield start
    for world in started:
        world.close()
