# monograph-pipeline. `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
INPUT  ?= raw
OUTPUT ?= processed
CONFIG ?= configs/default.yaml
WORKERS ?= 1

.PHONY: help install run test lint lexicons eval clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

$(STAMP): pyproject.toml $(wildcard requirements-nodeps.txt)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	if [ -s requirements-nodeps.txt ]; then $(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt; fi
	touch $(STAMP)

install: $(STAMP) ## create .venv if missing and install the project into it

run: $(STAMP) ## process raw/ into processed/ (INPUT=, OUTPUT=, CONFIG=, WORKERS= to override)
	$(PY) -m pipeline run --input $(INPUT) --output $(OUTPUT) --config $(CONFIG) --workers $(WORKERS)

test: $(STAMP) ## install, then run the whole test suite
	$(PY) -m pytest

lint: $(STAMP) ## ruff
	$(PY) -m ruff check pipeline tests

clean: ## remove generated output (processed/ contents, caches)
	find $(OUTPUT) -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache
