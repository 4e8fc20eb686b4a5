"""An exported int8 ``.tflite`` student as an embedder (the teacher protocol), so the
evaluation harness can score the model that actually ships to a device.

The front end comes from the ``<name>.edge.json`` written beside the ``.tflite`` by
``edgesea export`` (the same float log-mel the float model computes); each window's log-mel
is quantized to the model's int8 input, run by LiteRT one window at a time, and the int8
output is dequantized.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from ..errors import EdgeSEAError
from ..frontend import LogMelSpectrogram
from .runtime import check_tflite_file, run_litert

__all__ = ["TFLiteEmbedder", "find_edge_spec"]


def find_edge_spec(tflite: Path) -> Path:
    """The ``<name>.edge.json`` of ``<name>.int8.tflite`` (or any ``*.edge.json`` naming it)."""
    stem = tflite.name.split(".")[0]
    cand = tflite.with_name(f"{stem}.edge.json")
    if cand.is_file():
        return cand
    for other in tflite.parent.glob("*.edge.json"):
        spec = json.loads(other.read_text())
        if tflite.name in spec.get("model", {}).get("files", {}).values():
            return other
    raise EdgeSEAError(f"no .edge.json found beside {tflite}: export the model with "
                       "`edgesea export`, which writes it")


class TFLiteEmbedder:
    """An int8 ``.tflite`` + its ``.edge.json`` behind the teacher protocol (``name``,
    ``sample_rate``, ``window``, ``emb_dim``, ``identity``, ``embed(windows)``)."""

    def __init__(self, path: str | os.PathLike, xnnpack: bool = True) -> None:
        self.path = Path(path)
        self.data = check_tflite_file(self.path)
        spec = json.loads(find_edge_spec(self.path).read_text())
        self.frontend = LogMelSpectrogram.from_config(spec["frontend"]["config"])
        self.sample_rate = int(spec["audio"]["sample_rate"])
        self.window = float(spec["audio"]["window_seconds"])
        self.window_samples = int(spec["audio"]["window_samples"])
        self.emb_dim = int(spec["model"]["emb_dim"])
        self.name = f"tflite:{spec['model']['name']}"
        self.xnnpack = xnnpack
        h = hashlib.sha256(self.data)
        h.update(json.dumps(spec["frontend"]["config"], sort_keys=True).encode())
        self.identity = h.hexdigest()[:16]

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """``(B, window_samples)`` float32 -> ``(B, emb_dim)`` dequantized int8 outputs."""
        windows = np.asarray(windows, dtype=np.float32)
        if windows.ndim != 2 or windows.shape[1] != self.window_samples:
            raise EdgeSEAError(f"expected windows (B, {self.window_samples}), got "
                               f"{windows.shape}")
        if not len(windows):
            return np.zeros((0, self.emb_dim), np.float32)
        with torch.no_grad():
            logmel = self.frontend(torch.from_numpy(windows)).numpy()
        return run_litert(self.data, logmel, xnnpack=self.xnnpack)[1].astype(np.float32)
