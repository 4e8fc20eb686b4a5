"""The whole model on the emulated microcontroller: a firmware bundle built with its own
``Makefile`` for a Cortex-M4F and run on QEMU ``mps2-an386`` (``make run-qemu``): raw PCM ->
C front end -> generated int8 network -> embeddings.

- every shipped student: the embeddings QEMU prints equal, value for value, the host builds
  of the same C front end and network driven from Python and the ``tflite_micro`` interpreter
  on the same int8 inputs, and agree with the float model
  (``edgesea.get_embedding``) on the same audio: the bundle's clip and 8 s of real audio of
  folds 1-2;
- ``sea_urban_128``: the measured budget (RAM = data + bss + stack high-water mark <= 64 KB,
  flash <= 170 KB), the DSP build's instructions per multiply-accumulate (<= 2.5) and the
  plain C build's (>= 3x more), both builds' embeddings identical;
- the CLI: ``edgesea export sea_urban_128 --format firmware`` then ``make run-qemu`` and
  ``make run-host`` on the fresh folder print the same embeddings.

Skips without the toolchain (``make firmware-check`` installs it and makes a missing tool a
failure).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgesea.firmware import build_host_frontend
from edgesea.firmware.measure import measure_program, run_make
from edgesea.firmware.nethost import build_host_network
from edgesea.firmware.program import PCM_NAME, parse_program_output, write_pcm
from edgesea.firmware.toolchain import have_arm_toolchain, have_qemu
from edgesea.packaged.names import PRETRAINED_DIR
from edgesea.zoo import catalog
from firmware_net_helpers import tflm_outputs

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
AUDIO = SHARED / "data" / "urbansound8k_subset" / "audio"
REQUIRED = os.environ.get("EDGESEA_REQUIRE_TOOLCHAIN") == "1"
STUDENTS = ["sea_urban_64", "sea_urban_128", "sea_urban_256", "sea_urban_512",
            "sea_urban_64_mcu1m", "sea_urban_128_mcu1m", "sea_urban_256_mcu1m",
            "sea_urban_512_mcu1m"]

pytest.importorskip("tflite")


@pytest.fixture(scope="module", autouse=True)
def toolchain():
    ok = have_arm_toolchain() and have_qemu() and shutil.which("make") is not None
    if not ok:
        if REQUIRED:
            pytest.fail("arm-none-eabi-gcc, qemu-system-arm or make missing but "
                        "EDGESEA_REQUIRE_TOOLCHAIN=1")
        pytest.skip("the Cortex-M toolchain is not installed (`make firmware-check`)")


def _bundle(name: str, out: Path):
    from edgesea.firmware import export_firmware

    arena = {m.name: m.arena_bytes for m in catalog()}[name]
    return export_firmware(name, out, arena_bytes=arena, measure=False)


def _real_pcm(seconds: float) -> np.ndarray:
    """Real audio of folds 1 and 2, 16 kHz int16, clips joined."""
    from edgesea.firmware.check import real_clips

    if not AUDIO.is_dir():
        pytest.skip("../shared UrbanSound8K subset not present")
    clips = real_clips(AUDIO / "fold1", 2, 16000, 3.0) + real_clips(AUDIO / "fold2", 2, 16000,
                                                                    3.0)
    return np.concatenate([pcm for _, pcm in clips])[:int(seconds * 16000)]


def _host_path(out: Path, name: str, pcm: np.ndarray, hop: int, n: int, tmp: Path):
    """The same C front end and network compiled for this host, driven from Python."""
    spec = json.loads((PRETRAINED_DIR / f"{name}.edge.json").read_text())
    fe = build_host_frontend(spec, tmp / "fe")
    net = build_host_network(out / f"{name}.int8.tflite", tmp / "net")
    starts, outs, inputs = [], [], []
    for start, _, q in fe.stream_windows(pcm, hop, n):
        starts.append(start)
        inputs.append(q)
        outs.append(net.run(q)[0])
    return starts, np.stack(outs), np.stack(inputs)


def _cosines(name: str, pcm: np.ndarray, starts: list[int], emb_q: np.ndarray) -> np.ndarray:
    import edgesea

    spec = json.loads((PRETRAINED_DIR / f"{name}.edge.json").read_text())
    out = spec["output"]
    emb = np.float32(out["scale"]) * (emb_q.astype(np.float32) - out["zero_point"])
    hop_s = (starts[1] - starts[0]) / 16000
    ref, stamps = edgesea.get_embedding(pcm.astype(np.float32) / 32768.0, 16000, model=name,
                                        center=False, hop_size=hop_s)
    rows = [int(round(s * 16000)) for s in stamps]
    r = ref[[rows.index(s) for s in starts]]
    return (emb * r).sum(1) / (np.linalg.norm(emb, axis=1) * np.linalg.norm(r, axis=1))


@pytest.mark.parametrize("name", STUDENTS)
def test_qemu_program_equals_host_and_float_model(name, tmp_path):
    out = tmp_path / "fw"
    bundle = _bundle(name, out)
    hop = bundle.window_hop_frames * bundle.layout["hop"]
    clip = np.fromfile(out / PCM_NAME, dtype="<i2")
    long_pcm = write_pcm(out / "real8s.pcm", _real_pcm(8.0), bundle.layout["hop"])
    for pcm_file, pcm in ((PCM_NAME, clip), ("real8s.pcm", np.fromfile(long_pcm, "<i2"))):
        dev = parse_program_output(run_make(out, "run-qemu", f"PCM={pcm_file}"))
        assert len(dev.starts) >= 3
        starts, host, inputs = _host_path(out, name, pcm, hop, len(dev.starts),
                                          tmp_path / pcm_file)
        assert dev.starts == starts
        assert np.array_equal(dev.embeddings, host), "QEMU and host builds differ"
        # and TFLM's reference kernels on the same int8 inputs give the same values
        assert np.array_equal(dev.embeddings, tflm_outputs(out / f"{name}.int8.tflite", inputs))
        cos = _cosines(name, pcm, dev.starts, dev.embeddings)
        print(f"\n{name} on QEMU, {pcm_file}: {len(starts)} windows equal to the host build; "
              f"cosine with the float model mean {cos.mean():.4f} min {cos.min():.4f}")
        assert cos.mean() >= 0.99 and cos.min() >= 0.97


def test_measured_budget_and_instructions_sea_urban_128(tmp_path):
    bundle = _bundle("sea_urban_128", tmp_path / "fw")
    m = measure_program(tmp_path / "fw", profile=True, plain=True)
    ram, flash = m["ram"], m["flash"]
    dsp, plain = m["instructions"]["dsp_profile"], m["instructions"]["plain"]
    macs = bundle.network["macs"]
    per_mac = dsp["network_per_window"] / macs
    ratio = plain["network_per_window"] / dsp["network_per_window"]
    print(f"\nsea_urban_128 on QEMU: RAM {ram['total']:,} B (front end {ram['frontend']:,}, "
          f"network {ram['network']:,}, program {ram['program']:,}, stack {ram['stack']:,}); "
          f"flash {flash['total']:,} B (front end {flash['frontend']:,}, network "
          f"{flash['network']:,}, program {flash['program']:,}); network "
          f"{dsp['network_per_window']:,.0f} instructions per window, {per_mac:.2f} per MAC; "
          f"plain C {plain['network_per_window']:,.0f} ({ratio:.2f}x)")
    assert 39.0 < dsp["instructions_per_tick"] < 41.0  # QEMU 7.2's SysTick under icount
    assert ram["total"] == m["size"][".data"] + m["size"][".bss"] + m["stack_used"]
    assert 0 < m["stack_used"] < m["stack_reserved"]
    assert ram["total"] <= 64 * 1024
    assert flash["total"] <= 170 * 1024
    assert per_mac <= 2.5
    assert ratio >= 3.0
    assert m["plain_equal"]
    assert len(dsp["per_step"]) == len(bundle.network["steps"])
    assert abs(sum(dsp["per_step"]) - dsp["network_per_window"]) < 0.01 * \
        dsp["network_per_window"]


def test_cli_bundle_runs_on_qemu_and_host(tmp_path):
    out = tmp_path / "fw"
    proc = subprocess.run([sys.executable, "-m", "edgesea.cli", "export", "sea_urban_128",
                           "--format", "firmware", "--out", str(out)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    info = json.loads((out / "firmware.json").read_text())
    assert info["program"]["measured"] and info["total_ram_bytes"] <= 64 * 1024
    for key in ("Makefile", "main.c", "edgesea_net.c", "edgesea_nn.c", PCM_NAME):
        assert (out / key).is_file()
    qemu = parse_program_output(run_make(out, "run-qemu"))
    host = parse_program_output(run_make(out, "run-host"))
    assert qemu.starts == host.starts and np.array_equal(qemu.embeddings, host.embeddings)
