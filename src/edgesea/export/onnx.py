"""ONNX exports for servers: float (opset 18) and static int8 QDQ (onnxruntime).

The float graph is the BN-folded log-mel -> embedding module exported with the dynamo
exporter, with a dynamic batch dimension (input ``logmel`` ``(batch, n_mels, n_frames)``,
output ``embedding`` ``(batch, emb_dim)``). The int8 graph is onnxruntime's
``quant_pre_process`` followed by ``quantize_static`` in QDQ format with per-channel int8
weights and int8 activations, calibrated on real log-mels one window at a time (QOperator is
avoided: it is much slower on x86).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from edgesea.core.fileio import atomic_path
from edgesea.errors import EdgeSEAError
from edgesea.export.graph import exportable
from edgesea.inference.api import model_identity
from edgesea.light.onnx_models import METADATA_KEY
from edgesea.models import EmbeddingModel
from edgesea.runtime.litert import require, silenced

__all__ = ["INPUT_NAME", "OUTPUT_NAME", "export_onnx", "quantize_onnx_int8", "run_onnx"]

INPUT_NAME = "logmel"
OUTPUT_NAME = "embedding"


def export_onnx(model: EmbeddingModel, path: str | os.PathLike) -> int:
    """Export ``model.embed_logmel`` (eval, BN folded) as a float ONNX file, opset 18.

    Returns the file size in bytes. The file is self-contained (no external data) and
    written atomically. Its ``metadata_props`` hold the model's configuration under
    ``"edgesea"`` (:data:`edgesea.light.onnx_models.METADATA_KEY`), so the file runs
    without torch: :class:`~edgesea.light.onnx_models.OnnxEmbedder`,
    ``edgesea.get_embedding(audio, sr, model="my.onnx")``, ``edgesea embed --model my.onnx``.
    """
    onnx = require("onnx", "ONNX export")
    require("onnxscript", "ONNX export")
    graph = exportable(model)
    fe = model.frontend
    example = torch.zeros(2, fe.n_mels, fe.n_frames(model.window_samples))
    batch = torch.export.Dim("batch", min=1, max=4096)
    with atomic_path(path, suffix=".onnx") as tmp, silenced():
        torch.onnx.export(graph, (example,), tmp, dynamo=True, opset_version=18,
                          external_data=False, input_names=[INPUT_NAME],
                          output_names=[OUTPUT_NAME],
                          dynamic_shapes={"logmel": {0: batch}}, verbose=False)
        proto = onnx.load(tmp)
        doc = {"format": "edgesea-onnx", "format_version": 1,
               "config": model.config.to_dict(), "identity": model_identity(model),
               "name": Path(path).name.split(".")[0]}
        onnx.helper.set_model_props(proto, {METADATA_KEY: json.dumps(doc, sort_keys=True)})
        onnx.save(proto, tmp)
    return os.path.getsize(path)


def quantize_onnx_int8(float_path: str | os.PathLike, calibration: np.ndarray,
                       path: str | os.PathLike) -> int:
    """Static int8 QDQ quantization of a float ONNX file written by :func:`export_onnx`.

    Parameters
    ----------
    float_path : str or PathLike
        The float model.
    calibration : np.ndarray [shape=(N, n_mels, n_frames)]
        Real log-mels, fed one window at a time.
    path : str or PathLike
        Destination (written atomically).

    Returns
    -------
    int
        File size in bytes.
    """
    quant = require("onnxruntime.quantization", "ONNX int8 quantization")
    calibration = np.asarray(calibration, dtype=np.float32)
    if calibration.ndim != 3 or len(calibration) == 0:
        raise EdgeSEAError(f"calibration log-mels must have shape (N, n_mels, n_frames) with "
                           f"N >= 1, got {calibration.shape}")

    class _Reader(quant.CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            x = next(self._it, None)
            return None if x is None else {INPUT_NAME: x[None].copy()}

    with tempfile.TemporaryDirectory(dir=Path(path).parent) as tmpdir, silenced():
        pre = os.path.join(tmpdir, "pre.onnx")
        quant.quant_pre_process(os.fspath(float_path), pre, skip_symbolic_shape=True)
        with atomic_path(path, suffix=".onnx") as tmp:
            quant.quantize_static(
                pre, tmp, _Reader(), quant_format=quant.QuantFormat.QDQ, per_channel=True,
                activation_type=quant.QuantType.QInt8, weight_type=quant.QuantType.QInt8,
                calibrate_method=quant.CalibrationMethod.MinMax)
    return os.path.getsize(path)


def run_onnx(path: str | os.PathLike, logmels: np.ndarray, num_threads: int = 1
             ) -> np.ndarray:
    """Embeddings ``(N, D)`` of float log-mels with onnxruntime (CPU, batch 1 per call)."""
    ort = require("onnxruntime", "running an ONNX model")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = num_threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(os.fspath(path), opts, providers=["CPUExecutionProvider"])
    outs = [sess.run([OUTPUT_NAME], {INPUT_NAME: np.asarray(x, np.float32)[None]})[0][0]
            for x in logmels]
    return np.stack(outs).astype(np.float32)
