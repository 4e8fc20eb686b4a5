"""Batches of windows through a student, and the inference copy of a student.

:class:`_Batcher` packs the windows of any number of inputs into full ``batch_size``
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
from tqdm.auto import tqdm

from edgesea.errors import EdgeSEAError
from edgesea.models import EmbeddingModel
from edgesea.models.inference import weights_signature

__all__ = ["MAX_BATCH_WINDOWS"]

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
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) \
            or batch_size < 1:
        raise EdgeSEAError(f"invalid batch_size={batch_size!r}: expected an integer >= 1")
    return min(int(batch_size), MAX_BATCH_WINDOWS)


class _Batcher:
    """Windows of any number of inputs, in order, into full ``batch_size`` forward passes.

    ``feed(frames, sink)`` copies windows into one batch buffer; each full batch is embedded
    and its rows handed to the sinks of the windows they came from, in order. ``flush()``
    embeds the rest as a full-size, zero-filled batch, so results never depend on batch
    composition (one input alone or among others, whole or in blocks: the same rows).
    With ``logmel=True`` the rows fed are log-mel inputs ``(n_mels, n_frames)`` and only
    the trunk runs (``embed_logmel``).
    """

    def __init__(self, model: EmbeddingModel, batch_size: int, verbose: bool = False,
                 total: int | None = None, logmel: bool = False) -> None:
        self.net = _inference_net(model)
        fe = model.frontend
        shape = (fe.n_mels, fe.n_frames(model.window_samples)) if logmel else (
            model.window_samples,)
        self.run_net = self.net.embed_logmel if logmel else self.net
        # raw windows may come bare or with a stream front end's context: the buffer takes
        # the width of the first rows fed
        self.buf = np.empty((min(int(batch_size), MAX_BATCH_WINDOWS), *shape),
                            dtype=np.float32)
        self.fill = 0
        self.owners: list[tuple[Callable[[np.ndarray], None], int]] = []
        self.bar = tqdm(total=total, unit="win", disable=not verbose, desc="embedding")

    def feed(self, frames: np.ndarray, sink: Callable[[np.ndarray], None]) -> None:
        """Queue ``frames`` (n, window_samples); ``sink`` receives their n rows, in order."""
        start, size = 0, self.buf.shape[0]
        if frames.shape[1:] != self.buf.shape[1:] and not self.fill and not self.owners:
            self.buf = np.empty((size, *frames.shape[1:]), dtype=np.float32)
        while start < frames.shape[0]:
            take = min(size - self.fill, frames.shape[0] - start)
            self.buf[self.fill:self.fill + take] = frames[start:start + take]
            self.owners.append((sink, take))
            self.fill += take
            start += take
            if self.fill == size:
                self._run()

    def flush(self) -> None:
        """Embed the windows still queued (zero-filled to a full batch)."""
        if self.fill:
            self.buf[self.fill:] = 0.0
            self._run()
        self.bar.close()

    def _run(self) -> None:
        with torch.inference_mode():
            out = self.run_net(torch.from_numpy(self.buf)).numpy()
        pos = 0
        for sink, k in self.owners:
            sink(out[pos:pos + k])
            pos += k
        self.bar.update(self.fill)
        self.fill, self.owners = 0, []


def _array_sink(out: np.ndarray) -> Callable[[np.ndarray], None]:
    """A sink filling ``out`` row by row."""
    pos = 0

    def sink(rows: np.ndarray) -> None:
        nonlocal pos
        out[pos:pos + rows.shape[0]] = rows
        pos += rows.shape[0]

    return sink
