# Developer entry points. Every target uses the project's own virtualenv (.venv), made
# on first use; a stamp per install flavour skips pip until pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BASE_STAMP := $(VENV)/.installed-base
TEST_STAMP := $(VENV)/.installed-test

.PHONY: dev test lint bench

## dev: run Temporal, a worker and the facade (durableruns dev)
dev: $(BASE_STAMP)
	$(BIN)/durableruns dev

## test: run the test suite
test: $(TEST_STAMP)
	$(BIN)/pytest

## lint: ruff check, ruff format --check, mypy --strict on src/
lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## bench: measure runs/s against the dev server
bench: $(BASE_STAMP)
	$(BIN)/python bench/throughput.py

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(BASE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e .
	touch $@

# The test extras include the base install, so they satisfy it too.
$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]'
	touch $@ $(BASE_STAMP)
