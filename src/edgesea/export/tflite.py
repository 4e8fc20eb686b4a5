"""Full-integer (int8) post-training quantization to a ``.tflite`` file with litert-torch.

The recipe (PT2E): ``torch.export`` the BN-folded log-mel -> embedding graph at batch 1;
``PT2EQuantizer`` with per-channel symmetric int8 weights and int8 activations (histogram
observers); feed the calibration log-mels one at a time; ``convert_pt2e``; convert with
``litert_torch.convert``. The result takes int8 log-mels and returns int8 embeddings, and uses
only TFLM builtin ops. ai-edge-quantizer's ``static_wi8_ai8`` recipe is avoided on purpose: it
leaves the final max-pool in float.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from edgesea.core.fileio import atomic_path
from edgesea.errors import EdgeSEAError
from edgesea.export.graph import exportable
from edgesea.models import EmbeddingModel
from edgesea.runtime.litert import require, silenced

__all__ = ["convert_tflite_int8"]


def _convert(litert_torch: Any, converted: Any, example: tuple, quant_config: Any) -> bytes:
    """The converted model's flatbuffer, in memory."""
    edge = litert_torch.convert(converted, example, quant_config=quant_config)
    return bytes(edge.model_content())


def convert_tflite_int8(model: EmbeddingModel, calibration: np.ndarray,
                        path: str | os.PathLike, *, progress: bool = True) -> int:
    """Quantize ``model.embed_logmel`` to a full-int8 ``.tflite`` file.

    Parameters
    ----------
    model : EmbeddingModel
        The float model (not modified).
    calibration : np.ndarray [shape=(N, n_mels, n_frames)]
        Real in-domain log-mels from the model's own front end; fed one at a time.
    path : str or PathLike
        Destination ``.tflite`` (written atomically).
    progress : bool
        Show a bar over the calibration windows (the converter's own messages are hidden
        unless it fails).

    Returns
    -------
    int
        Size of the written file in bytes.
    """
    with silenced():  # importing litert-torch prints torchao's optional-kernel messages
        litert_torch = require("litert_torch")
        pt2e = require("litert_torch.quantize.pt2e_quantizer")
        qcfg = require("litert_torch.quantize.quant_config")
        qpt2e = require("torchao.quantization.pt2e.quantize_pt2e")
        ao_pt2e = require("torchao.quantization.pt2e")
    calibration = np.asarray(calibration, dtype=np.float32)
    if calibration.ndim != 3 or len(calibration) == 0:
        raise EdgeSEAError(f"calibration log-mels must have shape (N, n_mels, n_frames) with "
                           f"N >= 1, got {calibration.shape}")
    graph = exportable(model)
    example = (torch.from_numpy(calibration[:1].copy()),)
    with silenced():
        exported = torch.export.export(graph, example).module()
        quantizer = pt2e.PT2EQuantizer().set_global(
            pt2e.get_symmetric_quantization_config(is_per_channel=True))
        prepared = qpt2e.prepare_pt2e(exported, quantizer)
    with torch.no_grad():
        for x in tqdm(calibration, desc="int8 calibration", unit="win", disable=not progress):
            prepared(torch.from_numpy(x[None].copy()))
    with silenced():
        converted = qpt2e.convert_pt2e(prepared, fold_quantize=False)
        ao_pt2e.move_exported_model_to_eval(converted)
        data = _convert(litert_torch, converted, example,
                        qcfg.QuantConfig(pt2e_quantizer=quantizer))
    # written by us, not under silenced(): a full disk is the documented error, no temp file
    with atomic_path(path, suffix=".tflite") as tmp, open(tmp, "wb") as f:
        f.write(data)
    size = os.path.getsize(path)
    if size == 0:
        raise EdgeSEAError(f"the converter wrote an empty file at {path}")
    return size
