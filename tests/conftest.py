"""Project-wide pytest configuration: the ``--backend`` option of the feature suite, the
markers its Gherkin tags become, and the step library (tests/steps/) as plugins.

Step modules are loaded here with ``pytest_plugins`` and never imported from a ``test_*.py``
file (pytest-bdd #630: scenarios would be collected twice).
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Iterator

import pytest

from tests.steps.backends import BACKENDS

pytest_plugins = [
    "tests.steps.world_fixture",
    "tests.steps.system_steps",
    "tests.steps.signal_steps",
    "tests.steps.position_steps",
    "tests.steps.exchange_steps",
    "tests.steps.log_steps",
    "tests.steps.risk_steps",
    "tests.steps.data_steps",
    "tests.steps.stress_steps",
    "tests.steps.e2e_steps",
]

_PLAN_TESTS = [
    "1_1",
    "1_2",
    "1_3",
    "1_4",
    "1_5",
    "2_1",
    "2_2",
    "2_3",
    "3_1",
    "4_1",
    "4_2",
    "4_3",
    "4_4",
    "4_5",
    "6_1",
    "6_2",
    "7_1",
    "7_2",
]
# Gherkin tags used by features/ (pytest-bdd turns each into a marker; --strict-markers is on)
FEATURE_TAGS = {
    **{f"phase{n}": f"testing plan phase {n}" for n in (1, 2, 3, 4, 6, 7)},
    **{f"t{test}": f"testing plan test {test.replace('_', '.')}" for test in _PLAN_TESTS},
    "e2e": "the e2e prediction-to-profit flow",
    "needs_price_control": "moves prices or injects faults through the simulator (not testnet)",
    "needs_venue_change": "changes a venue's listing or fee rules in the simulator (not testnet)",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        action="store",
        default=None,
        choices=BACKENDS,
        help="feature suite backend: sim (default), sim-rest or testnet; env QTRADE_BACKEND",
    )


def pytest_configure(config: pytest.Config) -> None:
    for tag, meaning in FEATURE_TAGS.items():
        config.addinivalue_line("markers", f"{tag}: {meaning}")


def selected_backend(config: pytest.Config) -> str:
    chosen = config.getoption("--backend") or os.environ.get("QTRADE_BACKEND") or "sim"
    if chosen not in BACKENDS:
        raise pytest.UsageError(f"QTRADE_BACKEND: unknown backend {chosen!r}; use {BACKENDS}")
    return str(chosen)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    backend = selected_backend(config)
    for item in items:
        if backend == "testnet" and item.get_closest_marker("needs_price_control"):
            item.add_marker(
                pytest.mark.skip(reason="needs_price_control: the testnet's prices cannot be moved")
            )
        if backend == "testnet" and item.get_closest_marker("needs_venue_change"):
            item.add_marker(
                pytest.mark.skip(reason="needs_venue_change: the testnet's venues are not ours")
            )


def _current_event_loop() -> asyncio.AbstractEventLoop | None:
    """The loop set for this thread, without creating one (``get_event_loop`` would)."""
    local = getattr(asyncio.get_event_loop_policy(), "_local", None)
    loop = getattr(local, "_loop", None)
    return loop if isinstance(loop, asyncio.AbstractEventLoop) else None


@pytest.fixture(autouse=True)
def _close_a_replaced_event_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    """After an async test, pytest-asyncio sets a fresh loop for the thread and never closes
    it; a later sync test whose code calls ``asyncio.run`` replaces that loop and drops it,
    and the garbage collector then warns about an unclosed loop in whatever test runs at
    that moment. Close such a dropped loop right after the sync test that dropped it."""
    if inspect.iscoroutinefunction(getattr(request.node, "obj", None)):
        yield
        return
    before = _current_event_loop()
    yield
    dropped = before is not None and _current_event_loop() is not before
    if dropped and before is not None and not before.is_running() and not before.is_closed():
        before.close()
