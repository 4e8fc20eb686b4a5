"""The edgel3-compatible embedding API: ``get_embedding`` and ``process_file``.

Models are resolved once and cached (never reloaded per call); windows from several inputs
are batched together; results are identical to one-by-one calls.
"""

from __future__ import annotations

import os
import tempfile
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .audio import check_hop_size, load_audio, preprocess_audio
from .errors import EdgeSEAError
from .models import EmbeddingModel, load_model
from .models.io import chmod_like_new_file
from .zoo import pretrained_path

__all__ = ["FileResult", "get_embedding", "get_model", "iter_process_files", "output_path",
           "process_file"]

_CACHE: OrderedDict[tuple, EmbeddingModel] = OrderedDict()
_CACHE_SIZE = 8
_LOCK = threading.Lock()

ModelLike = EmbeddingModel | str | os.PathLike | None


def get_model(model: ModelLike = None, model_type: str = "sea",
              emb_dim: int = 128) -> EmbeddingModel:
    """Resolve a model argument to a loaded :class:`EmbeddingModel` (cached).

    ``model`` may be a loaded model (returned as is, in eval mode), a path to an edgesea
    model file, or None for the packaged pretrained model ``(model_type, emb_dim)``.
    Files are cached by (path, size, mtime), so a changed file is reloaded.
    """
    if isinstance(model, torch.nn.Module):
        if not isinstance(model, EmbeddingModel):
            raise EdgeSEAError(f"model must be an edgesea EmbeddingModel or a path, got "
                               f"{type(model).__name__}")
        return model.eval()
    if model is None:
        path = pretrained_path(model_type, emb_dim)
    elif isinstance(model, str | os.PathLike):
        path = os.fspath(model)
    else:
        raise EdgeSEAError(f"invalid model={model!r}: expected an EmbeddingModel, a path to a "
                           "model file, or None for a packaged model")
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
    loaded = load_model(real)
    with _LOCK:
        _CACHE[key] = loaded
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return loaded


_FAST: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _inference_net(model: EmbeddingModel) -> torch.nn.Module:
    """The BN-folded, oneDNN-frozen copy of ``model`` (``model.for_inference()``), rebuilt
    when its weights change."""
    signature = tuple((t.data_ptr(), t._version) for t in model.state_dict().values())
    with _LOCK:
        cached = _FAST.get(model)
    if cached is not None and cached[0] == signature:
        return cached[1]
    fast = model.for_inference()
    with _LOCK:
        _FAST[model] = (signature, fast)
    return fast


def _check_batch_size(batch_size: object) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) \
            or batch_size < 1:
        raise EdgeSEAError(f"invalid batch_size={batch_size!r}: expected an integer >= 1")
    return int(batch_size)


def _embed_frames(model: EmbeddingModel, frames: Sequence[np.ndarray], batch_size: int,
                  verbose: bool) -> list[np.ndarray]:
    """Embed lists of window arrays, batching across lists, in order."""
    total = sum(f.shape[0] for f in frames)
    out = np.empty((total, model.emb_dim), dtype=np.float32)
    net = _inference_net(model)
    pos = 0
    buf = np.empty((batch_size, model.window_samples), dtype=np.float32)
    fill = 0
    bar = tqdm(total=total, unit="win", disable=not verbose, desc="embedding")
    with torch.inference_mode():
        for f in frames:
            start = 0
            while start < f.shape[0]:
                take = min(batch_size - fill, f.shape[0] - start)
                buf[fill:fill + take] = f[start:start + take]
                fill += take
                start += take
                if fill == batch_size:
                    out[pos:pos + fill] = net(torch.from_numpy(buf)).numpy()
                    pos += fill
                    bar.update(fill)
                    fill = 0
        if fill:  # a full-size, zero-filled batch: results never depend on batch composition
            buf[fill:] = 0.0
            out[pos:pos + fill] = net(torch.from_numpy(buf)).numpy()[:fill]
            pos += fill
            bar.update(fill)
    bar.close()
    splits = np.cumsum([f.shape[0] for f in frames])[:-1]
    return np.split(out, splits)


def get_embedding(audio: Any, sr: Any, model: ModelLike = None, model_type: str = "sea",
                  emb_dim: int = 128, center: bool = True, hop_size: float = 0.1,
                  batch_size: int = 64, verbose: bool = False
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
        The embedding model; None uses the packaged ``(model_type, emb_dim)`` model.
    model_type : str
        ``"sea"`` (packaged students).
    emb_dim : int
        Embedding size of the packaged model (512, 256, 128 or 64).
    center : bool
        Pad half a window before the first sample so window t is centred at t * hop_size.
    hop_size : float
        Hop between windows in seconds.
    batch_size : int
        Windows per forward pass (windows of all inputs are batched together).
    verbose : bool
        Show a progress bar.

    Returns
    -------
    embedding : np.ndarray [shape=(T, D), dtype=float32] (or a list of them)
    timestamps : np.ndarray [shape=(T,)] seconds, ``arange(T) * hop_size`` (or a list)
    """
    hop_size = check_hop_size(hop_size)
    batch_size = _check_batch_size(batch_size)
    if not isinstance(center, bool | np.bool_):
        raise EdgeSEAError(f"invalid center={center!r}: expected True or False")
    is_list = isinstance(audio, list | tuple)
    if is_list:
        audios = list(audio)
        if not audios:
            raise EdgeSEAError("audio is an empty list: expected at least one array")
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
    net = get_model(model, model_type, emb_dim)
    frames, stamps = [], []
    for a, s in zip(audios, srs, strict=True):
        f, t = preprocess_audio(a, s, net.sample_rate, net.window, hop_size, bool(center))
        frames.append(f)
        stamps.append(t)
    embs = _embed_frames(net, frames, batch_size, verbose)
    if is_list:
        return embs, stamps
    return embs[0], stamps[0]


def output_path(path: str | os.PathLike, output_dir: str | os.PathLike | None = None,
                suffix: str | None = None) -> str:
    """``<output_dir or the file's folder>/<base>[_<suffix>].npz`` for an audio file."""
    p = Path(path)
    base = p.stem + (f"_{suffix}" if suffix else "")
    directory = Path(output_dir) if output_dir is not None else p.parent
    return str(directory / f"{base}.npz")


def _save_npz_atomic(path: str, embedding: np.ndarray, timestamps: np.ndarray) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, embedding=embedding, timestamps=timestamps)
        chmod_like_new_file(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@dataclass
class FileResult:
    """Outcome of one file in :func:`iter_process_files`."""

    path: str
    output: str
    status: str  # "written", "skipped" or "failed"
    error: str | None = None
    n_windows: int = 0


def iter_process_files(paths: Sequence[str | os.PathLike], output_dir=None,
                       suffix: str | None = None, overwrite: bool = False,
                       model: ModelLike = None, model_type: str = "sea", emb_dim: int = 128,
                       center: bool = True, hop_size: float = 0.1, batch_size: int = 64,
                       files_per_batch: int = 16) -> Iterator[FileResult]:
    """Embed audio files, yielding one :class:`FileResult` per input, in input order.

    Files are decoded and grouped (up to ``files_per_batch`` at a time) so that windows of
    several files share forward passes; every buffered file is flushed at the end. A file
    that cannot be decoded yields ``status="failed"`` and does not stop the others.
    """
    hop_size = check_hop_size(hop_size)
    batch_size = _check_batch_size(batch_size)
    if not isinstance(center, bool | np.bool_):
        raise EdgeSEAError(f"invalid center={center!r}: expected True or False")
    net = get_model(model, model_type, emb_dim)
    # Results in input order; decoded files wait in `pending` (indices into `slots`).
    slots: list[FileResult] = []
    pending: list[tuple[int, np.ndarray, np.ndarray]] = []

    def flush() -> Iterator[FileResult]:
        if pending:
            embs = _embed_frames(net, [p[1] for p in pending], batch_size, False)
            for (i, _, stamps), emb in zip(pending, embs, strict=True):
                _save_npz_atomic(slots[i].output, emb, stamps)
                slots[i].status, slots[i].n_windows = "written", emb.shape[0]
            pending.clear()
        yield from slots
        slots.clear()

    for path in paths:
        src = os.fspath(path)
        out = output_path(src, output_dir, suffix)
        if os.path.exists(out) and not overwrite:
            slots.append(FileResult(src, out, "skipped"))
            continue
        try:
            audio, sr = load_audio(src)
            frames, stamps = preprocess_audio(audio, sr, net.sample_rate, net.window,
                                              hop_size, bool(center))
        except EdgeSEAError as e:
            slots.append(FileResult(src, out, "failed", error=str(e)))
            continue
        pending.append((len(slots), frames, stamps))
        slots.append(FileResult(src, out, "pending"))
        if len(pending) >= files_per_batch:
            yield from flush()
    yield from flush()


def process_file(filepath: str | os.PathLike | Sequence[str | os.PathLike],
                 output_dir: str | os.PathLike | None = None, suffix: str | None = None,
                 overwrite: bool = False, model: ModelLike = None, model_type: str = "sea",
                 emb_dim: int = 128, center: bool = True, hop_size: float = 0.1,
                 batch_size: int = 64, verbose: bool = False) -> list[str]:
    """Embed audio file(s) and write ``<base>[_<suffix>].npz`` with ``embedding`` and
    ``timestamps`` (atomically: temp file + rename).

    Existing outputs are skipped unless ``overwrite``. Returns the output paths (written or
    skipped), in input order. Raises :class:`EdgeSEAError` after processing all the other
    files if any file could not be decoded.
    """
    paths = [filepath] if isinstance(filepath, str | os.PathLike) else list(filepath)
    if not paths:
        raise EdgeSEAError("no input files given")
    outputs, failures = [], []
    results = iter_process_files(paths, output_dir, suffix, overwrite, model, model_type,
                                 emb_dim, center, hop_size, batch_size)
    for r in tqdm(results, total=len(paths), unit="file", disable=not verbose):
        if r.status == "failed":
            failures.append(f"{r.path}: {r.error}")
        else:
            outputs.append(r.output)
    if failures:
        raise EdgeSEAError(f"{len(failures)} of {len(paths)} files failed:\n" +
                           "\n".join(failures))
    return outputs
