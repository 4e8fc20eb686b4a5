"""Measurements of the C front end against the Python one, end to end and under QEMU.

Used by ``tests/test_firmware*.py`` (which assert on the figures) and
``benchmarks/firmware_check.py`` (which prints them):

- :func:`real_clips`: int16 mono clips of real audio from a folder;
- :func:`compare_frontends`: the host-compiled C front end (streamed, and window by window
  with context) against the model's PyTorch front end on the same windows: differences in
  dB and in int8 steps;
- :func:`end_to_end`: C front end -> the ``tflite_micro`` interpreter on the int8 model ->
  embedding, against the float model through :func:`edgesea.get_embedding` on the same
  audio (cosine), next to the Python front end -> TFLM path;
- :func:`qemu_vs_host`: the Cortex-M4 build under QEMU against the host build.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from edgesea.audio.io import resample
from edgesea.errors import EdgeSEAError
from edgesea.export.footprint import find_min_arena
from edgesea.firmware.host import HostFrontend
from edgesea.firmware.qemu import run_frontend_on_qemu
from edgesea.frontend.logmel import LogMelSpectrogram
from edgesea.inference.api import get_embedding
from edgesea.models import load_model
from edgesea.packaged.names import resolve_model
from edgesea.runtime.frontend_spec import quantize_input
from edgesea.runtime.litert import require, tflite_quant

__all__ = ["compare_frontends", "end_to_end", "qemu_vs_host", "real_clips"]


def real_clips(folder: str | os.PathLike, n_clips: int, sample_rate: int,
               min_seconds: float = 0.0) -> list[tuple[str, np.ndarray]]:
    """The first ``n_clips`` audio files of ``folder`` (sorted), as mono int16 at
    ``sample_rate``.

    Files shorter than ``min_seconds`` are passed over; other rates are resampled (then
    rounded to int16). Returns ``[(file name, int16 samples), ...]``.
    """
    import soundfile as sf

    out = []
    for path in sorted(Path(folder).glob("*.*")):
        try:
            info = sf.info(str(path))
        except RuntimeError:
            continue
        if info.duration < min_seconds:
            continue
        pcm, sr = sf.read(str(path), dtype="int16", always_2d=True)
        if pcm.shape[1] > 1 or sr != sample_rate:
            x = resample(pcm.astype(np.float32).mean(axis=1) / 32768.0, sr, sample_rate)
            pcm = np.clip(np.round(np.asarray(x) * 32768.0), -32768, 32767).astype(np.int16)
        out.append((path.name, np.ascontiguousarray(pcm.reshape(-1))))
        if len(out) == n_clips:
            break
    if not out:
        raise EdgeSEAError(f"no usable audio in {folder}")
    return out


def _n_windows(n_samples: int, hop: int) -> int:
    return max(1, -(-n_samples // hop))


def _window_with_context(pcm: np.ndarray, start: int, host: HostFrontend) -> np.ndarray:
    lay = host.layout
    lo = start - lay.pad_before
    seg = np.zeros(lay.padded_samples, dtype=np.float32)
    a, b = max(lo, 0), min(lo + lay.padded_samples, pcm.size)
    if a < b:
        seg[a - lo:b - lo] = pcm[a:b].astype(np.float32) / 32768.0
    return seg


def compare_frontends(host: HostFrontend, frontend: LogMelSpectrogram,
                      clips: list[tuple[str, np.ndarray]], hop: int) -> dict[str, Any]:
    """The C front end against the model's PyTorch front end on real windows.

    Each clip is streamed through the C code (windows every ``hop`` samples) and each window
    is also computed alone with its context (``edgesea_fe_compute``); the reference is
    :meth:`LogMelSpectrogram.window_logmels` on the same float samples (int16 / 32768) and
    :func:`edgesea.export.quantize_input` of it.

    Returns
    -------
    dict
        ``n_windows``, ``n_values``, ``max_db_diff`` and ``mean_db_diff`` (C stream vs
        Python), ``lsb_within_1`` and ``lsb_exact`` (fractions of int8 values within one
        step of / equal to the Python ones), ``max_lsb``, ``stream_vs_compute_max_db`` (the
        two C paths against each other).
    """

    lay = host.layout
    diffs, lsb, cross = [], [], 0.0
    for _, pcm in clips:
        x = pcm.astype(np.float32) / 32768.0
        n = _n_windows(x.size, hop)
        ref = np.concatenate([b.numpy() for b in frontend.window_logmels(x, n, hop)])
        for i, (start, logmel, q) in enumerate(host.stream_windows(pcm, hop, n)):
            diffs.append(np.abs(logmel - ref[i]).ravel())
            if q is not None:
                q_ref = quantize_input(ref[i], lay.input_scale, lay.input_zero_point)
                lsb.append(np.abs(q.astype(np.int16) - q_ref.astype(np.int16)).ravel())
            alone, _ = host.compute(_window_with_context(pcm, start, host))
            cross = max(cross, float(np.abs(alone - logmel).max()))
    d = np.concatenate(diffs)
    out = {"n_clips": len(clips), "n_windows": len(diffs), "n_values": int(d.size),
           "max_db_diff": float(d.max()), "mean_db_diff": float(d.mean()),
           "stream_vs_compute_max_db": cross}
    if lsb:
        q_all = np.concatenate(lsb)
        out.update(lsb_within_1=float((q_all <= 1).mean()), lsb_exact=float((q_all == 0).mean()),
                   max_lsb=int(q_all.max()))
    return out


def end_to_end(model: str | os.PathLike, host: HostFrontend,
               clips: list[tuple[str, np.ndarray]], hop: int,
               arena_bytes: int | None = None) -> dict[str, Any]:
    """C front end -> TFLM (``tflite_micro``) on the int8 model, against the float model.

    Parameters
    ----------
    model : str or PathLike
        A packaged model's name or a float model file with ``<stem>.int8.tflite`` beside it.
    host : HostFrontend
        The model's compiled C front end.
    clips : list
        From :func:`real_clips`.
    hop : int
        Samples between windows (a multiple of the frame hop).
    arena_bytes : int, optional
        TFLM arena (default: measured).

    Returns
    -------
    dict
        ``cosine_mean`` / ``cosine_min`` (C front end + TFLM vs float), ``python_cosine_mean``
        (the Python front end + TFLM vs float: the int8 model alone), ``max_output_lsb``
        (int8 outputs of the two paths), ``n_windows``.
    """

    tflm = require("tflite_micro", "running TensorFlow Lite Micro").runtime
    float_path = Path(resolve_model(model, kind="float"))
    tfl = float_path.with_name(float_path.name.split(".")[0] + ".int8.tflite")
    net = load_model(float_path)
    quant = tflite_quant(tfl)
    if arena_bytes is None:
        found = find_min_arena(tfl)
        arena_bytes = int(found.reported or found.smallest_ok)
    interp = tflm.Interpreter.from_file(str(tfl), arena_size=int(arena_bytes) + 1024)
    lay = host.layout

    def run(q: np.ndarray) -> np.ndarray:
        interp.set_input(q[None], 0)
        interp.invoke()
        return np.asarray(interp.get_output(0)).reshape(-1).astype(np.int8)

    cos_c, cos_py, lsb = [], [], 0
    for _, pcm in clips:
        x = pcm.astype(np.float32) / 32768.0
        ref, stamps = get_embedding(x, lay.sample_rate, model=net, center=False,
                                    hop_size=hop / lay.sample_rate)
        logmels = np.concatenate([b.numpy() for b in net.frontend.window_logmels(
            x, len(stamps), hop)])
        for i, (start, _, q) in enumerate(host.stream_windows(pcm, hop, len(stamps))):
            if start != round(stamps[i] * lay.sample_rate):
                raise EdgeSEAError(f"window {i} starts at {start}, the float model's at "
                                   f"{stamps[i]} s")
            q_c = run(q)
            q_py = run(quantize_input(logmels[i], quant.input_scale, quant.input_zero_point))
            lsb = max(lsb, int(np.abs(q_c.astype(np.int16) - q_py.astype(np.int16)).max()))
            for out_q, acc in ((q_c, cos_c), (q_py, cos_py)):
                e = np.float32(quant.output_scale) * (out_q.astype(np.float32)
                                                      - quant.output_zero_point)
                r = ref[i]
                acc.append(float(e @ r / max(np.linalg.norm(e) * np.linalg.norm(r), 1e-12)))
    return {"n_windows": len(cos_c), "cosine_mean": float(np.mean(cos_c)),
            "cosine_min": float(np.min(cos_c)), "python_cosine_mean": float(np.mean(cos_py)),
            "max_output_lsb": lsb}


def qemu_vs_host(spec: dict[str, Any], host: HostFrontend, pcm: np.ndarray,
                 build_dir: str | os.PathLike) -> dict[str, Any]:
    """The front end built for a Cortex-M4F and run under QEMU against the host build.

    The first ``window + 0.5 s + context`` samples of ``pcm`` are embedded in the program;
    it streams them (windows at 0 and 0.5 s) and computes the window at 0.5 s alone with
    its context.

    Returns
    -------
    dict
        ``windows`` compared, ``max_db_diff``, ``int8_equal`` (fraction of equal int8
        values), ``max_lsb``, ``elf`` (text/data/bss of the QEMU program), ``output_bytes``.
    """

    lay = host.layout
    step = max(1, lay.n_frames // 2)
    hop = step * lay.hop
    n = -(-(lay.window_samples + hop + lay.pad_after) // lay.hop) * lay.hop  # whole hops
    seg = np.ascontiguousarray(pcm[:n])
    run = run_frontend_on_qemu(spec, seg, [hop], build_dir, stream_step=step)
    host_stream = {s: (lm, q) for s, lm, q in host.stream_windows(seg, hop, 2)}
    pairs = [(run.stream.get(s), host_stream[s]) for s in host_stream if lay.stream]
    pairs.append((run.compute.get(hop), host.compute(_window_with_context(seg, hop, host))))
    if any(dev is None for dev, _ in pairs):
        raise EdgeSEAError(f"QEMU printed windows {sorted(run.stream)} / {sorted(run.compute)}"
                           ", not the expected ones")
    db = max(float(np.abs(d[0] - h[0]).max()) for d, h in pairs)
    out = {"windows": len(pairs), "max_db_diff": db, "elf": run.sizes,
           "output_bytes": run.output_bytes}
    if lay.input_int8:
        qd = np.concatenate([np.abs(d[1].astype(np.int16) - h[1].astype(np.int16)).ravel()
                             for d, h in pairs])
        out.update(int8_equal=float((qd == 0).mean()), max_lsb=int(qd.max()))
    return out
