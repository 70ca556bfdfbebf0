# finmesh — see README.md. Every target installs what it needs inside the repo first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed-stamp

.PHONY: help up down test lint gen check-gen bench eval status clean-state

help:
	@echo "make up | down | test | lint | gen | bench | eval DATA=file.csv | status"

# A venv with the locked dependencies and finmesh installed in editable mode.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check uv==0.13.8
	@$(UV) pip sync -q --python $(PY) requirements.lock
	@$(UV) pip install -q --python $(PY) --no-deps -e .
	@touch $@

venv: $(STAMP)

up: $(STAMP)
	@bash scripts/frontend.sh build
	@$(VENV)/bin/finmesh up --dev-tokens

down: $(STAMP)
	@$(VENV)/bin/finmesh down

status: $(STAMP)
	@$(VENV)/bin/finmesh status

# Generated from protos/ and from finmesh/stack/envoy.py (the container edge configs).
gen: $(STAMP)
	@bash scripts/gen.sh
	@$(PY) -m finmesh.stack.envoy deploy/envoy/envoy.compose.json
	@$(PY) deploy/k8s/gen_envoy_configmap.py

# Fails (and leaves the regenerated files in place) when gen/ is not what `make gen` makes.
check-gen: $(STAMP)
	@rm -rf .finmesh/gen-before && mkdir -p .finmesh/gen-before
	@cp -r gen deploy .finmesh/gen-before/
	@$(MAKE) --no-print-directory gen
	@for d in gen deploy; do diff -r .finmesh/gen-before/$$d $$d >/dev/null || { \
		echo "$$d/ is stale: run 'make gen' and commit the result"; \
		diff -r .finmesh/gen-before/$$d $$d | head -20; exit 1; }; done
	@rm -rf .finmesh/gen-before

lint: $(STAMP) check-gen
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy --no-incremental  # the cache goes stale when gen/ is rewritten
	$(VENV)/bin/buf lint
	$(VENV)/bin/buf format --diff --exit-code
	bash scripts/frontend.sh lint

# Browser tests need the built dashboard and Debian's Chromium (installed when missing).
test: lint
	bash scripts/frontend.sh build test chromium
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m bench

eval: $(STAMP)
	$(PY) -m ml_svc.evaluate $(if $(DATA),--data $(DATA),)
