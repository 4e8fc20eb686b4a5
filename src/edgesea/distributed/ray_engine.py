"""Teacher extraction (and the augmentation bank) on Ray Data: ``--engine ray``.

:func:`run_extract` computes the pending shards of an embedding store that
:func:`edgesea.extract.run.extract` has planned (manifest, content fingerprints, resumability
and the writer lock stay there), as a Ray Data pipeline:

1. the files of the pending shards, one block each (:func:`ray.data.from_items`);
2. ``map_batches(_decode)``: Ray tasks decode, resample and window each file in bounded
   blocks (:func:`edgesea.extract.decode._streamed`, exactly the local engine's windows and
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

from edgesea.errors import EdgeSEAError

__all__ = ["RayOptions", "import_ray", "run_augment", "run_extract"]

#: Options of the Ray engine: ``address`` (None: a local Ray, or the cluster of
#: ``RAY_ADDRESS``), ``num_actors``, ``num_gpus_per_actor``.
RayOptions = dict[str, Any]


def import_ray() -> Any:
    """The ``ray`` module, or an :class:`EdgeSEAError` saying how to install it."""
    try:
        import ray
        import ray.data
    except ImportError as e:
        raise EdgeSEAError("--engine ray needs Ray Data: pip install edgesea[ray] "
                           f"(or pip install 'ray[data]'); {e}") from e
    return ray


def _options(options: RayOptions | None) -> tuple[str | None, int, float]:
    opts = dict(options or {})
    unknown = sorted(set(opts) - {"address", "num_actors", "num_gpus_per_actor"})
    if unknown:
        raise EdgeSEAError(f"unknown Ray engine options {unknown}")
    n = opts.get("num_actors", 1)
    g = opts.get("num_gpus_per_actor", 0.0)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise EdgeSEAError(f"invalid num_actors={n!r}: expected an integer >= 1")
    if isinstance(g, bool) or not isinstance(g, int | float) or not math.isfinite(g) or g < 0:
        raise EdgeSEAError(f"invalid num_gpus_per_actor={g!r}: expected a number >= 0")
    return opts.get("address"), int(n), float(g)


def _connect(address: str | None) -> tuple[Any, bool]:
    """Ray, connected (to ``address`` or a new local instance); whether we started it."""
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise EdgeSEAError(f"cannot connect to the Ray cluster at {address!r}: {e}") from e
    return ray, True


def _resources(ray: Any, num_actors: int, gpus: float) -> tuple[float, float]:
    """CPUs reserved per embedding actor and per decoding task: an actor takes one CPU,
    fewer when the cluster has too few for the actors plus one decoding task."""
    cpus = float(ray.cluster_resources().get("CPU", 1.0))
    if gpus > 0:
        return 1.0 if cpus >= num_actors + 1 else 0.5, 0.5
    decode = 0.25
    per_actor = min(1.0, (cpus - decode) / num_actors)
    if per_actor <= 0:
        raise EdgeSEAError(f"the Ray cluster has {cpus:g} CPUs, too few for {num_actors} "
                           "embedding actors: ask for fewer --num-actors")
    return per_actor, decode


def _results(ds: Any) -> Iterator[dict[str, np.ndarray]]:
    """The dataset's output batches in order; a failure in a task or an actor (a teacher
    error, a lost node) is an :class:`EdgeSEAError` (complete shards are kept)."""
    try:
        yield from ds.iter_batches(batch_size=None, batch_format="numpy")
    except EdgeSEAError:
        raise
    except Exception as e:  # RayTaskError, UserCodeException, ActorDiedError, ...
        first = (str(e).strip().splitlines() or [""])[-1][:300]
        raise EdgeSEAError(f"the Ray pipeline failed ({type(e).__name__}: {first}); the "
                           "complete shards are kept: rerun to resume") from e


def _decode(batch: dict[str, np.ndarray], sr: int, window: float, hop_size: float,
            center: bool, block_windows: int, context: tuple[int, int]
            ) -> Iterator[dict[str, np.ndarray]]:
    """Windows of each file of ``batch`` in blocks, then one marker row per file."""
    from edgesea.extract.decode import DecodeFailed, _streamed

    width = int(round(window * sr)) + sum(context)

    def marker(i: int, duration: float, error: str) -> dict[str, np.ndarray]:
        return {"file": np.array([i], np.int32), "frame": np.zeros((1, width), np.float32),
                "timestamp_s": np.zeros(1), "laeq_db": np.zeros(1, np.float32),
                "valid": np.array([False]), "duration_s": np.array([duration]),
                "error": np.array([error], dtype=object)}

    for i, path in zip(batch["file"], batch["path"], strict=True):
        src = _streamed(str(path), sr, window, hop_size, center, block_windows, context)
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
    from tqdm.auto import tqdm

    from edgesea.store.shards import write_manifest, write_shard

    address, num_actors, gpus = _options(options)
    info, shards, files = manifest["teacher"], manifest["shards"], manifest["files"]
    if not todo:
        return 0.0
    ray, started = _connect(address)
    try:
        actor_cpus, decode_cpus = _resources(ray, num_actors, gpus)
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
        for batch in _results(ds):
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


class _AugEmbedder:
    """Ray Data actor: the teacher and the source loader, built once; renders and embeds
    whole augmented shards (one input row each)."""

    def __init__(self, teacher: Any, audio_dir: str, sources: list[str],
                 durations: list[float], config: Any, seed: int, student_rate: int,
                 batch_size: int) -> None:
        from edgesea.augment.bank import source_loader
        from edgesea.augment.transforms import Augmenter

        self.teacher = teacher
        self.aug = Augmenter(durations, config, seed, teacher.window)
        self.load = source_loader(Path(audio_dir), list(sources))
        self.student_rate, self.batch_size = int(student_rate), int(batch_size)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from edgesea.augment.bank import shard_columns

        parts = []
        for k, start, n in zip(batch["shard"], batch["start"], batch["n_rows"], strict=True):
            cols = shard_columns(np.arange(int(start), int(start) + int(n)), self.aug,
                                 self.load, self.teacher, self.student_rate, self.batch_size)
            cols["shard"] = np.full(int(n), int(k), np.int64)
            parts.append(cols)
        return {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}


def run_augment(spans: list[tuple[int, int, int]], audio_dir: Path, sources: list[str],
                durations: list[float], config: Any, seed: int, teacher: Any,
                student_rate: int, batch_size: int, options: RayOptions | None = None
                ) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """``(shard, columns)`` of each ``(shard, first window, rows)`` of ``spans``, in order,
    computed by a pool of Ray actors (:func:`edgesea.augment.bank.make_augmented` writes them)."""
    address, num_actors, gpus = _options(options)
    if not spans:
        return
    ray, started = _connect(address)
    try:
        actor_cpus, _ = _resources(ray, num_actors, gpus)
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = False
        items = [{"shard": k, "start": a, "n_rows": n} for k, a, n in spans]
        ds = ray.data.from_items(items, override_num_blocks=len(items))
        ds = ds.map_batches(_AugEmbedder, batch_size=1, compute=ray.data.ActorPoolStrategy(
            size=num_actors), num_cpus=actor_cpus, num_gpus=gpus or None,
            fn_constructor_args=(teacher, str(audio_dir), sources, durations, config, seed,
                                 student_rate, batch_size))
        want = {k: n for k, _, n in spans}
        got: dict[int, list[dict[str, np.ndarray]]] = {}
        for batch in _results(ds):
            for k in np.unique(batch["shard"]):
                sel = batch["shard"] == k
                got.setdefault(int(k), []).append({c: v[sel] for c, v in batch.items()
                                                   if c != "shard"})
                if sum(len(p["index"]) for p in got[int(k)]) == want[int(k)]:
                    parts = got.pop(int(k))
                    cols = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
                    cols["recipe"] = cols["recipe"].astype(str)  # Arrow strings: objects
                    yield int(k), cols
    finally:
        if started:
            ray.shutdown()
