"""Float models run by ONNX Runtime, without torch: exported students and sparse models.

:class:`OnnxEmbedder` runs an ONNX student written by :func:`edgesea.export.onnx.export_onnx`
(``edgesea export --format onnx``; the packaged ``NAME.onnx`` files are such exports): the
file's ``edgesea`` metadata holds the model's configuration, so its front end
(:class:`~edgesea.light.frontend.NumpyLogMel`), rate and window are rebuilt from it.

:class:`OnnxSparseModel` runs a sparse aisfx model file: the weights are read without torch
(:func:`edgesea.sparse.arrays.read_sparse_arrays`), each BatchNorm folded into its
convolution, and the network built as an ONNX graph in memory (the ``onnx`` package) that ONNX
Runtime optimises once per model. Both have the embedder protocol of
:class:`~edgesea.inference.int8.TFLiteEmbedder` (``name``, ``sample_rate``, ``window``,
``window_samples``, ``emb_dim``, ``identity``, ``context_samples``, ``embed(windows)``, and
``frontend`` + ``embed_logmel`` for the students).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from edgesea.core.extras import require
from edgesea.core.threads import env_threads
from edgesea.errors import EdgeSEAError
from edgesea.light.frontend import AISFX_FRONTEND, NumpyAisfxFrontend, NumpyLogMel
from edgesea.sparse.arrays import read_sparse_arrays
from edgesea.sparse.file_checks import architecture

__all__ = [
    "MAX_ONNX_BYTES",
    "METADATA_KEY",
    "OnnxEmbedder",
    "OnnxSparseModel",
    "onnx_session",
]

#: The ONNX ``metadata_props`` key of an edgesea export: JSON with ``format``
#: (``"edgesea-onnx"``), ``format_version``, ``config`` (the model configuration),
#: ``identity`` (the source model's) and ``name``.
METADATA_KEY = "edgesea"
#: Largest ONNX file read (the packaged students are under 2 MB).
MAX_ONNX_BYTES = 256 << 20
INPUT_NAME, OUTPUT_NAME = "logmel", "embedding"


def _threads() -> int:
    """ONNX Runtime's threads: ``OMP_NUM_THREADS`` when set (as torch reads it), else 0
    (ONNX Runtime's default: one per physical core)."""
    return env_threads() or 0


def onnx_session(model: str | bytes, num_threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session of a file or serialized model, fully optimised."""
    ort = require("onnxruntime", "running ONNX models")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = _threads() if num_threads is None else int(num_threads)
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # no busy-waiting between runs: the NumPy front end runs on the same cores meanwhile
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime's own errors (not a model, unsupported op, ...)
        where = model if isinstance(model, str) else "the model"
        raise EdgeSEAError(f"{where} is not a runnable ONNX model: {e}") from e


def _check_num_threads(num_threads: object) -> int | None:
    if num_threads is not None and (isinstance(num_threads, bool) or not isinstance(
            num_threads, int) or num_threads < 1):
        raise EdgeSEAError(f"invalid num_threads={num_threads!r}: expected an integer >= 1 "
                           "or None")
    return num_threads


def _check_windows(windows: np.ndarray, n: int, sr: int) -> np.ndarray:
    arr = np.asarray(windows, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[1] != n:
        raise EdgeSEAError(f"windows of shape {arr.shape}: expected (B, {n}) samples at {sr} Hz")
    if not np.isfinite(arr).all():
        raise EdgeSEAError("windows contain NaN or Inf samples")
    return arr


class OnnxEmbedder:
    """An exported ONNX student (``logmel`` -> ``embedding``) with its NumPy front end.

    Parameters
    ----------
    path : str or os.PathLike
        An ``.onnx`` file written by ``edgesea export --format onnx`` (or a packaged
        ``NAME.onnx``).
    num_threads : int, optional
        ONNX Runtime's intra-op threads (default: ``OMP_NUM_THREADS``, else one per core).

    Raises
    ------
    EdgeSEAError
        Missing or oversized file, not an ONNX model, no edgesea metadata (not written by
        ``edgesea export``), or ONNX Runtime not installed.
    """

    def __init__(self, path: str | os.PathLike, num_threads: int | None = None) -> None:
        self.path = Path(path)
        self.num_threads = _check_num_threads(num_threads)
        try:
            size = self.path.stat().st_size
        except OSError as e:
            raise EdgeSEAError(f"model file not found: {self.path}") from e
        if not self.path.is_file() or size > MAX_ONNX_BYTES:
            raise EdgeSEAError(f"{self.path} is not a file of at most {MAX_ONNX_BYTES} bytes")
        data = self.path.read_bytes()
        self.session = onnx_session(data, num_threads)
        meta = self.session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
        try:
            doc = json.loads(meta) if isinstance(meta, str) else None
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or doc.get("format") != "edgesea-onnx" or not isinstance(
                doc.get("config"), dict):
            raise EdgeSEAError(f"{self.path} has no edgesea metadata: export the model with "
                               "`edgesea export --format onnx` (edgesea.export.onnx)")
        cfg = doc["config"]
        try:
            self.frontend = NumpyLogMel(cfg["frontend"])
            self.sample_rate = int(cfg["sample_rate"])
            self.window = float(cfg["window"])
            self.emb_dim = int(cfg["emb_dim"])
        except (KeyError, TypeError, ValueError) as e:
            raise EdgeSEAError(f"{self.path}: invalid edgesea metadata: {e}") from e
        self.window_samples = int(round(self.window * self.sample_rate))
        self.config = cfg
        self.metadata = doc
        self.name = f"onnx:{doc.get('name') or self.path.stem}"
        self.source_identity = doc.get("identity")
        self.context_samples = tuple(int(c) for c in self.frontend.context(self.window_samples))
        h = hashlib.sha256(data)
        h.update(json.dumps(cfg["frontend"], sort_keys=True).encode())
        self.identity = h.hexdigest()[:16]
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OnnxEmbedder({str(self.path)!r}, emb_dim={self.emb_dim})"

    def embed_logmel(self, logmel: np.ndarray) -> np.ndarray:
        """Log-mel ``(B, n_mels, n_frames)`` -> embeddings ``(B, emb_dim)`` float32."""
        x = np.ascontiguousarray(logmel, dtype=np.float32)
        with self._lock:
            return self.session.run([OUTPUT_NAME], {INPUT_NAME: x})[0].astype(
                np.float32, copy=False)

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """Waveform windows ``(B, window_samples)`` (or with their stream context) -> ``(B, D)``."""
        arr = np.asarray(windows, dtype=np.float32)
        if arr.ndim != 2:
            raise EdgeSEAError(f"windows of shape {arr.shape}: expected (B, n_samples)")
        return self.embed_logmel(self.frontend(arr))


def _sparse_graph(state: dict[str, np.ndarray], frames: int | None = None) -> bytes:
    """The aisfx CNN9 of ``state`` as a serialized ONNX model (BatchNorm folded): input
    ``logmel`` ``(B, T, 96)``, output ``embedding`` ``(B, 512)``."""
    onnx = require("onnx", "running sparse models without torch")
    helper, nh = onnx.helper, onnx.numpy_helper
    nodes = [helper.make_node("Unsqueeze", ["logmel", "axis1"], ["x0"])]
    inits = [nh.from_array(np.array([1], dtype=np.int64), "axis1")]
    _, convs = architecture()
    x = "x0"
    for i, name in enumerate(convs):
        bn = name.replace(".conv", ".bn").removesuffix(".weight")
        scale = state[f"{bn}.weight"] / np.sqrt(state[f"{bn}.running_var"] + 1e-5)
        w = (state[name] * scale[:, None, None, None]).astype(np.float32)
        b = (state[f"{bn}.bias"] - state[f"{bn}.running_mean"] * scale).astype(np.float32)
        inits += [nh.from_array(w, f"w{i}"), nh.from_array(b, f"b{i}")]
        nodes.append(helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"],
                                      kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"]))
        x = f"r{i}"
        if i % 2 == 1 and i < 6:  # 2x2 max pooling after blocks 1-3
            nodes.append(helper.make_node("MaxPool", [x], [f"p{i}"], kernel_shape=[2, 2],
                                          strides=[2, 2]))
            x = f"p{i}"
    nodes.append(helper.make_node("ReduceMean", [x], ["freq"], axes=[3], keepdims=0))
    nodes.append(helper.make_node("ReduceMax", ["freq"], [OUTPUT_NAME], axes=[2], keepdims=0))
    graph = helper.make_graph(
        nodes, "aisfx_cnn9",
        [helper.make_tensor_value_info(INPUT_NAME, onnx.TensorProto.FLOAT,
                                       ["batch", frames or "frames", AISFX_FRONTEND["n_mels"]])],
        [helper.make_tensor_value_info(OUTPUT_NAME, onnx.TensorProto.FLOAT, ["batch", 512])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="edgesea")
    model.ir_version = 8
    return model.SerializeToString()


class OnnxSparseModel:
    """A sparse aisfx model file run by ONNX Runtime: ``(B, 44100)`` -> ``(B, 512)``.

    The same embeddings as :class:`~edgesea.sparse.model.SparseModel` to float rounding.

    Parameters
    ----------
    path : str or os.PathLike
        A sparse model file (``edgesea/pretrained/sparse_aisfx_*.safetensors``, or one
        written by ``edgesea prune``).
    batch_size : int
        Windows per run in :meth:`embed`.
    num_threads : int, optional
        As for :class:`OnnxEmbedder`.
    """

    name = "sparse-aisfx"
    sample_rate = AISFX_FRONTEND["sample_rate"]
    window = 1.0
    emb_dim = 512
    window_samples = AISFX_FRONTEND["sample_rate"]
    context_samples = (0, 0)

    def __init__(self, path: str | os.PathLike, batch_size: int = 64,
                 num_threads: int | None = None) -> None:
        arrays = read_sparse_arrays(path)
        self.path, self.file_bytes = arrays.path, arrays.file_bytes
        self.metadata = dict(arrays.header)
        self.batch_size = int(batch_size)
        self.frontend = NumpyAisfxFrontend()
        self.session = onnx_session(_sparse_graph(arrays.state),
                                    _check_num_threads(num_threads))
        self.identity = hashlib.sha256(
            f"onnx-sparse-aisfx|{arrays.header['sha256']}".encode()).hexdigest()[:16]
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (f"OnnxSparseModel(sparsity={self.metadata.get('sparsity')!r}, "
                f"retrain={self.metadata.get('retrain')!r})")

    def embed_logmel(self, logmel: np.ndarray) -> np.ndarray:
        """aisfx log-mel ``(B, T, 96)`` -> ``(B, 512)`` float32."""
        x = np.ascontiguousarray(logmel, dtype=np.float32)
        with self._lock:
            return self.session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """Embed ``(B, 44100)`` 44.1 kHz windows -> ``(B, 512)`` float32, ``batch_size`` at
        a time."""
        arr = _check_windows(windows, self.window_samples, self.sample_rate)
        out = np.empty((arr.shape[0], self.emb_dim), dtype=np.float32)
        for i in range(0, arr.shape[0], self.batch_size):
            chunk = arr[i:i + self.batch_size]
            out[i:i + len(chunk)] = self.embed_logmel(self.frontend(chunk))
        return out
