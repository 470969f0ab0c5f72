# The two commands of the README:  make run  and  make test.  Both create .venv and install on first use.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.agelab-installed

export KEDRO_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
export MPLBACKEND := Agg

.PHONY: install run test lint viz clean-data docs-figures mutation

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## make run: install, then run the main job (data -> recon3d -> SPS) on the embedded synthetic face set
run: install
	$(BIN)/kedro run --pipelines=sps

## make test: install, then the whole test suite on TEST_WORKERS pytest-xdist workers (a test module stays on
## one worker, so its module fixtures are built once); TEST_WORKERS=0 runs it in this one process
TEST_WORKERS ?= 2
test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope

## make mutation: mutation testing of the math modules against their own fast tests, a score per module
## (docs/testing.md; about 45 min on 2 cores, results cached in mutants/; not part of make test)
mutation: install
	$(BIN)/python tools/mutation.py --max-children 2

lint: install
	$(BIN)/ruff check src tests benchmarks docs tools

## make docs-figures: every figure in docs/images regenerated from the run that makes it (runs what is missing)
docs-figures: install
	$(BIN)/python docs/make_figures.py

viz: install
	$(BIN)/kedro viz build

## remove generated data, the other environments' (data/real, data/utkface, data/paper) too; keeps trained models
## and data/01_raw of real datasets you placed there
clean-data:
	rm -rf data/01_raw/synthetic data/02_intermediate/* data/03_primary/* data/05_model_input/* data/08_reporting/*
	rm -rf data/*/02_intermediate data/*/03_primary data/*/05_model_input data/*/08_reporting
