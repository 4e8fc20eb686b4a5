# The README's commands. `make test` builds .venv from nothing and runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# pip prints each package it collects and installs (set PIP_FLAGS=--quiet to hide it)
PIP_FLAGS ?= --progress-bar off --disable-pip-version-check

.PHONY: venv test test-fast lint clean demo firmware-toolchain firmware-check

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	@echo "[1/3] torch 2.13.0 (CPU build; pinned first so nothing pulls a newer one)"
	$(PIP) install $(PIP_FLAGS) torch==2.13.0
	@echo "[2/3] edgesea with the train, dev, export, ray, parquet and av extras (about 95 packages, ~2.5 min)"
	$(PIP) install $(PIP_FLAGS) -e ".[train,dev,export,ray,parquet,av]" torch==2.13.0
	@echo "[3/3] aisfx 0.1.2, the default teacher (--no-deps: its metadata pins numpy 1.23 /"
	@echo "      librosa 0.9, not installable on Python 3.11; at run time it needs torch+numpy)"
	$(PIP) install $(PIP_FLAGS) --no-deps aisfx==0.1.2
	@$(PY) -c "import importlib.metadata as m; print('environment ready:', len(list(m.distributions())), 'packages in $(VENV)')"
	touch $@

venv: $(VENV)/.installed

# The whole suite, as CI runs it: test files spread over the machine's cores (pytest-xdist,
# one file per worker at a time so module fixtures are built once), one math thread each.
TEST_WORKERS ?= auto
test: venv lint
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# While developing: everything but the tests marked slow (the README samples, the demo).
test-fast: venv
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow"

# Style and layout: ruff (with McCabe complexity <= 15), the layer contracts of .importlinter
# (docs/architecture.md), no import circle (tools/import_cycles.py), no private name used
# across subpackages and a reason for every in-function import (tools/import_rules.py).
lint: venv
	$(PY) -m ruff check src tests benchmarks tools
	$(VENV)/bin/lint-imports --no-cache
	$(PY) tools/import_cycles.py -v
	$(PY) tools/import_rules.py -v

# The on-device checks (tests/firmware and tests/device, docs/edge.md): the C front end against the
# Python one, the generated int8 network against TFLM's reference kernels, the whole program
# (raw audio -> front end -> network) built for a Cortex-M4F and run under QEMU. The
# toolchain is installed with apt-get when missing (as root; about 25 s), and the tests are
# run with it required (EDGESEA_REQUIRE_TOOLCHAIN=1: a missing tool fails instead of skipping).
FIRMWARE_APT := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
ARM_LIBM = $$(arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 \
	-print-file-name=libm.a 2>/dev/null)
firmware-toolchain:
	@if command -v arm-none-eabi-gcc >/dev/null && command -v qemu-system-arm >/dev/null \
		&& [ -f "$(ARM_LIBM)" ]; then \
		echo "Cortex-M toolchain: $$(arm-none-eabi-gcc --version | head -1); $$(qemu-system-arm --version | head -1)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing $(FIRMWARE_APT) with apt-get"; \
		start=$$(date +%s); \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $(FIRMWARE_APT) >/dev/null && \
		echo "installed in $$(( $$(date +%s) - start )) s"; \
	else \
		echo "arm-none-eabi-gcc, newlib or qemu-system-arm missing: install $(FIRMWARE_APT) (as root)"; \
		exit 1; \
	fi

firmware-check: venv firmware-toolchain
	EDGESEA_REQUIRE_TOOLCHAIN=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -q \
		-n $(TEST_WORKERS) --dist loadfile tests/firmware tests/device

# The demo: specialize a small student on examples/audio, embed a clip with the shipped
# student, export it to int8 and compare it with the teacher (outputs in demo_out/).
demo: venv
	$(PY) examples/demo.py

clean:
	rm -rf $(VENV) build dist .pytest_cache
