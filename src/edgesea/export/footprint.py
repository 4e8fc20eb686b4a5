"""Device footprint of an int8 ``.tflite`` model, measured with real runtimes.

- flash: the model's bytes (what the C array puts in flash; the TFLM runtime code is extra
  and not measurable here);
- RAM: the TensorFlow Lite Micro tensor arena the model needs, parsed from
  ``print_allocations`` ("Arena allocation total N bytes", C++ output captured from file
  descriptors 1 and 2) and confirmed by a binary search on ``arena_size`` for the smallest
  arena the interpreter accepts (to within 16 bytes);
- MACs: multiply-accumulates per window of the int8 graph's CONV_2D, DEPTHWISE_CONV_2D and
  FULLY_CONNECTED ops (:func:`tflite_macs`; equal to :func:`edgesea.models.macs`'s
  ``"network"`` for the float model), and the front end's estimate
  (:func:`edgesea.models.footprint.frontend_macs`) when the front end is known (the float
  model or ``<name>.edge.json``);
- with audio: LiteRT int8 latency per window (batch 1, 1 thread, median of repeats; with
  LiteRT's default XNNPACK delegate and with its builtin kernels), TFLM vs LiteRT agreement
  in output LSBs, and with the float model the int8-vs-float agreement of the TFLM outputs
  (mean cosine, relative error).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgesea.errors import EdgeSEAError
from edgesea.export.calibration import logmel_windows
from edgesea.export.exporter import agreement
from edgesea.export.graph import load_student
from edgesea.frontend.logmel import LogMelSpectrogram
from edgesea.models.footprint import FRONTEND_MACS_METHOD, frontend_macs
from edgesea.runtime.frontend_spec import SPEC_FORMAT, quantize_input
from edgesea.runtime.litert import (
    capture_fds,
    check_tflite_file,
    litert_interpreter,
    parse_arena_total,
    require,
    run_litert,
    run_tflm,
    tflite_quant,
)
from edgesea.runtime.spec_reader import read_edge_spec

__all__ = ["ArenaSearch", "TFLiteFootprint", "find_min_arena", "tflite_footprint",
           "tflite_macs"]

_ARENA_STEP = 16


@dataclass
class ArenaSearch:
    """Result of :func:`find_min_arena`.

    Attributes
    ----------
    reported : int or None
        "Arena allocation total" printed by TFLM for a generous arena.
    smallest_ok : int
        Smallest ``arena_size`` found that the interpreter accepts.
    largest_failing : int
        Largest ``arena_size`` found that it refuses (``smallest_ok - largest_failing <= 16``).
    tries : int
        Interpreters built during the search.
    """

    reported: int | None
    smallest_ok: int
    largest_failing: int
    tries: int


@dataclass
class TFLiteFootprint:
    """Result of :func:`tflite_footprint` (see the module docstring)."""

    model: str
    flash_bytes: int
    arena_bytes: int
    arena_search: dict[str, Any]
    input: dict[str, Any]
    output: dict[str, Any]
    n_windows: int | None = None
    latency_ms: float | None = None
    latency_builtin_ms: float | None = None
    latency_repeats: int | None = None
    tflm_vs_litert_max_lsb: int | None = None
    tflm_vs_xnnpack_max_lsb: int | None = None
    int8_vs_float: dict[str, float] = field(default_factory=dict)
    audio_dir: str | None = None
    float_model: str | None = None
    macs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-serialisable)."""
        return asdict(self)


_PROBE = """
import sys
from tflite_micro import runtime as tflm
try:
    tflm.Interpreter.from_file(sys.argv[1], arena_size=int(sys.argv[2]))
except (RuntimeError, ValueError):
    sys.exit(3)
"""


def _accepts(path: str, arena_size: int) -> bool:
    """Whether TFLM allocates the model in ``arena_size`` bytes. Runs in a child process:
    TFLM crashes (SIGSEGV) instead of raising when an arena is too small even for its own
    bookkeeping, so a crash counts as a refusal."""
    proc = subprocess.run([sys.executable, "-c", _PROBE, path, str(int(arena_size))],
                          capture_output=True, text=True, check=False)
    if "ImportError" in proc.stderr or "ModuleNotFoundError" in proc.stderr:
        raise EdgeSEAError(f"the TFLM probe could not import tflite_micro: "
                           f"{proc.stderr.strip()[-300:]}")
    return proc.returncode == 0


def find_min_arena(model_path: str | os.PathLike, start: int = 1 << 20,
                   limit: int = 1 << 30) -> ArenaSearch:
    """Parse TFLM's arena total and binary-search the smallest accepted ``arena_size``.

    Parameters
    ----------
    model_path : str or PathLike
        The ``.tflite`` file.
    start : int
        First arena size tried (doubled until the model fits).
    limit : int
        Give up above this size.
    """
    tflm = require("tflite_micro", "measuring the TFLM arena").runtime
    path = os.fspath(model_path)
    hi, tries = int(start), 0
    while True:
        tries += 1
        if _accepts(path, hi):
            break
        if hi >= limit:
            raise EdgeSEAError(f"TFLM cannot allocate this model even with a {limit} byte "
                               "arena (unsupported op or corrupt model?)")
        hi *= 2
    interp = tflm.Interpreter.from_file(path, arena_size=hi)
    with capture_fds() as out:
        interp.print_allocations()
    del interp
    reported = parse_arena_total("".join(out))
    lo = 0
    if reported is not None and reported > 4 * _ARENA_STEP:  # bracket the printed total
        tries += 1
        if _accepts(path, reported):
            hi = min(hi, reported)
            tries += 1
            if not _accepts(path, reported - 4 * _ARENA_STEP):
                lo = reported - 4 * _ARENA_STEP
        else:
            lo = reported
    while hi - lo > _ARENA_STEP:
        mid = (lo + hi) // 2
        tries += 1
        if _accepts(path, mid):
            hi = mid
        else:
            lo = mid
    return ArenaSearch(reported=reported, smallest_ok=int(hi), largest_failing=int(lo),
                       tries=tries)


def tflite_macs(model: str | os.PathLike | bytes) -> int:
    """Multiply-accumulates of one inference of a ``.tflite`` graph.

    Counts ``CONV_2D`` (output size x kernel height x width x input channels),
    ``DEPTHWISE_CONV_2D`` (output size x kernel height x width) and ``FULLY_CONNECTED``
    (output size x input features); other ops (pad, pool, reshape, quantize) are not
    multiply-accumulates.

    Parameters
    ----------
    model : str, PathLike or bytes
        The ``.tflite`` file or its bytes.

    Returns
    -------
    int
        MACs per inference (batch 1 for a model exported by ``edgesea export``).
    """
    interp = litert_interpreter(model, num_threads=1, xnnpack=False)
    shapes = {t["index"]: [int(d) for d in t["shape"]] for t in interp.get_tensor_details()}
    total = 0
    for op in interp._get_ops_details():
        name = op["op_name"]
        if name not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        out = int(np.prod(shapes[int(op["outputs"][0])]))
        w = shapes[int(op["inputs"][1])]
        if name == "CONV_2D":  # filter (O, kh, kw, I)
            total += out * w[1] * w[2] * w[3]
        elif name == "DEPTHWISE_CONV_2D":  # filter (1, kh, kw, C * multiplier)
            total += out * w[1] * w[2]
        else:  # weights (O, I)
            total += out * w[-1]
    return int(total)


def _macs_report(path: Path, data: bytes, float_model: Any) -> dict[str, Any]:
    """The ``macs`` entry of :class:`TFLiteFootprint` (front end only when known)."""
    out: dict[str, Any] = {"network": tflite_macs(data), "frontend": None,
                           "source": "int8 graph"}
    try:
        fe, window_samples = _frontend_for(path, float_model)
    except EdgeSEAError:
        return out
    out["frontend"] = frontend_macs(fe, window_samples)["frontend"]
    out["frontend_method"] = FRONTEND_MACS_METHOD
    return out


def _frontend_for(tflite_path: Path, float_model: Any) -> tuple[LogMelSpectrogram, int]:
    if float_model is not None:
        return float_model.frontend, float_model.window_samples
    spec_path = tflite_path.with_name(tflite_path.name.split(".")[0] + ".edge.json")
    if not spec_path.is_file():
        raise EdgeSEAError(f"--audio needs the model's front end: pass the float model "
                           f"(--float-model) or keep {spec_path.name} (written by `edgesea "
                           "export`) beside the .tflite")
    try:
        spec = read_edge_spec(spec_path)
        if spec.get("format") != SPEC_FORMAT:
            raise ValueError(f"format {spec.get('format')!r}")
        fe = LogMelSpectrogram.from_config(spec["frontend"]["config"])
        return fe, int(spec["audio"]["window_samples"])
    except (ValueError, KeyError, TypeError) as e:
        raise EdgeSEAError(f"{spec_path} is not a valid edgesea edge spec: {e}") from e


def _max_lsb(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int32) - b.astype(np.int32)).max())


def _latency_ms(path: Path, q_inputs: np.ndarray, repeats: int, xnnpack: bool) -> float:
    interp = litert_interpreter(path, num_threads=1, xnnpack=xnnpack)
    i_idx = interp.get_input_details()[0]["index"]
    times = []
    for _ in range(repeats):
        for q in q_inputs:
            interp.set_tensor(i_idx, q[None])
            t0 = time.perf_counter()
            interp.invoke()
            times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3)


def tflite_footprint(model_path: str | os.PathLike, *, audio_dir: str | os.PathLike | None = None,
                     float_model: str | os.PathLike | None = None, n_windows: int = 64,
                     repeats: int = 5, progress: bool = False) -> TFLiteFootprint:
    """Measure flash, TFLM arena and (with audio) latency and agreement of an int8 model.

    Parameters
    ----------
    model_path : str or PathLike
        An int8 ``.tflite`` written by ``edgesea export``.
    audio_dir : str or PathLike, optional
        Real audio for latency and agreement (use audio not used for calibration).
    float_model : str or PathLike, optional
        The edgesea model the ``.tflite`` was exported from (for int8-vs-float agreement and
        its front end); without it the front end comes from ``<name>.edge.json``.
    n_windows : int
        Windows taken from ``audio_dir``.
    repeats : int
        Passes over the windows for the latency median.
    progress : bool
        Show a bar while reading audio.
    """
    path = Path(model_path)
    data = check_tflite_file(path)
    if float_model is not None and audio_dir is None:
        raise EdgeSEAError("--float-model is used to compare outputs on audio: pass --audio "
                           "DIR as well")
    try:
        quant = tflite_quant(data)
    except EdgeSEAError as e:
        raise EdgeSEAError(f"{path}: {e}") from e
    if quant.input_dtype != "int8" or quant.output_dtype != "int8":
        raise EdgeSEAError(f"{path} is not a full-int8 model (input {quant.input_dtype}, "
                           f"output {quant.output_dtype}): export it with --format tflite-int8")
    arena = find_min_arena(path)
    report = TFLiteFootprint(
        model=str(path), flash_bytes=len(data), arena_bytes=int(arena.reported or
                                                                 arena.smallest_ok),
        arena_search=asdict(arena),
        input={"shape": list(quant.input_shape), **quant.input_dict()},
        output={"shape": list(quant.output_shape), **quant.output_dict()})
    fmodel = load_student(float_model) if float_model is not None else None
    report.macs = _macs_report(path, data, fmodel)
    if audio_dir is None:
        return report
    fe, window_samples = _frontend_for(path, fmodel)
    wins = logmel_windows(audio_dir, fe, window_samples, n_windows, seed=1,
                          progress=progress, desc="audio")
    logmels = wins.logmels
    q_lite, _ = run_litert(data, logmels)
    q_xnn, _ = run_litert(data, logmels, xnnpack=True)
    q_micro, deq_micro = run_tflm(data, logmels, arena_size=arena.smallest_ok + 1024)
    q_inputs = np.stack([quantize_input(x, quant.input_scale, quant.input_zero_point)
                         for x in logmels])
    report.n_windows = len(logmels)
    report.audio_dir = os.fspath(audio_dir)
    report.latency_ms = _latency_ms(path, q_inputs, repeats, xnnpack=True)
    report.latency_builtin_ms = _latency_ms(path, q_inputs, repeats, xnnpack=False)
    report.latency_repeats = int(repeats)
    report.tflm_vs_litert_max_lsb = _max_lsb(q_lite, q_micro)
    report.tflm_vs_xnnpack_max_lsb = _max_lsb(q_xnn, q_micro)
    if fmodel is not None:
        with torch.inference_mode():
            ref = fmodel.embed_logmel(torch.from_numpy(logmels)).numpy()
        report.int8_vs_float = agreement(deq_micro, ref)
        report.float_model = os.fspath(float_model)
    return report
