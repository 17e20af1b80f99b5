# The two commands of the README: `make demo` and `make test`.
# Both create .venv when it is missing and reinstall when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= sqlite:///huarong-demo.db
DEMO_AS ?= sunli
# Where `huarong chat` serves the web portal beside the console (HUARONG_WEB_LISTEN).
DEMO_PORTAL ?= http://127.0.0.1:8080

.PHONY: demo test lint typecheck unit venv clean synapse

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "make: could not create $(VENV) with $(PYTHON) -m venv." >&2; \
		echo "      On Debian or Ubuntu: sudo apt install python3-venv (then run make again)." >&2; \
		exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Seed the example building, print web sign-in codes for 孙丽 (a member with history)
# and 王建华 (the secretary, an admin), then chat with it as 孙丽; the portal runs
# beside the chat until it ends.
demo: venv
	$(BIN)/huarong --db $(DEMO_DB) demo
	@echo
	@echo "Portal: $(DEMO_PORTAL) — sign in with a code below"
	@$(BIN)/huarong --db $(DEMO_DB) access code floating_member
	@$(BIN)/huarong --db $(DEMO_DB) access code secretary
	@echo
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
