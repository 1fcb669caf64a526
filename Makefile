# Developer entry points. Every target uses the project's own virtualenv (.venv), made
# on first use; a stamp per install flavour skips pip until pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BASE_STAMP := $(VENV)/.installed-base
TEST_STAMP := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench
NODE_STAMP := tests/node/node_modules/.installed

.PHONY: dev test lint bench

## dev: run Temporal, a worker and the facade (durableruns dev); TASKS=+mytasks also
## serves your module beside the examples (TASKS=mytasks: yours only)
dev: $(BASE_STAMP)
	$(BIN)/durableruns dev $(if $(TASKS),--tasks '$(TASKS)')

CHROMIUM := /usr/bin/chromium
PROMTOOL := /usr/bin/promtool
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

NGINX := /usr/sbin/nginx

# Test files run in this many processes (pytest-xdist, one file at a time each, so a
# file's fixtures and order stay in one process); each process starts its own dev
# server. Most of the suite's time is waiting (killed workers, timers), so 2 halves it
# on 2 cores. TEST_PROCESSES=0 runs it in this process alone.
TEST_PROCESSES ?= 2

## test: run the test suite (the dashboard's browser tests use Debian's chromium; the
## TLS test puts Debian's nginx in front of Temporal; the metrics test uses promtool)
test: $(TEST_STAMP) $(CHROMIUM) $(NGINX) $(PROMTOOL) $(NODE_STAMP)
	$(BIN)/pytest -n $(TEST_PROCESSES) --dist loadfile

## lint: ruff check, ruff format --check, mypy --strict on src/
lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## bench: measure runs/s against the dev server
bench: $(BENCH_STAMP)
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

# The benchmarks' extras (their load generator's HTTP client) on the base install.
$(BENCH_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[bench]'
	touch $@ $(BASE_STAMP)

# The official Trigger.dev client (@trigger.dev/sdk, pinned by the lockfile) for
# tests/api/test_official_client.py; `npm ci` installs exactly the lockfile, locally.
$(NODE_STAMP): tests/node/package-lock.json tests/node/package.json
	npm ci --prefix tests/node --no-audit --no-fund --prefer-offline
	touch $@

# Headless Chromium for tests/dashboard/test_dashboard.py; Playwright never downloads a browser.
$(CHROMIUM):
	$(SUDO) apt-get update
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y chromium

# nginx (grpc_pass, TLS, mTLS) for tests/engine/test_temporal_tls.py; the test runs its own
# instance on a free port and never starts the system service.
$(NGINX):
	$(SUDO) apt-get update
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y nginx

# `promtool check metrics` for tests/engine/test_metrics.py (Debian's prometheus package).
$(PROMTOOL):
	$(SUDO) apt-get update
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y prometheus
