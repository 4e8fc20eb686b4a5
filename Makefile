# The README's commands. `make test` builds .venv from nothing and runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: venv test lint clean demo

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: the CPU build on disk; nothing afterwards may pull a newer one.
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[dev,export]" torch==2.13.0
	# the default teacher: its metadata pins numpy 1.23 / librosa 0.9 (not installable on
	# Python 3.11); at run time it needs only torch and numpy.
	$(PIP) install --quiet --no-deps aisfx==0.1.2
	touch $@

venv: $(VENV)/.installed

test: venv
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m pytest -q

lint: venv
	$(PY) -m ruff check src tests benchmarks

# The demo: specialize a small student on examples/audio, embed a clip with the shipped
# student, export it to int8 and compare it with the teacher (outputs in demo_out/).
demo: venv
	$(PY) examples/demo.py

clean:
	rm -rf $(VENV) build dist .pytest_cache
