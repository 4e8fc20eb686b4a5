"""Augmented windows labelled by the teacher, on disk (resumable, deterministic).

:func:`make_augmented` renders ``n`` :class:`~.transforms.Augmenter` windows from a set
of source files, embeds each with the teacher (at the teacher's rate: the targets are the
teacher's embeddings of the *augmented* audio, never of the original) and keeps the same
audio at the student's rate for its input. Layout::

    AUG/
      manifest.json        format "edgesea-augmented-store", version 1; teacher; sources
                           (paths relative to the audio folder); seed; augment config;
                           student_rate; shard_size; shards [{file, status, n_rows}]
      shards/aug-NNNNN.npz index int64 (augmented window number), source int32 (main source
                           file), embedding float32 (B, D), laeq_db float32, recipe (JSON
                           provenance: sources, offsets, transform parameters; unicode),
                           student_audio int16 (B, window * student_rate)

Shards are written atomically and the manifest after each, so a killed run resumes at the
first incomplete shard and produces the same bytes as an uninterrupted one. Window ``i``
depends only on ``(seed, i)``, so a store asked for a larger (or smaller) budget with
otherwise equal settings keeps its complete shards and renders only the missing ones.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from edgesea.audio.files import check_excluded
from edgesea.augment.render import shard_columns, source_loader
from edgesea.augment.transforms import AugmentConfig, Augmenter
from edgesea.core.fileio import atomic_path, clean_stale_temps, write_json
from edgesea.core.safe_json import read_sharded_manifest
from edgesea.errors import EdgeSEAError
from edgesea.extract.run import teacher_info
from edgesea.store.integrity import writer_lock

__all__ = ["AUG_FORMAT", "load_augmented", "make_augmented", "shard_columns"]

AUG_FORMAT = "edgesea-augmented-store"


def _settings(teacher: Any, sources: list[str], durations: list[float], n: int, seed: int,
              config: AugmentConfig, student_rate: int, shard_size: int) -> dict[str, Any]:
    settings = {"format": AUG_FORMAT, "format_version": 1, "teacher": teacher_info(teacher),
                "sources": sources, "durations": durations, "n_windows": int(n),
                "seed": int(seed), "config": config.to_dict(),
                "student_rate": int(student_rate), "shard_size": int(shard_size)}
    return json.loads(json.dumps(settings))  # as read back from manifest.json (no tuples)


def make_augmented(audio_dir: str | os.PathLike, sources: list[str], durations: list[float],
                   out_dir: str | os.PathLike, teacher: Any, n: int, seed: int = 0,
                   config: AugmentConfig | None = None, student_rate: int = 8000,
                   shard_size: int = 512, batch_size: int = 64, progress: bool = True,
                   forbidden: list[str | os.PathLike] | None = None, engine: str = "local",
                   engine_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write ``n`` augmented, teacher-embedded windows made from ``sources`` to ``out_dir``.

    Parameters
    ----------
    audio_dir : path
        Folder the ``sources`` paths are relative to.
    sources, durations : list
        Source files (only these are ever read: pass training recordings only) and their
        durations in seconds.
    out_dir : path
        The augmented store (resumed when its settings match; replaced otherwise).
    teacher : Teacher
        Labels the augmented audio.
    n : int
        Number of augmented windows.
    forbidden : list of path, optional
        Folders (or files) whose audio must never be used (e.g. an evaluation test fold):
        a source inside one, or with the same bytes as a file in one, is refused
        (:func:`edgesea.audio.files.check_excluded`).
    engine, engine_options : str, dict
        ``"ray"``: shards rendered and embedded by Ray actors
        (:func:`edgesea.augment.ray.run_augment`), the same bytes but for the
        embeddings' float rounding; options as :func:`edgesea.extract.run.extract`'s.

    Returns
    -------
    dict
        The manifest.
    """
    config = config or AugmentConfig()
    if engine not in ("local", "ray"):
        raise EdgeSEAError(f"unknown engine {engine!r}: expected local or ray")
    if engine == "ray":  # before any work
        from edgesea.distributed.ray_engine import import_ray  # Ray (optional extra)
        import_ray()
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise EdgeSEAError(f"invalid number of augmented windows {n!r}: expected >= 1")
    if not sources or len(sources) != len(durations):
        raise EdgeSEAError("make_augmented needs source files with their durations")
    audio_dir = Path(audio_dir)
    for bad in forbidden or []:
        bad_real = os.path.realpath(bad)
        for s in sources:
            real = os.path.realpath(audio_dir / s)
            if real == bad_real or real.startswith(bad_real.rstrip(os.sep) + os.sep):
                raise EdgeSEAError(f"augmentation source {s} lies in the forbidden folder "
                                   f"{bad} (evaluation audio must never be augmented from)")
    if forbidden:  # and byte-identical copies of forbidden files elsewhere

        check_excluded(audio_dir, list(sources), list(forbidden))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with writer_lock(out):  # one writer per augmented store
        return _make_augmented(audio_dir, list(sources), list(durations), out, teacher,
                               int(n), seed, config, student_rate, shard_size, batch_size,
                               progress, engine, engine_options)


def _make_augmented(audio_dir: Path, sources: list[str], durations: list[float], out: Path,
                    teacher: Any, n: int, seed: int, config: AugmentConfig,
                    student_rate: int, shard_size: int, batch_size: int, progress: bool,
                    engine: str, engine_options: dict[str, Any] | None) -> dict[str, Any]:
    """:func:`make_augmented` once its arguments are checked and the writer lock is held."""
    settings = _settings(teacher, list(sources), [float(d) for d in durations], int(n), seed,
                         config, student_rate, shard_size)
    for folder in (out, out / "shards"):  # leftovers of a killed run
        clean_stale_temps(folder)
    manifest_path = out / "manifest.json"
    manifest = None
    old = None
    if manifest_path.is_file():
        try:
            old = read_aug_manifest(out)
        except EdgeSEAError:  # unreadable or tampered: replaced by a new one
            old = None
        if old is not None and {k: old.get(k) for k in settings} == settings:
            manifest = old
    if manifest is None:
        # Window i depends only on (seed, i): when only the budget changed, the complete
        # shards that keep their rows are reused (a 2x store grows into a 5x one).
        same = old is not None and all(old.get(k) == v for k, v in settings.items()
                                       if k != "n_windows")
        kept = {s["file"]: s for s in (old["shards"] if same else [])
                if s.get("status") == "complete"}
        n_shards = -(-int(n) // shard_size)
        shards = []
        for k in range(n_shards):
            f, rows = f"shards/aug-{k:05d}.npz", min(shard_size, int(n) - k * shard_size)
            ok = f in kept and kept[f]["n_rows"] == rows and (out / f).is_file()
            shards.append({"file": f, "status": "complete" if ok else "pending",
                           "n_rows": rows})
        manifest = settings | {"shards": shards}
        (out / "shards").mkdir(parents=True, exist_ok=True)
        keep = {s["file"] for s in shards if s["status"] == "complete"}
        for old_shard in (out / "shards").glob("*.npz"):
            if f"shards/{old_shard.name}" not in keep:
                old_shard.unlink()
        write_json(manifest_path, manifest)
    todo = [k for k, s in enumerate(manifest["shards"]) if s["status"] != "complete"]
    bar = tqdm(total=int(n), initial=int(n) - sum(manifest["shards"][k]["n_rows"]
                                                  for k in todo),
               unit="win", desc="augment", disable=not progress)
    spans = [(k, k * shard_size, manifest["shards"][k]["n_rows"]) for k in todo]
    if engine == "ray":
        from edgesea.augment.ray import run_augment  # Ray (optional extra): only with --engine ray
        done = run_augment(spans, audio_dir, list(sources), list(durations), config, seed,
                           teacher, student_rate, batch_size, engine_options)
    else:
        aug = Augmenter(durations, config, seed, teacher.window)
        load = source_loader(audio_dir, list(sources))
        done = ((k, shard_columns(np.arange(a, a + m), aug, load, teacher, student_rate,
                                  batch_size)) for k, a, m in spans)
    for k, cols in done:
        shard = manifest["shards"][k]
        idx = cols["index"]
        with atomic_path(out / shard["file"], suffix=".npz") as tmp:
            np.savez(tmp, **cols)
        shard["status"] = "complete"
        write_json(manifest_path, manifest)
        bar.update(len(idx))
    bar.close()
    return manifest


def read_aug_manifest(out_dir: str | os.PathLike) -> dict[str, Any]:
    """Read and check an augmented store's ``manifest.json`` (bounded size and nesting,
    valid text, every shard inside the store)."""
    manifest = read_sharded_manifest(out_dir, "edgesea augmented store")
    return manifest


def load_augmented(out_dir: str | os.PathLike, columns: list[str] | None = None
                   ) -> dict[str, np.ndarray]:
    """Concatenate the shards of a complete augmented store (all columns by default)."""
    out = Path(out_dir)
    manifest = read_aug_manifest(out)
    if manifest.get("format") != AUG_FORMAT:
        raise EdgeSEAError(f"{out} is not an edgesea augmented store")
    if any(s["status"] != "complete" for s in manifest["shards"]):
        raise EdgeSEAError(f"{out} is incomplete: rerun the augmentation to finish it")
    cols = columns or ["index", "source", "embedding", "laeq_db", "recipe", "student_audio"]
    parts: dict[str, list[np.ndarray]] = {c: [] for c in cols}
    for s in manifest["shards"]:
        with np.load(out / s["file"], allow_pickle=False) as z:
            for c in cols:
                parts[c].append(z[c])
    return {c: np.concatenate(v) for c, v in parts.items()}
