# Two commands do everything on a fresh machine:
#   make run   – install, create + seed the demo database, show the portfolio
#   make test  – install, then lint, type-check and run every test suite on SQLite and PostgreSQL
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-stamp

.PHONY: install run test lint typecheck pytest clean

$(INSTALLED): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==25.3"
	@# torch first and exactly 2.13.0: the offline CPU build. Any other spec pulls gigabytes of CUDA wheels.
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@# Debian's Chromium for the web chat browser test (Playwright drives it; `playwright install` is never run).
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	@touch $@

install: $(INSTALLED)

run: install
	$(BIN)/creditdesk init
	$(BIN)/creditdesk serve --demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install
	scripts/ensure-postgres.sh
	$(BIN)/pytest

test: lint typecheck pytest

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
