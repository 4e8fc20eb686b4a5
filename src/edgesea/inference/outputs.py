"""Embedding output files: streamed embedding of files (:func:`stream_files`, the engine of
:func:`~.process.iter_process_files`), provenance, ``.npz`` assembly, no-replace publishing.

An output ``<base>.npz`` holds ``embedding`` (T, D) float32 and ``timestamps`` (T,) float64
(edgel3's two arrays) and ``provenance``: a 0-d unicode array holding JSON (readable with
``allow_pickle=False``) that records what produced it: the model's identity (a sha256 over
its config and weights), ``emb_dim``, ``hop_size``, ``center``, the source file's name, size,
mtime_ns and sha256, and the edgesea version. An existing output is reused only when its
provenance matches the run's (every field but the edgesea version; the source by its content
hash, or by size and mtime for outputs that predate it).

Embedding rows arrive block by block; :class:`RowSink` keeps a few in memory and spills the
rest to a temporary file beside the output, and :func:`write_npz` copies them into the zip in
chunks (zip64), so no file's embedding is ever held whole. :func:`publish` renames the
finished temp file into place; without ``overwrite`` it never replaces a file (``os.link``
fails if the name exists), so concurrent writers cannot silently replace each other.
"""

from __future__ import annotations

import errno
import json
import os
import warnings
import zipfile
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from edgesea.audio.io import bandwidth_warning
from edgesea.audio.stream import StreamInfo, stream_windows
from edgesea.audio.windows import hop_length, window_timestamps
from edgesea.core.batches import BatchQueue
from edgesea.core.fileio import (
    chmod_like_new_file,
    disk_full_error,
    is_disk_full,
    make_temp,
)
from edgesea.errors import EdgeSEAError, EdgeSEAWarning
from edgesea.inference.pooling import PoolAccumulator
from edgesea.inference.provenance import (  # re-exported: they were defined here
    differences,
    make_provenance,
    read_provenance,
    refusal,
    source_info,
)

if TYPE_CHECKING:
    from edgesea.models import EmbeddingModel

__all__ = ["BLOCK_S", "BLOCK_WINDOWS", "COPY_ROWS", "SPILL_ROWS", "FileResult", "RowSink",
           "check_targets", "differences", "make_provenance", "publish", "read_provenance",
           "refusal", "source_info", "stream_files", "write_npz"]

#: Rows of one file kept in memory before they are spilled to a temporary file.
SPILL_ROWS = 4096
#: Rows copied per chunk when a spilled embedding is assembled into its ``.npz``.
COPY_ROWS = 4096
#: Provenance fields that must be equal for an existing output to be reused.
#: ``os.link`` errors meaning "this file system has no hard links" (not "name exists").
_NO_LINK = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK,
            errno.EXDEV}


class RowSink:
    """Embedding rows of one file, received in order: kept in memory up to
    :data:`SPILL_ROWS` rows, then spilled to a temporary file in ``directory``."""

    def __init__(self, directory: str, width: int) -> None:
        self.directory, self.width, self.n_rows = directory, int(width), 0
        self._mem: list[np.ndarray] = []
        self._fh: Any = None
        self._tmp: str | None = None

    def append(self, rows: np.ndarray) -> None:
        """Add ``rows`` (n, width) after the ones received so far."""
        rows = np.array(rows, dtype=np.float32, order="C")  # a copy: the batch is reused
        self.n_rows += rows.shape[0]
        if self._fh is None:
            self._mem.append(rows)
            if self.n_rows <= SPILL_ROWS:
                return
            fd, self._tmp = make_temp(self.directory, ".rows")
            self._fh = os.fdopen(fd, "wb")
            rows_list, self._mem = self._mem, []
        else:
            rows_list = [rows]
        try:
            for r in rows_list:
                self._fh.write(r.tobytes())
        except OSError as e:
            if is_disk_full(e):
                raise disk_full_error(self._tmp, e) from e
            raise

    def chunks(self) -> Iterator[np.ndarray]:
        """The rows received, in order, in chunks of at most :data:`COPY_ROWS` rows."""
        if self._fh is None:
            yield from self._mem
            return
        self._fh.flush()
        step = max(1, COPY_ROWS) * self.width * 4
        with open(self._tmp, "rb") as f:  # type: ignore[arg-type]
            while data := f.read(step):
                yield np.frombuffer(data, np.float32).reshape(-1, self.width)

    def close(self) -> None:
        """Forget the rows; remove the spill file."""
        self._mem = []
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._tmp is not None:
            if os.path.exists(self._tmp):
                os.remove(self._tmp)
            self._tmp = None


def _write_npy_rows(zf: zipfile.ZipFile, name: str, chunks: Iterable[np.ndarray],
                    shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Write ``name`` (a .npy of ``shape``) into ``zf`` from row chunks, in order."""
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
              "shape": shape}
    written = 0
    with zf.open(name, "w", force_zip64=True) as f:
        np.lib.format.write_array_header_1_0(f, header)
        for chunk in chunks:
            chunk = np.ascontiguousarray(chunk, dtype=dtype)
            written += chunk.shape[0]
            f.write(chunk.tobytes())
    if written != shape[0]:
        raise RuntimeError(f"{name}: wrote {written} rows, expected {shape[0]}")


def _timestamps(n: int, hop_size: float, sample_rate: float | None
                ) -> Iterator[np.ndarray]:
    """The windows' timestamps in chunks (the same values as computed whole): their true
    centres ``t * round(hop_size * sample_rate) / sample_rate``
    (:func:`edgesea.audio.io.window_timestamps`), or ``t * hop_size`` without a rate."""
    step = max(1, COPY_ROWS)
    for start in range(0, n, step):
        k = min(n, start + step) - start
        if sample_rate is None:
            yield np.arange(start, start + k) * hop_size
        else:
            yield window_timestamps(k, hop_length(hop_size, sample_rate), sample_rate,
                                    start=start)


def write_npz(path: str, rows: np.ndarray | RowSink, hop_size: float,
              provenance: dict[str, Any], sample_rate: float | None = None) -> None:
    """Write an output ``.npz`` (``embedding``, ``timestamps``, ``provenance``) to ``path``.

    ``rows`` is the whole (T, D) embedding or a :class:`RowSink`, copied in chunks.
    ``sample_rate`` is the model's rate, at which the hop was cut into samples: the
    timestamps are then the windows' true centres, as :func:`edgesea.get_embedding`
    returns them (without it, ``t * hop_size``).
    """
    if isinstance(rows, RowSink):
        shape, chunks = (rows.n_rows, rows.width), rows.chunks()
    else:
        shape, chunks = rows.shape, [rows]
    pooled = PoolAccumulator(provenance["pool"], shape[1]) if provenance.get("pool") else None
    if pooled is not None:
        chunks = pooled.passing(chunks)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        _write_npy_rows(zf, "embedding.npy", chunks, tuple(shape), np.dtype(np.float32))
        if pooled is not None:  # the clip vector (edgesea.inference.pooling)
            with zf.open("clip_embedding.npy", "w") as f:
                np.lib.format.write_array(f, pooled.result(), allow_pickle=False)
        _write_npy_rows(zf, "timestamps.npy", _timestamps(shape[0], hop_size, sample_rate),
                        (shape[0],), np.dtype(np.float64))
        with zf.open("provenance.npy", "w") as f:
            np.lib.format.write_array(f, np.array(json.dumps(provenance, sort_keys=True)),
                                      allow_pickle=False)


@dataclass
class FileResult:
    """Outcome of one file in :func:`iter_process_files`."""

    path: str
    output: str
    status: str  # "written", "skipped" or "failed"
    error: str | None = None
    n_windows: int = 0


#: Windows per streamed block and seconds of audio decoded per block (bound memory).
BLOCK_WINDOWS = 64
BLOCK_S = 20.0


class _Job:
    """One file being embedded: its rows, its provenance, how many windows are in flight."""

    def __init__(self, result: FileResult, provenance: dict[str, Any], width: int) -> None:
        self.result, self.provenance = result, provenance
        self.rows = RowSink(os.path.dirname(os.path.abspath(result.output)), width)
        self.fed = 0
        self.streamed = False  # every window fed

    def receive(self, rows: np.ndarray) -> None:
        if self.result.status == "pending":
            self.rows.append(rows)

    def fail(self, error: str) -> None:
        self.result.status, self.result.error = "failed", error
        self.rows.close()

    @property
    def done(self) -> bool:
        return self.result.status != "pending" or (self.streamed
                                                   and self.rows.n_rows == self.fed)

    def finish(self, hop_size: float, overwrite: bool, sample_rate: float | None = None
               ) -> None:
        """Assemble the .npz in a temp file beside the output and publish it."""
        if self.result.status != "pending":
            return
        try:
            fd, tmp = make_temp(self.rows.directory, ".npz")
            os.close(fd)
            try:
                write_npz(tmp, self.rows, hop_size, self.provenance, sample_rate)
            except BaseException as e:
                os.remove(tmp)
                if is_disk_full(e):
                    raise disk_full_error(self.result.output, e) from e
                raise
            self.result.status, self.result.error = publish(
                tmp, self.result.output, self.provenance, overwrite)
            self.result.n_windows = self.rows.n_rows
        finally:
            self.rows.close()


def _warn_like_preprocess(src: str, info: StreamInfo, window: float, nonzero: bool,
                          target_sr: float) -> None:
    """The warnings :func:`edgesea.audio.io.preprocess_audio` gives, for a streamed file,
    each naming the file."""
    where = f"{src}: "
    if not nonzero:
        warnings.warn(f"{where}audio is all zeros (silent): its embeddings carry no "
                      "information", EdgeSEAWarning, stacklevel=3)
    if info.n_input < window * info.sr:
        warnings.warn(
            f"{where}audio is {info.n_input / info.sr:.3f} s long, shorter than one window "
            f"({window:g} s): it is zero-padded", EdgeSEAWarning, stacklevel=3)
    if (message := bandwidth_warning(info.sr, target_sr, where)) is not None:
        warnings.warn(message, EdgeSEAWarning, stacklevel=3)


def stream_files(pairs: list[tuple[str, str]], net: EmbeddingModel, batcher: BatchQueue,
                 model_id: str, center: bool, hop_size: float, overwrite: bool,
                 pool: tuple[str, ...] = ()) -> Iterator[FileResult]:
    """Embed ``(source, output)`` pairs with ``net`` through ``batcher``, yielding results
    in input order (the engine of :func:`~.process.iter_process_files`).

    Each file is streamed in blocks of :data:`BLOCK_WINDOWS` windows (:data:`BLOCK_S` s of
    audio decoded at a time) into the shared batcher; its rows go to a :class:`RowSink`, and
    its ``.npz`` is assembled and published once its last row is back. At any time, only the
    windows of one batch are pending, whatever the number or length of the files.
    """
    queue: deque[_Job | FileResult] = deque()

    def ready() -> Iterator[FileResult]:
        while queue and (isinstance(queue[0], FileResult) or queue[0].done):
            item = queue.popleft()
            if isinstance(item, _Job):
                item.finish(hop_size, overwrite, net.sample_rate)
                item = item.result
            yield item

    try:
        for src, out in pairs:
            try:
                prov = make_provenance(model_id, net.emb_dim, hop_size, center,
                                       source_info(src), pool)
            except OSError:  # missing: stream_windows says so in its words
                prov = {}
            if prov and os.path.exists(out) and not overwrite:
                diffs = differences(read_provenance(out), prov)
                queue.append(FileResult(src, out, "failed", refusal(out, diffs))
                             if diffs else FileResult(src, out, "skipped"))
                yield from ready()
                continue
            job = _Job(FileResult(src, out, "pending"), prov, net.emb_dim)
            queue.append(job)
            info, nonzero = StreamInfo(), False
            try:
                for frames, _ in stream_windows(src, net.sample_rate, net.window, hop_size,
                                                center, BLOCK_WINDOWS, BLOCK_S, info,
                                                context=getattr(net, "context_samples",
                                                                (0, 0))):
                    nonzero = nonzero or bool(frames.any())
                    job.fed += frames.shape[0]
                    batcher.feed(frames, job.receive)
                    yield from ready()
                job.streamed = True
                _warn_like_preprocess(src, info, net.window, nonzero, net.sample_rate)
            except EdgeSEAError as e:
                job.fail(str(e))
            yield from ready()
        batcher.flush()
        yield from ready()
    finally:
        for item in queue:
            if isinstance(item, _Job):
                item.rows.close()


def check_targets(pairs: list[tuple[str, str]], output_dir: object) -> None:
    """Refuse, before any work, two inputs with one output and an output_dir not a folder
    (created if missing)."""
    seen: dict[str, str] = {}
    for src, out in pairs:
        key = os.path.normcase(os.path.abspath(out))
        if key in seen:
            how = "is given twice" if os.path.abspath(seen[key]) == os.path.abspath(src) \
                else f"and {src} would both be written"
            raise EdgeSEAError(f"{seen[key]} {how} to {out}: pass each file once, embed them "
                               "in separate runs, or with different output_dir/suffix")
        seen[key] = src
    if output_dir is None:
        return
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):  # type: ignore[arg-type]
        raise EdgeSEAError(f"invalid output_dir={os.fspath(output_dir)!r}: it is a file, "
                           "expected a folder (existing or to be created)")
    try:
        os.makedirs(output_dir, exist_ok=True)  # type: ignore[arg-type]
    except OSError as e:
        raise EdgeSEAError(f"invalid output_dir={os.fspath(output_dir)!r}: expected a folder "
                           f"(existing or to be created), but it cannot be created: {e}") from e


def _existing(out: str, provenance: dict[str, Any]) -> tuple[str, str | None]:
    diffs = differences(read_provenance(out), provenance)
    return ("skipped", None) if not diffs else ("failed", refusal(out, diffs))


def publish(tmp: str, out: str, provenance: dict[str, Any], overwrite: bool
            ) -> tuple[str, str | None]:
    """Move the finished temp file ``tmp`` to ``out``; returns ``(status, error)``.

    With ``overwrite`` it replaces ``out`` (``"written"``). Otherwise it never replaces a
    file: if another writer published ``out`` first, ``tmp`` is dropped and the winner's
    provenance decides: ``"skipped"`` when it matches, else ``"failed"`` with the reason.
    ``tmp`` is gone afterwards in every case.
    """
    try:
        chmod_like_new_file(tmp)
        if overwrite:
            os.replace(tmp, out)
            return "written", None
        try:
            os.link(tmp, out)
        except FileExistsError:
            return _existing(out, provenance)
        except OSError as e:
            if e.errno not in _NO_LINK:
                raise
            if os.path.exists(out):  # no hard links here: best effort, not race-free
                return _existing(out, provenance)
            os.replace(tmp, out)
        return "written", None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
