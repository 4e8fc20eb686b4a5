"""The edgel3-compatible embedding API: ``get_embedding`` and ``process_file``.

Models are resolved once and cached (never reloaded per call); windows from several inputs
are batched together; results are identical to one-by-one calls. For a model whose front end
has padding ``"stream"``, :func:`get_embedding` computes the log-mel frames once on the
continuous signal and slices each window's input from them (see :func:`model_inputs`).
Audio files are embedded by :mod:`edgesea.inference.process` (``process_file``; its names are also
reachable here, as before).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from edgesea._aliases import moved_name
from edgesea.audio.io import prepare_mono, preprocess_audio
from edgesea.audio.windows import front_padding, hop_length, n_windows, window_timestamps
from edgesea.core.batches import array_sink, check_batch_size
from edgesea.core.checks import check_flag, check_hop_size
from edgesea.core.extras import is_torch_module
from edgesea.errors import EdgeSEAError
from edgesea.inference.outputs import FileResult
from edgesea.inference.resolve import (  # noqa: F401  (its names, reachable here as before)
    _CACHE,
    _CACHE_SIZE,
    RUNTIME_EMBEDDERS,
    ModelLike,
    _as_int8,
    _as_runtime,
    _cached,
    embedder_identity,
    get_embedder,
    get_model,
    make_batcher,
    model_identity,
)

if TYPE_CHECKING:
    from edgesea.models import EmbeddingModel

__all__ = ["FileResult", "embedder_identity", "get_embedder", "get_embedding", "get_model",
           "make_batcher", "model_identity", "model_inputs"]

def __getattr__(name: str) -> Any:
    # Old paths: process_file and friends were importable from here; they live in
    # edgesea.inference.process (which imports this module), served by the alias table.
    return moved_name(__name__, name)


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
