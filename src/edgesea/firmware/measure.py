"""Measure a firmware program on the emulated Cortex-M4F: flash, RAM, stack and instructions.

:func:`measure_program` builds a bundle's program with its own ``Makefile`` (in a scratch
copy, so the bundle stays clean), runs it under QEMU (``mps2-an386``, ``-icount shift=0``)
and returns what was measured, not estimated:

- **flash** and **static RAM** from the linker map, split by object file into front end
  (``edgesea_frontend.o``), network (``edgesea_net.o`` + ``edgesea_nn.o``) and program (the
  rest: ``main.o``, board support, libc/libm/libgcc, alignment); their sums equal
  ``arm-none-eabi-size``;
- **stack**: the high-water mark found by stack painting, so total RAM = data + bss + stack;
- **instructions**: QEMU's SysTick advances one tick per fixed number of instructions under
  ``-icount shift=0``; the program times a loop of known length (2,000,000 instructions) to
  read that number, then counts the front end per window and the network per window (and,
  with ``PROFILE=1``, per kernel call). QEMU does not model cycles: latencies derived from
  these counts (:func:`latency_from_instructions`) are estimates at one instruction per cycle.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from edgesea.errors import EdgeSEAError
from edgesea.firmware.program import ProgramOutput, parse_program_output
from edgesea.packaged.tiers import get_tier

__all__ = ["BUILD_PRODUCTS", "latency_from_instructions", "link_map_sizes", "measure_program",
           "run_make", "tier_fit"]

#: Files a build adds to a bundle folder (removed from the scratch copy before building).
BUILD_PRODUCTS = ("edgesea_fw.elf", "edgesea_fw.map", "edgesea_host")
_GROUPS = {"edgesea_frontend.o": "frontend", "edgesea_net.o": "network",
           "edgesea_nn.o": "network"}
_FLASH_SECTIONS = (".isr_vector", ".text", ".ARM.exidx", ".data")
_RAM_SECTIONS = (".data", ".bss")
_NUM = re.compile(r"^0x[0-9a-fA-F]+$")


def run_make(folder: str | os.PathLike, *args: str, timeout: float = 600) -> str:
    """``make -C folder args...``: its stdout and stderr (QEMU's semihosting output).

    Raises
    ------
    EdgeSEAError
        When make is missing, fails, or runs longer than ``timeout`` seconds.
    """
    if shutil.which("make") is None:
        raise EdgeSEAError("make not found: install make to build the firmware program")
    cmd = ["make", "-s", "-C", os.fspath(folder), *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as e:
        raise EdgeSEAError(f"{' '.join(cmd)} did not finish within {timeout:g} s") from e
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise EdgeSEAError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n"
                           f"{out.strip()[-3000:]}")
    return out


def _add_input_section(parts_of: dict[str, dict[str, int]], section: str | None,
                       tokens: list[str]) -> None:
    """Count an input section (``name address size object``) of the front end's or the
    network's object file in its part's flash or RAM."""
    if len(tokens) >= 4 and _NUM.match(tokens[1]) and _NUM.match(tokens[2]):
        group = _GROUPS.get(Path(tokens[3]).name)
        for kind, names in (("flash", _FLASH_SECTIONS), ("ram", _RAM_SECTIONS)):
            if group and section in names:
                parts_of[kind][group] += int(tokens[2], 16)


def link_map_sizes(map_file: str | os.PathLike) -> dict[str, dict[str, int]]:
    """Flash and static RAM per part, from a GNU ld map file.

    The totals are the output sections' sizes (as ``arm-none-eabi-size -A`` reports them);
    the front end's and the network's shares are the input sections of their object files;
    the program's is the rest (``main.o``, board support, libc/libm/libgcc, alignment).

    Returns
    -------
    dict
        ``{"flash": {...}, "ram": {...}}``, each with ``frontend``, ``network``, ``program``
        and ``total`` bytes (flash: vector table, code, read-only data and the initial values
        of ``.data``; RAM: ``.data`` + ``.bss``).
    """
    text = Path(map_file).read_text(errors="replace")
    start = text.find("Linker script and memory map")
    if start < 0:
        raise EdgeSEAError(f"{map_file} is not a GNU ld map file")
    parts_of = {"flash": {"frontend": 0, "network": 0}, "ram": {"frontend": 0, "network": 0}}
    totals = {"flash": 0, "ram": 0}
    section: str | None = None
    pending: str | None = None
    header_pending = False
    for line in text[start:].splitlines():
        tokens = line.split()
        if not tokens:
            continue
        if not line[0].isspace():  # an output section: ".text   0x40   0x258f4"
            section, pending = tokens[0], None
            header_pending = len(tokens) < 3
            size = int(tokens[2], 16) if len(tokens) >= 3 and _NUM.match(tokens[2]) else None
        elif header_pending:
            header_pending = False
            size = int(tokens[1], 16) if len(tokens) >= 2 and _NUM.match(tokens[1]) else None
        else:
            if pending is not None:  # the second line of a long input-section name
                tokens, pending = [pending, *tokens], None
            elif line.startswith((" .", " COMMON")):
                if len(tokens) == 1:
                    pending = tokens[0]
                    continue
            else:
                continue
            _add_input_section(parts_of, section, tokens)
            continue
        if size is not None:
            for kind, names in (("flash", _FLASH_SECTIONS), ("ram", _RAM_SECTIONS)):
                if section in names:
                    totals[kind] += size
    out = {}
    for kind in ("flash", "ram"):
        p = parts_of[kind]
        out[kind] = {**p, "program": totals[kind] - p["frontend"] - p["network"],
                     "total": totals[kind]}
    return out


def _section_sizes(elf: Path) -> dict[str, int]:
    """``arm-none-eabi-size -A``: section name -> bytes."""
    proc = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], capture_output=True,
                          text=True, check=False)
    sizes = {}
    for line in proc.stdout.splitlines():
        tokens = line.split()
        if len(tokens) >= 2 and tokens[0].startswith(".") and tokens[1].isdigit():
            sizes[tokens[0]] = int(tokens[1])
    return sizes


def _scratch_copy(bundle: Path, dest: Path) -> Path:
    shutil.copytree(bundle, dest, ignore=shutil.ignore_patterns("*.o", *BUILD_PRODUCTS))
    return dest


def _instructions(out: ProgramOutput) -> dict[str, Any]:
    if out.calibration is None or not out.network_ticks:
        raise EdgeSEAError("the firmware program printed no timer calibration or no window")
    ticks, instructions = out.calibration
    per_tick = instructions / max(ticks, 1)
    net = [t * per_tick for t in out.network_ticks]
    fe = [t * per_tick for t in out.frontend_ticks[1:] or out.frontend_ticks]
    res = {"instructions_per_tick": per_tick, "network_per_window": sum(net) / len(net),
           "frontend_per_window": sum(fe) / len(fe), "windows": len(net)}
    if out.step_ticks:
        res["per_step"] = [t * per_tick / len(net) for t in out.step_ticks]
    return res


def latency_from_instructions(network: float, frontend: float, hop_seconds: float,
                              clocks_hz: tuple[float, ...] = (64e6, 168e6)) -> dict[str, Any]:
    """Milliseconds per embedding and duty cycle at each clock, at one instruction per cycle
    (an estimate: QEMU counts instructions, it does not model cycles or memory waits)."""
    out: dict[str, Any] = {"kind": "estimate from instructions counted on QEMU at 1 "
                                   "instruction per cycle", "hop_seconds": hop_seconds}
    for clock in clocks_hz:
        net_ms, fe_ms = network / clock * 1e3, frontend / clock * 1e3
        out[f"{clock / 1e6:g}MHz"] = {
            "network_ms": net_ms, "frontend_ms": fe_ms, "total_ms": net_ms + fe_ms,
            "duty_cycle": (net_ms + fe_ms) / (hop_seconds * 1e3)}
    return out


def measure_program(bundle_dir: str | os.PathLike, *, profile: bool = False,
                    plain: bool = False, timeout: float = 600) -> dict[str, Any]:
    """Build and run a bundle's program on QEMU, and read what it occupies and executes.

    Parameters
    ----------
    bundle_dir : str or PathLike
        A folder written by :func:`edgesea.firmware.export_firmware`.
    profile : bool
        Also build with ``PROFILE=1``: instructions per kernel call (``per_step``).
    plain : bool
        Also build and run the plain C kernels (``DSP=0``, with the profile when
        ``profile``): its instructions and whether its embeddings equal the DSP build's.
    timeout : float
        Seconds each ``make`` may take.

    Returns
    -------
    dict
        ``flash`` / ``ram`` (:func:`link_map_sizes`; ``ram`` also has ``stack`` and
        ``total`` = data + bss + stack high-water mark), ``size`` (``arm-none-eabi-size -A``),
        ``stack_used`` / ``stack_reserved``, ``instructions`` (DSP build; ``plain`` and
        ``dsp_profile`` when asked), ``output`` (the DSP build's embeddings and timer counts),
        ``plain_equal``.
    """
    bundle = Path(bundle_dir)
    if not (bundle / "Makefile").is_file():
        raise EdgeSEAError(f"{bundle_dir} has no Makefile: not a firmware bundle folder")
    with tempfile.TemporaryDirectory(prefix="edgesea-fw-") as tmp:
        main = _scratch_copy(bundle, Path(tmp) / "dsp")
        out = parse_program_output(run_make(main, "run-qemu", timeout=timeout))
        sizes = link_map_sizes(main / "edgesea_fw.map")
        size = _section_sizes(main / "edgesea_fw.elf")
        flash = sum(size.get(s, 0) for s in _FLASH_SECTIONS)
        ram = sum(size.get(s, 0) for s in _RAM_SECTIONS)
        if sizes["flash"]["total"] != flash or sizes["ram"]["total"] != ram:
            raise EdgeSEAError(f"the link map ({sizes}) does not add up to arm-none-eabi-size "
                               f"-A ({size})")
        sizes["ram"]["stack"] = out.stack_used
        sizes["ram"]["total"] += out.stack_used
        res: dict[str, Any] = {**sizes, "size": size, "stack_used": out.stack_used,
                               "stack_reserved": out.stack_size,
                               "instructions": {"dsp": _instructions(out)},
                               "output": out.to_dict()}
        variants = ([("dsp_profile", ["PROFILE=1"])] if profile else []) + (
            [("plain", ["DSP=0"] + (["PROFILE=1"] if profile else []))] if plain else [])
        for name, args in variants:
            folder = _scratch_copy(bundle, Path(tmp) / name)
            other = parse_program_output(run_make(folder, *args, "run-qemu", timeout=timeout))
            res["instructions"][name] = _instructions(other)
            if name == "plain":
                res["plain_equal"] = bool(other.starts == out.starts and
                                          (other.embeddings == out.embeddings).all())
    return res


def tier_fit(ram_bytes: int, flash_bytes: int | None, tiers: list[str]) -> dict[str, Any]:
    """Whether a whole program (RAM: data + bss + stack; flash: everything linked) fits each
    tier's budgets (:data:`edgesea.packaged.TIERS`: RAM ``arena_bytes``, flash ``flash_bytes``).
    Unknown flash (None) is not checked."""

    out = {}
    for name in tiers:
        tier = get_tier(name)
        out[name] = {"ram_budget_bytes": tier.arena_bytes, "flash_budget_bytes": tier.flash_bytes,
                     "ram_headroom_bytes": tier.arena_bytes - int(ram_bytes),
                     "flash_headroom_bytes": None if flash_bytes is None
                     else tier.flash_bytes - int(flash_bytes),
                     "fits": int(ram_bytes) <= tier.arena_bytes
                     and (flash_bytes is None or int(flash_bytes) <= tier.flash_bytes)}
    return out
