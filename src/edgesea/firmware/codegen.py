"""Generate ``edgesea_frontend.h`` / ``.c`` for one model from its edge spec.

:func:`frontend_layout` checks a ``<name>.edge.json`` document (written by ``edgesea
export``; :func:`edgesea.runtime.frontend_spec`) and reads what the C code needs: sizes,
padding, spectrum, exponent, dB rule and the int8 input quantization.
:func:`generate_frontend` turns it into the two C files: the ``#define`` lines, the
coefficient tables (the window values and the sparse mel weights of the spec, float32
exactly; a quarter-wave sine table for the FFT) and the fixed algorithm of
:mod:`edgesea.firmware.c_frontend`. :func:`write_frontend` writes them to a folder.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgesea.core.fileio import atomic_path
from edgesea.errors import EdgeSEAError
from edgesea.firmware.c_frontend import HEADER_TEMPLATE, SOURCE_TEMPLATE
from edgesea.runtime.frontend_spec import SPEC_FORMAT

__all__ = ["FrontendCode", "FrontendLayout", "c_float", "frontend_layout", "generate_frontend",
           "write_frontend"]

HEADER_NAME = "edgesea_frontend.h"
SOURCE_NAME = "edgesea_frontend.c"
_PER_LINE = 8


@dataclass(frozen=True)
class FrontendLayout:
    """What the C front end of one model computes (read from its edge spec).

    Attributes
    ----------
    model : str
        The model's name in the spec.
    sample_rate, window_samples, n_fft, hop, n_mels, n_frames, pad_before, pad_after : int
        Rate, window length, FFT size, frame hop, bands, frames per window and the samples
        of padding (zeros, or the context of a stream front end) around a window.
    stream : bool
        Frame-continuous front end (padding ``"stream"``): frames computed once per hop.
    magnitude : bool
        The mel matrix is applied to ``|X|`` (``"magnitude"``) instead of ``|X|**2``.
    exponent : float
        Exponent applied after the mel matrix (1 = none; 0.5 = square root).
    db : bool
        ``10 log10(max(x, amin))`` is applied.
    ref_max : bool
        The dB reference is the window maximum (else the fixed ``ref_db``).
    ref_db, amin : float
        ``10 log10(ref)`` for a fixed reference; the floor before the logarithm.
    top_db : float or None
        Floor below the peak (None: no floor).
    input_int8 : bool
        The model takes int8 input (else float32).
    input_scale : float
    input_zero_point : int
    output_scale : float or None
    output_zero_point : int or None
    emb_dim : int
    """

    model: str
    sample_rate: int
    window_samples: int
    n_fft: int
    hop: int
    n_mels: int
    n_frames: int
    pad_before: int
    pad_after: int
    stream: bool
    magnitude: bool
    exponent: float
    db: bool
    ref_max: bool
    ref_db: float
    amin: float
    top_db: float | None
    input_int8: bool
    input_scale: float
    input_zero_point: int
    output_scale: float | None
    output_zero_point: int | None
    emb_dim: int

    @property
    def input_size(self) -> int:
        """Values of one model input (``n_mels * n_frames``)."""
        return self.n_mels * self.n_frames

    @property
    def padded_samples(self) -> int:
        """A window with its padding or context."""
        return self.window_samples + self.pad_before + self.pad_after

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return asdict(self)


@dataclass(frozen=True)
class FrontendCode:
    """Result of :func:`generate_frontend`: the two files' text and the layout."""

    header: str
    source: str
    layout: FrontendLayout


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise EdgeSEAError(f"the edge spec cannot be compiled to the C front end: {what}")


def frontend_layout(spec: dict[str, Any]) -> FrontendLayout:
    """Check an edge spec and read the C front end's parameters from it.

    Parameters
    ----------
    spec : dict
        A ``<name>.edge.json`` document (format ``edgesea-edge-spec``).

    Returns
    -------
    FrontendLayout
        The parameters.

    Raises
    ------
    EdgeSEAError
        For a document that is not an edge spec, or a front end the C code does not cover
        (an ``n_fft`` that is not a power of two >= 8, a hop larger than ``n_fft``, an
        unknown spectrum, inconsistent tables).
    """
    if not isinstance(spec, dict) or spec.get("format") != SPEC_FORMAT:
        raise EdgeSEAError(f"not an edgesea edge spec (format {SPEC_FORMAT!r} expected): "
                           "pass the <name>.edge.json written by `edgesea export`")
    try:
        fe, cfg, inp = spec["frontend"], spec["frontend"]["config"], spec["input"]
        n_fft, hop, n_mels = int(cfg["n_fft"]), int(cfg["hop_length"]), int(cfg["n_mels"])
        n_frames = int(fe["n_frames"])
        pad_before, pad_after = int(fe["pad_before"]), int(fe["pad_after"])
        window_samples = int(spec["audio"]["window_samples"])
        window = fe["window_values"]
        mel = fe["mel_matrix"]
        spectrum, power = cfg["spectrum"], float(cfg["power"])
        ref = cfg["ref"]
        out = spec.get("output", {})
    except (KeyError, TypeError, ValueError) as e:
        raise EdgeSEAError(f"the edge spec is incomplete or malformed ({e!r}): regenerate it "
                           "with `edgesea export`") from e
    _need(n_fft >= 8 and n_fft & (n_fft - 1) == 0,
          f"n_fft={n_fft} must be a power of two >= 8 (the C code has a radix-2 FFT)")
    _need(1 <= hop <= n_fft, f"hop_length={hop} must be in [1, n_fft={n_fft}]")
    _need(n_mels >= 1 and n_frames >= 1, f"n_mels={n_mels} and n_frames={n_frames} must be >= 1")
    _need(len(window) == n_fft, f"{len(window)} window values for n_fft={n_fft}")
    _need(spectrum in ("power", "magnitude"), f"unknown spectrum {spectrum!r}")
    _need(power > 0, f"power={power} must be > 0")
    _need(int(mel["n_bins"]) == n_fft // 2 + 1 and len(mel["first_bin"]) == n_mels
          and len(mel["weights"]) == n_mels, "the mel matrix does not match n_fft and n_mels")
    for b, w in zip(mel["first_bin"], mel["weights"], strict=True):
        _need(0 <= int(b) and int(b) + len(w) <= n_fft // 2 + 1,
              "a mel band reaches outside the spectrum")
    stream = cfg.get("padding") == "stream"
    _need(not stream or pad_before < n_fft, f"a stream context of {pad_before} samples must "
          f"be shorter than n_fft={n_fft}")
    _need((n_frames - 1) * hop + n_fft <= window_samples + pad_before + pad_after,
          "the frames reach past the padded window")
    ref_max = isinstance(ref, str)
    _need((ref_max and ref == "max") or (not ref_max and float(ref) > 0),
          f"ref={ref!r} must be 'max' or a positive number")
    dtype = inp.get("dtype")
    _need(dtype in ("int8", "float32"), f"input dtype {dtype!r} must be int8 or float32")
    exponent = power / 2.0 if spectrum == "power" else power
    top_db = cfg.get("top_db")
    return FrontendLayout(
        model=str(spec.get("model", {}).get("name", "model")),
        sample_rate=int(cfg["sample_rate"]), window_samples=window_samples, n_fft=n_fft,
        hop=hop, n_mels=n_mels, n_frames=n_frames, pad_before=pad_before, pad_after=pad_after,
        stream=stream, magnitude=spectrum == "magnitude", exponent=exponent,
        db=bool(cfg["db"]), ref_max=ref_max,
        ref_db=0.0 if ref_max else 10.0 * math.log10(float(ref)), amin=float(cfg["amin"]),
        top_db=None if top_db is None else float(top_db), input_int8=dtype == "int8",
        input_scale=float(inp.get("scale", 1.0)), input_zero_point=int(inp.get("zero_point", 0)),
        output_scale=None if out.get("scale") is None else float(out["scale"]),
        output_zero_point=None if out.get("zero_point") is None else int(out["zero_point"]),
        emb_dim=int(out.get("shape", [1, 0])[-1]))


def c_float(value: float) -> str:
    """A C ``float`` literal that parses to exactly ``float32(value)``.

    Parameters
    ----------
    value : float
        A finite number.

    Returns
    -------
    str
        E.g. ``"0.313725501f"``, ``"80.0f"``, ``"1.00000001e-10f"``.
    """
    v = float(np.float32(value))
    if not math.isfinite(v):
        raise EdgeSEAError(f"cannot write {value!r} as a C float constant")
    text = f"{v:.9g}"
    if not any(ch in text for ch in ".en"):
        text += ".0"
    return text + "f"


def _table(ctype: str, name: str, values: list, fmt=str, comment: str = "") -> str:
    body = []
    for i in range(0, len(values), _PER_LINE):
        body.append("    " + ", ".join(fmt(v) for v in values[i:i + _PER_LINE]) + ",")
    head = f"/* {comment} */\n" if comment else ""
    return (f"{head}static const {ctype} {name}[{len(values)}] = {{\n" + "\n".join(body)
            + "\n};")


def _defines(lay: FrontendLayout, n_weights: int) -> str:
    exp_mode = 0 if lay.exponent == 1.0 else 1 if lay.exponent == 0.5 else 2
    rows = [
        ("EDGESEA_SAMPLE_RATE", lay.sample_rate, "Hz"),
        ("EDGESEA_WINDOW_SAMPLES", lay.window_samples, "samples per model window"),
        ("EDGESEA_N_FFT", lay.n_fft, "FFT size = frame length"),
        ("EDGESEA_HOP", lay.hop, "samples between frames"),
        ("EDGESEA_N_MELS", lay.n_mels, "mel bands"),
        ("EDGESEA_N_FRAMES", lay.n_frames, "frames per window"),
        ("EDGESEA_PAD_BEFORE", lay.pad_before,
         "context before a window" if lay.stream else "zeros before a window"),
        ("EDGESEA_PAD_AFTER", lay.pad_after,
         "context after a window" if lay.stream else "zeros after a window"),
        ("EDGESEA_STREAM", int(lay.stream), "1: frame-continuous (ring buffer)"),
        ("EDGESEA_MAGNITUDE", int(lay.magnitude), "1: mel of |X|, 0: mel of |X|^2"),
        ("EDGESEA_EXPONENT_MODE", exp_mode, "0: none, 1: sqrt, 2: powf"),
        ("EDGESEA_EXPONENT", c_float(lay.exponent), "exponent after the mel matrix"),
        ("EDGESEA_DB", int(lay.db), "1: 10 log10(max(x, amin))"),
        ("EDGESEA_AMIN", c_float(lay.amin), "floor before the logarithm"),
        ("EDGESEA_REF_MAX", int(lay.ref_max), "1: 0 dB = window maximum"),
        ("EDGESEA_REF_DB", c_float(lay.ref_db), "10 log10(ref) of a fixed reference"),
        ("EDGESEA_TOP_DB_ON", int(lay.top_db is not None), "1: floor at peak - top_db"),
        ("EDGESEA_TOP_DB", c_float(lay.top_db or 0.0), "dB below the peak"),
        ("EDGESEA_MEL_WEIGHTS", n_weights, "non-zero mel weights"),
        ("EDGESEA_INPUT_INT8", int(lay.input_int8), "1: the model input is int8"),
        ("EDGESEA_INPUT_SCALE", c_float(lay.input_scale), "int8 input scale"),
        ("EDGESEA_INPUT_ZERO_POINT", lay.input_zero_point, "int8 input zero point"),
        ("EDGESEA_EMB_DIM", lay.emb_dim, "embedding size"),
    ]
    if lay.output_scale is not None:
        rows += [("EDGESEA_OUTPUT_SCALE", c_float(lay.output_scale), "e = scale * (q - zp)"),
                 ("EDGESEA_OUTPUT_ZERO_POINT", lay.output_zero_point, "int8 output zero point")]
    rows = [(n, f"({v})" if isinstance(v, int) and v < 0 else v, c) for n, v, c in rows]
    width = max(len(n) for n, _, _ in rows) + 1
    return "\n".join(f"#define {n:<{width}}{v!s:<14} /* {c} */" for n, v, c in rows)


def generate_frontend(spec: dict[str, Any], spec_name: str = "the edge spec") -> FrontendCode:
    """The C front end of one model.

    Parameters
    ----------
    spec : dict
        The model's edge spec (see :func:`frontend_layout`).
    spec_name : str
        How the generated files name their source (a file name).

    Returns
    -------
    FrontendCode
        ``header`` and ``source`` text and the :class:`FrontendLayout`.

    Raises
    ------
    EdgeSEAError
        As :func:`frontend_layout`.
    """
    lay = frontend_layout(spec)
    mel = spec["frontend"]["mel_matrix"]
    offsets, weights = [0], []
    for w in mel["weights"]:
        weights.extend(float(v) for v in w)
        offsets.append(len(weights))
    index_t = "uint16_t" if max(offsets[-1], lay.n_fft // 2 + 1) < 65536 else "uint32_t"
    sines = np.sin(2.0 * np.pi * np.arange(lay.n_fft // 4 + 1) / lay.n_fft)
    tables = "\n\n".join([
        _table("float", "k_window", spec["frontend"]["window_values"], c_float,
               f"analysis window ({spec['frontend']['config']['window']}, "
               f"{lay.n_fft} values of the spec)"),
        _table("float", "k_sin", sines.tolist(), c_float,
               f"sin(2 pi k / {lay.n_fft}), k = 0 .. {lay.n_fft // 4}"),
        _table(index_t, "k_mel_first", [int(b) for b in mel["first_bin"]],
               comment="first FFT bin of each mel band"),
        _table(index_t, "k_mel_offset", offsets,
               comment="band m's weights: k_mel_weights[offset[m] .. offset[m + 1])"),
        _table("float", "k_mel_weights", weights or [0.0], c_float,
               "non-zero mel weights, band by band"),
    ])
    cfg = spec["frontend"]["config"]
    summary = (f"{lay.sample_rate} Hz, {lay.window_samples}-sample windows, n_fft {lay.n_fft}, "
               f"hop {lay.hop}, {lay.n_mels} mel bands x {lay.n_frames} frames, padding "
               f"{cfg.get('padding')!r}, {cfg['spectrum']} spectrum, exponent "
               f"{lay.exponent:g}, " + (
                   f"dB ref {'max' if lay.ref_max else cfg['ref']}, amin {lay.amin:g}, "
                   f"top_db {lay.top_db}" if lay.db else "no dB")
               + (f", int8 scale {lay.input_scale:.9g} zero point {lay.input_zero_point}"
                  if lay.input_int8 else ", float input"))
    compute_doc = (", or EDGESEA_WINDOW_SAMPLES + EDGESEA_PAD_BEFORE + EDGESEA_PAD_AFTER: the "
                   "window with its context\n * from the signal (as the stream sees it)"
                   if lay.stream else "")
    subs = {"@@MODEL@@": lay.model, "@@SPEC@@": spec_name, "@@SUMMARY@@": summary,
            "@@DEFINES@@": _defines(lay, len(weights)), "@@COMPUTE_DOC@@": compute_doc,
            "@@TABLES@@": tables}
    header, source = HEADER_TEMPLATE, SOURCE_TEMPLATE
    for key, value in subs.items():
        header, source = header.replace(key, value), source.replace(key, value)
    return FrontendCode(header=header, source=source, layout=lay)


def write_frontend(spec: dict[str, Any], out_dir: str | os.PathLike,
                   spec_name: str = "the edge spec") -> tuple[Path, Path, FrontendLayout]:
    """Write ``edgesea_frontend.h`` and ``edgesea_frontend.c`` into ``out_dir`` (created).

    Parameters
    ----------
    spec : dict
        The model's edge spec.
    out_dir : str or PathLike
        Destination folder.
    spec_name : str
        How the files name their source.

    Returns
    -------
    tuple
        ``(header_path, source_path, layout)``.
    """
    code = generate_frontend(spec, spec_name)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = out / HEADER_NAME, out / SOURCE_NAME
    for path, text in zip(paths, (code.header, code.source), strict=True):
        with atomic_path(path) as tmp, open(tmp, "w") as f:
            f.write(text)
    return paths[0], paths[1], code.layout
