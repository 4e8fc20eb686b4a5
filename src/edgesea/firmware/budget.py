"""The device budget of a firmware bundle: front end + TFLM arena + model, against a tier.

:func:`frontend_footprint` measures what the C front end occupies on a Cortex-M4F:
``arm-none-eabi-size`` of its object (text = code + coefficient tables, data, bss = static
scratch), its stack (``-fstack-usage``), and the size it adds to a linked program with the
math library (a program that calls it against one that does not). Without the ARM toolchain
the scratch RAM is computed from the buffer sizes instead, and says so.
:func:`device_budget` adds the TFLM arena and the model bytes and checks the sum against the
device a tier stands for (:data:`TIER_DEVICES`, from the tier descriptions in
:mod:`edgesea.packaged.tiers`), next to the tier's own model budgets. :func:`latency_estimate` turns
multiply-accumulates into milliseconds from stated assumptions: an estimate, not a
measurement.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgesea.firmware.codegen import FrontendLayout
from edgesea.firmware.toolchain import (
    ARM_CFLAGS,
    arm_size,
    arm_symbols,
    compile_arm_object,
    have_arm_toolchain,
    link_arm_program,
)
from edgesea.frontend.logmel import LogMelSpectrogram
from edgesea.models.footprint import frontend_macs
from edgesea.packaged.tiers import TIERS, check_budget

__all__ = ["ASSUMED_CLOCK_HZ", "ASSUMED_CYCLES_PER_FLOAT_MAC", "ASSUMED_CYCLES_PER_INT8_MAC",
           "TIER_DEVICES", "DeviceSize", "device_budget", "frontend_footprint",
           "latency_estimate", "scratch_bytes"]


@dataclass(frozen=True)
class DeviceSize:
    """RAM and flash of the device a tier stands for."""

    ram_bytes: int
    flash_bytes: int


#: The devices of :data:`edgesea.packaged.TIERS`' descriptions: ``mcu`` "a small Cortex-M (e.g.
#: M4 with 256 KB RAM and 512 KB flash)", ``mcu-1m`` "a Cortex-M4/M7 with 1 MB RAM and 2 MB
#: flash". A tier's own budgets (arena, model) are the model's share of that device.
TIER_DEVICES: dict[str, DeviceSize] = {
    "mcu": DeviceSize(256 * 1024, 512 * 1024),
    "mcu-1m": DeviceSize(1024 * 1024, 2048 * 1024),
}
#: Assumptions of :func:`latency_estimate` (stated wherever the estimate is printed).
ASSUMED_CLOCK_HZ = 80_000_000
ASSUMED_CYCLES_PER_INT8_MAC = 1.0  # CMSIS-NN int8 kernels on a Cortex-M4 (SIMD dual MAC)
ASSUMED_CYCLES_PER_FLOAT_MAC = 2.0  # FPv4-SP multiply-add plus its loads

_PROBE_MAIN = r"""#include "edgesea_frontend.h"
static float s_logmel[EDGESEA_INPUT_SIZE];
static int8_t s_q[EDGESEA_INPUT_SIZE];
static float s_x[EDGESEA_WINDOW_SAMPLES];
int main(void) {
    int rc = edgesea_fe_compute(s_x, EDGESEA_WINDOW_SAMPLES, s_logmel, s_q);
#if EDGESEA_STREAM
    static int16_t pcm[EDGESEA_HOP];
    edgesea_fe_reset();
    rc += (int)edgesea_fe_push_pcm16(pcm, EDGESEA_HOP) + (int)edgesea_fe_push(s_x, 1);
    rc += edgesea_fe_window_ready() + edgesea_fe_window(0, s_q) + (int)edgesea_fe_frames();
#endif
    return rc == 12345;
}
"""
_EMPTY_MAIN = "int main(void) { return 0; }\n"


def scratch_bytes(layout: FrontendLayout) -> dict[str, int]:
    """Static RAM of the C front end computed from its buffer sizes (float32 buffers).

    Returns
    -------
    dict
        ``{"fft", "power", "history", "ring", "state", "static", "caller"}``: the static
        buffers (their sum is ``static``) and the float log-mel buffer the caller passes to
        ``edgesea_fe_compute`` (a stream front end writes the int8 input straight into the
        TFLM input tensor, so it needs none).
    """
    out = {"fft": 4 * layout.n_fft, "power": 4 * (layout.n_fft // 2 + 1),
           "history": 4 * layout.n_fft if layout.stream else 0,
           "ring": 4 * layout.input_size if layout.stream else 0,
           "state": 16 if layout.stream else 0}
    out["static"] = sum(out.values())
    out["caller"] = 0 if layout.stream else 4 * layout.input_size
    return out


def _stack_bytes(su_files: list[Path]) -> dict[str, int]:
    frames = {}
    for su in su_files:
        for line in su.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) >= 2 and parts[1].strip().isdigit():
                frames[parts[0].rsplit(":", 1)[-1]] = int(parts[1])
    return frames


def frontend_footprint(layout: FrontendLayout, source: str | Path,
                       build_dir: str | Path | None = None) -> dict[str, Any]:
    """What the C front end occupies on a Cortex-M4F.

    Parameters
    ----------
    layout : FrontendLayout
        Its layout.
    source : str or Path
        ``edgesea_frontend.c`` (its header beside it).
    build_dir : str or Path, optional
        Where to compile (default: a temporary folder).

    Returns
    -------
    dict
        ``measured`` (bool: the ARM toolchain was there); with it, ``object`` (text, data,
        bss of the object: text holds the code and the constant tables), ``symbols`` (the
        largest symbols), ``stack_bytes`` (sum of the frames of all its functions, an upper
        bound of its deepest call chain) and ``linked`` (what it adds to a linked program,
        math library included); always ``computed`` (:func:`scratch_bytes`), ``ram_bytes``
        (static + stack + caller buffer) and ``flash_bytes`` (linked text + data, or the
        object's without the toolchain; None when unknown), ``cflags``.
    """
    computed = scratch_bytes(layout)
    out: dict[str, Any] = {"measured": False, "computed": computed,
                           "cflags": " ".join(ARM_CFLAGS), "flash_bytes": None,
                           "ram_bytes": computed["static"] + computed["caller"]}
    if not have_arm_toolchain():
        out["note"] = ("arm-none-eabi-gcc not installed: scratch RAM computed from the buffer "
                       "sizes, code size not measured")
        return out
    with tempfile.TemporaryDirectory() as tmp:
        build = Path(build_dir or tmp)
        build.mkdir(parents=True, exist_ok=True)
        src = Path(source)
        obj = compile_arm_object(src, build / "edgesea_frontend.o",
                                 extra_flags=["-fstack-usage"])
        size = arm_size(obj)
        stack = _stack_bytes(list(build.glob("edgesea_frontend.su")))
        probe, empty = build / "edgesea_size_probe.c", build / "edgesea_size_empty.c"
        probe.write_text(_PROBE_MAIN)
        empty.write_text(_EMPTY_MAIN)
        with_fe = arm_size(link_arm_program([src, probe], build / "with_frontend.elf",
                                            include_dirs=[src.parent]))
        without = arm_size(link_arm_program([empty], build / "without_frontend.elf"))
        probe_buffers = 4 * layout.input_size + layout.input_size + 4 * layout.window_samples \
            + (2 * layout.hop if layout.stream else 0)
        linked = {"text": with_fe.text - without.text, "data": with_fe.data - without.data,
                  "bss": with_fe.bss - without.bss - probe_buffers}
        out.update(
            measured=True, object=size.to_dict(),
            symbols=[s for s in arm_symbols(obj) if s["size"] >= 64][:12],
            stack_bytes=sum(stack.values()), stack_frames=stack, linked=linked,
            flash_bytes=linked["text"] + linked["data"],
            ram_bytes=size.ram + sum(stack.values()) + computed["caller"])
    return out


def latency_estimate(network_macs: int, layout: FrontendLayout, frontend: LogMelSpectrogram,
                     window_hop_frames: int, clock_hz: float = ASSUMED_CLOCK_HZ
                     ) -> dict[str, Any]:
    """Expected time per window on a Cortex-M4F, from multiply-accumulates (an estimate).

    Parameters
    ----------
    network_macs : int
        MACs of one inference of the int8 graph
        (:func:`edgesea.export.footprint.tflite_macs`).
    layout : FrontendLayout
        The C front end's layout.
    frontend : LogMelSpectrogram
        The model's front end (its MACs: :func:`edgesea.models.footprint.frontend_macs`).
    window_hop_frames : int
        Frames between model runs (a stream front end computes only these per window).
    clock_hz : float
        Core clock assumed.

    Returns
    -------
    dict
        MACs, the assumptions and the milliseconds per window of the network, of the front
        end and of both, with ``"kind": "estimate"``.
    """
    per_window = frontend_macs(frontend, layout.window_samples)
    per_frame = per_window["frontend"] / max(per_window["n_frames"], 1)
    frames = window_hop_frames if layout.stream else layout.n_frames
    fe_macs = int(round(per_frame * frames))
    net_ms = network_macs * ASSUMED_CYCLES_PER_INT8_MAC / clock_hz * 1e3
    fe_ms = fe_macs * ASSUMED_CYCLES_PER_FLOAT_MAC / clock_hz * 1e3
    return {"kind": "estimate", "clock_hz": clock_hz,
            "cycles_per_int8_mac": ASSUMED_CYCLES_PER_INT8_MAC,
            "cycles_per_float_mac": ASSUMED_CYCLES_PER_FLOAT_MAC,
            "network_macs": int(network_macs), "frontend_macs_per_frame": int(round(per_frame)),
            "frontend_frames_per_window": int(frames), "frontend_macs": fe_macs,
            "network_ms": net_ms, "frontend_ms": fe_ms, "total_ms": net_ms + fe_ms,
            "window_hop_s": window_hop_frames * layout.hop / layout.sample_rate}


def device_budget(frontend: dict[str, Any], arena_bytes: int, model_bytes: int,
                  tiers: list[str] | None = None) -> dict[str, Any]:
    """Front end + TFLM arena + model flash, checked against tiers.

    Parameters
    ----------
    frontend : dict
        :func:`frontend_footprint`.
    arena_bytes, model_bytes : int
        The measured TFLM arena and the model's bytes.
    tiers : list of str, optional
        Tiers to check (default: every tier).

    Returns
    -------
    dict
        ``ram_bytes`` (front-end RAM + arena), ``flash_bytes`` (front-end flash + model;
        the TFLM runtime code is extra and not counted), and per tier: the tier's model
        budgets (``model_over``: :func:`edgesea.packaged.check_budget`), the device totals
        (``device_ram_bytes``, ``device_flash_bytes``), the headroom left for the TFLM
        runtime and the application, and ``fits``.
    """
    fe_flash = frontend.get("flash_bytes") or 0
    ram = int(frontend["ram_bytes"]) + int(arena_bytes)
    flash = int(fe_flash) + int(model_bytes)
    out: dict[str, Any] = {"ram_bytes": ram, "flash_bytes": flash,
                           "frontend_ram_bytes": int(frontend["ram_bytes"]),
                           "frontend_flash_bytes": frontend.get("flash_bytes"),
                           "arena_bytes": int(arena_bytes), "model_bytes": int(model_bytes),
                           "tiers": {}}
    for name in tiers or list(TIERS):
        dev = TIER_DEVICES[name]
        over = check_budget(model_bytes, arena_bytes, name)
        fits = not over and ram <= dev.ram_bytes and flash <= dev.flash_bytes
        out["tiers"][name] = {
            "fits": fits, "model_over": over, "tier_arena_bytes": TIERS[name].arena_bytes,
            "tier_model_flash_bytes": TIERS[name].flash_bytes,
            "device_ram_bytes": dev.ram_bytes, "device_flash_bytes": dev.flash_bytes,
            "ram_headroom_bytes": dev.ram_bytes - ram,
            "flash_headroom_bytes": dev.flash_bytes - flash}
    return out
