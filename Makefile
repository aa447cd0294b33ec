# The lab's commands. Students without make: see "Without make" in README.md.
PYTHON ?= python3
VENV := .venv
ifeq ($(OS),Windows_NT)
BIN := $(VENV)/Scripts
else
BIN := $(VENV)/bin
endif
PY := $(BIN)/python

.PHONY: setup setup-dev demo test test-fast ui reset generate data bench clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(PY) requirements.txt pyproject.toml
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed          ## create .venv and install the lab

setup-dev: $(VENV)/.installed-dev  ## the lab plus what the tests need

demo: setup                        ## the instructor's end-to-end demo: all solutions, then the grader
	$(PY) -m labkit demo

test: setup-dev                    ## the whole suite, 670 tests (4:28-5:08 on a quiet 2-core AMD EPYC, 7:20-8:06 on a slower one; figures: README)
	$(PY) -m pytest -n 2 --dist loadgroup test

test-fast: setup-dev               ## the everyday tier, 500 tests (57-60 s, or 1:25-1:38 on the slower machine; figures: README): no slow, PostgreSQL, server or browser test
	$(PY) -m pytest -n 2 --dist loadgroup -m "not slow and not postgres and not browser" test

ui: setup                          ## the MLflow UI on the lab's store, http://127.0.0.1:5000
	$(PY) -m labkit ui

reset: setup                       ## back up the store, then start afresh
	$(PY) -m labkit reset

generate: setup-dev                ## write code/, the notebooks, the guides' TODO blocks and counts from solutions/ (labkit/maintainers/)
	$(PY) -m labkit generate

data: setup                        ## regenerate data/devops_metrics.csv (labkit/maintainers/generate_data.py)
	$(PY) -m labkit data

bench: setup-dev                   ## speed figures next to their baselines
	for b in bench/bench_*.py; do $(PY) $$b || exit 1; done
