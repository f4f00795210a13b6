# Two commands on a fresh machine: `make demo` and `make test`. Each builds the virtual
# environment it needs first; the stamp files make a second run skip the install.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test check lint typecheck bench clean sandbox lab

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/payrecon demo --out reports/demo

test: $(VENV)/.installed-dev check
	$(BIN)/python -m pytest -q -p no:cacheprovider --nbmake tests notebooks

check: $(VENV)/.installed-dev
	$(BIN)/ruff check payrecon tests bench notebooks
	$(BIN)/ruff format --check payrecon tests bench notebooks
	$(BIN)/mypy

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/sandbox.py
	$(BIN)/python bench/fetch.py
	$(BIN)/python bench/rerun.py
	$(BIN)/python bench/reconcile.py

sandbox: $(VENV)/.installed
	$(BIN)/payrecon sandbox

lab: $(VENV)/.installed-dev
	$(BIN)/jupyter lab notebooks

clean:
	rm -rf $(VENV) reports build *.egg-info
