# lotgate: `make run` serves on http://127.0.0.1:8000, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
LOTS ?= 100000
SEED ?= 1

.PHONY: run test lint migrate seed bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

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
