# rathaus: `make run` serves the demo, `make test` runs every check. Both set themselves up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
RATHAUS := $(BIN)/rathaus
export RATHAUS_SHARED_DIR ?= $(abspath ../shared)
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/rathaus
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help setup setup-test frontend messages run test lint typecheck importlint migrations-check \
	openapi openapi-check pytest-sqlite pytest-postgres chromium bench clean

help:
	@echo "make run    set up and serve the demo municipality on http://$(HOST):$(PORT)/"
	@echo "make test   set up and run every check and the whole test suite"
	@echo "make bench  run the benchmarks; JSON results in bench/results/"

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required" >&2; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[test,traffic]"
	touch $@

setup: $(VENV)/.installed frontend messages

setup-test: $(VENV)/.installed-test frontend messages chromium

# Browser libraries from npm; without npm the pages still work, only htmx updates degrade.
frontend:
	@if command -v npm >/dev/null; then \
		cd frontend && { [ -d node_modules ] && [ node_modules -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run --silent build; \
	else echo "npm not found: serving without browser libraries (partial page updates disabled)"; fi

messages: $(VENV)/.installed
	@if command -v msgfmt >/dev/null; then cd src/rathaus && ../../$(RATHAUS) compilemessages --verbosity 0; \
	else echo "msgfmt (gettext) not found: the German translation is unavailable (pages show English)" >&2; fi

chromium:
	@bash scripts/ensure-chromium.sh

run: setup
	mkdir -p var
	$(RATHAUS) migrate --no-input
	$(RATHAUS) collectstatic --no-input --verbosity 0
	$(RATHAUS) load_demo
	@echo
	@echo "  Citizen portal:   http://$(HOST):$(PORT)/            (Musterstadt)"
	@echo "  Second tenant:    http://beispielheim.localhost:$(PORT)/"
	@echo "  Administration:   http://$(HOST):$(PORT)/verwaltung/"
	@echo "  Kiosk:            http://$(HOST):$(PORT)/kiosk/"
	@echo "  API docs:         http://$(HOST):$(PORT)/api/v1/docs/"
	@echo
	RATHAUS_PUBLIC_SCHEME=http RATHAUS_PUBLIC_PORT=$(PORT) $(RATHAUS) serve --host $(HOST) --port $(PORT)

test: setup-test lint typecheck importlint migrations-check openapi-check pytest-sqlite pytest-postgres
	@echo "make test: all checks passed"

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

importlint:
	$(BIN)/lint-imports --no-cache

migrations-check:
	DJANGO_SETTINGS_MODULE=rathaus.settings.test $(RATHAUS) makemigrations --check --dry-run

# The committed OpenAPI file must match the code.
openapi:
	DJANGO_SETTINGS_MODULE=rathaus.settings.test $(RATHAUS) spectacular --validate --fail-on-warn --file docs/openapi.yaml

openapi-check:
	@DJANGO_SETTINGS_MODULE=rathaus.settings.test $(RATHAUS) spectacular --validate --fail-on-warn --file var/openapi.check.yaml
	@diff -u docs/openapi.yaml var/openapi.check.yaml || { echo "docs/openapi.yaml is stale: run 'make openapi'" >&2; exit 1; }

pytest-sqlite:
	DATABASE_URL=sqlite:///:memory: $(BIN)/pytest

# The same suite on PostgreSQL, in a throw-away database that pytest-django creates and drops.
pytest-postgres:
	@if $(BIN)/python scripts/wait_for.py postgres "$(TEST_POSTGRES_URL)"; then \
		DATABASE_URL="$(TEST_POSTGRES_URL)" $(BIN)/pytest --create-db; \
	elif [ "$$CI" = "true" ]; then echo "CI: PostgreSQL is required but not reachable" >&2; exit 1; \
	else echo "PostgreSQL not reachable at $(TEST_POSTGRES_URL): the PostgreSQL run is NOT done" >&2; fi

# The benchmarks need the test extras (SUMO for the traffic benchmark); each writes JSON.
bench: setup-test
	$(BIN)/python bench/portal.py
	$(BIN)/python bench/catalog.py
	$(BIN)/python bench/workflow.py
	$(BIN)/python bench/applications.py
	$(BIN)/python bench/buergerbuero.py
	$(BIN)/python bench/assistant.py
	$(BIN)/python bench/idpickup.py
	$(BIN)/python bench/fragdenob.py
	$(BIN)/python bench/einvoice.py
	$(BIN)/python bench/parking.py
	$(BIN)/python bench/charging.py
	$(BIN)/python bench/traffic.py
	$(BIN)/python bench/traffic_heldout.py

clean:
	rm -rf $(VENV) var frontend/node_modules frontend/dist
