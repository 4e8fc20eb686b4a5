# The README's commands. `make test` builds .venv from nothing and runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# pip prints each package it collects and installs (set PIP_FLAGS=--quiet to hide it)
PIP_FLAGS ?= --progress-bar off --disable-pip-version-check

.PHONY: venv test test-fast lint clean demo

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	@echo "[1/3] torch 2.13.0 (CPU build; pinned first so nothing pulls a newer one)"
	$(PIP) install $(PIP_FLAGS) torch==2.13.0
	@echo "[2/3] edgesea with the dev and export extras (about 80 packages, ~2 min)"
	$(PIP) install $(PIP_FLAGS) -e ".[dev,export]" torch==2.13.0
	@echo "[3/3] aisfx 0.1.2, the default teacher (--no-deps: its metadata pins numpy 1.23 /"
	@echo "      librosa 0.9, not installable on Python 3.11; at run time it needs torch+numpy)"
	$(PIP) install $(PIP_FLAGS) --no-deps aisfx==0.1.2
	@$(PY) -c "import importlib.metadata as m; print('environment ready:', len(list(m.distributions())), 'packages in $(VENV)')"
	touch $@

venv: $(VENV)/.installed

# The whole suite, as CI runs it: test files spread over the machine's cores (pytest-xdist,
# one file per worker at a time so module fixtures are built once), one math thread each.
TEST_WORKERS ?= auto
test: venv
	$(PY) -m ruff check src tests benchmarks
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# While developing: everything but the tests marked slow (the README samples, the demo).
test-fast: venv
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow"

lint: venv
	$(PY) -m ruff check src tests benchmarks

# The demo: specialize a small student on examples/audio, embed a clip with the shipped
# student, export it to int8 and compare it with the teacher (outputs in demo_out/).
demo: venv
	$(PY) examples/demo.py

clean:
	rm -rf $(VENV) build dist .pytest_cache
