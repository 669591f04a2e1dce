# lotgate: `make run` serves on http://127.0.0.1:8000, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
LOTS ?= 100000
SEED ?= 1

# Installs come from the lock files (exact versions and hashes); `make lock` refreshes them
# from pyproject.toml's ranges.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
UV_VERSION := 0.13.8
UV_COMPILE := $(BIN)/uv pip compile pyproject.toml --quiet --universal --python-version 3.11 \
	--generate-hashes

.PHONY: run test lint migrate seed bench clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

$(VENV)/.installed: $(BIN)/python $(LOCK) pyproject.toml
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@$(BIN)/python -m pip check || { echo "The lock misses what pyproject.toml asks for: run make lock" >&2; exit 1; }
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet -r $(DEV_LOCK)
	touch $@

$(BIN)/uv: $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"

# After changing dependencies in pyproject.toml: the newest versions its ranges allow.
lock: $(BIN)/uv
	$(UV_COMPILE) -o $(LOCK)
	$(UV_COMPILE) --extra dev -c $(LOCK) -o $(DEV_LOCK)

migrate: $(VENV)/.installed
	$(BIN)/alembic upgrade head

# Synthetic data in LOTGATE_DATABASE_URL (migrated first): make seed LOTS=1000000
seed: migrate
	$(BIN)/lotgate seed --lots $(LOTS) --seed $(SEED)

run: migrate
	$(BIN)/lotgate bootstrap --url http://$(HOST):$(PORT)
	$(BIN)/uvicorn app.main:create_app --factory --host $(HOST) --port $(PORT)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The suite runs on SQLite; with LOTGATE_TEST_DATABASE_URL set it runs again on that database.
test: lint
	env -u LOTGATE_TEST_DATABASE_URL $(BIN)/pytest
	@if [ -n "$$LOTGATE_TEST_DATABASE_URL" ]; then \
		echo "== again on $$LOTGATE_TEST_DATABASE_URL"; \
		$(BIN)/pytest; \
	fi

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# Reject list export against COPY on PostgreSQL (database lotgate_bench_export): make bench-export ROWS=1000000
bench-export: $(VENV)/.dev-installed
	$(BIN)/python bench/export_reject_list.py --rows $(or $(ROWS),100000)
