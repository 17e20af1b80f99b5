# The two commands of the README: `make demo` and `make test`.
# Both create .venv when it is missing and reinstall when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= sqlite:///huarong-demo.db
DEMO_AS ?= sunli

.PHONY: demo test lint typecheck unit venv clean synapse

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Seed the example building, then chat with it as 孙丽 (a member with history).
demo: venv
	$(BIN)/huarong --db $(DEMO_DB) demo
	$(BIN)/huarong --db $(DEMO_DB) chat --as $(DEMO_AS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest tests/unit

test: lint typecheck
	$(BIN)/pytest

# A local Synapse for the Matrix tests (tests/matrix); they skip without one.
# `.ci/synapse.sh stop` stops it.
synapse:
	.ci/synapse.sh start
	@echo "Now export these, then run make test (or .venv/bin/pytest tests/matrix):"
	@.ci/synapse.sh env

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache huarong-demo.db*
