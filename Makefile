PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Stamps: Council and what it needs to run (the demo), then the development tools on top (tests, lint).
RUNTIME := $(VENV)/.council-installed
DEV := $(VENV)/.dev-installed

.PHONY: demo test lint install clean

$(RUNTIME): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV): $(RUNTIME)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(DEV)

demo: $(RUNTIME)
	$(BIN)/council demo

test: $(DEV)
	$(BIN)/pytest -q

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
