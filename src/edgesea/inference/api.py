"""The edgel3-compatible embedding API: ``get_embedding`` and ``process_file``.

Models are resolved once and cached (never reloaded per call); windows from several inputs
are batched together; results are identical to one-by-one calls. For a model whose front end
has padding ``"stream"``, :func:`get_embedding` computes the log-mel frames once on the
continuous signal and slices each window's input from them (see :func:`model_inputs`).
Audio files are embedded by :mod:`edgesea.inference.process` (``process_file``; its names are also
reachable here, as before).
"""

from __future__ import annotations

import json
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from edgesea._aliases import moved_name
from edgesea.audio.io import prepare_mono, preprocess_audio
from edgesea.audio.windows import front_padding, hop_length, n_windows, window_timestamps
from edgesea.core.batches import BatchQueue, array_sink, check_batch_size
from edgesea.core.checks import OneOf, check_flag, check_hop_size, validate_params
from edgesea.core.extras import has_torch, is_torch_module
from edgesea.errors import EdgeSEAError, MissingExtraError
from edgesea.inference.int8 import TFLiteEmbedder, WindowBatcher
from edgesea.inference.outputs import FileResult
from edgesea.light.onnx_models import OnnxEmbedder, OnnxSparseModel
from edgesea.packaged.names import (
    MODEL_TYPES,
    ONNX_SUFFIX,
    ZOO_TIERS,
    pretrained_path,
    resolve_model,
)
from edgesea.sparse.file_checks import is_sparse_file
from edgesea.sparse.packaged import packaged_path

if TYPE_CHECKING:
    from edgesea.models import EmbeddingModel

__all__ = ["FileResult", "embedder_identity", "get_embedder", "get_embedding", "get_model",
           "make_batcher", "model_identity", "model_inputs"]

def __getattr__(name: str) -> Any:
    # Old paths: process_file and friends were importable from here; they live in
    # edgesea.inference.process (which imports this module), served by the alias table.
    return moved_name(__name__, name)


_CACHE: OrderedDict[tuple, Any] = OrderedDict()  # loaded models and int8 embedders
_CACHE_SIZE = 8
_LOCK = threading.Lock()

ModelLike = Any  # an EmbeddingModel, a path or packaged name, an embedder, or None
#: Embedders run without torch: int8 LiteRT and float ONNX Runtime models.
RUNTIME_EMBEDDERS = (TFLiteEmbedder, OnnxEmbedder, OnnxSparseModel)


def _load_file(path: str) -> Any:
    """An edgesea model file, or a sparse model file (:mod:`edgesea.sparse.storage`)."""
    # torch-using modules, imported when a torch model is loaded (the light install has none)
    from edgesea.models import load_model
    from edgesea.sparse.model import SparseModel

    if is_sparse_file(path):
        return SparseModel.load(path)
    return load_model(path)


def _light_model(path: str) -> Any:
    """A model file as a torch-free embedder: an ONNX student, a sparse model file, an int8
    ``.tflite``; a packaged student's ``.safetensors`` means its packaged ``.onnx``."""
    if path.endswith(".tflite"):
        return _cached(path, TFLiteEmbedder)
    if path.endswith(ONNX_SUFFIX):
        return _cached(path, OnnxEmbedder)
    if is_sparse_file(path):
        return _cached(path, OnnxSparseModel)
    twin = os.path.splitext(path)[0] + ONNX_SUFFIX
    if path.endswith(".safetensors") and os.path.isfile(twin) and _same_dir(
            twin, pretrained_path()):
        return _cached(twin, OnnxEmbedder)
    raise MissingExtraError(
        f"running the edgesea model file {path} needs torch: run `pip install "
        "edgesea[train]`, or export it once with `edgesea export --format onnx` (with the "
        "train extra) and pass the .onnx file, which runs without torch")


def _same_dir(a: str, b: str) -> bool:
    return os.path.dirname(os.path.realpath(a)) == os.path.dirname(os.path.realpath(b))


def get_model(model: ModelLike = None, model_type: str = "sea",
              emb_dim: int = 128, *, tier: str = "mcu", sparsity: float = 95.45,
              retrain_type: str = "kd") -> EmbeddingModel:
    """Resolve a model argument to a loaded :class:`EmbeddingModel` (cached).

    ``model`` may be a loaded model (returned as is, in eval mode), a path to an edgesea
    model file or a sparse model file, or None for the packaged pretrained model
    ``(model_type, emb_dim)`` of the capacity tier ``tier`` (:data:`edgesea.zoo.ZOO_TIERS`:
    ``"mcu"``, the default, or ``"mcu-1m"``; always validated, used only when ``model`` is
    None). ``model_type="sparse"`` gives the packaged sparse aisfx model
    (:class:`~edgesea.sparse.model.SparseModel`, 512-d) of ``sparsity`` and
    ``retrain_type`` (:func:`edgesea.sparse.packaged.packaged_path`; ``emb_dim`` and ``tier``
    are not used). Files are cached by (path, size, mtime), so a changed file is reloaded.

    Without torch (``pip install edgesea`` with no ``train`` extra) the same references give
    torch-free embedders: a packaged student its ONNX file
    (:class:`~edgesea.light.onnx_models.OnnxEmbedder`), a sparse model
    :class:`~edgesea.light.onnx_models.OnnxSparseModel`; other ``.safetensors`` students
    raise :class:`~edgesea.errors.MissingExtraError` naming the extra.
    """
    if not isinstance(tier, str) or tier not in ZOO_TIERS:
        raise EdgeSEAError(f"invalid tier={tier!r}: expected one of {ZOO_TIERS}")
    if isinstance(model, RUNTIME_EMBEDDERS):
        return model
    if is_torch_module(model):
        # torch is imported already (the model is a torch module)
        from edgesea.models import EmbeddingModel
        from edgesea.sparse.model import SparseModel

        if not isinstance(model, EmbeddingModel | SparseModel):
            raise EdgeSEAError(f"model must be an edgesea EmbeddingModel, a SparseModel or a "
                               f"path, got {type(model).__name__}")
        return model.eval()
    if model is None:
        # every packaged type, the sparse models included (the zoo names only the students)
        validate_params({"model_type": model_type},
                        {"model_type": OneOf(*MODEL_TYPES, "sparse")})
        if isinstance(model_type, str) and model_type == "sparse":
            path = packaged_path(sparsity, retrain_type)
        else:
            path = pretrained_path(model_type, emb_dim, tier)
    elif isinstance(model, str | os.PathLike):  # a path or a packaged name (sea_urban_64)

        path = resolve_model(model, kind="float")
    else:
        raise EdgeSEAError(f"invalid model={model!r}: expected an EmbeddingModel, a path to a "
                           "model file, or None for a packaged model")
    if not has_torch():
        return _light_model(path)
    return _cached(path, _load_file)


def _cached(path: str | os.PathLike, load: Callable[[str], Any]) -> Any:
    """``load(real path)``, cached by (path, size, mtime): a changed file is reloaded."""
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except OSError as e:
        raise EdgeSEAError(f"model file not found: {path}") from e
    key = (real, st.st_size, st.st_mtime_ns)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    loaded = load(real)
    with _LOCK:
        _CACHE[key] = loaded
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return loaded


def _as_runtime(model: object) -> Any:
    """A model argument that names a torch-free embedder, as that embedder: an int8
    :class:`~edgesea.inference.int8.TFLiteEmbedder` (a ``.tflite`` path or a packaged
    ``NAME.int8``) or an :class:`~edgesea.light.onnx_models.OnnxEmbedder` (an ``.onnx`` path
    or ``NAME.onnx``), as is or loaded once (cached like float models); None for every other
    argument (torch models, their files and names, None)."""
    if isinstance(model, RUNTIME_EMBEDDERS):
        return model
    if model is None or not isinstance(model, str | os.PathLike):
        return None
    path = resolve_model(model, kind="any")
    if path.endswith(".tflite"):
        return _cached(path, TFLiteEmbedder)
    return _cached(path, OnnxEmbedder) if path.endswith(ONNX_SUFFIX) else None


_as_int8 = _as_runtime  # its name before the ONNX models


def get_embedder(model: ModelLike = None, model_type: str = "sea", emb_dim: int = 128, *,
                 tier: str = "mcu", sparsity: float = 95.45, retrain_type: str = "kd") -> Any:
    """What :func:`get_embedding` runs for these arguments: a torch-free embedder
    (``.tflite``, ``.onnx``, or any model without torch) or a torch model
    (:func:`get_model`)."""
    runtime = _as_runtime(model)
    if runtime is not None:
        return runtime
    return get_model(model, model_type, emb_dim, tier=tier, sparsity=sparsity,
                     retrain_type=retrain_type)


def embedder_identity(net: Any) -> str:
    """The identity of what embeds (:func:`model_identity` of a torch student, the
    ``identity`` attribute of every other embedder)."""
    return model_identity(net) if is_torch_module(net) and hasattr(net, "config") \
        else net.identity


_IDENTITY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def model_identity(model: EmbeddingModel) -> str:
    """A sha256 (hex) over a model's config JSON and all its weights and buffers.

    Two models have the same identity exactly when they compute the same embeddings by
    construction; cached per model object and recomputed when its weights change.
    """
    # a torch model: torch is imported already
    from edgesea.models.inference import weights_signature
    from edgesea.models.io import tensor_hash

    config = json.dumps(model.config.to_dict(), sort_keys=True, default=str)
    state = model.state_dict()
    signature = (config, weights_signature(model))
    with _LOCK:
        cached = _IDENTITY.get(model)
    if cached is not None and cached[0] == signature:
        return cached[1]
    h = tensor_hash(state)
    h.update(b"|config|" + config.encode())
    ident = h.hexdigest()
    with _LOCK:
        _IDENTITY[model] = (signature, ident)
    return ident


def make_batcher(net: Any, batch_size: int, *, logmel: bool = False, verbose: bool = False,
                 total: int | None = None) -> BatchQueue:
    """The batcher of ``net``: :class:`~edgesea.inference.batching.ModelBatcher` for a torch
    model, :class:`~edgesea.inference.int8.WindowBatcher` for every other embedder; with
    ``logmel=True`` it takes log-mel rows (``embed_logmel``)."""
    if is_torch_module(net):
        # torch models only (torch is imported already)
        from edgesea.inference.batching import ModelBatcher

        return ModelBatcher(net, batch_size, verbose, total=total, logmel=logmel)
    return WindowBatcher(net, batch_size, logmel=logmel, verbose=verbose, total=total)


def _embed_frames(model: Any, frames: Sequence[np.ndarray], batch_size: int,
                  verbose: bool) -> list[np.ndarray]:
    """Embed lists of window arrays, batching across lists, in order."""
    outs = [np.empty((f.shape[0], model.emb_dim), dtype=np.float32) for f in frames]
    batcher = make_batcher(model, batch_size, verbose=verbose,
                           total=sum(f.shape[0] for f in frames))
    for f, out in zip(frames, outs, strict=True):
        batcher.feed(f, array_sink(out))
    batcher.flush()
    return outs


def _is_stream(model: Any) -> bool:
    return getattr(model.frontend, "padding", None) == "stream"


def _logmel_engine(net: Any) -> bool:
    """A torch-free embedder that takes log-mel rows from a windowed front end (int8 and
    ONNX students; not the sparse models, which embed their windows)."""
    return not is_torch_module(net) and hasattr(getattr(net, "frontend", None),
                                                 "window_logmels")


def _signal(audio: object, sr: object, model: EmbeddingModel, hop_size: float, center: bool
            ) -> tuple[np.ndarray, int, int, int, np.ndarray]:
    """One input as :func:`~edgesea.audio.io.preprocess_audio` prepares it (same checks and
    warnings, same windows), as the continuous signal instead of its windows.

    Returns ``(mono, start, hop, n, timestamps)``: window ``i`` is
    ``mono[start + i*hop : start + i*hop + window_samples]`` (zeros outside ``mono``).
    """
    mono = prepare_mono(audio, sr, model.sample_rate, model.window, stacklevel=4)
    n = n_windows(mono.shape[0], model.sample_rate, model.window, hop_size, center)
    start = -front_padding(model.window_samples, center)
    hop = hop_length(hop_size, model.sample_rate)
    return mono, start, hop, n, window_timestamps(n, hop, model.sample_rate)


def _inputs(model: Any, mono: np.ndarray, start: int, hop: int, n: int) -> Iterator[Any]:
    """Blocks of the log-mel inputs of the ``n`` windows of one signal."""
    return model.frontend.window_logmels(mono, n, hop, start=start,
                                         n_window=model.window_samples)


def model_inputs(audio: Any, sr: Any, model: ModelLike = None, model_type: str = "sea",
                 emb_dim: int = 128, center: bool = True, hop_size: float = 0.1, *,
                 tier: str = "mcu") -> tuple[np.ndarray, np.ndarray]:
    """The log-mel input of every window :func:`get_embedding` embeds, and its timestamp.

    Parameters
    ----------
    audio : np.ndarray [shape=(N,) or (N, C)]
        One signal, as for :func:`get_embedding`.
    sr : number
        Its sample rate.
    model, model_type, emb_dim, center, hop_size, tier
        As in :func:`get_embedding` (``tier`` keyword-only).

    Returns
    -------
    logmel : np.ndarray [shape=(T, n_mels, n_frames), dtype=float32]
        Window ``t``'s input to the network (``embed_logmel``). A ``"stream"`` front end
        reads the signal around each window (zeros before and after the audio); its frames
        are computed once on the continuous signal when the hop is a multiple of the
        front end's hop.
    timestamps : np.ndarray [shape=(T,)]
        As in :func:`get_embedding`.
    """
    hop_size = check_hop_size(hop_size)
    center = check_flag(center, "center")
    net = get_embedder(model, model_type, emb_dim, tier=tier)
    if not hasattr(getattr(net, "frontend", None), "window_logmels"):
        raise EdgeSEAError("model_inputs gives the log-mel inputs of edgesea students; a "
                           "sparse model's input is its teacher's (SparseModel.frontend)")
    mono, start, hop, n, stamps = _signal(audio, sr, net, hop_size, bool(center))
    return np.concatenate([np.asarray(b) for b in _inputs(net, mono, start, hop, n)]), stamps


def _embed_stream(model: Any, signals: list[tuple], batcher: Any
                  ) -> list[np.ndarray]:
    """Embed signals through a batcher of log-mel rows (``ModelBatcher(..., logmel=True)``, or
    an int8 model's ``WindowBatcher(..., logmel=True)``): log-mel blocks (a ``"stream"``
    front end computes the frames once per block of windows), in order."""
    outs = [np.empty((sig[3], model.emb_dim), dtype=np.float32) for sig in signals]
    for (mono, start, hop, n, _), out in zip(signals, outs, strict=True):
        sink = array_sink(out)
        for block in _inputs(model, mono, start, hop, n):
            batcher.feed(np.asarray(block), sink)
    batcher.flush()
    return outs


def get_embedding(audio: Any, sr: Any, model: ModelLike = None, model_type: str = "sea",
                  emb_dim: int = 128, center: bool = True, hop_size: float = 0.1,
                  batch_size: int = 64, verbose: bool = False, *, tier: str = "mcu",
                  sparsity: float = 95.45, retrain_type: str = "kd"
                  ) -> tuple[np.ndarray, np.ndarray] | tuple[list[np.ndarray],
                                                             list[np.ndarray]]:
    """Compute embeddings of 1 s windows of audio (the edgel3 / openl3 contract).

    Parameters
    ----------
    audio : np.ndarray [shape=(N,) or (N, C)] or list of them
        Float or integer PCM; stereo is downmixed by the mean.
    sr : number or list of numbers
        Sample rate(s) of ``audio``; one rate for all, or one per array.
    model : EmbeddingModel or path, optional
        The embedding model; None uses the packaged ``(model_type, emb_dim, tier)`` model.
        An int8 ``.tflite`` (a path, a packaged ``NAME.int8``, or a
        :class:`~edgesea.inference.int8.TFLiteEmbedder`) is run by LiteRT, one window at a
        time, on the same front end (``pip install edgesea[export]``).
    model_type : str
        ``"sea"`` (packaged students) or ``"sparse"`` (edgel3's other route: the aisfx
        teacher pruned to ``sparsity`` and retrained by ``retrain_type``, 512-d, 44.1 kHz;
        :mod:`edgesea.sparse`).
    emb_dim : int
        Embedding size of the packaged ``"sea"`` model (512, 256, 128 or 64).
    center : bool or {0, 1}
        Pad half a window before the first sample so window t is centred on its timestamp.
    hop_size : float
        Hop between windows in seconds (cut as ``round(hop_size * sr)`` samples at the
        model's rate ``sr``).
    batch_size : int
        Windows per forward pass (windows of all inputs are batched together); more than
        :data:`edgesea.inference.batching.MAX_BATCH_WINDOWS` (256) runs as batches of 256.
    verbose : bool or {0, 1}
        Show a progress bar.
    tier : str
        Capacity tier of the packaged model (keyword-only; :data:`edgesea.zoo.ZOO_TIERS`):
        ``"mcu"`` (default: 64 KB TFLM arena, 300 KB flash) or ``"mcu-1m"`` (256 KB arena,
        1 MB flash: a larger student). Validated, but used only when ``model`` is None.
    sparsity : float
        ``model_type="sparse"`` (keyword-only): one of edgel3's levels 53.5, 63.5, 72.3,
        87.0, 95.45 (an invalid one is an error listing them); the packaged levels are
        listed by ``edgesea models``, others are built with ``edgesea prune``.
    retrain_type : str
        ``model_type="sparse"`` (keyword-only): ``"kd"`` (default; distilled from the dense
        teacher) or ``"oneshot"``. edgel3's ``"ft"`` is refused: it needs L3-Net's
        audio-visual correspondence task (video).

    Returns
    -------
    embedding : np.ndarray [shape=(T, D), dtype=float32] (or a list of them)
    timestamps : np.ndarray [shape=(T,), dtype=float64] (or a list)
        Window centres (``center=False``: starts) in seconds, where the windows really are:
        ``arange(T) * round(hop_size * sr) / sr`` at the model's rate ``sr`` (equal to
        ``arange(T) * hop_size`` when the hop is a whole number of samples).

    Notes
    -----
    A model whose front end has padding ``"stream"`` sees each window with its real context
    (the signal around it; zeros before and after the audio). When the hop in samples is a
    multiple of the front end's hop, the log-mel frames are computed once on the continuous
    signal (in bounded blocks of windows) and each window's input is its slice of them;
    otherwise each window is computed alone. Only the network runs once per window.
    """
    hop_size = check_hop_size(hop_size)
    batch_size = check_batch_size(batch_size)
    center = check_flag(center, "center")
    verbose = check_flag(verbose, "verbose")
    is_list = isinstance(audio, list | tuple)
    if is_list:
        audios = list(audio)
        if not audios:
            raise EdgeSEAError("audio is an empty list: expected at least one array")
        if all(np.ndim(a) == 0 for a in audios):  # a list of samples, not of signals
            raise EdgeSEAError(
                f"audio is a list of {len(audios)} numbers: a list means several signals, "
                "one array each (as openl3 / edgel3 take them); pass one signal as an array, "
                "np.asarray(audio)")
        if isinstance(sr, list | tuple):
            if len(sr) != len(audios):
                raise EdgeSEAError(f"got {len(audios)} audio arrays but {len(sr)} sample rates:"
                                   " expected one rate, or one per array")
            srs = list(sr)
        else:
            srs = [sr] * len(audios)
    else:
        if isinstance(sr, list | tuple):
            raise EdgeSEAError("sr is a list but audio is a single array: pass a list of "
                               "arrays, or one sample rate")
        audios, srs = [audio], [sr]
    net = get_embedder(model, model_type, emb_dim, tier=tier, sparsity=sparsity,
                       retrain_type=retrain_type)
    if _logmel_engine(net) or _is_stream(net):
        signals = []
        for a, s in zip(audios, srs, strict=True):  # a loop, not a comprehension: stacklevel
            signals.append(_signal(a, s, net, hop_size, bool(center)))
        total = sum(sig[3] for sig in signals)
        batcher = make_batcher(net, batch_size, logmel=True, verbose=verbose, total=total)
        embs = _embed_stream(net, signals, batcher)
        stamps = [sig[4] for sig in signals]
        return (embs, stamps) if is_list else (embs[0], stamps[0])
    frames, stamps = [], []
    for a, s in zip(audios, srs, strict=True):
        f, t = preprocess_audio(a, s, net.sample_rate, net.window, hop_size, bool(center))
        frames.append(f)
        stamps.append(t)
    embs = _embed_frames(net, frames, batch_size, verbose)
    if is_list:
        return embs, stamps
    return embs[0], stamps[0]
