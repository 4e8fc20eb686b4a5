"""The audio side of :func:`edgesea.extract.run.extract`: files decoded, windowed and levelled
in bounded blocks, optionally ahead in worker processes, and windows batched for a teacher.

Each file becomes a :class:`FileSource`: its windows, their timestamps and their LAeq in
blocks, exactly :func:`edgesea.audio.windows.frame_audio` of the whole file decoded, downmixed and
resampled to the teacher's rate (see :func:`edgesea.audio.stream.stream_windows`). With
one process every file is streamed, so peak memory does not depend on file length. With
``workers`` > 1, files up to :data:`LONG_FILE_S` seconds (from their header) are decoded
whole by the workers, a bounded number ahead; longer files are streamed in the calling
process. Workers exit on their own when the calling process dies (even by SIGKILL).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import numpy as np

from edgesea.audio.loudness import laeq
from edgesea.audio.stream import StreamInfo, open_info, stream_windows
from edgesea.core.batches import BatchQueue
from edgesea.core.fileio import pid_alive
from edgesea.errors import EdgeSEAError
from edgesea.teachers.base import Teacher

__all__ = ["LONG_FILE_S", "DecodeFailed", "FileSource", "TeacherBatcher", "sources"]

#: Files longer than this (seconds, from the header) are streamed in the calling process
#: rather than decoded whole by a worker.
LONG_FILE_S = 60.0

Block = tuple[np.ndarray, np.ndarray, np.ndarray]  # frames, timestamps, laeq_db


class DecodeFailed(Exception):
    """A file cannot be used (the message says why); it is recorded as failed."""


class FileSource:
    """One file's ``(frames, timestamps_s, laeq_db)`` blocks, in order.

    Iterating :attr:`blocks` raises :class:`DecodeFailed` if the file turns out unusable
    (possibly after some blocks); :attr:`duration_s` is set once it is exhausted.
    """

    def __init__(self) -> None:
        self.blocks: Iterator[Block] = iter(())
        self.duration_s: float | None = None


def _levels(frames: np.ndarray, sr: int) -> np.ndarray:
    return np.asarray(laeq(frames, sr), dtype=np.float32).reshape(-1)


def streamed(path: str, sr: int, window: float, hop_size: float, center: bool,
              block_windows: int, context: tuple[int, int] = (0, 0)) -> FileSource:
    """A file's blocks, decoded as they are read (bounded memory). With a ``context``
    (a stream teacher's, :func:`edgesea.audio.stream.stream_windows`), each window carries
    the samples around it; its LAeq is still that of the window itself."""
    src = FileSource()

    def blocks() -> Iterator[Block]:
        info = StreamInfo()
        try:
            left, n = int(context[0]), int(round(window * sr))
            for frames, stamps in stream_windows(path, sr, window, hop_size, center,
                                                 block_windows=block_windows, info=info,
                                                 context=context):
                yield frames, stamps, _levels(frames[:, left:left + n], sr)
        except EdgeSEAError as e:
            raise DecodeFailed(str(e)) from e
        except (OSError, ValueError, RuntimeError, MemoryError) as e:
            raise DecodeFailed(f"{type(e).__name__}: {e}") from e
        src.duration_s = info.duration_s

    src.blocks = blocks()
    return src


def decode_whole(path: str, sr: int, window: float, hop_size: float, center: bool,
                 context: tuple[int, int] = (0, 0)
                 ) -> tuple[Block | None, float | None, str | None]:
    """``((frames, timestamps, laeq_db), duration_s, None)`` of a whole (short) file, or
    ``(None, None, error)``. Runs in worker processes."""
    src = streamed(path, sr, window, hop_size, center, block_windows=1 << 20,
                    context=context)
    try:
        parts = list(src.blocks)
    except DecodeFailed as e:
        return None, None, str(e)
    block = tuple(np.concatenate([p[j] for p in parts]) for j in range(3))
    return block, src.duration_s, None  # type: ignore[return-value]


def _ready(result: tuple[Block | None, float | None, str | None]) -> FileSource:
    block, duration, error = result
    src = FileSource()

    def blocks() -> Iterator[Block]:
        if error is not None:
            raise DecodeFailed(error)
        yield block
        src.duration_s = duration

    src.blocks = blocks()
    return src


def _is_long(path: str) -> bool:
    try:
        file_sr, frames, _ = open_info(path)
    except EdgeSEAError:
        return False  # a worker records why the file cannot be used
    return frames < 0 or frames > LONG_FILE_S * file_sr


def _parent_gone(pid: int, ppid: int) -> bool:
    if os.getppid() != ppid or not pid_alive(pid):
        return True
    try:  # a killed parent nobody has reaped yet is a zombie: gone too
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]


def _exit_with_parent(pid: int, interval: float = 0.5) -> None:
    """Worker initializer: a daemon thread ends this process once process ``pid`` (the
    caller of :func:`sources`) or this worker's parent (the forkserver) is gone."""
    ppid = os.getppid()

    def watch() -> None:
        while not _parent_gone(pid, ppid):
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="edgesea-watch-parent", daemon=True).start()


def sources(paths: list[str], sr: int, window: float, hop_size: float, center: bool,
            workers: int, block_windows: int = 64, context: tuple[int, int] = (0, 0)
            ) -> Iterator[FileSource]:
    """A :class:`FileSource` of every path, in order (see the module docstring)."""
    args = (int(sr), float(window), float(hop_size), bool(center))
    ctx_samples = (int(context[0]), int(context[1]))
    if workers == 1:
        for p in paths:
            yield streamed(p, *args, block_windows, ctx_samples)
        return
    # forkserver: never fork the (possibly multi-threaded) torch process itself.
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                               initializer=_exit_with_parent, initargs=(os.getpid(),))
    pending: deque[tuple[str, Future | None]] = deque()
    todo = iter(paths)

    def submit(p: str) -> None:  # long files: None, streamed here when their turn comes
        pending.append((p, None if _is_long(p) else pool.submit(decode_whole, p, *args,
                                                                 ctx_samples)))

    try:
        for p in todo:  # bounded read-ahead keeps memory flat on big folders
            submit(p)
            if len(pending) >= 2 * workers + 2:
                break
        while pending:
            p, future = pending.popleft()
            nxt = next(todo, None)
            if nxt is not None:
                submit(nxt)
            yield streamed(p, *args, block_windows, ctx_samples) if future is None \
                else _ready(future.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class TeacherBatcher:
    """Feeds windows to ``teacher.embed`` in batches of ``batch_size``, across files (a
    :class:`~edgesea.core.batches.BatchQueue` whose rows are kept in order), with
    ``rollback`` to forget the windows of a file that failed."""

    def __init__(self, teacher: Teacher, batch_size: int, window_samples: int) -> None:
        self.teacher = teacher
        self.queue = BatchQueue(self._embed, batch_size)
        self.done = 0  # windows embedded (rows of self.out)
        self.out: list[np.ndarray] = []

    @property
    def n(self) -> int:
        """Windows added so far."""
        return self.done + self.queue.fill

    def _embed(self, batch: np.ndarray) -> np.ndarray:
        n = len(batch)
        emb = np.asarray(self.teacher.embed(batch), dtype=np.float32)
        if emb.ndim != 2 or emb.shape[0] != n:
            raise EdgeSEAError(f"teacher {self.teacher.name!r} returned shape {emb.shape} "
                               f"for {n} windows")
        return emb

    def _keep(self, rows: np.ndarray) -> None:
        self.out.append(rows.copy())
        self.done += len(rows)

    def add(self, frames: np.ndarray) -> None:
        """Queue windows (embedding each full batch)."""
        self.queue.feed(frames, self._keep)

    def rollback(self, n: int) -> None:
        """Forget every window after the first ``n`` (those of a file that failed)."""
        if n >= self.done:
            self.queue.truncate(n - self.done)
            return
        self.out = [np.concatenate(self.out)[:n]]
        self.done = n
        self.queue.truncate(0)

    def finish(self, emb_dim: int) -> np.ndarray:
        """Embed what is queued; all embeddings, in order."""
        self.queue.flush()
        out = np.concatenate(self.out) if self.out else np.zeros((0, emb_dim), np.float32)
        if out.shape[1] != emb_dim:
            raise EdgeSEAError(f"teacher {self.teacher.name!r} returned {out.shape[1]}-d "
                               f"embeddings, but declares emb_dim={emb_dim}")
        return out
