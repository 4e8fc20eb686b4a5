"""An exported int8 ``.tflite`` student as an embedder (the teacher protocol), so the
evaluation harness can score the model that actually ships to a device.

The front end comes from the ``<name>.edge.json`` written beside the ``.tflite`` by
``edgesea export`` (the same float log-mel the float model computes); each window's log-mel
is quantized to the model's int8 input, run by LiteRT one window at a time (one interpreter
per embedder, built once), and the int8 output is dequantized. A ``"stream"`` front end reads
each window's context from the signal around it (:attr:`TFLiteEmbedder.context_samples`), as
the float model and the device do; :func:`edgesea.get_embedding` with an int8 model computes
those frames once on the continuous signal (:meth:`TFLiteEmbedder.embed_logmel` on the
front end's window slices), as it does for a float stream model.

:func:`iter_embed_files` embeds audio files with one into ``.npz`` files, exactly as
:func:`~.process.iter_process_files` does with a float model (``edgesea embed --model
x.int8.tflite``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np

from edgesea._aliases import moved_name
from edgesea.core.batches import MAX_BATCH_WINDOWS, BatchQueue
from edgesea.core.threads import cpu_threads
from edgesea.errors import EdgeSEAError
from edgesea.light.frontend import NumpyLogMel
from edgesea.runtime.frontend_spec import quantize_input
from edgesea.runtime.litert import (
    check_int8,
    check_tflite_file,
    dequantize,
    litert_interpreter,
    require,
    tflite_quant,
)
from edgesea.runtime.spec_reader import read_edge_spec

__all__ = ["TFLiteEmbedder", "WindowBatcher", "default_threads", "find_edge_spec"]


def default_threads() -> int:
    """Threads for a runtime: torch's count when torch is imported (it honours
    ``OMP_NUM_THREADS`` and ``torch.set_num_threads``), else ``OMP_NUM_THREADS``, else the
    CPU count."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return int(torch.get_num_threads())
    return cpu_threads()


def find_edge_spec(tflite: Path) -> Path:
    """The ``<name>.edge.json`` of ``<name>.int8.tflite`` (or any ``*.edge.json`` naming it)."""
    stem = tflite.name.split(".")[0]
    cand = tflite.with_name(f"{stem}.edge.json")
    if cand.is_file():
        return cand
    for other in tflite.parent.glob("*.edge.json"):
        try:
            spec = read_edge_spec(other)
        except EdgeSEAError:  # another model's spec, unreadable: not this one's
            continue
        if tflite.name in spec.get("model", {}).get("files", {}).values():
            return other
    raise EdgeSEAError(f"no .edge.json found beside {tflite}: export the model with "
                       "`edgesea export`, which writes it")


class TFLiteEmbedder:
    """An int8 ``.tflite`` + its ``.edge.json`` behind the teacher protocol (``name``,
    ``sample_rate``, ``window``, ``emb_dim``, ``identity``, ``context_samples``,
    ``embed(windows)``).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.int8.tflite``; its ``.edge.json`` must lie beside it (:func:`find_edge_spec`).
    xnnpack : bool
        Run with LiteRT's XNNPACK delegate (default; see
        :func:`edgesea.runtime.litert.litert_interpreter`).
    num_threads : int, optional
        LiteRT's threads for each window (default: :func:`default_threads` when the
        interpreter is first used: ``torch.get_num_threads()`` where torch is in use, so
        ``OMP_NUM_THREADS`` and ``torch.set_num_threads`` govern float and int8 models alike).
        Integer kernels: the outputs do not depend on it.

    Raises
    ------
    EdgeSEAError
        Not a TFLite file, no ``.edge.json`` beside it, or LiteRT (``ai_edge_litert``) not
        installed: the message says to run ``pip install edgesea[export]``.
    """

    def __init__(self, path: str | os.PathLike, xnnpack: bool = True,
                 num_threads: int | None = None) -> None:
        self.path = Path(path)
        self.data = check_tflite_file(self.path)
        require("ai_edge_litert.interpreter", f"running the int8 model {self.path.name}")
        spec = read_edge_spec(find_edge_spec(self.path))
        self.frontend = NumpyLogMel(spec["frontend"]["config"])
        self.sample_rate = int(spec["audio"]["sample_rate"])
        self.window = float(spec["audio"]["window_seconds"])
        self.window_samples = int(spec["audio"]["window_samples"])
        self.emb_dim = int(spec["model"]["emb_dim"])
        self.name = f"tflite:{spec['model']['name']}"
        self.xnnpack = xnnpack
        if num_threads is not None and (isinstance(num_threads, bool) or not isinstance(
                num_threads, int) or num_threads < 1):
            raise EdgeSEAError(f"invalid num_threads={num_threads!r}: expected an integer "
                               ">= 1 or None")
        self.num_threads = num_threads
        #: samples (left, right) around a window that a stream front end reads (``(0, 0)``
        #: otherwise); callers that stream a signal give each window its context
        self.context_samples = tuple(int(c) for c in self.frontend.context(self.window_samples))
        h = hashlib.sha256(self.data)
        h.update(json.dumps(spec["frontend"]["config"], sort_keys=True).encode())
        if any(self.context_samples):  # real context, not zeros: other embeddings
            h.update(f"|context|{self.context_samples}".encode())
        self.identity = h.hexdigest()[:16]
        self.quant = tflite_quant(self.data)
        self._interp: tuple | None = None  # (interpreter, input index, output index)
        self._lock = threading.Lock()  # one LiteRT interpreter: one invoke at a time

    def _interpreter(self) -> tuple:
        """The interpreter and its input and output indices, built on first use (call with
        ``self._lock`` held)."""
        if self._interp is None:
            threads = self.num_threads or default_threads()
            interp = litert_interpreter(self.data, threads, xnnpack=self.xnnpack)
            self._interp = (interp, interp.get_input_details()[0]["index"],
                            interp.get_output_details()[0]["index"])
        return self._interp

    def embed_logmel(self, logmel: np.ndarray) -> np.ndarray:
        """Float log-mel inputs ``(B, n_mels, n_frames)`` (the front end's output) -> ``(B,
        emb_dim)`` dequantized int8 outputs: each window quantized with the model's input
        scale and zero point and run alone (batch 1, as on the device), so a row never
        depends on the others."""
        logmel = np.asarray(logmel, dtype=np.float32)
        check_int8(self.quant, logmel)
        q_in = quantize_input(logmel, self.quant.input_scale, self.quant.input_zero_point)
        q_out = np.empty((len(q_in), self.emb_dim), np.int8)
        with self._lock:
            interp, i_idx, o_idx = self._interpreter()
            for i in range(len(q_in)):
                interp.set_tensor(i_idx, q_in[i:i + 1])
                interp.invoke()
                q_out[i] = interp.get_tensor(o_idx).reshape(-1)
        return dequantize(q_out, self.quant.output_scale, self.quant.output_zero_point)

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """``(B, window_samples)`` float32 (or, for a stream front end, ``(B, left +
        window_samples + right)`` with their context) -> ``(B, emb_dim)`` dequantized int8
        outputs."""
        windows = np.asarray(windows, dtype=np.float32)
        widths = {self.window_samples, self.window_samples + sum(self.context_samples)}
        if windows.ndim != 2 or windows.shape[1] not in widths:
            raise EdgeSEAError(f"expected windows (B, {self.window_samples})"
                               + (f" or (B, {max(widths)}) with their context"
                                  if len(widths) > 1 else "") + f", got {windows.shape}")
        if not len(windows):
            return np.zeros((0, self.emb_dim), np.float32)
        return self.embed_logmel(self.frontend(windows))


class WindowBatcher(BatchQueue):
    """Windows of many files into ``embed`` calls of ``batch_size`` windows (the last one
    shorter), rows back to their files in order (:class:`~edgesea.core.batches.BatchQueue`,
    the batcher :func:`edgesea.inference.outputs.stream_files` needs) for any embedder with
    ``embed(windows)``, such as :class:`TFLiteEmbedder`; with ``logmel=True`` the rows fed
    are log-mel inputs and ``embed_logmel`` runs them. ``verbose`` shows a progress bar over
    ``total`` windows."""

    def __init__(self, embedder: Any, batch_size: int = 64,
                 logmel: bool = False, verbose: bool = False, total: int | None = None
                 ) -> None:
        self.embedder = embedder
        super().__init__(embedder.embed_logmel if logmel else embedder.embed,
                         min(int(batch_size), MAX_BATCH_WINDOWS), verbose=verbose,
                         total=total)


def __getattr__(name: str) -> Any:
    # Old paths of names that moved (edgesea._aliases).
    return moved_name(__name__, name)
