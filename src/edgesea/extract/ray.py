"""Teacher extraction on Ray Data: ``--engine ray``.

:func:`run_extract` computes the pending shards of an embedding store that
:func:`edgesea.extract.run.extract` has planned (manifest, content fingerprints, resumability
and the writer lock stay there), as a Ray Data pipeline:

1. the files of the pending shards, one block each (:func:`ray.data.from_items`);
2. ``map_batches(_decode)``: Ray tasks decode, resample and window each file in bounded
   blocks (:func:`edgesea.extract.decode.streamed`, exactly the local engine's windows and
   LAeq), ending each file with one marker row (its duration, or why it failed);
3. ``map_batches(_Embedder)``: a fixed pool of ``num_actors`` actors (a callable class: the
   teacher is deserialised once per actor), ``num_gpus_per_actor`` GPUs each, embeds
   ``batch_size`` windows per call;
4. the driver reads the results in order (``preserve_order``) and writes each shard in the
   store format as soon as its files are done, then the manifest: a killed run leaves
   complete shards that the next run (either engine) does not recompute.

:func:`run_augment` renders and embeds the pending shards of an augmented store
(:func:`edgesea.augment.bank.make_augmented`) in the same way, one shard per actor call.

Rows equal the local engine's; embeddings equal them within float tolerance (another
batch composition and process). Ray is an optional extra: ``pip install edgesea[ray]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from edgesea.distributed.ray_engine import (
    RayOptions,
    connect,
    ray_options,
    resources,
    results,
)
from edgesea.errors import EdgeSEAError
from edgesea.extract.decode import DecodeFailed, streamed
from edgesea.store.shards import write_manifest, write_shard

__all__ = ["run_extract"]


def _decode(batch: dict[str, np.ndarray], sr: int, window: float, hop_size: float,
            center: bool, block_windows: int, context: tuple[int, int]
            ) -> Iterator[dict[str, np.ndarray]]:
    """Windows of each file of ``batch`` in blocks, then one marker row per file."""

    width = int(round(window * sr)) + sum(context)

    def marker(i: int, duration: float, error: str) -> dict[str, np.ndarray]:
        return {"file": np.array([i], np.int32), "frame": np.zeros((1, width), np.float32),
                "timestamp_s": np.zeros(1), "laeq_db": np.zeros(1, np.float32),
                "valid": np.array([False]), "duration_s": np.array([duration]),
                "error": np.array([error], dtype=object)}

    for i, path in zip(batch["file"], batch["path"], strict=True):
        src = streamed(str(path), sr, window, hop_size, center, block_windows, context)
        try:
            for frames, stamps, levels in src.blocks:
                n = len(stamps)
                yield {"file": np.full(n, i, np.int32), "frame": frames.astype(np.float32),
                       "timestamp_s": stamps.astype(np.float64),
                       "laeq_db": levels.astype(np.float32), "valid": np.ones(n, bool),
                       "duration_s": np.full(n, np.nan), "error": np.full(n, "", object)}
        except DecodeFailed as e:
            yield marker(int(i), math.nan, str(e) or "decode failed")
        else:
            yield marker(int(i), float(src.duration_s or 0.0), "")


class _Embedder:
    """Ray Data actor: the teacher, loaded once; embeds the valid rows of each batch."""

    def __init__(self, teacher: Any) -> None:
        self.teacher = teacher() if callable(teacher) and not hasattr(teacher, "embed") \
            else teacher

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        valid = np.asarray(batch["valid"], bool)
        emb = np.zeros((len(valid), int(self.teacher.emb_dim)), np.float32)
        if valid.any():
            emb[valid] = np.asarray(self.teacher.embed(
                np.ascontiguousarray(batch["frame"][valid], np.float32)), np.float32)
        out = {k: v for k, v in batch.items() if k != "frame"}
        out["embedding"] = emb
        return out


def run_extract(audio_dir: Path, out: Path, teacher: Any, manifest: dict[str, Any],
                todo: list[int], contents: list[dict[str, Any]], batch_size: int,
                progress: bool, options: RayOptions | None = None) -> float:
    """Compute and write the shards ``todo`` on Ray (see the module docstring); returns the
    seconds of audio embedded. The signature is :func:`edgesea.extract.run._run`'s."""

    address, num_actors, gpus = ray_options(options)
    info, shards, files = manifest["teacher"], manifest["shards"], manifest["files"]
    if not todo:
        return 0.0
    ray, started = connect(address)
    try:
        actor_cpus, decode_cpus = resources(ray, num_actors, gpus)
        sr, window = int(info["sample_rate"]), float(info["window"])
        offset = (int(round(window * sr)) // 2) / sr if manifest["center"] else 0.0
        context = tuple(int(c) for c in getattr(teacher, "context_samples", (0, 0)))
        todo_files = [i for k in todo for i in range(shards[k]["first_file"],
                                                    shards[k]["first_file"]
                                                    + shards[k]["n_files"])]
        items = [{"file": i, "path": str(audio_dir / files[i]["path"])} for i in todo_files]
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = False
        ds = ray.data.from_items(items, override_num_blocks=max(1, min(len(items), 4096)))
        ds = ds.map_batches(_decode, batch_size=1, num_cpus=decode_cpus,
                            fn_kwargs={"sr": sr, "window": window,
                                       "hop_size": float(manifest["hop_size"]),
                                       "center": bool(manifest["center"]),
                                       "block_windows": max(64, batch_size),
                                       "context": context})
        ds = ds.map_batches(_Embedder, batch_size=batch_size, fn_constructor_args=(teacher,),
                            compute=ray.data.ActorPoolStrategy(size=num_actors),
                            num_cpus=actor_cpus, num_gpus=gpus or None)
        bar = tqdm(total=len(files), initial=len(files) - len(todo_files), unit="file",
                   desc=progress if isinstance(progress, str) else "teacher-embed (ray)",
                   disable=not progress, dynamic_ncols=True)
        shard_of = {i: k for k in todo for i in range(shards[k]["first_file"],
                                                     shards[k]["first_file"]
                                                     + shards[k]["n_files"])}
        left = {k: shards[k]["n_files"] for k in todo}
        parts: dict[int, list[dict[str, np.ndarray]]] = {k: [] for k in todo}
        pending: dict[int, list[dict[str, np.ndarray]]] = {}
        audio_s = 0.0
        for batch in results(ds):
            fidx, valid = batch["file"], np.asarray(batch["valid"], bool)
            for i in np.unique(fidx):
                sel = fidx == i
                rows = {c: batch[c][sel & valid] for c in
                        ("file", "timestamp_s", "laeq_db", "embedding")}
                pending.setdefault(int(i), []).append(rows)
                marks = np.flatnonzero(sel & ~valid)
                if not len(marks):
                    continue
                i, m = int(i), int(marks[0])
                done, entry, k = pending.pop(i), files[i], shard_of[i]
                err = str(batch["error"][m])
                if err:
                    entry.update(status="failed", duration_s=None, n_windows=0, error=err,
                                 content=contents[i])
                else:
                    n = sum(len(d["file"]) for d in done)
                    dur = float(batch["duration_s"][m])
                    entry.update(status="ok", duration_s=dur, n_windows=n, error=None,
                                 content=contents[i])
                    parts[k].extend(done)
                    audio_s += dur
                bar.update(1)
                left[k] -= 1
                if left[k] == 0:
                    n_rows = _write(out, k, parts.pop(k), info["emb_dim"], offset,
                                    write_shard, manifest.get("embedding_dtype", "float32"))
                    shards[k].update(status="complete", n_rows=n_rows)
                    write_manifest(out, manifest)
        bar.close()
        missing = [k for k, n in left.items() if n]
        if missing:
            raise EdgeSEAError(f"the Ray pipeline ended before shards {missing} were done")
        return audio_s
    finally:
        if started:
            ray.shutdown()


def _write(out: Path, k: int, parts: list[dict[str, np.ndarray]], emb_dim: int,
           offset: float, write_shard: Callable[..., Any], dtype: str) -> int:
    """Write shard ``k`` from its files' rows (in file order); returns its row count."""
    if parts:
        cat = {c: np.concatenate([p[c] for p in parts])
               for c in ("file", "timestamp_s", "laeq_db", "embedding")}
    else:
        cat = {"file": np.zeros(0, np.int32), "timestamp_s": np.zeros(0),
               "laeq_db": np.zeros(0, np.float32), "embedding": np.zeros((0, emb_dim))}
    write_shard(out, k, {"file_index": cat["file"], "timestamp_s": cat["timestamp_s"],
                         "laeq_db": cat["laeq_db"], "start_s": cat["timestamp_s"] - offset,
                         "embedding": cat["embedding"]}, embedding_dtype=dtype)
    return len(cat["file"])


