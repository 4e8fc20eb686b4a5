"""Synthetic embedding stores of any size, for scale tests and benchmarks.

:func:`synthetic_store` writes a store in the format of :mod:`edgesea.store.shards` (a manifest,
complete shards) whose embeddings are a low-rank signal plus noise, without any audio or
teacher: a 5-million-window store for the out-of-core measurements takes a minute and the
disk of its shards, never its size in memory (one shard is built at a time).
:func:`store_prefix` makes a smaller store of the first shards of a big one (links to its
shard files), for measurements against the number of windows.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edgesea.errors import EdgeSEAError
from edgesea.store.shards import (
    EmbeddingStore,
    new_manifest,
    read_manifest,
    write_manifest,
    write_shard,
)

__all__ = ["store_prefix", "synthetic_store"]


def synthetic_store(root: str | os.PathLike, n_windows: int, emb_dim: int = 512,
                    windows_per_file: int = 250, files_per_shard: int = 64,
                    embedding_dtype: str = "float16", rank: int = 32, seed: int = 0
                    ) -> EmbeddingStore:
    """Write a synthetic store of ``n_windows`` windows at ``root`` (replacing one there).

    Parameters
    ----------
    root : path
        The store folder (created).
    n_windows : int
        Windows in all; files hold ``windows_per_file`` each (the last one fewer).
    emb_dim : int
        Embedding width.
    windows_per_file, files_per_shard : int
        Shape of the store: windows per (fictitious) 0.5 s-hop file, files per shard.
    embedding_dtype : {"float16", "float32"}
        Dtype of the embeddings on disk.
    rank : int
        Rank of the signal part (``rank`` strong directions plus isotropic noise).
    seed : int
        Seed: the same arguments give the same bytes.

    Returns
    -------
    EmbeddingStore
        The store, opened.
    """
    if n_windows < 1 or windows_per_file < 1 or files_per_shard < 1:
        raise EdgeSEAError("synthetic_store needs n_windows, windows_per_file and "
                           "files_per_shard >= 1")
    root = Path(root)
    n_files = -(-int(n_windows) // windows_per_file)
    counts = np.full(n_files, windows_per_file)
    counts[-1] = n_windows - windows_per_file * (n_files - 1)
    files = [f"rec{i // 100:04d}/clip{i:07d}.wav" for i in range(n_files)]
    teacher = {"name": "synthetic", "identity": f"synthetic-{seed}-{rank}",
               "sample_rate": 16000, "window": 1.0, "emb_dim": int(emb_dim)}
    settings = {"teacher": teacher, "hop_size": 0.5, "center": True,
                "files_per_shard": int(files_per_shard)}
    if embedding_dtype != "float32":
        settings["embedding_dtype"] = embedding_dtype
    manifest = new_manifest(settings, files, audio_dir="(synthetic)")
    root.mkdir(parents=True, exist_ok=True)
    basis = np.random.default_rng([seed, 0]).standard_normal((rank, emb_dim))
    basis *= np.linspace(3.0, 0.5, rank)[:, None]
    for k, shard in enumerate(manifest["shards"]):
        rng = np.random.default_rng([seed, 1, k])
        first, count = shard["first_file"], shard["n_files"]
        n_per = counts[first:first + count]
        idx = np.repeat(np.arange(first, first + count, dtype=np.int32), n_per)
        stamps = np.concatenate([np.arange(c) * 0.5 for c in n_per])
        emb = (rng.standard_normal((len(idx), rank), dtype=np.float32) @ basis
               + rng.standard_normal((len(idx), emb_dim), dtype=np.float32))
        write_shard(root, k, {"file_index": idx, "timestamp_s": stamps,
                              "start_s": stamps - 0.5,
                              "laeq_db": rng.normal(-35, 8, len(idx)).astype(np.float32),
                              "embedding": emb}, embedding_dtype=embedding_dtype)
        for i, c in zip(range(first, first + count), n_per, strict=True):
            manifest["files"][i].update(status="ok", duration_s=float(c) * 0.5,
                                        n_windows=int(c))
        shard.update(status="complete", n_rows=len(idx))
    write_manifest(root, manifest)
    return EmbeddingStore.open(root)


def store_prefix(big: str | os.PathLike, root: str | os.PathLike, n_shards: int
                 ) -> EmbeddingStore:
    """A store at ``root`` made of the first ``n_shards`` shards of the store ``big``
    (symbolic links to its shard files; the manifest lists their files only)."""
    big = Path(big)
    m = read_manifest(big)
    shards = m["shards"][:n_shards]
    n_files = sum(s["n_files"] for s in shards)
    out = Path(root)
    (out / "shards").mkdir(parents=True, exist_ok=True)
    for s in shards:
        link = out / s["file"]
        if not link.exists():
            link.symlink_to((big / s["file"]).resolve())
    write_manifest(out, {**m, "files": m["files"][:n_files], "shards": shards})
    return EmbeddingStore.open(out)
