# Vitrina developer entry points. Everything installs into project-local folders:
#   .tools/  uv itself, only when uv is not already on PATH
#   .venv/   the Python 3.11 environment, synced from the hashed requirements.lock
#   .devdata/ the dev stack's Postgres and NATS data (make run)
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
UV_VERSION := 0.13.9
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
MEMBERS := libs/common services/bot services/worker services/api
export UV_PYTHON_DOWNLOADS := never
export VIRTUAL_ENV := $(VENV)

.PHONY: help run test lint typecheck pytest lock install clean-devdata demo-data bench bench-preview bench-pipeline bench-bot bench-bot-webhook bench-charts bench-import bench-memory bench-broadcast bench-schedule

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

run: $(VENV)/.synced  ## run the whole stack: Postgres, NATS, migrations, bot, worker, api
	$(PY) -m devstack

test: $(VENV)/.synced  ## run every check: ruff, mypy --strict, pytest
	$(MAKE) --no-print-directory lint typecheck pytest

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.synced
	$(VENV)/bin/mypy

# Test processes in parallel (pytest-xdist), each with its own Postgres and nats-server; a
# file's tests stay in one process (a module fixture starts its services once). The services
# are separate processes, so the tests often wait: more processes than cores still pay off.
# PYTEST_WORKERS=0 runs everything in one process; the 20 slowest tests are printed.
PYTEST_WORKERS ?= 4
pytest: $(VENV)/.synced
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=20 $(PYTEST_ARGS)

install: $(VENV)/.synced  ## create .venv from requirements.lock

bench: bench-preview bench-pipeline bench-bot bench-bot-webhook bench-charts bench-import bench-memory bench-broadcast bench-schedule  ## run every benchmark (minutes; prints ratios against peers)

bench-preview: $(VENV)/.synced  ## our preview renderer vs pyvips, one core each
	$(PY) -m bench.preview

bench-pipeline: $(VENV)/.synced  ## JetStream + worker processes vs in-process renders; 2 workers vs 1
	$(PY) -m bench.pipeline

bench-bot: $(VENV)/.synced  ## per-update costs per screen; open loop (Poisson, rate stepped up) vs an aiogram-dialog peer on our KV storage
	$(PY) -m bench.bot

bench-bot-webhook: $(VENV)/.synced  ## webhook mode: the open-loop ladder of 1 bot process against 2
	$(PY) -m bench.bot_webhook

bench-charts: $(VENV)/.synced  ## SQL and render time of each sales chart over 1 000 000 purchases
	$(PY) -m bench.charts

bench-import: $(VENV)/.synced  ## 10 000 CSV rows + 1 000 images through the worker; CSV stage vs a plain csv loop
	$(PY) -m bench.import

bench-broadcast: $(VENV)/.synced  ## 10 000 recipients at Telegram's 30/s, 1 and 3 worker replicas: rate, 429s, reply latency
	$(PY) -m bench.broadcast

bench-schedule: $(VENV)/.synced  ## due items handled per second by 1 and 2 worker processes (ratio); JetStream message schedules measured
	$(PY) -m bench.schedule

bench-memory: $(VENV)/.synced  ## peak RSS of bot, worker and Jobs per input class: the table behind the memory limits
	$(PY) -m bench.memory

# uv is bootstrapped from the package registry with plain pip, never with a curl-to-shell script.
$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.synced: requirements.lock $(UV) $(foreach m,$(MEMBERS),$(m)/pyproject.toml)
	test -x $(PY) || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV) pip sync --quiet --require-hashes requirements.lock
	$(UV) pip install --quiet --no-deps --no-build-isolation $(foreach m,$(MEMBERS),-e $(m))
	touch $@

# requirements.lock: everything, for .venv. services/*/requirements.lock: one service's
# runtime dependencies only, for its container image.
EXPORT := $(UV) export --quiet --no-emit-workspace --format requirements-txt --frozen --no-header
lock: $(UV)  ## re-resolve dependencies and rewrite the hashed locks (uv.lock stays local)
	$(UV) lock --upgrade
	$(EXPORT) --all-groups -o requirements.lock
	$(EXPORT) --package vitrina-bot --no-dev -o services/bot/requirements.lock
	$(EXPORT) --package vitrina-worker --no-dev -o services/worker/requirements.lock
	$(EXPORT) --package vitrina-api --no-dev -o services/api/requirements.lock

demo-data: $(VENV)/.synced  ## load a demo catalog into the running `make run` stack
	$(PY) -m devstack.demo

clean-devdata:  ## delete the dev stack's data (Postgres and NATS) under .devdata/
	rm -rf .devdata
