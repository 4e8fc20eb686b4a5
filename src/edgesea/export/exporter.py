"""``export_model``: one edgesea model file -> deployable files in one folder.

Formats (:data:`FORMATS`): ``tflite-int8`` (full-int8 ``<name>.int8.tflite`` for LiteRT and
TFLM), ``c-array`` (that ``.tflite`` plus ``<name>_model_data.cc``/``.h``), ``onnx`` (float
``<name>.onnx``) and ``onnx-int8`` (QDQ ``<name>.int8.onnx``). Every export also writes
``<name>.edge.json`` (:func:`~edgesea.runtime.frontend_spec.frontend_spec`): the front end the
device must compute and the int8 input/output quantization. Each exported model is checked
against the float model on the calibration windows (mean cosine, relative error).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgesea.core.fileio import write_json
from edgesea.errors import EdgeSEAError
from edgesea.export.calibration import logmel_windows
from edgesea.export.carray import c_identifier, write_c_array
from edgesea.export.graph import load_student, model_name
from edgesea.export.onnx import export_onnx, quantize_onnx_int8, run_onnx
from edgesea.export.reuse import calibration_key, file_sha256
from edgesea.export.tflite import convert_tflite_int8
from edgesea.runtime.frontend_spec import frontend_spec
from edgesea.runtime.litert import run_litert, tflite_quant

__all__ = ["FORMATS", "ExportResult", "agreement", "export_model"]

FORMATS = ("tflite-int8", "onnx", "onnx-int8", "c-array")
_NEEDS_CALIBRATION = {"tflite-int8", "onnx-int8", "c-array"}


@dataclass
class ExportResult:
    """Result of :func:`export_model`.

    Attributes
    ----------
    out_dir : str
        The output folder.
    name : str
        Base name of the files and C symbols.
    formats : list of str
        What was exported.
    files : dict of str to str
        ``{"tflite-int8": path, "onnx": path, "onnx-int8": path, "c-source": path,
        "c-header": path, "spec": path}`` (only what was written).
    sizes : dict of str to int
        File sizes in bytes, same keys.
    calibration : dict
        ``{"audio_dir", "n_windows", "n_files_used", "n_files_failed"}`` or empty.
    check : dict
        Per format, agreement with the float model on the calibration windows:
        ``{"cosine_mean", "cosine_min", "relative_error", "n_windows"}``.
    quantization : dict
        Input/output scale and zero point of the int8 ``.tflite`` (empty without one).
    """

    out_dir: str
    name: str
    formats: list[str]
    files: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)
    check: dict[str, dict[str, float]] = field(default_factory=dict)
    quantization: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return asdict(self)


def agreement(approx: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Mean/min cosine similarity and relative L2 error ``mean(|a - r| / |r|)`` per row."""
    a = np.asarray(approx, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    if a.shape != r.shape or a.ndim != 2:
        raise EdgeSEAError(f"cannot compare embeddings of shapes {a.shape} and {r.shape}")
    na, nr = np.linalg.norm(a, axis=1), np.linalg.norm(r, axis=1)
    cos = (a * r).sum(axis=1) / np.maximum(na * nr, 1e-12)
    rel = np.linalg.norm(a - r, axis=1) / np.maximum(nr, 1e-12)
    return {"cosine_mean": float(cos.mean()), "cosine_min": float(cos.min()),
            "relative_error": float(rel.mean()), "n_windows": int(a.shape[0])}


def _check_formats(formats: str | Sequence[str]) -> list[str]:
    wanted = [formats] if isinstance(formats, str) else list(formats)
    if not wanted:
        raise EdgeSEAError(f"no export format given: expected one or more of {FORMATS}")
    for f in wanted:
        if f not in FORMATS:
            hint = (" ('firmware' is a folder for a device build: "
                    "edgesea.firmware.export_firmware, or edgesea export --format firmware)"
                    if f == "firmware" else "")
            raise EdgeSEAError(f"unknown export format {f!r}: expected one of "
                               f"{', '.join(FORMATS)}{hint}")
    return [f for f in FORMATS if f in wanted]


def export_model(model_path: str | os.PathLike, formats: str | Sequence[str],
                 out_dir: str | os.PathLike, *, calibration_dir: str | os.PathLike | None = None,
                 n_calibration: int = 256, name: str | None = None, seed: int = 0,
                 progress: bool = True) -> ExportResult:
    """Export an edgesea model for devices and servers.

    Parameters
    ----------
    model_path : str or PathLike
        An edgesea model file (``student.safetensors``).
    formats : str or sequence of str
        One or more of :data:`FORMATS`.
    out_dir : str or PathLike
        Output folder (created).
    calibration_dir : str or PathLike, optional
        Real in-domain audio for int8 calibration (required for ``tflite-int8``,
        ``c-array`` and ``onnx-int8``).
    n_calibration : int
        Calibration windows (the model's window length, one model-rate window each); 256 or
        more is recommended.
    name : str, optional
        Base name of the files and C symbols (default: from the model path).
    seed : int
        Seed of the order in which calibration files are visited.
    progress : bool
        Progress bars and converter messages.

    Raises
    ------
    EdgeSEAError
        Unknown format, a file that is not an edgesea model, a missing or empty calibration
        folder, too few calibration windows, or a missing ``export`` extra.
    """
    wanted = _check_formats(formats)
    if isinstance(n_calibration, bool) or not isinstance(n_calibration, int) or \
            n_calibration < 1:
        raise EdgeSEAError(f"invalid number of calibration windows {n_calibration!r}: "
                           "expected an integer >= 1 (256 or more recommended)")
    needs_cal = sorted(_NEEDS_CALIBRATION.intersection(wanted))
    if needs_cal and calibration_dir is None:
        raise EdgeSEAError(f"format(s) {', '.join(needs_cal)} need calibration audio: pass "
                           "a folder of real in-domain audio (--calibration DIR)")
    model = load_student(model_path)
    ident = c_identifier(name if name is not None else model_name(model_path))
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise EdgeSEAError(f"output path {out_dir} exists and is not a folder")
    result = ExportResult(out_dir=str(out), name=ident, formats=wanted)
    fe = model.frontend
    cal = None
    if calibration_dir is not None:
        cal = logmel_windows(calibration_dir, fe, model.window_samples, n_calibration,
                             seed=seed, progress=progress)
        result.calibration = {"audio_dir": os.fspath(calibration_dir),
                              "n_windows": len(cal.logmels),
                              "n_files_used": cal.n_files_used,
                              "n_files_failed": cal.n_files_failed}
    out.mkdir(parents=True, exist_ok=True)
    reference = None
    if cal is not None:
        with torch.inference_mode():
            reference = model.embed_logmel(torch.from_numpy(cal.logmels)).numpy()
    quant = None
    if "tflite-int8" in wanted or "c-array" in wanted:
        tfl = out / f"{ident}.int8.tflite"
        result.sizes["tflite-int8"] = convert_tflite_int8(model, cal.logmels, tfl,
                                                          progress=progress)
        result.files["tflite-int8"] = str(tfl)
        quant = tflite_quant(tfl)
        result.quantization = {"input": quant.input_dict(), "output": quant.output_dict()}
        _, deq = run_litert(tfl, cal.logmels)
        result.check["tflite-int8"] = agreement(deq, reference)
        if "c-array" in wanted:
            c_files = write_c_array(tfl.read_bytes(), out, ident)
            result.files["c-source"], result.files["c-header"] = c_files.source, c_files.header
            result.sizes["c-array"] = c_files.size
    if "onnx" in wanted or "onnx-int8" in wanted:
        onnx_path = out / f"{ident}.onnx"
        result.sizes["onnx"] = export_onnx(model, onnx_path)
        if "onnx" in wanted:
            result.files["onnx"] = str(onnx_path)
            if cal is not None:
                result.check["onnx"] = agreement(run_onnx(onnx_path, cal.logmels), reference)
        if "onnx-int8" in wanted:
            q_path = out / f"{ident}.int8.onnx"
            result.sizes["onnx-int8"] = quantize_onnx_int8(onnx_path, cal.logmels, q_path)
            result.files["onnx-int8"] = str(q_path)
            result.check["onnx-int8"] = agreement(run_onnx(q_path, cal.logmels), reference)
            if "onnx" not in wanted:
                onnx_path.unlink()
                del result.sizes["onnx"]
    spec_path = out / f"{ident}.edge.json"
    description = {
        "name": ident, "source": os.path.basename(os.fspath(model_path)),
        "source_sha256": file_sha256(model_path), "family": model.config.family,
        "emb_dim": model.emb_dim, "head": model.config.head,
        "files": {k: os.path.basename(v) for k, v in result.files.items()},
        "calibration": result.calibration, "check": result.check,
    }
    if cal is not None:  # what an existing export is reused on (edgesea.export.reuse)
        description["calibration_key"] = calibration_key(calibration_dir, n_calibration, seed)
    if "tflite-int8" in result.files:
        description["tflite_sha256"] = file_sha256(result.files["tflite-int8"])
    spec = frontend_spec(fe, model.window_samples, model=description,
                         input_quant=quant.input_dict() if quant else None,
                         output_quant=quant.output_dict() if quant else None,
                         emb_dim=model.emb_dim)
    write_json(spec_path, spec)
    result.files["spec"] = str(spec_path)
    result.sizes["spec"] = os.path.getsize(spec_path)
    return result
