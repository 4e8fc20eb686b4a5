"""Extract a teacher's embeddings of a folder of audio into an embedding store.

:func:`extract` walks a folder for audio files, cuts every file into windows exactly like
the students' windows (:func:`edgesea.audio.windows.frame_audio` at the teacher's rate), and writes
per window the teacher's embedding and the window's A-weighted level (LAeq) into the
sharded store described in :mod:`edgesea.store.shards`.

Files are assigned to shards in sorted order, ``files_per_shard`` consecutive files each.
Shards are independent: the windows of one shard are batched across its files, so the
values of a shard depend only on its files and the settings, never on what ran before.
That makes runs resumable: a rerun with the same settings skips the shards that are
complete (listed in the manifest, present, with the right row count) and whose files still
have the content their rows were computed from (size and sha256 of the bytes, recorded in
the manifest), and computes the others; ``overwrite=True`` recomputes every shard. A run
killed at any point leaves only complete shards, plus temp files that the rerun deletes.
A rerun with other settings (teacher, hop, centring, files, files per shard) into the same
folder is refused unless ``overwrite=True`` (or ``replace=True``). One process writes a
store at a time (:func:`edgesea.store.integrity.writer_lock`).

Audio is decoded, windowed and embedded in bounded blocks (:mod:`edgesea.extract.decode`),
so memory does not grow with the length of a file; only the embeddings of the shard being
computed are held.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from edgesea._version import __version__
from edgesea.audio.io import AUDIO_EXTENSIONS
from edgesea.audio.windows import frame_audio
from edgesea.core.checks import check_hop_size, check_int
from edgesea.core.fileio import walk_real_dirs
from edgesea.errors import EdgeSEAError
from edgesea.extract.decode import DecodeFailed, TeacherBatcher, sources
from edgesea.models import load_model
from edgesea.sparse.model import load_sparse_model
from edgesea.store.integrity import content_changed, file_content, writer_lock
from edgesea.store.shards import (
    MANIFEST,
    SHARD_DIR,
    EmbeddingStore,
    clean_temp_files,
    new_manifest,
    read_manifest,
    settings_differences,
    shard_rows,
    write_manifest,
    write_shard,
)
from edgesea.teachers.aisfx import AisfxTeacher
from edgesea.teachers.base import Teacher
from edgesea.teachers.model import ModelTeacher
from edgesea.teachers.openl3 import OpenL3Teacher
from edgesea.teachers.views import apply_view, parse_view_spec

__all__ = ["TEACHER_SPECS", "ExtractReport", "extract", "list_audio_files", "resolve_teacher"]

#: Teacher specifications :func:`resolve_teacher` accepts.
TEACHER_SPECS = ("aisfx", "openl3:PATH.h5", "model:PATH.safetensors",
                 "sparse:PATH.safetensors")


def resolve_teacher(spec: str, window: float | None = None) -> Teacher:
    """Build a teacher from a short specification.

    Parameters
    ----------
    spec : str
        ``"aisfx"`` (:class:`edgesea.teachers.aisfx.AisfxTeacher`), ``"openl3:PATH.h5"``
        (:meth:`edgesea.teachers.openl3.OpenL3Teacher.from_h5`),
        ``"model:PATH.safetensors"`` (an edgesea model file, :class:`ModelTeacher`) or
        ``"sparse:PATH.safetensors"`` (a sparse aisfx model file or packaged name such as
        ``sparse_aisfx_95.45_kd``, :class:`~edgesea.sparse.model.SparseModel`); any of them
        followed by ``@band:RATE``, ``@norm:RATE`` or ``@full`` embeds through
        that view (:mod:`edgesea.teachers.views`: e.g. ``"aisfx@band:8000"`` labels what an 8 kHz
        student hears).
    window : float, optional
        Window length in seconds for aisfx (default 1.0). The other teachers have a fixed
        window; a different ``window`` for them is an error.

    Raises
    ------
    EdgeSEAError
        Unknown specification, missing/unreadable weights, or a teacher that cannot load.
    """
    spec = str(spec).strip()
    base, view, rate = parse_view_spec(spec)
    if view is not None:
        return apply_view(resolve_teacher(base, window), view, rate or 0)
    kind, _, arg = spec.partition(":")
    if not ((kind == "aisfx" and not arg) or (kind in ("openl3", "model", "sparse") and arg)):
        raise EdgeSEAError(f"unknown teacher {spec!r}: expected one of {', '.join(TEACHER_SPECS)}")
    try:
        if kind == "aisfx":
            return AisfxTeacher(window=1.0 if window is None else float(window))
        if kind == "openl3":
            teacher = OpenL3Teacher.from_h5(arg)
        elif kind == "sparse":
            teacher = load_sparse_model(arg)
        else:
            teacher = ModelTeacher(load_model(arg))
    except EdgeSEAError:
        raise
    except (ImportError, OSError, ValueError, RuntimeError, KeyError) as e:
        raise EdgeSEAError(f"could not load teacher {spec!r}: {type(e).__name__}: {e}") from e
    if window is not None and abs(float(window) - teacher.window) > 1e-9:
        raise EdgeSEAError(f"teacher {spec!r} has a fixed {teacher.window:g} s window; "
                           f"window={window:g} is only accepted for aisfx")
    return teacher


def list_audio_files(audio_dir: str | os.PathLike) -> list[str]:
    """Audio files under ``audio_dir`` (recursively), as sorted ``/``-separated relative paths.

    Files are picked by extension (:data:`edgesea.audio.io.AUDIO_EXTENSIONS`, any case);
    hidden files and folders (names starting with ``.``) are skipped. Symbolic links to
    folders are followed (each real folder is visited once), so an upstream set can be a
    folder of links to other folders.
    """
    root = Path(audio_dir)
    if not root.is_dir():
        raise EdgeSEAError(f"audio folder not found (or not a folder): {audio_dir}")
    found = []
    for dirpath, _, dirnames, filenames in walk_real_dirs(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel_dir = Path(dirpath).relative_to(root)
        for name in filenames:
            p = Path(dirpath) / name
            if (not name.startswith(".") and p.suffix.lower() in AUDIO_EXTENSIONS
                    and p.is_file()):
                found.append((rel_dir / name).as_posix())
    return sorted(found)


@dataclass
class ExtractReport:
    """What :func:`extract` did. Counts cover the whole store, times this run only."""

    store: EmbeddingStore
    n_files: int
    n_ok: int
    n_failed: int
    n_windows: int
    shards_computed: int
    shards_skipped: int
    audio_s: float
    wall_s: float

    @property
    def throughput(self) -> float:
        """Seconds of audio processed per second of wall time in this run."""
        return self.audio_s / self.wall_s if self.wall_s > 0 else 0.0


def _check_int(value: object, name: str) -> int:
    return check_int(value, name)


def teacher_info(teacher: Teacher) -> dict[str, Any]:
    missing = [a for a in ("name", "identity", "sample_rate", "window", "emb_dim", "embed")
               if not hasattr(teacher, a)]
    if missing:
        raise EdgeSEAError(f"teacher {teacher!r} lacks {missing}: expected an edgesea Teacher")
    return {"name": str(teacher.name), "identity": str(teacher.identity),
            "sample_rate": int(teacher.sample_rate), "window": float(teacher.window),
            "emb_dim": int(teacher.emb_dim)}


def _prepare(out: Path, settings: dict[str, Any], files: list[str], audio_dir: Path,
             replace: bool) -> dict[str, Any]:
    """The manifest to continue from: the existing one if it matches, else a new one."""
    if (out / MANIFEST).exists():
        try:
            old = read_manifest(out)
            diffs = settings_differences(old, settings, files)
        except EdgeSEAError as e:
            old, diffs = None, [str(e)]
        if not diffs:
            return old
        if not replace:
            raise EdgeSEAError(f"{out} holds an embedding store made with other settings ("
                               + "; ".join(diffs) + "): pass overwrite=True (--overwrite) to "
                               "replace it, or choose another output folder")
        (out / MANIFEST).unlink()
        shutil.rmtree(out / SHARD_DIR, ignore_errors=True)
    manifest = new_manifest(settings, files, audio_dir=str(audio_dir.resolve()),
                            edgesea_version=__version__)
    write_manifest(out, manifest)
    return manifest


def _plan(out: Path, manifest: dict[str, Any], contents: list[dict[str, Any]],
          overwrite: bool) -> list[int]:
    """The shards to compute: not complete, damaged, or holding a file whose content
    changed (all with ``overwrite``). They are marked pending (their files too) before any
    work, so a reader or a killed run never takes their old rows for current ones."""
    todo, dirty = [], False
    for k, shard in enumerate(manifest["shards"]):
        span = range(shard["first_file"], shard["first_file"] + shard["n_files"])
        entries = [manifest["files"][i] for i in span]
        if (not overwrite and shard["status"] == "complete"
                and shard_rows(out / shard["file"]) == shard["n_rows"]
                and not any(content_changed(e.get("content"), contents[i])
                            for e, i in zip(entries, span, strict=True))):
            for e, i in zip(entries, span, strict=True):  # same bytes: record a new mtime
                if e["content"] != contents[i]:
                    e["content"], dirty = contents[i], True
            continue
        todo.append(k)
        if shard["status"] != "pending" or any(e["status"] != "pending" for e in entries):
            shard.update(status="pending", n_rows=0)
            for e in entries:
                e.update(status="pending", duration_s=None, n_windows=0, error=None,
                         content=None)
            dirty = True
    if dirty:
        write_manifest(out, manifest)
    return todo


def extract(audio_dir: str | os.PathLike, out_dir: str | os.PathLike, teacher: Teacher,
            hop_size: float = 0.5, center: bool = True, workers: int = 1,
            batch_size: int = 64, files_per_shard: int = 64, progress: bool = True,
            overwrite: bool = False, replace: bool = False, engine: str = "local",
            engine_options: dict[str, Any] | None = None) -> ExtractReport:
    """Embed every audio file under ``audio_dir`` with ``teacher`` into a store at ``out_dir``.

    Parameters
    ----------
    audio_dir : path
        Folder walked recursively for audio files (see :func:`list_audio_files`).
    out_dir : path
        The store folder (created; see :mod:`edgesea.store.shards` for the format).
    teacher : Teacher
        The embedding model (:func:`resolve_teacher` builds the usual ones).
    hop_size : float
        Seconds between window starts.
    center : bool
        Centre window ``t`` on ``t * hop_size`` (half a window of zeros before the audio).
    workers : int
        Processes decoding and resampling files ahead of the teacher (1: none). Files
        longer than :data:`edgesea.extract.decode.LONG_FILE_S` are streamed in this
        process in bounded blocks either way. Workers start with the ``forkserver``
        method, so a script calling this needs the usual ``if __name__ == "__main__":``
        guard; they exit on their own if this process dies.
    batch_size : int
        Windows per ``teacher.embed`` call (batched across the files of a shard).
    files_per_shard : int
        Files per shard: the unit of writing and of resuming.
    progress : bool or str
        Show a progress bar (files, windows, ETA) on stderr; a string is its label
        (default ``teacher-embed``).
    overwrite : bool
        Recompute every shard, replacing a store made with other settings instead of
        refusing.
    replace : bool
        Replace a store made with other settings instead of refusing, but (unlike
        ``overwrite``) keep the up-to-date shards of a store with the same settings.
    engine : {"local", "ray"}
        ``"ray"`` decodes in Ray tasks and embeds in Ray actors
        (:mod:`edgesea.distributed.ray_engine`; ``pip install edgesea[ray]``): the same
        store, manifest and resumability (``workers`` is then unused).
    engine_options : dict, optional
        Ray options: ``address``, ``num_actors``, ``num_gpus_per_actor``.

    Returns
    -------
    ExtractReport
        The opened store and counts. Unreadable files are recorded as ``"failed"`` with
        the reason (``report.n_failed``); they do not stop the run.

    Raises
    ------
    EdgeSEAError
        Bad arguments, no audio files, a store with other settings (without ``overwrite``
        or ``replace``), or a store being written by another process. Errors of the
        teacher or of writing propagate; rerunning resumes.
    """
    t0 = time.perf_counter()
    hop_size = check_hop_size(hop_size)
    if not isinstance(center, bool | np.bool_):
        raise EdgeSEAError(f"invalid center={center!r}: expected True or False")
    center = bool(center)
    workers = _check_int(workers, "workers")
    batch_size = _check_int(batch_size, "batch_size")
    files_per_shard = _check_int(files_per_shard, "files_per_shard")
    info = teacher_info(teacher)
    if engine not in ("local", "ray"):
        raise EdgeSEAError(f"unknown engine {engine!r}: expected local or ray")
    if engine == "ray":  # fail before any work when Ray is missing
        from edgesea.distributed.ray_engine import import_ray  # Ray (optional extra)
        import_ray()
    audio_dir, out = Path(audio_dir), Path(out_dir)
    files = list_audio_files(audio_dir)
    if not files:
        raise EdgeSEAError(f"no audio files found under {audio_dir} (extensions "
                           f"{' '.join(AUDIO_EXTENSIONS)})")
    frame_audio(np.zeros(1, np.float32), info["sample_rate"], info["window"], hop_size,
                center)  # hop shorter than one sample -> EdgeSEAError before any work
    settings = {"teacher": info, "hop_size": hop_size, "center": center,
                "files_per_shard": files_per_shard}
    out.mkdir(parents=True, exist_ok=True)
    with writer_lock(out):
        manifest = _prepare(out, settings, files, audio_dir, overwrite or replace)
        clean_temp_files(out)
        contents = [file_content(audio_dir / f) for f in files]
        todo = _plan(out, manifest, contents, overwrite)
        if engine == "ray":
            # Ray (optional extra): only with --engine ray
            from edgesea.extract.ray import run_extract
            audio_s = run_extract(audio_dir, out, teacher, manifest, todo, contents,
                                  batch_size, progress, engine_options)
        else:
            audio_s = _run(audio_dir, out, teacher, manifest, todo, contents, workers,
                           batch_size, progress)
    store = EmbeddingStore(out, manifest)
    status = [f["status"] for f in manifest["files"]]
    return ExtractReport(store=store, n_files=len(files), n_ok=status.count("ok"),
                         n_failed=status.count("failed"), n_windows=len(store),
                         shards_computed=len(todo), shards_skipped=len(manifest["shards"])
                         - len(todo), audio_s=audio_s, wall_s=time.perf_counter() - t0)


def _run(audio_dir: Path, out: Path, teacher: Teacher, manifest: dict[str, Any],
         todo: list[int], contents: list[dict[str, Any]], workers: int, batch_size: int,
         progress: bool) -> float:
    """Compute and write the shards ``todo``; returns the seconds of audio embedded."""
    info, shards, files = manifest["teacher"], manifest["shards"], manifest["files"]
    sr, window, hop_size, center = (info["sample_rate"], info["window"],
                                    manifest["hop_size"], manifest["center"])
    window_samples = int(round(window * sr))
    todo_files = [i for k in todo
                  for i in range(shards[k]["first_file"],
                                 shards[k]["first_file"] + shards[k]["n_files"])]
    offset = (window_samples // 2) / sr if center else 0.0
    bar = tqdm(total=len(files), initial=len(files) - len(todo_files), unit="file",
               desc=progress if isinstance(progress, str) else "teacher-embed",
               disable=not progress, dynamic_ncols=True)
    # a stream-front-end model teacher reads the audio around each window
    context = tuple(int(c) for c in getattr(teacher, "context_samples", (0, 0)))
    stream = sources([str(audio_dir / files[i]["path"]) for i in todo_files], sr, window,
                     hop_size, center, workers, block_windows=max(64, batch_size),
                     context=context)
    audio_s, new_windows = 0.0, 0
    try:
        for k in todo:
            shard = shards[k]
            first, count = shard["first_file"], shard["n_files"]
            meta: list[tuple[np.ndarray, ...]] = []
            embed = TeacherBatcher(teacher, batch_size, window_samples + sum(context))
            for i in range(first, first + count):
                src, entry = next(stream), files[i]
                mark, n_meta, rows = embed.n, len(meta), 0
                try:
                    for frames, stamps, levels in src.blocks:
                        if levels.shape != stamps.shape:
                            raise EdgeSEAError(f"laeq gave {levels.shape} levels for "
                                               f"{frames.shape}")
                        embed.add(frames)
                        meta.append((np.full(len(stamps), i, np.int32), stamps, levels))
                        rows += len(stamps)
                except DecodeFailed as e:  # possibly mid-file: forget its windows
                    embed.rollback(mark)
                    del meta[n_meta:]
                    entry.update(status="failed", duration_s=None, n_windows=0, error=str(e),
                                 content=contents[i])
                else:
                    entry.update(status="ok", duration_s=src.duration_s, n_windows=rows,
                                 error=None, content=contents[i])
                    audio_s += src.duration_s or 0.0
                    new_windows += rows
                bar.update(1)
                bar.set_postfix(windows=new_windows, audio=f"{audio_s:.0f}s",
                                refresh=False)
            emb = embed.finish(info["emb_dim"])
            idx, stamps, levels = (np.concatenate([m[j] for m in meta]) if meta
                                   else np.zeros(0) for j in range(3))
            write_shard(out, k, {"file_index": idx, "timestamp_s": stamps, "laeq_db": levels,
                                 "start_s": stamps - offset, "embedding": emb})
            shard.update(status="complete", n_rows=int(emb.shape[0]))
            write_manifest(out, manifest)
    finally:
        stream.close()
        bar.close()
    return audio_s
