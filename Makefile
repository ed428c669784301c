# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all test-wheel bench lint clean venv

venv: $(STAMP)

# torch first, pinned to the CPU wheel; the package then finds it already satisfied.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m deepshadows demo --out demo

test: $(STAMP)
	$(PY) -m pytest -q

test-all: $(STAMP)
	$(PY) -m pytest -q -m ''

# The package as users install it: the wheel, in a fresh virtual environment (slow; CI runs it).
test-wheel: $(STAMP)
	$(PY) -m pytest -q -s -m slow tests/test_wheel.py

# The benchmarks' yardstick, the same model in Keras/TensorFlow, comes with the `bench` extra.
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) benchmarks/run_all.py

# ruff (lint and format), then the layer map of docs/architecture.md (import-linter contracts in pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/ruff format --check src tests benchmarks scripts
	$(VENV)/bin/lint-imports --no-cache

clean:
	rm -rf $(VENV) demo .pytest_cache
