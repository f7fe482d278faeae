# Two entry points for a fresh machine: `make demo` and `make test`.
# Each creates .venv with the project and its dependencies on first use.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint install clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,installer]'
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(PY) -m station demo

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check station tests bench
	$(VENV)/bin/ruff format --check station tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: lint
	$(PY) -m pytest

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
