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
	@$(VENV)/bin/finmesh up

down: $(STAMP)
	@$(VENV)/bin/finmesh down

status: $(STAMP)
	@$(VENV)/bin/finmesh status

gen: $(STAMP)
	@bash scripts/gen.sh

# Fails (and leaves the regenerated files in place) when gen/ is not what `make gen` makes.
check-gen: $(STAMP)
	@rm -rf .finmesh/gen-before && mkdir -p .finmesh && cp -r gen .finmesh/gen-before
	@bash scripts/gen.sh
	@diff -r .finmesh/gen-before gen >/dev/null || { \
		echo "gen/ is stale: run 'make gen' and commit the result"; \
		diff -r .finmesh/gen-before gen | head -20; exit 1; }
	@rm -rf .finmesh/gen-before

lint: $(STAMP) check-gen
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/buf lint
	$(VENV)/bin/buf format --diff --exit-code

test: lint
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m bench

eval: $(STAMP)
	$(PY) -m ml_svc.evaluate $(if $(DATA),--data $(DATA),)
