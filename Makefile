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

include infra/Makefile.infra

.PHONY: help setup run test lint typecheck unit services-up services-down bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

setup: ## install Python deps (uv workspace) and the test services' tools
	$(UV) sync --all-packages --frozen
	infra/dev/install-tools.sh

run: setup ## start the backend on one machine with embedded defaults
	RUN_DIR=$(RUN_DIR) UV=$(UV) infra/dev/run-local.sh

lint: setup ## ruff (lint + format check)
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

typecheck: setup ## mypy (strict) over every package
	for d in packages/*; do $(UV) run --frozen mypy $$d/src $$d/tests; done
	$(UV) run --frozen mypy tests-integration conftest.py infra/dev

test: lint typecheck ## ruff, mypy and every test, local services included
	$(UV) run --frozen pytest

bench: setup ## benchmarks against DESIGN.md targets
	$(UV) run --frozen python -m matyan_store.bench

clean: ## remove the venv, caches and run directory
	rm -rf .venv .run .cache .mypy_cache .ruff_cache .pytest_cache
