# Matyan backend: the README's two commands (make run, make test) and the developer targets.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

UV := $(shell infra/dev/ensure-uv.sh)
export UV_PYTHON := $(shell UV=$(UV) infra/dev/find-python.sh)
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
RUN_DIR ?= $(CURDIR)/.run
BENCH_POINTS ?= 10000000
BENCH_CODEC_POINTS ?= 1000000
BENCH_OPS_POINTS ?= 1000000
# Extra options for one bench-* target's benchmark (python -m matyan_benchmarks.<module> --help).
BENCH_ARGS ?=

include infra/Makefile.infra

.PHONY: help setup run demo test lint typecheck bench bench-store bench-ingest bench-ops bench-api bench-search clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

setup: ## install Python deps (uv workspace) and the test services' tools
	$(UV) sync --all-packages --frozen
	infra/dev/install-tools.sh

run: setup ## start the whole stack on one machine (broker, S3 emulator, frontier, workers, API + UI)
	RUN_DIR=$(RUN_DIR) UV=$(UV) infra/dev/run-local.sh

demo: ## log a few demo runs (every UI explorer) into the stack `make run` started
	$(UV) run --frozen python infra/dev/demo_runs.py

lint: setup ## ruff (lint + format check)
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

typecheck: setup ## mypy (strict) over every package
	for d in packages/* benchmarks; do $(UV) run --frozen mypy $$d/src $$d/tests; done
	$(UV) run --frozen mypy tests-integration conftest.py infra/dev

test: lint typecheck ## ruff, mypy and every test, local services included
	$(UV) run --frozen pytest

bench: bench-store bench-ingest bench-ops bench-api bench-search ## every benchmark (benchmarks/), printed against the targets of docs/architecture.md

bench-store: setup ## store: ingest points/s, 1M-point chart read, full read, bytes/point (BENCH_POINTS, BENCH_CODEC_POINTS)
	$(UV) run --frozen python -m matyan_benchmarks.codec $(BENCH_CODEC_POINTS)
	$(UV) run --frozen python -m matyan_benchmarks.store --points $(BENCH_POINTS) $(BENCH_ARGS)

bench-ingest: setup ## ingest worker: apply path, Kafka -> store with one worker process (msg/s, points/s), ingest -> readable p50/p99
	PYTHONPATH=$(CURDIR)/infra/dev $(UV) run --frozen python -m matyan_benchmarks.ingest $(BENCH_ARGS)

bench-ops: setup ## backup and restore throughput (BENCH_OPS_POINTS=1000000)
	$(UV) run --frozen python -m matyan_benchmarks.backup $(BENCH_OPS_POINTS)

bench-api: setup ## API: p50/p99 of runs info, experiments, tags, project params (10k runs; 1/100/500 concurrent; 1 and 2 workers)
	$(UV) run --frozen python -m matyan_benchmarks.api $(BENCH_ARGS)

bench-search: setup ## search: run search (indexed, full scan), metric search, one 1M-point series at 1,000 buckets and read whole (BENCH_ARGS=--http: over HTTP)
	$(UV) run --frozen python -m matyan_benchmarks.search $(BENCH_ARGS)

clean: ## remove the venv, caches and run directory
	rm -rf .venv .run .cache .mypy_cache .ruff_cache .pytest_cache
