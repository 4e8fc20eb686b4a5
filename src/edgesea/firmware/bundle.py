"""``export_firmware``: an int8 model and its edge spec -> a self-contained firmware folder.

The folder (``edgesea export MODEL --format firmware --out DIR``) builds with ``make``: the
front end in C (:mod:`edgesea.firmware.codegen`), the int8 network generated as C
(:mod:`edgesea.firmware.netgen`), ``main.c``, board support, a linker script and a
``Makefile`` for QEMU's MPS2 AN386 (:mod:`edgesea.firmware.program`), and a real clip as PCM.
When ``arm-none-eabi-gcc``, ``qemu-system-arm`` and ``make`` are installed the program is
built and run, and its flash, RAM, stack and instructions are measured
(:mod:`edgesea.firmware.measure`). For TensorFlow Lite Micro users the folder also holds the
model as a C array and ``main_tflm.cc`` with exactly the graph's ops and the measured TFLM
arena. ``README.md`` (:mod:`edgesea.firmware.readme`) and ``firmware.json`` give the figures.
:func:`export_firmware_formats` is what the CLI calls: it makes the int8 model first when
calibration audio is given, or uses the one that ships beside a packaged model.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgesea.core.fileio import atomic_path, write_json
from edgesea.errors import EdgeSEAError
from edgesea.export import export_model
from edgesea.export.carray import c_identifier, write_c_array
from edgesea.export.footprint import find_min_arena, tflite_macs
from edgesea.export.reuse import reusable_int8
from edgesea.firmware.budget import device_budget, frontend_footprint, latency_estimate
from edgesea.firmware.codegen import write_frontend
from edgesea.firmware.measure import latency_from_instructions, measure_program, tier_fit
from edgesea.firmware.netgen import NetworkCode, generate_network
from edgesea.firmware.program import write_program
from edgesea.firmware.readme import bundle_readme
from edgesea.firmware.templates import main_tflm_source
from edgesea.firmware.toolchain import find_tool, have_arm_toolchain, have_qemu
from edgesea.frontend.logmel import LogMelSpectrogram
from edgesea.packaged.names import parse_zoo_name, resolve_model
from edgesea.packaged.tiers import get_tier
from edgesea.runtime.litert import check_tflite_file, litert_interpreter, tflite_quant
from edgesea.runtime.spec_reader import read_edge_spec

__all__ = ["FirmwareBundle", "export_firmware", "export_firmware_formats", "model_ops"]


@dataclass
class FirmwareBundle:
    """Result of :func:`export_firmware`.

    Attributes
    ----------
    out_dir, name, ident : str
        The folder, the model's file name and its C identifier.
    source : str
        The model as it was given (a packaged name or a path): ``edgesea export SOURCE
        --format firmware`` remakes the bundle.
    files : dict of str to str
        What was written, by role (``model-source``, ``model-header``, ``frontend-source``,
        ``frontend-header``, ``main``, ``readme``, ``json``, ``tflite``, ``spec``).
    ops : list of str
        The model's builtin ops, each once, in graph order (the op resolver's list).
    arena_bytes, model_bytes : int
        Measured TFLM arena and model size.
    window_hop_frames : int
        Frames between model runs in ``main_tflm.cc``.
    layout, frontend, budget, latency : dict
        The front end's layout, its measured footprint, and the TFLM path's device budget
        per tier and latency estimate from MACs.
    export : dict
        The int8 export made first (:func:`export_firmware_formats`), if any.
    network : dict
        The generated network: ``arena_bytes``, ``const_bytes``, ``macs``, ``steps``,
        ``output_size``.
    program : dict
        ``measured`` and, when the program was built and run on QEMU,
        :func:`edgesea.firmware.measure.measure_program`'s figures and a ``latency``
        estimate from the instructions counted.
    total_ram_bytes, total_flash_bytes : int
        The whole program's RAM (data + bss + stack) and flash (code, constants, data),
        measured; without the toolchain, the static RAM computed and no flash.
    program_tiers : dict
        Per checked tier: whether the whole program fits its RAM and flash budgets.
    """

    out_dir: str
    name: str
    ident: str
    source: str = ""
    files: dict[str, str] = field(default_factory=dict)
    ops: list[str] = field(default_factory=list)
    arena_bytes: int = 0
    model_bytes: int = 0
    window_hop_frames: int = 0
    layout: dict[str, Any] = field(default_factory=dict)
    frontend: dict[str, Any] = field(default_factory=dict)
    budget: dict[str, Any] = field(default_factory=dict)
    latency: dict[str, Any] = field(default_factory=dict)
    export: dict[str, Any] = field(default_factory=dict)
    network: dict[str, Any] = field(default_factory=dict)
    program: dict[str, Any] = field(default_factory=dict)
    total_ram_bytes: int = 0
    total_flash_bytes: int | None = None
    program_tiers: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-serialisable)."""
        return asdict(self)

    def summary(self) -> list[str]:
        """Lines for the CLI: files, ops, budget and tier verdicts."""
        lines = [f"{k:15s} {p} ({Path(p).stat().st_size:,} bytes)" for k, p in self.files.items()]
        b, fe = self.budget, self.frontend
        lines.append(f"ops            {', '.join(self.ops)}")
        code = (f"text {fe['object']['text']:,} data {fe['object']['data']:,} bss "
                f"{fe['object']['bss']:,} (Cortex-M4F object)" if fe.get("measured")
                else "code size not measured (no arm-none-eabi-gcc)")
        lines.append(f"front end      {code}; RAM {fe['ram_bytes']:,} bytes")
        lines.append(f"device         RAM {b['ram_bytes']:,} bytes (front end + arena "
                     f"{self.arena_bytes:,}), flash {b['flash_bytes']:,} bytes (front end + "
                     f"model {self.model_bytes:,})")
        for t, r in b["tiers"].items():
            lines.append(f"tier {t:10s}{'fits' if r['fits'] else 'does not fit'} (headroom "
                         f"{r['ram_headroom_bytes']:,} B RAM, {r['flash_headroom_bytes']:,} B "
                         "flash)" + ("" if r["fits"] else ": " + "; ".join(r["model_over"])))
        prog = self.program
        if prog.get("measured"):
            ins = prog["instructions"]["dsp"]
            ram = prog["ram"]
            lines.append(f"program        measured on QEMU mps2-an386: RAM "
                         f"{self.total_ram_bytes:,} B (front end {ram['frontend']:,}, network "
                         f"{ram['network']:,}, stack {ram['stack']:,}), flash "
                         f"{self.total_flash_bytes:,} B; network {ins['network_per_window']:,.0f}"
                         f" instructions per window "
                         f"({ins['network_per_window'] / self.network['macs']:.2f} per MAC)")
        else:
            lines.append(f"program        not measured ({prog.get('note')}); static RAM "
                         f"{self.total_ram_bytes:,} B computed")
        for t, r in self.program_tiers.items():
            lines.append(f"program tier {t:4s}{'fits' if r['fits'] else 'does not fit'}")
        return lines

    def warnings(self) -> list[str]:
        """``"warning: ..."`` lines, one per checked tier the bundle does not fit."""
        return [f"warning: the firmware does not fit tier {t}: " + "; ".join(
            r["model_over"] or [f"device RAM {self.budget['ram_bytes']:,} of "
                                f"{r['device_ram_bytes']:,} bytes, flash "
                                f"{self.budget['flash_bytes']:,} of "
                                f"{r['device_flash_bytes']:,} bytes"])
            for t, r in self.budget.get("tiers", {}).items() if not r["fits"]]


def model_ops(tflite: str | os.PathLike | bytes) -> list[str]:
    """The builtin ops of a ``.tflite`` graph, each once, in graph order.

    Raises
    ------
    EdgeSEAError
        For a file that is not a TFLite model, or without the ``export`` extra.
    """

    interp = litert_interpreter(tflite, num_threads=1, xnnpack=False)
    ops: list[str] = []
    for op in interp._get_ops_details():
        if op["op_name"] not in ops:
            ops.append(str(op["op_name"]))
    return ops


def _inputs(model: str | os.PathLike, tflite: str | os.PathLike | None,
            spec: str | os.PathLike | None) -> tuple[Path, Path, str]:
    """The ``.tflite`` and ``.edge.json`` of a model reference, and the model's name."""

    ref = Path(resolve_model(model, kind="any"))
    stem = ref.name.split(".")[0]
    tfl = Path(tflite) if tflite is not None else (
        ref if ref.name.endswith(".tflite") else ref.with_name(f"{stem}.int8.tflite"))
    sp = Path(spec) if spec is not None else tfl.with_name(tfl.name.split(".")[0]
                                                           + ".edge.json")
    for path, what in ((tfl, "int8 .tflite"), (sp, "edge spec (.edge.json)")):
        if not path.is_file():
            raise EdgeSEAError(f"{model}: no {what} at {path}. A firmware bundle needs the "
                               "int8 model and its edge spec: pass --calibration DIR (to "
                               "export them first), or a model with them beside it (the "
                               "packaged models, or a folder written by `edgesea export "
                               "--format tflite-int8`)")
    return tfl, sp, tfl.name.split(".")[0]


def _check_quant(spec: dict[str, Any], tflite: Path) -> None:
    q = tflite_quant(tflite)
    inp = spec.get("input", {})
    if q.input_dtype != "int8" or q.output_dtype != "int8":
        raise EdgeSEAError(f"{tflite} is not a full-int8 model (input {q.input_dtype}, output "
                           f"{q.output_dtype}): export it with --format tflite-int8")
    if (list(q.input_shape) != list(inp.get("shape", [])) or inp.get("zero_point")
            != q.input_zero_point or abs(float(inp.get("scale", 0)) - q.input_scale) > 1e-9):
        raise EdgeSEAError(f"the edge spec does not describe {tflite.name} (input "
                           f"{inp.get('shape')} scale {inp.get('scale')} zero point "
                           f"{inp.get('zero_point')} vs the model's {list(q.input_shape)} "
                           f"{q.input_scale} {q.input_zero_point}): export both again")


def _write(path: Path, text: str) -> None:
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write(text)


def export_firmware(model: str | os.PathLike, out_dir: str | os.PathLike, *,
                    tflite: str | os.PathLike | None = None,
                    spec: str | os.PathLike | None = None, name: str | None = None,
                    arena_bytes: int | None = None, tiers: Sequence[str] | None = None,
                    window_hop_frames: int | None = None,
                    measure: bool | None = None) -> FirmwareBundle:
    """Write a firmware bundle: a program that builds with ``make``, and the TFLM path.

    Parameters
    ----------
    model : str or PathLike
        A packaged model's name (``"sea_urban_128"``), an edgesea model file with its
        ``<stem>.int8.tflite`` and ``<stem>.edge.json`` beside it, or an int8 ``.tflite``
        with its ``.edge.json`` beside it.
    out_dir : str or PathLike
        The folder to write (created).
    tflite, spec : str or PathLike, optional
        The int8 model and its edge spec, when they are not beside ``model``.
    name : str, optional
        Base of the file and symbol names (default: the model's file name).
    arena_bytes : int, optional
        TFLM arena (default: measured with :func:`edgesea.export.find_min_arena`).
    tiers : sequence of str, optional
        Tiers to check (default: a packaged model's own tier, else every tier).
    window_hop_frames : int, optional
        Frames between embeddings in ``main.c`` and ``main_tflm.cc`` (default: half a
        window).
    measure : bool, optional
        Build the program and run it on QEMU to measure it (default: when
        ``arm-none-eabi-gcc``, ``qemu-system-arm`` and ``make`` are installed; True without
        them raises).

    Returns
    -------
    FirmwareBundle
        Files, ops and figures (also in ``firmware.json``).

    Raises
    ------
    EdgeSEAError
        Missing or inconsistent inputs, a front end the C code does not cover, a model that
        is not full-int8, an operator or option the network generator does not support
        (before anything is written), or a missing ``export`` extra.
    """

    tfl, sp, base = _inputs(model, tflite, spec)
    spec_doc = read_edge_spec(sp)
    _check_quant(spec_doc, tfl)
    name = name or base
    # the network first: a graph the generator cannot compile is refused before any file
    # is written
    net = generate_network(tfl, model=name)
    ident = c_identifier(name)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise EdgeSEAError(f"output path {out_dir} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    bundle = FirmwareBundle(out_dir=str(out), name=name, ident=ident, source=os.fspath(model))
    h, c, layout = write_frontend(spec_doc, out, spec_name=f"{name}.edge.json")
    data = check_tflite_file(tfl)
    arrays = write_c_array(data, out, ident)
    bundle.files.update({"model-source": arrays.source, "model-header": arrays.header,
                         "frontend-source": str(c), "frontend-header": str(h)})
    for src, dst, key in ((tfl, out / f"{name}.int8.tflite", "tflite"),
                          (sp, out / f"{name}.edge.json", "spec")):
        if src.resolve() != dst.resolve():
            shutil.copyfile(src, dst)
        bundle.files[key] = str(dst)
    bundle.ops = model_ops(data)
    if arena_bytes is None:
        search = find_min_arena(tfl)
        arena_bytes = int(search.reported or search.smallest_ok)
    if isinstance(arena_bytes, bool) or int(arena_bytes) < 1:
        raise EdgeSEAError(f"invalid arena_bytes={arena_bytes!r}: expected a positive integer")
    hop_frames = window_hop_frames or max(1, layout.n_frames // 2)
    if isinstance(hop_frames, bool) or int(hop_frames) < 1:
        raise EdgeSEAError(f"invalid window_hop_frames={window_hop_frames!r}: expected >= 1")
    if tiers is None:
        try:
            tiers = [parse_zoo_name(base)[2]]
        except EdgeSEAError:
            tiers = None
    tier_names = [get_tier(t).name for t in tiers] if tiers is not None else None
    bundle.arena_bytes, bundle.model_bytes = int(arena_bytes), len(data)
    bundle.window_hop_frames = int(hop_frames)
    bundle.layout = layout.to_dict()
    bundle.frontend = frontend_footprint(layout, c)
    bundle.budget = device_budget(bundle.frontend, bundle.arena_bytes, bundle.model_bytes,
                                  tier_names)
    fe = LogMelSpectrogram.from_config(spec_doc["frontend"]["config"])
    bundle.latency = latency_estimate(tflite_macs(data), layout, fe, bundle.window_hop_frames)
    main = out / "main_tflm.cc"
    _write(main, main_tflm_source(ident, layout, bundle.ops, bundle.arena_bytes,
                                  bundle.window_hop_frames))
    bundle.files["main"] = str(main)
    _add_program(bundle, out, net, layout, measure)
    info = bundle.to_dict()
    readme = out / "README.md"
    _write(readme, bundle_readme(info))
    bundle.files["readme"] = str(readme)
    js = out / "firmware.json"
    bundle.files["json"] = str(js)
    write_json(js, bundle.to_dict())
    return bundle


def _add_program(bundle: FirmwareBundle, out: Path, net: NetworkCode, layout: Any,
                 measure: bool | None) -> None:
    """The generated network, the program around it and, if asked or possible, its
    measurement on QEMU."""

    bundle.network = {"arena_bytes": net.arena_bytes, "const_bytes": net.weight_bytes,
                      "macs": net.macs, "steps": net.steps,
                      "output_size": int(net.plan.output.size)}
    files = write_program(out, bundle.name, layout, net, bundle.window_hop_frames)
    bundle.files.update({k: str(v) for k, v in files.items()})
    tools = have_arm_toolchain() and have_qemu() and find_tool("make") is not None
    if measure and not tools:
        raise EdgeSEAError("measuring the firmware needs arm-none-eabi-gcc, newlib, "
                           "qemu-system-arm and make (Debian: gcc-arm-none-eabi "
                           "libnewlib-arm-none-eabi qemu-system-arm make)")
    bundle.total_ram_bytes = net.arena_bytes + int(bundle.frontend["computed"]["static"])
    if measure is False or not tools:
        bundle.program = {"measured": False, "note": "not built: " + (
            "measure=False" if measure is False else "no arm-none-eabi-gcc / qemu-system-arm")}
    else:
        prog = measure_program(out)
        hop_s = bundle.window_hop_frames * layout.hop / layout.sample_rate
        ins = prog["instructions"]["dsp"]
        prog["latency"] = latency_from_instructions(ins["network_per_window"],
                                                    ins["frontend_per_window"], hop_s)
        bundle.program = {"measured": True, **prog}
        bundle.total_ram_bytes = int(prog["ram"]["total"])
        bundle.total_flash_bytes = int(prog["flash"]["total"])
    bundle.program_tiers = tier_fit(bundle.total_ram_bytes, bundle.total_flash_bytes,
                                     list(bundle.budget.get("tiers", {})))


def export_firmware_formats(model: str | os.PathLike, formats: Sequence[str],
                            out_dir: str | os.PathLike, *,
                            calibration_dir: str | os.PathLike | None = None,
                            n_calibration: int = 256, name: str | None = None, seed: int = 0,
                            progress: bool = True, tier: str | None = None) -> FirmwareBundle:
    """``edgesea export MODEL --format firmware [--format ...]``.

    With ``calibration_dir`` the int8 model (and any other format asked for) is exported
    into ``out_dir`` first (:func:`edgesea.export.export_model`) and the bundle is made
    from it; without, the int8 model and edge spec beside ``model`` are used (the packaged
    models ship them).

    Parameters
    ----------
    model : str or PathLike
        A packaged model's name or an edgesea model file.
    formats : sequence of str
        ``"firmware"`` and optionally other formats of :data:`edgesea.export.FORMATS`.
    out_dir : str or PathLike
        The folder (created).
    calibration_dir, n_calibration, name, seed, progress
        As for :func:`edgesea.export.export_model`.
    tier : str, optional
        Check this tier only (default: see :func:`export_firmware`).

    Returns
    -------
    FirmwareBundle
        With ``export`` holding the int8 export's result when one was made, or ``{"reused":
        True}`` when an int8 export of the same model, calibration audio (content),
        window count and seed was already in ``out_dir`` (:mod:`edgesea.export.reuse`).
    """
    other = [f for f in formats if f != "firmware"]
    tiers, reused, result = [tier] if tier else None, None, None
    if calibration_dir is not None and not other:  # the same int8 export already there
        reused = reusable_int8(resolve_model(model, kind="float"), out_dir, name,
                               calibration_dir, n_calibration, seed)
    if reused is None and (calibration_dir is not None or other):
        wanted = list(dict.fromkeys([*other, *(["tflite-int8"] if calibration_dir else [])]))
        result = export_model(resolve_model(model, kind="float"), wanted, out_dir,
                              calibration_dir=calibration_dir, n_calibration=n_calibration,
                              name=name, seed=seed, progress=progress)
    files = reused or (result.files if result and "tflite-int8" in result.files else None)
    bundle = export_firmware(model, out_dir, tflite=files and files["tflite-int8"],
                             spec=files and files["spec"],
                             name=result.name if result and files else name, tiers=tiers)
    if result is not None or reused is not None:
        bundle.export = result.to_dict() if result else {"reused": True, "files": {
            k: reused[k] for k in ("tflite-int8", "spec")}}
    return bundle
