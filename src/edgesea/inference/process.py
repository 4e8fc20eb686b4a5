"""Embedding audio files into ``.npz`` files (edgel3's ``process_file`` contract):
:func:`process_file`, :func:`iter_process_files` and :func:`output_path`.

Files are streamed in bounded blocks through the models and batching of :mod:`.api`, and their
outputs record what produced them (:mod:`.outputs`); the network of an int8 ``.tflite`` is run
by LiteRT (:class:`.int8.TFLiteEmbedder`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

import edgesea.inference.outputs as outputs
from edgesea.audio.windows import hop_length, n_windows
from edgesea.core.batches import check_batch_size
from edgesea.core.checks import check_flag, check_hop_size
from edgesea.core.fileio import clean_stale_temps
from edgesea.errors import EdgeSEAError
from edgesea.inference.api import (
    ModelLike,
    _is_stream,
    embedder_identity,
    get_embedder,
    make_batcher,
)
from edgesea.inference.outputs import FileResult
from edgesea.inference.pooling import check_pool

__all__ = [
    "FileResult",
    "FrameOnceFeeder",
    "iter_embed_files",
    "iter_process_files",
    "output_path",
    "process_file",
]


class FrameOnceFeeder:
    """Streamed blocks of windows with their ``"stream"`` context -> log-mel rows for a
    batcher of log-mels, each block's frames computed once.

    :func:`~edgesea.audio.stream.stream_windows` yields a block's windows (with ``context``)
    at a fixed ``hop``; they are rebuilt into the contiguous stretch of signal they came
    from, and :meth:`~edgesea.frontend.logmel.LogMelSpectrogram.window_logmels` computes each STFT
    frame once on it and slices every window's input (the window-by-window values up to float
    rounding, as :func:`edgesea.get_embedding` computes them). A block whose windows do not
    overlap or touch (``hop`` beyond the window and its context) is computed window by window.

    Parameters
    ----------
    batcher : object
        Has ``feed(rows, sink)`` and ``flush()`` and takes log-mel rows ``(n, n_mels,
        n_frames)`` (``edgesea.inference.batching.ModelBatcher(..., logmel=True)``,
        :class:`edgesea.inference.int8.WindowBatcher` with ``logmel=True``).
    frontend : LogMelSpectrogram
        The model's ``"stream"`` front end.
    window_samples : int
        Samples per window (without its context).
    context : (int, int)
        Samples of context before and after each window (``frontend.context(window_samples)``).
    hop : int
        Samples between window starts.
    """

    def __init__(self, batcher: Any, frontend: Any, window_samples: int,
                 context: tuple[int, int], hop: int) -> None:
        self.batcher, self.frontend = batcher, frontend
        self.window_samples, self.hop = int(window_samples), int(hop)
        self.left = int(context[0])
        self.span = self.window_samples + int(context[0]) + int(context[1])

    @classmethod
    def of(cls, model: Any, batcher: Any, hop_size: float) -> FrameOnceFeeder:
        """The feeder of ``model`` (a float stream model or a
        :class:`~edgesea.inference.int8.TFLiteEmbedder`) at ``hop_size`` seconds."""
        return cls(batcher, model.frontend, model.window_samples, model.context_samples,
                   hop_length(hop_size, model.sample_rate))

    def logmels(self, frames: np.ndarray) -> np.ndarray:
        """``(k, span)`` windows with their context, ``hop`` apart -> ``(k, n_mels,
        n_frames)`` log-mels."""
        k = frames.shape[0]
        if frames.ndim != 2 or frames.shape[1] != self.span:
            raise EdgeSEAError(f"expected windows with their context (k, {self.span}), got "
                               f"{frames.shape}")
        if k and self.hop <= self.span:
            tails = frames[1:, self.span - self.hop:].reshape(-1)
            signal = np.concatenate([frames[0], tails])
            blocks = self.frontend.window_logmels(signal, k, self.hop, start=self.left,
                                                  n_window=self.window_samples)
            return np.concatenate([np.asarray(b) for b in blocks])
        # each window alone: window_logmels with windows apart (no shared frames)
        blocks = self.frontend.window_logmels(np.asarray(frames, np.float32).reshape(-1), k,
                                              self.span, start=self.left,
                                              n_window=self.window_samples)
        return np.concatenate([np.asarray(b) for b in blocks])

    def feed(self, frames: np.ndarray, sink: Callable[[np.ndarray], None]) -> None:
        """Queue a block of windows; ``sink`` receives their rows, in order."""
        if len(frames):
            self.batcher.feed(self.logmels(frames), sink)

    def flush(self) -> None:
        """Embed what is still queued."""
        self.batcher.flush()


def output_path(path: str | os.PathLike, output_dir: str | os.PathLike | None = None,
                suffix: str | None = None) -> str:
    """``<output_dir or the file's folder>/<base>[_<suffix>].npz`` for an audio file."""
    p = Path(path)
    base = p.stem + (f"_{suffix}" if suffix else "")
    directory = Path(output_dir) if output_dir is not None else p.parent
    return str(directory / f"{base}.npz")


def iter_process_files(paths: Sequence[str | os.PathLike], output_dir=None,
                       suffix: str | None = None, *, model: ModelLike = None,
                       model_type: str = "sea", emb_dim: int = 128, center: bool = True,
                       hop_size: float = 0.1, batch_size: int = 64,
                       overwrite: bool = False, tier: str = "mcu", sparsity: float = 95.45,
                       retrain_type: str = "kd", pool: str | Sequence[str] | None = None
                       ) -> Iterator[FileResult]:
    """Embed audio files, yielding one :class:`FileResult` per input, in input order.

    Parameters
    ----------
    paths : sequence of paths (or one path)
        Audio files.
    output_dir, suffix
        Where outputs go, as in :func:`process_file`.
    model, model_type, emb_dim, center, hop_size, batch_size, overwrite, tier, sparsity,
    retrain_type, pool
        As in :func:`process_file` (keyword-only).

    Returns
    -------
    iterator of FileResult
        ``status`` ``"written"``, ``"skipped"`` or ``"failed"`` (with ``error``).

    Notes
    -----
    Files are streamed in bounded blocks (:func:`edgesea.audio.stream.stream_windows`) and
    their windows share full forward passes; rows go to a temp file beside the output, so
    memory does not depend on file length. An existing output is ``"skipped"`` when its
    provenance matches this run, else recomputed with ``overwrite``, else ``"failed"`` (as
    is a file that cannot be decoded; the others go on). Leftover temp files of killed
    writers in the output folders are removed first.

    Raises
    ------
    EdgeSEAError
        At once (before any work): invalid settings or model, two inputs with one output,
        an ``output_dir`` that is not a folder.
    """
    hop_size = check_hop_size(hop_size)
    pool = check_pool(pool)
    batch_size = check_batch_size(batch_size)
    center = check_flag(center, "center")
    net = get_embedder(model, model_type, emb_dim, tier=tier, sparsity=sparsity,
                       retrain_type=retrain_type)
    n_windows(1, net.sample_rate, net.window, hop_size, bool(center))  # hop below a sample
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    pairs = [(os.fspath(p), output_path(p, output_dir, suffix)) for p in paths]
    outputs.check_targets(pairs, output_dir)
    for folder in {os.path.dirname(os.path.abspath(out)) for _, out in pairs}:
        clean_stale_temps(folder)
    # a stream front end: frames computed once per streamed block, as get_embedding does
    stream = _is_stream(net)
    feed = make_batcher(net, batch_size, logmel=stream)
    feed = FrameOnceFeeder.of(net, feed, hop_size) if stream else feed
    identity = embedder_identity(net)
    return outputs.stream_files(pairs, net, feed, identity, bool(center), hop_size, overwrite,
                                pool)


def process_file(filepath: str | os.PathLike | Sequence[str | os.PathLike],
                 output_dir: str | os.PathLike | None = None, suffix: str | None = None,
                 model: ModelLike = None, model_type: str = "sea", emb_dim: int = 128, *,
                 center: bool = True, hop_size: float = 0.1, batch_size: int = 64,
                 verbose: bool = False, overwrite: bool = False,
                 tier: str = "mcu", sparsity: float = 95.45,
                 retrain_type: str = "kd", pool: str | Sequence[str] | None = None
                 ) -> list[str]:
    """Embed audio file(s) and write ``<base>[_<suffix>].npz`` files (edgel3's contract).

    Parameters
    ----------
    filepath : path or list of paths
        Audio file(s).
    output_dir : path, optional
        Folder for the outputs (created if needed); default: each file's folder.
    suffix : str, optional
        Output names become ``<base>_<suffix>.npz``.
    model, model_type, emb_dim
        The model, as in :func:`get_embedding` (edgel3's positional order; an int8
        ``.tflite``, its path or ``NAME.int8`` is run by LiteRT).
    center, hop_size, batch_size, verbose
        As in :func:`get_embedding` (keyword-only).
    overwrite : bool
        Recompute outputs that exist but were made by other settings (another model,
        hop_size, center or a changed source file); matching ones are always skipped.
    tier, sparsity, retrain_type
        The packaged model, as in :func:`get_embedding` (keyword-only).
    pool : str or sequence of str, optional
        Also store a clip embedding ``clip_embedding``: these statistics of the window
        embeddings over time, concatenated (``"mean,max"``: ``2 * D`` values; ``mean``,
        ``max``, ``min``, ``std``; :func:`edgesea.inference.pooling.pool_embeddings`).

    Returns
    -------
    list of str
        The output paths (written or skipped), in input order. Each ``.npz`` holds
        ``embedding``, ``timestamps`` and ``provenance`` (JSON: what produced it), and
        ``clip_embedding`` with ``pool``.

    Raises
    ------
    EdgeSEAError
        Before any work for bad settings, two inputs with one output or an ``output_dir``
        that is a file; after all the other files if any could not be decoded or has an
        output made by other settings (and ``overwrite`` is False).
    """
    verbose = check_flag(verbose, "verbose")
    paths = [filepath] if isinstance(filepath, str | os.PathLike) else list(filepath)
    if not paths:
        raise EdgeSEAError("no input files given")
    outputs_, failures = [], []
    results = iter_process_files(paths, output_dir, suffix, model=model,
                                 model_type=model_type, emb_dim=emb_dim, center=center,
                                 hop_size=hop_size, batch_size=batch_size,
                                 overwrite=overwrite, tier=tier, sparsity=sparsity,
                                 retrain_type=retrain_type, pool=pool)
    for r in tqdm(results, total=len(paths), unit="file", disable=not verbose):
        if r.status == "failed":
            failures.append(f"{r.path}: {r.error}")
        else:
            outputs_.append(r.output)
    if failures:
        raise EdgeSEAError(f"{len(failures)} of {len(paths)} files failed:\n" +
                           "\n".join(failures))
    return outputs_


def iter_embed_files(paths: Sequence[str | os.PathLike], embedder: Any,
                     output_dir: str | os.PathLike | None = None, suffix: str | None = None,
                     *, center: bool = True, hop_size: float = 0.1, batch_size: int = 64,
                     overwrite: bool = False) -> Iterator:
    """Embed audio files with an int8 model into ``<base>[_<suffix>].npz`` files:
    :func:`~.process.iter_process_files` with ``model=embedder``.

    Parameters
    ----------
    paths : sequence of paths
        Audio files.
    embedder : TFLiteEmbedder
        The int8 model.
    output_dir, suffix, center, hop_size, batch_size, overwrite
        As in :func:`~.process.iter_process_files`.

    Returns
    -------
    iterator of edgesea.inference.outputs.FileResult
        One per file, in input order, as :func:`~.process.iter_process_files` yields them; the
        outputs' provenance names the ``.tflite`` (its :attr:`TFLiteEmbedder.identity`).

    Raises
    ------
    EdgeSEAError
        At once: invalid settings, two inputs with one output, an ``output_dir`` that is a
        file.
    """
    return iter_process_files(paths, output_dir, suffix, model=embedder, center=center,
                              hop_size=hop_size, batch_size=batch_size, overwrite=overwrite)
