# The two set-up commands of the README: `make run` and `make test`.
# Each creates the virtual environment it needs on first use (and again when pyproject.toml changes).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Synapse (the Matrix homeserver the Matrix tests talk to) lives in its own environment,
# so its pinned dependencies never clash with the bot's.
SYNAPSE_VENV ?= .venv-synapse

.PHONY: run test lint format

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/diarybot demo
	$(BIN)/diarybot run

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

$(SYNAPSE_VENV)/.installed:
	$(PYTHON) -m venv $(SYNAPSE_VENV)
	$(SYNAPSE_VENV)/bin/pip install --quiet --upgrade pip
	$(SYNAPSE_VENV)/bin/pip install --quiet 'matrix-synapse>=1.100'
	touch $@

test: lint $(SYNAPSE_VENV)/.installed
	DIARYBOT_TEST_SYNAPSE=$(abspath $(SYNAPSE_VENV))/bin/python $(BIN)/pytest -q
