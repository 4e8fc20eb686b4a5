"""Batches of windows through a student, and the inference copy of a student.

:class:`ModelBatcher` packs the windows of any number of inputs into full ``batch_size``
forward passes and hands each row back to the input it came from, in order
(:func:`edgesea.get_embedding`, :func:`edgesea.inference.process.iter_process_files`);
:func:`_inference_net` is the BN-folded copy of a model it runs, cached per model object.
``batch_size`` is checked and capped at :data:`MAX_BATCH_WINDOWS` (:func:`_check_batch_size`).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

import numpy as np
import torch

from edgesea.core.batches import BatchQueue
from edgesea.core.checks import check_int
from edgesea.models import EmbeddingModel
from edgesea.models.inference import weights_signature

__all__ = ["MAX_BATCH_WINDOWS", "ModelBatcher"]

_FAST_LOCK = threading.Lock()
_FAST: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _inference_net(model: EmbeddingModel) -> torch.nn.Module:
    """The BN-folded oneDNN copy of ``model`` (``model.for_inference()``), cached per model
    object (weakly: it goes with the model) and rebuilt when its weights change."""
    signature = weights_signature(model)
    with _FAST_LOCK:
        cached = _FAST.get(model)
    if cached is not None and cached[0] == signature:
        return cached[1]
    fast = model.for_inference()
    with _FAST_LOCK:
        _FAST[model] = (signature, fast)
    return fast


#: Largest batch a batcher allocates: a larger ``batch_size`` is run as batches of this many
#: windows (the rows are the same; the buffers and the network's activations stay bounded).
MAX_BATCH_WINDOWS = 256


def _check_batch_size(batch_size: object) -> int:
    """``batch_size`` checked (an integer >= 1) and capped at :data:`MAX_BATCH_WINDOWS`."""
    return min(check_int(batch_size, "batch_size"), MAX_BATCH_WINDOWS)


class ModelBatcher(BatchQueue):
    """Windows of any number of inputs, in order, into full ``batch_size`` forward passes of
    a float model (:class:`~edgesea.core.batches.BatchQueue` with zero-filled batches, so
    results never depend on batch composition: one input alone or among others, whole or in
    blocks, gives the same rows). With ``logmel=True`` the rows fed are log-mel inputs
    ``(n_mels, n_frames)`` and only the trunk runs (``embed_logmel``).
    """

    def __init__(self, model: EmbeddingModel, batch_size: int, verbose: bool = False,
                 total: int | None = None, logmel: bool = False) -> None:
        self.net = _inference_net(model)
        run_net = self.net.embed_logmel if logmel else self.net

        def run(batch: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return run_net(torch.from_numpy(batch)).numpy()

        super().__init__(run, min(int(batch_size), MAX_BATCH_WINDOWS), zero_fill=True,
                         verbose=verbose, total=total)


def _array_sink(out: np.ndarray) -> Callable[[np.ndarray], None]:
    """A sink filling ``out`` row by row."""
    pos = 0

    def sink(rows: np.ndarray) -> None:
        nonlocal pos
        out[pos:pos + rows.shape[0]] = rows
        pos += rows.shape[0]

    return sink
