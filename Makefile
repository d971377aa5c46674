# monograph-pipeline. `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
INPUT  ?= raw
OUTPUT ?= processed
CONFIG ?= configs/default.yaml
WORKERS ?=

.PHONY: help install run test lint lexicons eval clean bench-regex report browser

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

$(STAMP): pyproject.toml $(wildcard requirements-nodeps.txt)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,ray]'
	if [ -s requirements-nodeps.txt ]; then $(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt; fi
	touch $(STAMP)

install: $(STAMP) ## create .venv if missing and install the project into it

lexicons: $(STAMP) ## build the terminology artifact in .cache/lexicon (only when missing or stale)
	$(PY) -m pipeline.terminology.build --if-stale

eval: lexicons ## score entity mentions against the labelled fixtures in tests/eval
	$(PY) -m pipeline.eval

bench-regex: $(STAMP) ## every regex of the pipeline against adversarial 100 KB strings
	$(PY) bench/regex_safety.py

run: lexicons ## process raw/ into processed/ (INPUT=, OUTPUT=, CONFIG=, WORKERS= to override; default: all cores)
	$(PY) -m pipeline run --input $(INPUT) --output $(OUTPUT) --config $(CONFIG) $(if $(WORKERS),--workers $(WORKERS))

test: lexicons browser ## install, then run ruff and the whole test suite
	$(PY) -m ruff check pipeline tests bench
	$(PY) -m pytest

report: $(STAMP) ## regenerate duplicates.csv, README.md and report.html of OUTPUT; prints the report's path
	$(PY) -m pipeline.products $(OUTPUT) --config $(CONFIG)

browser: ## install headless chromium (Debian package) for the report's browser test
	sh tests/browser_setup.sh

# The fixed references (make_corpus.py, naive_baseline.py): the shared folder beside the
# repo, else this machine's /work/shared (a clone made elsewhere, such as CI's).
BENCH_REF    ?= $(firstword $(wildcard ../shared/bench /work/shared/bench) ../shared/bench)
BENCH_N      ?= 200
BENCH_ROUNDS ?= 3
BENCH_ARGS   ?=
.PHONY: bench
bench: lexicons ## throughput vs I/O floor, ftfy, naive (BENCH_N=, BENCH_ROUNDS=, BENCH_REF=; BENCH_ARGS=--memory for RSS)
	@test -f $(BENCH_REF)/make_corpus.py -a -f $(BENCH_REF)/naive_baseline.py || \
		{ echo "bench: no make_corpus.py/naive_baseline.py in BENCH_REF=$(BENCH_REF); set BENCH_REF to the shared bench folder" >&2; exit 2; }
	$(PY) bench/throughput.py --n $(BENCH_N) --rounds $(BENCH_ROUNDS) --ref $(BENCH_REF) $(BENCH_ARGS)

lint: $(STAMP) ## ruff
	$(PY) -m ruff check pipeline tests bench

clean: ## remove generated output (processed/ contents, caches)
	find $(OUTPUT) -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache
