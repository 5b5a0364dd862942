# Two commands: `make run` (the main job) and `make test` (lint, types, tests).
# Both create .venv when missing and reinstall only when pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The HTML report is checked in a real headless browser: Debian's chromium.
CHROMIUM := /usr/bin/chromium

.PHONY: run test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(CHROMIUM):
	@if command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "warning: could not install chromium; browser tests will fail"; \
	fi

run: $(STAMP)
	$(BIN)/qtrade run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Two workers (this machine and CI have 2 cores). The second run plays every feature again
# with the engine trading through unmodified ccxt against the simulator's REST faces.
PYTEST_WORKERS ?= 2
pytest: $(STAMP) $(CHROMIUM)
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS)
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) tests/features --backend sim-rest

test: lint typecheck pytest

bench: $(STAMP)
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) out var .pytest_cache .mypy_cache .ruff_cache
