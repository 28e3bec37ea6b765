# Every target creates .venv (Python 3.11) when missing and installs the project into it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN ?= checkpoints/dr-maze-cpu
# Test processes (pytest-xdist, a file per process so module fixtures compile once): CI's 2 cores.
TEST_WORKERS ?= 2

.PHONY: install train eval report notebooks test test-all bench lint clean docs docs-serve

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The main job: domain randomisation on the maze with the cpu preset, then the holdout table.
train: $(STAMP)
	$(BIN)/ued train --algo dr --env maze --preset cpu --out $(RUN) $(if $(wildcard $(RUN)/checkpoints/*),--resume $(RUN),)
	$(BIN)/ued eval $(RUN) --suite classic --out $(RUN)/eval_classic.csv

eval: $(STAMP)
	$(BIN)/ued eval $(RUN) --suite classic four-rooms --out $(RUN)/eval.csv

## Zero-shot transfer of the agents shipped in checkpoints/ (their evaluations ship with them).
report: $(STAMP)
	$(BIN)/ued report shipped:all --out results/report --html

## Re-execute the notebooks (sources: notebooks/*.py) and save them with their outputs.
notebooks: $(STAMP)
	$(BIN)/python notebooks/execute.py

test: $(STAMP)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile

test-all: $(STAMP)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile -m ''

bench: $(STAMP)
	$(BIN)/ued bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

## The documentation site (docs/, mkdocs.yml) into site/, strictly: a warning fails the build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve
