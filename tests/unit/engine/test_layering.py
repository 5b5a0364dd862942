"""Dependency direction, checked by parsing every module's imports (DESIGN.md "Layout").

- ``engine`` never imports ``simulator``, ``reports``, ``scenarios`` or ``qtrade``;
- the engine core (everything under ``engine/`` except the adapter layers ``engine/adapters``,
  ``engine/service``, ``engine/api`` and the SQL store's Alembic scripts ``engine/migrations``)
  never imports ccxt, SQLAlchemy, Alembic, FastAPI, Starlette, uvicorn or httpx;
- ``simulator`` imports from the engine only ``engine.domain``, ``engine.ports``, ``engine.errors``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ADAPTER_LAYERS = ("adapters", "service", "api", "migrations")
IO_PACKAGES = {"ccxt", "sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "httpx"}
OUTER_PACKAGES = {"simulator", "reports", "scenarios", "qtrade"}
SIMULATOR_MAY_USE = ("engine.domain", "engine.ports", "engine.errors")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names.add(prefix)
            names.update(f"{prefix}.{alias.name}" for alias in node.names)
    return names


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _top(name: str) -> str:
    return name.split(".")[0]


def test_the_parser_sees_the_imports() -> None:
    sample = ROOT / "engine" / "core.py"
    names = imports_of(sample)
    assert "engine.intake" in names and "engine.domain" in names


@pytest.mark.parametrize("path", _files("engine"), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_never_imports_outer_packages(path: Path) -> None:
    bad = sorted(name for name in imports_of(path) if _top(name) in OUTER_PACKAGES)
    assert bad == [], f"{path.relative_to(ROOT)} imports {bad}"


def _core_files() -> list[Path]:
    return [
        path
        for path in _files("engine")
        if path.relative_to(ROOT / "engine").parts[0] not in ADAPTER_LAYERS
    ]


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_core_does_no_io_imports(path: Path) -> None:
    bad = sorted(name for name in imports_of(path) if _top(name) in IO_PACKAGES)
    assert bad == [], f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize("path", _files("simulator"), ids=lambda p: str(p.relative_to(ROOT)))
def test_simulator_uses_only_domain_ports_errors(path: Path) -> None:
    bad = sorted(
        name
        for name in imports_of(path)
        if _top(name) == "engine"
        and name != "engine"
        and not any(name == ok or name.startswith(ok + ".") for ok in SIMULATOR_MAY_USE)
    )
    assert bad == [], f"{path.relative_to(ROOT)} imports {bad}"


def test_core_list_covers_the_decision_modules() -> None:
    core = {path.name for path in _core_files()}
    assert {"core.py", "state.py", "risk.py", "pool.py", "grid.py", "config.py"} <= core
