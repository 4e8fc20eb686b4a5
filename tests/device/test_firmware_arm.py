"""The C front end cross-compiled for a Cortex-M4F (``arm-none-eabi-gcc -mcpu=cortex-m4
-mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16``) and run under ``qemu-system-arm -M
mps2-an386`` with semihosting on a real window, against the host build.

Skips when the toolchain is absent (``make firmware-check`` installs it and sets
``EDGESEA_REQUIRE_TOOLCHAIN=1``, which turns the skips into failures). The QEMU run needs
../shared (a real clip of UrbanSound8K fold 10).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgesea.firmware import build_host_frontend, frontend_footprint
from edgesea.firmware.budget import scratch_bytes
from edgesea.firmware.check import qemu_vs_host, real_clips
from edgesea.firmware.codegen import write_frontend
from edgesea.firmware.toolchain import (
    arm_size,
    arm_symbols,
    compile_arm_object,
    have_arm_toolchain,
    have_qemu,
)
from edgesea.packaged.names import PRETRAINED_DIR

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
FOLD10 = SHARED / "data" / "urbansound8k_subset" / "audio" / "fold10"
REQUIRED = os.environ.get("EDGESEA_REQUIRE_TOOLCHAIN") == "1"


def _need(available: bool, what: str) -> None:
    if available:
        return
    if REQUIRED:
        pytest.fail(f"{what} is not installed but EDGESEA_REQUIRE_TOOLCHAIN=1")
    pytest.skip(f"{what} not installed (`make firmware-check` installs it)")


@pytest.fixture(scope="module")
def spec() -> dict:
    return json.loads((PRETRAINED_DIR / "sea_urban_128.edge.json").read_text())


@pytest.fixture(scope="module")
def sources(spec, tmp_path_factory):
    _need(have_arm_toolchain(), "arm-none-eabi-gcc with newlib")
    build = tmp_path_factory.mktemp("arm")
    _, source, layout = write_frontend(spec, build)
    return build, source, layout


def test_cortex_m4_object_sizes(sources):
    """(c) The front end compiles for the Cortex-M4F with -Wall -Wextra -Werror -pedantic;
    its static RAM is exactly its buffers, its code and tables fit in a few KB of flash."""
    build, source, layout = sources
    obj = compile_arm_object(source, build / "fe.o")
    size = arm_size(obj)
    print(f"\nCortex-M4F front end object: text {size.text:,} data {size.data:,} bss "
          f"{size.bss:,} bytes")
    assert size.ram == scratch_bytes(layout)["static"]
    symbols = {s["name"]: s for s in arm_symbols(obj)}
    assert symbols["s_ring"]["size"] == 4 * layout.n_mels * layout.n_frames
    assert symbols["k_window"]["size"] == 4 * layout.n_fft
    assert symbols["k_window"]["kind"] in "rR"  # the tables are const: flash, not RAM
    assert 4 * layout.n_fft < size.text < 32 * 1024
    for name in ("malloc", "free", "calloc"):
        assert name not in symbols


def test_frontend_footprint_linked(sources):
    build, source, layout = sources
    fp = frontend_footprint(layout, source, build / "fp")
    assert fp["measured"]
    assert fp["linked"]["text"] >= fp["object"]["text"]  # + libm (log10f, rintf, ...)
    assert fp["linked"]["bss"] >= fp["object"]["bss"]
    assert 0 < fp["stack_bytes"] < 2048
    assert fp["ram_bytes"] == fp["object"]["ram"] + fp["stack_bytes"]


def test_qemu_cortex_m4_matches_host_build(spec, tmp_path):
    """(d) On the emulated Cortex-M4 (mps2-an386), a real window streamed through the front
    end and computed alone gives the host build's output within float tolerance."""
    _need(have_arm_toolchain(), "arm-none-eabi-gcc with newlib")
    _need(have_qemu(), "qemu-system-arm with the mps2-an386 board")
    if not FOLD10.is_dir():
        pytest.skip("../shared UrbanSound8K subset not present")
    (_, pcm), = real_clips(FOLD10, 1, 16000, min_seconds=4.0)
    host = build_host_frontend(spec, tmp_path / "host")
    r = qemu_vs_host(spec, host, pcm, tmp_path / "qemu")
    print(f"\nQEMU mps2-an386 vs host on {r['windows']} windows: max {r['max_db_diff']:.2e} "
          f"dB, int8 equal {r['int8_equal']:.6f}, max {r['max_lsb']} LSB; QEMU program "
          f"text {r['elf']['text']:,} data {r['elf']['data']:,} bss {r['elf']['bss']:,}")
    assert r["windows"] == 3
    assert r["max_db_diff"] < 1e-3
    assert r["max_lsb"] <= 1 and r["int8_equal"] >= 0.999
    assert not np.isnan(r["max_db_diff"])
    assert shutil.which("qemu-system-arm")
