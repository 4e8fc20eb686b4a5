"""``kd`` retraining of a pruned teacher: reproduce the dense teacher's embeddings (MSE).

edgel3's ``kd`` models were retrained to reproduce the dense L3-Net's 512-d embedding with the
pruning mask fixed. :func:`kd_data` prepares what that needs from in-domain audio, once: the
dense teacher's embeddings of every window (an :mod:`edgesea.store.shards` written by
:func:`edgesea.extract.run.extract`, resumable and checked like any teacher store) and the
teacher's log-mel input of the same windows (float16 ``.npy``, in store order, written
atomically and reused only for the same store). :func:`retrain_kd` then splits recordings
into training and validation (as ``specialize`` does), freezes the masks
(:func:`~edgesea.sparse.prune.freeze_masks`) and trains with
:func:`edgesea.distill.train.train_student` (its checkpoints, exact resume, early stopping and
curves), so the pruned weights stay zero through training, resume included.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from edgesea.audio.files import recording_groups
from edgesea.audio.io import load_audio, resample, to_float_mono
from edgesea.audio.windows import frame_windows
from edgesea.core.fileio import clean_stale_temps, write_json, write_npy
from edgesea.core.safe_json import read_json
from edgesea.distill.train import TrainConfig, TrainResult, train_student
from edgesea.errors import EdgeSEAError
from edgesea.extract.run import extract
from edgesea.sparse.prune import freeze_masks
from edgesea.store.shards import EmbeddingStore

__all__ = ["KDData", "kd_data", "kd_split", "retrain_kd"]


@dataclass
class KDData:
    """Inputs and targets of ``kd`` retraining, in store order.

    Attributes
    ----------
    inputs : np.ndarray [shape=(N, T, n_mels), dtype=float16]
        The teacher's log-mel of each window (memory-mapped).
    targets : np.ndarray [shape=(N, emb_dim), dtype=float32]
        The dense teacher's embedding of each window.
    groups : np.ndarray [shape=(N,), dtype=int64]
        Recording id of each window (validation holds out whole recordings).
    store : EmbeddingStore
        The dense teacher's store.
    """

    inputs: np.ndarray
    targets: np.ndarray
    groups: np.ndarray
    store: EmbeddingStore


def _teacher_inputs(store: EmbeddingStore, audio_dir: Path, teacher: Any, out_path: Path,
                    progress: bool) -> np.ndarray:
    files = [f for f in store.files if f.status == "ok"]
    n_total = sum(f.n_windows for f in files)
    sr, window = int(teacher.sample_rate), float(teacher.window)
    n_frames = teacher.frontend.n_frames(teacher.window_samples)
    hop, center = store.manifest["hop_size"], store.manifest["center"]

    def blocks():
        for f in tqdm(files, desc="teacher inputs", unit="file", disable=not progress):
            audio, file_sr = load_audio(audio_dir / f.path)
            mono = resample(to_float_mono(audio), file_sr, sr)
            frames = frame_windows(mono, sr, f.n_windows, hop, window, center)
            for i in range(0, len(frames), 64):
                x = torch.from_numpy(np.array(frames[i:i + 64], np.float32))
                with torch.inference_mode():  # not around the yield (it would stay on)
                    block = teacher.frontend(x).numpy()
                yield block

    write_npy(out_path, np.float16, (n_total, n_frames, teacher.frontend(
        torch.zeros(1, teacher.window_samples)).shape[-1]), blocks())
    return np.load(out_path, mmap_mode="r")


def kd_data(audio_dir: str | os.PathLike, out_dir: str | os.PathLike, teacher: Any,
            hop_size: float = 0.5, progress: bool = True) -> KDData:
    """The dense teacher's embeddings and log-mel inputs of every window under ``audio_dir``.

    Parameters
    ----------
    audio_dir : path
        In-domain upstream audio (walked recursively).
    out_dir : path
        Working folder: ``teacher_store/`` (the dense teacher's store) and
        ``teacher_inputs.npy`` + ``teacher_inputs.json`` (what the inputs were made from).
        Both are reused when they match (same audio content, teacher identity and hop).
    teacher : AisfxTeacher
        The dense teacher (needs ``frontend``, ``window_samples``, ``embed``).
    hop_size : float
        Seconds between windows.
    progress : bool
        Progress bars on stderr.

    Returns
    -------
    KDData
    """

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(out)
    rep = extract(audio_dir, out / "teacher_store", teacher, hop_size=hop_size,
                  progress=progress)
    store = rep.store
    bad = [f.path for f in store.files if f.status != "ok"]
    if bad:
        raise EdgeSEAError(f"{len(bad)} files could not be embedded by the teacher, e.g. "
                           f"{bad[:3]}; remove or repair them")
    cols = store.load(["file_index", "embedding"])
    key = {"teacher": teacher.identity, "hop_size": hop_size,
           "center": store.manifest["center"],
           "files": [[e["path"], e.get("content"), e["n_windows"]]
                     for e in store.manifest["files"]]}
    meta, npy = out / "teacher_inputs.json", out / "teacher_inputs.npy"
    try:
        same = npy.is_file() and read_json(meta, "cache key") == json.loads(json.dumps(key))
    except EdgeSEAError:  # missing or damaged: recomputed
        same = False
    if same:
        inputs = np.load(npy, mmap_mode="r")
    else:
        meta.unlink(missing_ok=True)
        inputs = _teacher_inputs(store, Path(audio_dir), teacher, npy, progress)
        write_json(meta, key)
    if len(inputs) != len(cols["embedding"]):
        raise EdgeSEAError(f"{npy}: {len(inputs)} inputs for {len(cols['embedding'])} "
                           "windows; delete it to rebuild")
    groups = recording_groups([f.path for f in store.files])[cols["file_index"]]
    return KDData(inputs=inputs, targets=np.asarray(cols["embedding"], np.float32),
                  groups=groups, store=store)


def kd_split(groups: np.ndarray, val_fraction: float = 0.1, seed: int = 0
             ) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation window indices, holding out whole recordings (as
    ``specialize`` does with the same seed and fraction)."""
    ids = np.unique(groups)
    if len(ids) < 2:
        raise EdgeSEAError(f"need at least 2 recordings to hold one out for validation, "
                           f"found {len(ids)}")
    if not 0 < float(val_fraction) < 1:
        raise EdgeSEAError(f"invalid val_fraction={val_fraction!r}: expected 0 < f < 1")
    rng = np.random.default_rng([seed, 1])
    n_val = min(len(ids) - 1, max(1, int(round(val_fraction * len(ids)))))
    is_val = np.isin(groups, rng.choice(ids, n_val, replace=False))
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def _forward(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return net(x)


def retrain_kd(net: nn.Module, masks: dict[str, torch.Tensor], data: KDData,
               out_dir: str | os.PathLike, config: TrainConfig | None = None,
               val_fraction: float = 0.1, max_windows: int | None = None,
               resume: bool = False, progress: bool = True) -> TrainResult:
    """Retrain a pruned network to reproduce the dense teacher's embeddings, masks fixed.

    Parameters
    ----------
    net : nn.Module
        The pruned network (e.g. :class:`~edgesea.teachers.aisfx.AisfxNet`), log-mel
        ``(B, T, n_mels)`` -> ``(B, emb_dim)``; changed in place (best epoch's weights).
    masks : dict of str to torch.Tensor
        Keep-masks (:func:`~edgesea.sparse.prune.magnitude_masks`); pruned weights get no
        gradient and stay zero.
    data : KDData
        From :func:`kd_data`.
    out_dir : path
        Checkpoints, ``history.json``, ``curves.png`` and ``split.json``.
    config : TrainConfig
        Training settings (``seed`` also picks the validation recordings).
    val_fraction : float
        Fraction of recordings held out for validation.
    max_windows : int, optional
        Train on a random subset of at most this many training windows (seeded), to fit a
        compute budget.
    resume : bool
        Continue an interrupted run from ``out_dir/latest.pt`` (same data and settings).
    progress : bool
        Progress bars on stderr.

    Returns
    -------
    TrainResult
        ``history`` holds validation R² of the embeddings per epoch.
    """
    cfg = config or TrainConfig()
    train, val = kd_split(data.groups, val_fraction, cfg.seed)
    if max_windows is not None and max_windows < len(train):
        if max_windows < 1:
            raise EdgeSEAError(f"invalid max_windows={max_windows!r}: expected >= 1")
        rng = np.random.default_rng([cfg.seed, 2])
        train = np.sort(rng.choice(train, max_windows, replace=False))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "split.json", {"n_train": int(len(train)), "n_val": int(len(val)),
                                    "val_fraction": val_fraction, "seed": cfg.seed,
                                    "max_windows": max_windows})
    x_tr = np.asarray(data.inputs[train])
    x_val = np.asarray(data.inputs[val])
    handles = freeze_masks(net, masks)
    try:
        res = train_student(net, x_tr, data.targets[train], x_val, data.targets[val], out,
                            cfg, resume=resume, progress=progress, forward=_forward)
    finally:
        for h in handles:
            h.remove()
    return res
