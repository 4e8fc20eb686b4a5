"""Extract a teacher's embeddings of a folder of audio into an embedding store.

:func:`extract` walks a folder for audio files, cuts every file into windows exactly like
the students' windows (:func:`edgesea.audio.frame_audio` at the teacher's rate), and writes
per window the teacher's embedding and the window's A-weighted level (LAeq) into the
sharded store described in :mod:`edgesea.store`.

Files are assigned to shards in sorted order, ``files_per_shard`` consecutive files each.
Shards are independent: the windows of one shard are batched across its files, so the
values of a shard depend only on its files and the settings, never on what ran before.
That makes runs resumable: a rerun with the same settings skips the shards that are
complete (listed in the manifest, present, with the right row count) and computes the
others; a run killed at any point leaves only complete shards, plus temp files that the
rerun deletes. A rerun with other settings (teacher, hop, centring, files, files per
shard) into the same folder is refused unless ``overwrite=True``.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .audio import (
    AUDIO_EXTENSIONS,
    check_hop_size,
    frame_audio,
    load_audio,
    resample,
    to_float_mono,
)
from .errors import EdgeSEAError
from .store import (
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
from .teachers.base import Teacher

__all__ = ["TEACHER_SPECS", "ExtractReport", "extract", "list_audio_files", "resolve_teacher"]

#: Teacher specifications :func:`resolve_teacher` accepts.
TEACHER_SPECS = ("aisfx", "openl3:PATH.h5", "model:PATH.safetensors")


def resolve_teacher(spec: str, window: float | None = None) -> Teacher:
    """Build a teacher from a short specification.

    Parameters
    ----------
    spec : str
        ``"aisfx"`` (:class:`edgesea.teachers.aisfx.AisfxTeacher`), ``"openl3:PATH.h5"``
        (:meth:`edgesea.teachers.openl3.OpenL3Teacher.from_h5`) or
        ``"model:PATH.safetensors"`` (an edgesea model file, :class:`ModelTeacher`).
    window : float, optional
        Window length in seconds for aisfx (default 1.0). The other teachers have a fixed
        window; a different ``window`` for them is an error.

    Raises
    ------
    EdgeSEAError
        Unknown specification, missing/unreadable weights, or a teacher that cannot load.
    """
    spec = str(spec).strip()
    kind, _, arg = spec.partition(":")
    if not ((kind == "aisfx" and not arg) or (kind in ("openl3", "model") and arg)):
        raise EdgeSEAError(f"unknown teacher {spec!r}: expected one of {', '.join(TEACHER_SPECS)}")
    try:
        if kind == "aisfx":
            from .teachers.aisfx import AisfxTeacher
            return AisfxTeacher(window=1.0 if window is None else float(window))
        if kind == "openl3":
            from .teachers.openl3 import OpenL3Teacher
            teacher = OpenL3Teacher.from_h5(arg)
        else:
            from .models import load_model
            from .teachers.model import ModelTeacher
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

    Files are picked by extension (:data:`edgesea.audio.AUDIO_EXTENSIONS`, any case);
    hidden files and folders (names starting with ``.``) are skipped. Symbolic links to
    folders are followed (each real folder is visited once), so an upstream set can be a
    folder of links to other folders.
    """
    root = Path(audio_dir)
    if not root.is_dir():
        raise EdgeSEAError(f"audio folder not found (or not a folder): {audio_dir}")
    found = []
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel_dir = Path(dirpath).relative_to(root)
        for name in filenames:
            p = Path(dirpath) / name
            if (not name.startswith(".") and p.suffix.lower() in AUDIO_EXTENSIONS
                    and p.is_file()):
                found.append((rel_dir / name).as_posix())
    return sorted(found)


def _decode(path: str, sr: int, window: float, hop_size: float, center: bool
            ) -> tuple[np.ndarray | None, float | None, np.ndarray | None, str | None]:
    """Decode, downmix and resample one file to ``sr``; LAeq of each of its windows.

    Returns ``(audio, duration_s, laeq_db, None)``, or ``(None, None, None, error)`` when
    the file cannot be used. Runs in worker processes.
    """
    from .loudness import laeq

    try:
        audio, file_sr = load_audio(path)
        mono = to_float_mono(audio)
        duration = mono.shape[0] / file_sr
        mono = resample(mono, file_sr, sr)
        frames, _ = frame_audio(mono, sr, window, hop_size, center)
        levels = np.asarray(laeq(frames, sr), dtype=np.float32).reshape(-1)
    except EdgeSEAError as e:
        return None, None, None, str(e)
    except (OSError, ValueError, RuntimeError, MemoryError) as e:
        return None, None, None, f"{type(e).__name__}: {e}"
    return mono, duration, levels, None


def _decoded(paths: list[str], teacher: Teacher, hop_size: float, center: bool,
             workers: int) -> Iterator[tuple]:
    """``_decode`` of every path, in order; ``workers`` > 1 decode ahead in processes."""
    args = (int(teacher.sample_rate), float(teacher.window), hop_size, center)
    if workers == 1:
        for p in paths:
            yield _decode(p, *args)
        return
    # forkserver: never fork the (possibly multi-threaded) torch process itself.
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
    pending: deque[Future] = deque()
    todo = iter(paths)
    try:
        for p in todo:  # bounded read-ahead keeps memory flat on big folders
            pending.append(pool.submit(_decode, p, *args))
            if len(pending) >= 2 * workers + 2:
                break
        while pending:
            result = pending.popleft().result()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append(pool.submit(_decode, nxt, *args))
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


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
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise EdgeSEAError(f"invalid {name}={value!r}: expected an integer >= 1")
    return int(value)


def _teacher_info(teacher: Teacher) -> dict[str, Any]:
    missing = [a for a in ("name", "identity", "sample_rate", "window", "emb_dim", "embed")
               if not hasattr(teacher, a)]
    if missing:
        raise EdgeSEAError(f"teacher {teacher!r} lacks {missing}: expected an edgesea Teacher")
    return {"name": str(teacher.name), "identity": str(teacher.identity),
            "sample_rate": int(teacher.sample_rate), "window": float(teacher.window),
            "emb_dim": int(teacher.emb_dim)}


def _prepare(out: Path, settings: dict[str, Any], files: list[str], audio_dir: Path,
             overwrite: bool) -> dict[str, Any]:
    """The manifest to continue from: the existing one if it matches, else a new one."""
    if (out / MANIFEST).exists():
        try:
            old = read_manifest(out)
            diffs = settings_differences(old, settings, files)
        except EdgeSEAError as e:
            old, diffs = None, [str(e)]
        if not diffs:
            return old
        if not overwrite:
            raise EdgeSEAError(f"{out} holds an embedding store made with other settings ("
                               + "; ".join(diffs) + "): pass overwrite=True (--overwrite) to "
                               "replace it, or choose another output folder")
        (out / MANIFEST).unlink()
        shutil.rmtree(out / SHARD_DIR, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    from . import __version__
    manifest = new_manifest(settings, files, audio_dir=str(audio_dir.resolve()),
                            edgesea_version=__version__)
    write_manifest(out, manifest)
    return manifest


def extract(audio_dir: str | os.PathLike, out_dir: str | os.PathLike, teacher: Teacher,
            hop_size: float = 0.5, center: bool = True, workers: int = 1,
            batch_size: int = 64, files_per_shard: int = 64, progress: bool = True,
            overwrite: bool = False) -> ExtractReport:
    """Embed every audio file under ``audio_dir`` with ``teacher`` into a store at ``out_dir``.

    Parameters
    ----------
    audio_dir : path
        Folder walked recursively for audio files (see :func:`list_audio_files`).
    out_dir : path
        The store folder (created; see :mod:`edgesea.store` for the format).
    teacher : Teacher
        The embedding model (:func:`resolve_teacher` builds the usual ones).
    hop_size : float
        Seconds between window starts.
    center : bool
        Centre window ``t`` on ``t * hop_size`` (half a window of zeros before the audio).
    workers : int
        Processes decoding and resampling files ahead of the teacher (1: none). They start
        with the ``forkserver`` method, so a script calling this needs the usual
        ``if __name__ == "__main__":`` guard.
    batch_size : int
        Windows per ``teacher.embed`` call (batched across the files of a shard).
    files_per_shard : int
        Files per shard: the unit of writing and of resuming.
    progress : bool
        Show a progress bar (files, windows, ETA) on stderr.
    overwrite : bool
        Replace a store made with other settings instead of refusing.

    Returns
    -------
    ExtractReport
        The opened store and counts. Unreadable files are recorded as ``"failed"`` with
        the reason (``report.n_failed``); they do not stop the run.

    Raises
    ------
    EdgeSEAError
        Bad arguments, no audio files, or a store with other settings (without
        ``overwrite``). Errors of the teacher or of writing propagate; rerunning resumes.
    """
    t0 = time.perf_counter()
    hop_size = check_hop_size(hop_size)
    if not isinstance(center, bool | np.bool_):
        raise EdgeSEAError(f"invalid center={center!r}: expected True or False")
    center = bool(center)
    workers = _check_int(workers, "workers")
    batch_size = _check_int(batch_size, "batch_size")
    files_per_shard = _check_int(files_per_shard, "files_per_shard")
    info = _teacher_info(teacher)
    audio_dir, out = Path(audio_dir), Path(out_dir)
    files = list_audio_files(audio_dir)
    if not files:
        raise EdgeSEAError(f"no audio files found under {audio_dir} (extensions "
                           f"{' '.join(AUDIO_EXTENSIONS)})")
    window_samples = int(round(info["window"] * info["sample_rate"]))
    frame_audio(np.zeros(1, np.float32), info["sample_rate"], info["window"], hop_size,
                center)  # hop shorter than one sample -> EdgeSEAError before any work
    settings = {"teacher": info, "hop_size": hop_size, "center": center,
                "files_per_shard": files_per_shard}
    manifest = _prepare(out, settings, files, audio_dir, overwrite)
    clean_temp_files(out)

    shards = manifest["shards"]
    todo = [k for k, s in enumerate(shards) if not (
        s["status"] == "complete" and shard_rows(out / s["file"]) == s["n_rows"])]
    todo_files = [i for k in todo
                  for i in range(shards[k]["first_file"],
                                 shards[k]["first_file"] + shards[k]["n_files"])]
    offset = (window_samples // 2) / info["sample_rate"] if center else 0.0
    bar = tqdm(total=len(files), initial=len(files) - len(todo_files), unit="file",
               desc="teacher-embed", disable=not progress, dynamic_ncols=True)
    stream = _decoded([str(audio_dir / files[i]) for i in todo_files], teacher, hop_size,
                      center, workers)
    audio_s, new_windows = 0.0, 0
    try:
        for k in todo:
            shard = shards[k]
            first, count = shard["first_file"], shard["n_files"]
            meta: list[tuple[np.ndarray, ...]] = []
            embed = _Batcher(teacher, batch_size, window_samples)
            for i in range(first, first + count):
                audio, duration, levels, error = next(stream)
                entry = manifest["files"][i]
                if error is not None:
                    entry.update(status="failed", duration_s=None, n_windows=0, error=error)
                else:
                    frames, stamps = frame_audio(audio, info["sample_rate"], info["window"],
                                                 hop_size, center)
                    if levels.shape != stamps.shape:
                        raise EdgeSEAError(f"laeq gave {levels.shape} levels for {frames.shape}")
                    embed.add(frames)
                    meta.append((np.full(len(stamps), i, np.int32), stamps, levels))
                    entry.update(status="ok", duration_s=duration, n_windows=len(stamps),
                                 error=None)
                    audio_s += duration
                    new_windows += len(stamps)
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
    store = EmbeddingStore(out, manifest)
    status = [f["status"] for f in manifest["files"]]
    return ExtractReport(store=store, n_files=len(files), n_ok=status.count("ok"),
                         n_failed=status.count("failed"), n_windows=len(store),
                         shards_computed=len(todo), shards_skipped=len(shards) - len(todo),
                         audio_s=audio_s, wall_s=time.perf_counter() - t0)


class _Batcher:
    """Feeds windows to ``teacher.embed`` in batches of ``batch_size``, across files."""

    def __init__(self, teacher: Teacher, batch_size: int, window_samples: int) -> None:
        self.teacher, self.batch_size = teacher, batch_size
        self.buf = np.empty((batch_size, window_samples), dtype=np.float32)
        self.fill = 0
        self.out: list[np.ndarray] = []

    def _run(self, n: int) -> None:
        emb = np.asarray(self.teacher.embed(self.buf[:n]), dtype=np.float32)
        if emb.ndim != 2 or emb.shape[0] != n:
            raise EdgeSEAError(f"teacher {self.teacher.name!r} returned shape {emb.shape} "
                               f"for {n} windows")
        self.out.append(emb.copy())
        self.fill = 0

    def add(self, frames: np.ndarray) -> None:
        start = 0
        while start < frames.shape[0]:
            take = min(self.batch_size - self.fill, frames.shape[0] - start)
            self.buf[self.fill:self.fill + take] = frames[start:start + take]
            self.fill += take
            start += take
            if self.fill == self.batch_size:
                self._run(self.batch_size)

    def finish(self, emb_dim: int) -> np.ndarray:
        if self.fill:
            self._run(self.fill)
        out = np.concatenate(self.out) if self.out else np.zeros((0, emb_dim), np.float32)
        if out.shape[1] != emb_dim:
            raise EdgeSEAError(f"teacher {self.teacher.name!r} returned {out.shape[1]}-d "
                               f"embeddings, but declares emb_dim={emb_dim}")
        return out
