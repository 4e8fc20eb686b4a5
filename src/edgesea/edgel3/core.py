"""edgel3's ``core``: embeddings of arrays (:func:`get_embedding`) and files
(:func:`process_file`, :func:`get_output_path`), with edgel3's signatures, defaults and
argument checks, run by edgesea."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from edgesea.core.checks import check_hop_size
from edgesea.edgel3.edgel3_exceptions import EdgeL3Error
from edgesea.edgel3.models import ModelArg, _check_args, _flag, _net
from edgesea.inference import api, process

__all__ = ["L3_TARGET_SR", "SEA_TARGET_SR", "get_embedding", "get_output_path", "process_file"]

#: edgel3's model rates: L3-Net (the sparse models) 48 kHz, the SEA students 8 kHz. edgesea's
#: own models run at their own rates (the aisfx sparse models 44.1 kHz, the students 16 kHz:
#: ``model.sample_rate``); audio at any rate is resampled to the model's.
L3_TARGET_SR = 48000
SEA_TARGET_SR = 8000


def _center_audio(audio: np.ndarray, frame_len: int) -> np.ndarray:
    """edgel3's centring: ``int(frame_len / 2)`` zeros before the audio (1-D), none after."""
    return np.pad(audio, (int(frame_len / 2.0), 0), mode="constant")


def _pad_audio(audio: np.ndarray, frame_len: int, hop_len: int) -> np.ndarray:
    """edgel3's tail padding: zeros after the audio so that it holds at least one frame and
    ``len - frame_len`` is a multiple of ``hop_len`` (every sample in some window)."""
    n = int(audio.size)
    if n < frame_len:
        pad = frame_len - n
    else:
        pad = int(np.ceil((n - frame_len) / float(hop_len))) * hop_len - (n - frame_len)
    return np.pad(audio, (0, pad), mode="constant") if pad > 0 else audio


def get_embedding(audio: Any, sr: Any, model: ModelArg = None, model_type: str = "sparse",
                  emb_dim: int = 128, retrain_type: str = "ft", sparsity: float = 95.45,
                  center: bool = True, hop_size: float = 0.1, verbose: int = 1
                  ) -> tuple[np.ndarray, np.ndarray]:
    """edgel3's ``get_embedding``: embeddings of 1 s windows of ``audio``.

    Parameters
    ----------
    audio : np.ndarray [shape=(N,) or (N, C)]
        Audio samples (float or integer PCM); several channels are averaged.
    sr : number
        Its sample rate; resampled to the model's rate.
    model : EmbeddingModel, path or str, optional
        A model from :func:`load_embedding_model`, an edgesea model file or a packaged
        name; when given, ``model_type``, ``emb_dim``, ``retrain_type`` and ``sparsity`` are
        ignored (but still validated, as edgel3 does).
    model_type : {'sea', 'sparse'}
        ``'sparse'`` (edgel3's default) needs ``retrain_type='kd'``; ``'sea'``: the students.
    emb_dim : {512, 256, 128, 64}
        Embedding size of the ``'sea'`` model.
    retrain_type : {'ft', 'kd'}
        As in :func:`load_embedding_model`.
    sparsity : {53.5, 63.5, 72.3, 87.0, 95.45}
        As in :func:`load_embedding_model`.
    center : bool or {0, 1}
        Pad half a window before the audio, so timestamps are window centres.
    hop_size : float
        Hop between windows, in seconds.
    verbose : {0, 1} or bool
        1: show a progress bar (edgel3: Keras' progress bar).

    Returns
    -------
    embedding : np.ndarray [shape=(T, D), dtype=float32]
        One row per window.
    timestamps : np.ndarray [shape=(T,), dtype=float64]
        Window centres (``center=False``: starts) in seconds,
        ``t * round(hop_size * sr_model) / sr_model``.

    Raises
    ------
    EdgeL3Error
        Invalid audio, sample rate, model or argument; ``model_type='sparse'`` without
        ``model`` and with ``retrain_type='ft'`` (the defaults) or a level not packaged.
    """
    model_type, emb_dim = _check_args(model_type, emb_dim, retrain_type, sparsity)
    hop_size = check_hop_size(hop_size)
    verbose = _flag(verbose, "verbose")
    center = _flag(center, "center")
    net = _net(model, model_type, emb_dim, retrain_type, sparsity)
    return api.get_embedding(audio, sr, model=net, center=center, hop_size=hop_size,
                             verbose=verbose)


def get_output_path(filepath: str | os.PathLike, suffix: str,
                    output_dir: str | os.PathLike | None = None) -> str:
    """edgel3's output path: ``<output_dir>/<base>_<suffix>`` (``<base><suffix>`` when
    ``suffix`` starts with ``"."``).

    Parameters
    ----------
    filepath : path
        The audio file.
    suffix : str
        Appended to the file's base name, extension included (``".npz"``,
        ``"somesuffix.npz"``).
    output_dir : path, optional
        The output folder; default (None or ``""``): the audio file's folder.

    Returns
    -------
    str
        The output file's path.
    """
    if not isinstance(filepath, str | os.PathLike):
        raise EdgeL3Error(f"invalid filepath={filepath!r}: expected a path")
    if not isinstance(suffix, str) or not suffix:
        raise EdgeL3Error(f"invalid suffix={suffix!r}: expected a non-empty string, "
                          "extension included (e.g. '.npz')")
    filepath = os.fspath(filepath)
    base = os.path.splitext(os.path.basename(filepath))[0]
    folder = os.fspath(output_dir) if output_dir else os.path.dirname(filepath)
    name = base + suffix if suffix[0] == "." else f"{base}_{suffix}"
    return os.path.join(folder, name)


def _check_suffix(suffix: object) -> str | None:
    if suffix is None or suffix == "":
        return None
    if not isinstance(suffix, str):
        raise EdgeL3Error(f"invalid suffix={suffix!r}: expected a string or None")
    if suffix.startswith("."):
        raise EdgeL3Error(f"invalid suffix={suffix!r}: outputs are named <base>_<suffix>.npz; "
                          "pass a suffix that does not start with '.'")
    return suffix


def process_file(filepath: str | os.PathLike, output_dir: str | os.PathLike | None = None,
                 suffix: str | None = None, model: ModelArg = None,
                 model_type: str = "sparse", emb_dim: int = 128, sparsity: float = 95.45,
                 center: bool = True, hop_size: float = 0.1, verbose: bool = True, *,
                 retrain_type: str = "ft") -> None:
    """edgel3's ``process_file``: embed an audio file into ``<base>[_<suffix>].npz``.

    Parameters
    ----------
    filepath : path
        The audio file (edgesea also takes a list of files).
    output_dir : path, optional
        Output folder (created if needed); default: the file's folder.
    suffix : str, optional
        Output name ``<base>_<suffix>.npz``.
    model, model_type, emb_dim, sparsity, center, hop_size
        As in :func:`get_embedding` (edgel3's order: no ``retrain_type`` among them).
    verbose : bool or {0, 1}
        Show a progress bar over the files.
    retrain_type : {'ft', 'kd'}, keyword-only
        edgesea's extension: the sparse model's retraining. edgel3's ``process_file`` has no
        such argument and always uses ``'ft'`` (refused here, it needs video): pass
        ``model=load_embedding_model(...)`` or ``retrain_type='kd'``.

    Returns
    -------
    None
        The output (``embedding`` (T, D) float32, ``timestamps`` (T,), and ``provenance``)
        is at ``get_output_path(filepath, (suffix or '') + '.npz', output_dir)``; an
        existing one is replaced, as in edgel3.

    Raises
    ------
    EdgeL3Error
        A missing or undecodable file, or an invalid argument.
    """
    model_type, emb_dim = _check_args(model_type, emb_dim, retrain_type, sparsity)
    hop_size = check_hop_size(hop_size)
    verbose = _flag(verbose, "verbose")
    center = _flag(center, "center")
    suffix = _check_suffix(suffix)
    net = _net(model, model_type, emb_dim, retrain_type, sparsity)
    process.process_file(filepath, output_dir or None, suffix, net, center=center,
                     hop_size=hop_size, verbose=verbose, overwrite=True)


# --- the command line (edgel3.cli) ----------------------------------------------------------
