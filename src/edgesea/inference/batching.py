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

import numpy as np
import torch

from edgesea.core.batches import MAX_BATCH_WINDOWS, BatchQueue
from edgesea.core.batches import array_sink as _array_sink  # noqa: F401  (its old name)
from edgesea.core.batches import check_batch_size as _check_batch_size  # noqa: F401
from edgesea.models import EmbeddingModel
from edgesea.models.inference import weights_signature

__all__ = ["BATCH_QUANTUM", "MAX_BATCH_WINDOWS", "ModelBatcher"]

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


#: The students' inference trunk (oneDNN, channels-last) gives every window the same row in
#: every batch of a multiple of this many windows (and in every batch of 12 or more), but not
#: in batches of 1-3, 5-7 or 9-11 (measured for the packaged students: the tests check it);
#: so a last batch is zero-filled to the next multiple of it, not to ``batch_size``.
BATCH_QUANTUM = 4


class ModelBatcher(BatchQueue):
    """Windows of any number of inputs, in order, into forward passes of ``batch_size``
    windows of a float model (:class:`~edgesea.core.batches.BatchQueue`); the last batch is
    zero-filled to a multiple of the model's ``batch_quantum`` (:data:`BATCH_QUANTUM` for
    the students; 2 for the sparse models), so results
    never depend on batch composition (one input alone or among others, whole or in blocks,
    gives the same rows) while a short clip pays for at most a few padding windows. With
    ``logmel=True`` the rows fed are log-mel inputs ``(n_mels, n_frames)`` and only the
    trunk runs (``embed_logmel``).
    """

    def __init__(self, model: EmbeddingModel, batch_size: int, verbose: bool = False,
                 total: int | None = None, logmel: bool = False) -> None:
        self.net = _inference_net(model)
        run_net = self.net.embed_logmel if logmel else self.net

        def run(batch: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return run_net(torch.from_numpy(batch)).numpy()

        quantum = int(getattr(model, "batch_quantum", BATCH_QUANTUM))
        super().__init__(run, min(int(batch_size), MAX_BATCH_WINDOWS), zero_fill=quantum,
                         verbose=verbose, total=total)
