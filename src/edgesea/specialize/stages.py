"""The computations of the ``specialize`` stages, on stores and arrays: recording groups,
the student inputs aligned with the teacher windows, the validation split and the sample,
the reducer and its targets (orchestrated, cached and timed by :mod:`edgesea.specialize.pipeline`).

Every stage works out of core: embeddings may be a :class:`~edgesea.store.arrays.ShardedArray`
(read on demand from the store's shards), the sample is drawn from rows gathered chunk by
chunk, the reducer is fitted in memory only when its sample fits :data:`FIT_MEMORY_BYTES`
(else :meth:`~edgesea.reduce.PCAReducer.fit_streaming`), and targets, student inputs and
augmented inputs are written block by block; the results equal those on loaded arrays."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from edgesea.audio.files import check_excluded, recording_groups
from edgesea.audio.io import load_audio, resample, to_float_mono
from edgesea.audio.windows import frame_windows, hop_length
from edgesea.augment.bank import make_augmented
from edgesea.augment.transforms import AugmentConfig
from edgesea.core.fileio import (
    atomic_path,
    clean_stale_temps,
    write_npy,
)
from edgesea.errors import EdgeSEAError
from edgesea.models.network import EmbeddingModel
from edgesea.reduce import make_reducer
from edgesea.sampling.samplers import make_sampler, relevance_percentile
from edgesea.specialize.config import SpecializeConfig
from edgesea.specialize.layout import RunLayout
from edgesea.store.arrays import BLOCK_ROWS, RowView, augmented_column, iter_rows
from edgesea.store.shards import EmbeddingStore

__all__ = ["FIT_MEMORY_BYTES", "augment_windows", "check_excluded", "fit_reduce",
           "recording_groups", "split_and_sample", "student_inputs"]

#: The largest sample (as float64 bytes) the reducer is fitted on in memory; a larger one
#: is fitted in two streaming passes (PCA and identity; UMAP is always fitted in memory).
FIT_MEMORY_BYTES = 512 * 2**20

_US8K = re.compile(r"^(\d+)-\d+-\d+-\d+$")


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)


def student_inputs(store: EmbeddingStore, audio_dir: Path, model: EmbeddingModel,
                   out_path: Path, progress: bool = True) -> np.ndarray:
    """Log-mel input (float16, ``(N, n_mels, n_frames)``) of every window of ``store``, in
    store order, at the student's rate; written atomically to ``out_path`` (``.npy``) one
    file at a time, and returned memory-mapped (read-only).

    A student whose front end has padding ``"stream"`` gets the inputs
    :func:`edgesea.inference.api.get_embedding` computes: each window with its real context from the
    file (zeros beyond it), the frames computed once per file
    (:meth:`~edgesea.frontend.logmel.LogMelSpectrogram.window_logmels`)."""
    files = [f for f in store.files if f.status == "ok"]
    n_total = sum(f.n_windows for f in files)
    index = store.load(["file_index"])["file_index"]
    if len(index) != n_total or np.any(np.diff(index) < 0):
        raise EdgeSEAError(f"{store.root}: windows are not in file order; re-extract the store")
    sr = model.sample_rate
    n_frames = model.frontend.n_frames(model.window_samples)
    clean_stale_temps(out_path.parent)

    def blocks():
        for f in tqdm(files, desc="student inputs", unit="file", disable=not progress):
            audio, file_sr = load_audio(audio_dir / f.path)
            mono = resample(to_float_mono(audio), file_sr, sr)
            if model.frontend.padding == "stream":
                start = -(model.window_samples // 2) if store.manifest["center"] else 0
                hop = hop_length(store.manifest["hop_size"], sr)
                for block in model.frontend.window_logmels(
                        mono, f.n_windows, hop, start=start, n_window=model.window_samples):
                    yield block.numpy()
                continue
            frames = frame_windows(mono, sr, f.n_windows, store.manifest["hop_size"], model.window,
                              store.manifest["center"])
            with torch.no_grad():  # not around the yield: a suspended generator keeps it
                block = model.frontend(torch.from_numpy(np.array(frames, np.float32))).numpy()
            yield block

    write_npy(out_path, np.float16, (n_total, model.frontend.n_mels, n_frames), blocks())
    return np.load(out_path, mmap_mode="r")


def _sample_count(spec: str, n: int) -> int:
    if spec.endswith("%"):
        return max(1, int(round(n * float(spec[:-1]) / 100)))
    return int(spec)


def split_and_sample(store: EmbeddingStore, cols: dict[str, np.ndarray], config: SpecializeConfig,
            path: Path) -> dict[str, Any]:
    """Split recordings into train / validation, then sample the training windows.

    ``cols`` holds ``file_index`` and ``laeq_db`` (arrays) and ``embedding`` (an array or a
    :class:`~edgesea.store.arrays.ShardedArray`: the diversity samplers read the rows of
    each chunk from it, nothing else of it is read)."""
    clean_stale_temps(path.parent)
    files = store.files
    groups_of_file = recording_groups([f.path for f in files], config.group_by)
    rec = groups_of_file[cols["file_index"]]
    ids = np.unique(rec)
    if len(ids) < 2:
        raise EdgeSEAError(f"need at least 2 recordings to hold one out for validation, "
                           f"found {len(ids)}")
    rng = np.random.default_rng([config.seed, 1])
    n_val = min(len(ids) - 1, max(1, int(round(config.val_fraction * len(ids)))))
    val_ids = rng.choice(ids, n_val, replace=False)
    is_val = np.isin(rec, val_ids)
    train_all, val = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    k = _sample_count(config.sample_size, len(train_all))
    if k > len(train_all):
        raise EdgeSEAError(f"sample_size={config.sample_size} asks for {k} windows but the "
                           f"training recordings have only {len(train_all)} (of {len(rec)} "
                           "windows; the rest are held out for validation): give a smaller "
                           "sample size or more audio")
    if config.reduction == "pca" and config.emb_dim > min(k, cols["embedding"].shape[1]):
        raise EdgeSEAError(f"emb_dim={config.emb_dim} needs a sample of at least that many "
                           f"windows and a teacher of at least that dimension (sample {k}, "
                           f"teacher {cols['embedding'].shape[1]})")
    if config.reduction == "identity" and config.emb_dim != cols["embedding"].shape[1]:
        raise EdgeSEAError(f"the identity reduction needs emb_dim = the teacher's dimension "
                           f"({cols['embedding'].shape[1]}), got {config.emb_dim}")
    rel = relevance_percentile(cols["laeq_db"][train_all], groups=rec[train_all])
    sampler = make_sampler(config.sampling, k, random_state=config.seed)
    pick = sampler.sample(X=RowView(cols["embedding"], train_all), relevance=rel)
    _save_npz(path, sample=train_all[pick], train_all=train_all, val=val)
    return {"n_windows": int(len(rec)), "n_recordings": int(len(ids)),
            "n_val_recordings": int(n_val), "n_train_windows": int(len(train_all)),
            "n_val_windows": int(len(val)), "n_sample": int(k)}


def _write_targets(path: Path, red: Any, x: Any, block: int) -> float:
    """``red.transform`` of ``x`` in blocks to float32 ``path``; the targets' variance."""
    acc = {"n": 0, "sum": 0.0, "sq": 0.0}

    def blocks():
        for b in iter_rows(x, block_rows=block):
            t = red.transform(b).astype(np.float32)
            t64 = t.astype(np.float64)
            acc["n"] += len(t)
            acc["sum"] = acc["sum"] + t64.sum(0)
            acc["sq"] = acc["sq"] + (t64 * t64).sum(0)
            yield t

    write_npy(path, np.float32, (len(x), int(red.n_components)), blocks())
    mean = acc["sum"] / max(acc["n"], 1)
    return float(np.maximum(acc["sq"] / max(acc["n"], 1) - mean * mean, 0.0).sum())


def fit_reduce(emb: Any, sample: np.ndarray, config: SpecializeConfig,
               out: Path, aug_emb: Any | None = None,
               memory_bytes: int = FIT_MEMORY_BYTES) -> dict[str, Any]:
    """Fit the reducer on the sample (in memory up to ``memory_bytes`` of float64, else in
    two streaming passes); targets of every (augmented) window written in blocks. ``emb``
    and ``aug_emb``: arrays or :class:`~edgesea.store.arrays.ShardedArray`."""
    clean_stale_temps(out)
    n_comp = None if config.reduction == "identity" else config.emb_dim
    kw = dict(config.reduction_options)
    if config.reduction != "identity":
        kw.setdefault("random_state", config.seed)
    red = make_reducer(config.reduction, n_comp, **kw)
    sample = np.asarray(sample, dtype=np.int64)
    if config.reduction == "umap" or len(sample) * emb.shape[1] * 8 <= memory_bytes:
        red.fit(np.asarray(emb[sample]))
    else:
        red.fit_streaming(lambda: iter_rows(emb, np.sort(sample), BLOCK_ROWS))
    block = max(len(emb), 1) if config.reduction == "umap" else BLOCK_ROWS
    if config.reduction == "umap":
        arrays, settings = {}, {"name": "umap", "n_components": config.emb_dim,
                                **config.reduction_options}
    else:
        arrays, settings = red.to_arrays()
    ev = getattr(red, "explained_variance_total_", None)
    settings = {**settings, "explained_variance": ev, "n_fit": int(len(sample))}
    _save_npz(out / RunLayout.REDUCER, settings=np.array(json.dumps(settings)), **arrays)
    target_variance = _write_targets(out / RunLayout.TARGETS, red, emb, block)
    if aug_emb is not None:
        _write_targets(out / RunLayout.AUG_TARGETS, red, aug_emb,
                       max(len(aug_emb), 1) if config.reduction == "umap" else BLOCK_ROWS)
    return {"explained_variance": ev, "target_variance": target_variance}


def augment_windows(store: EmbeddingStore, audio_dir: Path, split: dict[str, np.ndarray],
                    config: SpecializeConfig, teacher: Any, model: EmbeddingModel, out: Path,
                    progress: bool = True) -> dict[str, Any]:
    """Teacher-labelled augmented windows made from the training recordings only, and
    their student log-mels (``out/logmel.npy``)."""

    clean_stale_temps(out)
    fi = store.load(["file_index"])["file_index"]
    used = split["train_all"] if config.train_on == "all" else split["sample"]
    n_aug = int(round(config.augment_factor * len(used)))
    train_files = np.unique(fi[split["train_all"]])
    sources = [store.files[i].path for i in train_files]
    durations = [float(store.files[i].duration_s) for i in train_files]
    make_augmented(audio_dir, sources, durations, out / RunLayout.STORE, teacher, n_aug,
                   seed=config.seed, config=AugmentConfig(**config.augment),
                   student_rate=model.sample_rate, progress=progress,
                   forbidden=config.exclude_audio)
    audio = augmented_column(out / RunLayout.STORE, "student_audio")  # read 256 rows at a time
    n_frames = model.frontend.n_frames(model.window_samples)

    def blocks():
        for i in range(0, len(audio), 256):
            with torch.no_grad():  # not around the yield: a suspended generator keeps it
                block = model.frontend(torch.from_numpy(
                    audio[i:i + 256].astype(np.float32) / 32767)).numpy()
            yield block

    write_npy(out / RunLayout.LOGMEL, np.float16, (len(audio), model.frontend.n_mels, n_frames),
               blocks())
    return {"n_augmented": n_aug, "n_sources": len(sources)}
