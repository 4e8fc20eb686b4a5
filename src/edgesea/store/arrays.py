"""Out-of-core access to the columns of sharded stores: arrays that read rows on demand.

Columns are read without loading them, so an upstream set is not bounded by memory. A store
column is a :class:`ShardedArray`: a read-only, 2-D (or 1-D) array-like over the uncompressed
``.npz`` shards of an embedding store (:mod:`edgesea.store.shards`) or an augmented store
(:mod:`edgesea.augment.bank`), concatenated in shard order, that holds nothing but the location
of each shard's column. Contiguous rows (:meth:`ShardedArray.iter_blocks`, slices) are read
with ``pread`` into a fresh buffer; scattered rows (integer indexing, as the k-DPP chunks draw
them) through a memory map of the shard member that is unmapped again after each access, so the
pages it touched do not stay in the process's resident set. :class:`RowView` and
:class:`ConcatRows` select and concatenate rows of such arrays (or of ndarrays and memory maps)
without copying them.

Values are exactly those of :meth:`edgesea.store.shards.EmbeddingStore.load` (the same bytes), so
a stage computed on a :class:`ShardedArray` gives bit-identical results to the stage on the
loaded array, with memory bounded by the block size instead of the number of windows.
"""

from __future__ import annotations

import os
import struct
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgesea.core.safe_json import read_sharded_manifest
from edgesea.errors import EdgeSEAError

__all__ = ["BLOCK_ROWS", "ConcatRows", "RowView", "ShardedArray", "augmented_column",
           "iter_rows", "store_column"]

#: Rows per block of the streaming passes (a 512-d float64 block: 128 MiB).
BLOCK_ROWS = 32768


@dataclass(frozen=True)
class _Member:
    """Where a shard's column lies: byte offset of its data, dtype, shape."""

    path: Path
    offset: int
    dtype: np.dtype
    shape: tuple[int, ...]


def _locate(path: Path, column: str) -> _Member:
    """Offset, dtype and shape of ``column`` in the uncompressed ``.npz`` at ``path``.

    Raises
    ------
    EdgeSEAError
        The file is missing, not a zip, compressed, lacks the column or is damaged.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo(column + ".npy")
        if info.compress_type != zipfile.ZIP_STORED:
            raise EdgeSEAError(f"shard {path} is compressed: column {column!r} cannot be "
                               "read in place (stores are written with np.savez)")
        with open(path, "rb") as f:
            f.seek(info.header_offset)
            local = f.read(30)
            if len(local) != 30 or local[:4] != b"PK\x03\x04":
                raise ValueError("bad local file header")
            n_name, n_extra = struct.unpack("<HH", local[26:30])
            f.seek(info.header_offset + 30 + n_name + n_extra)
            version = np.lib.format.read_magic(f)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read(f)
            offset = f.tell()
    except FileNotFoundError as e:
        raise EdgeSEAError(f"shard {path} listed as complete is missing: rerun the stage "
                           "that writes it") from e
    except EdgeSEAError:
        raise
    except Exception as e:  # zipfile / npy header / KeyError: a damaged file
        raise EdgeSEAError(f"shard {path} is corrupt or incomplete ({type(e).__name__}: {e})"
                           ": rerun the stage that writes it") from e
    if fortran and len(shape) > 1:
        raise EdgeSEAError(f"shard {path}: column {column!r} is not in C order")
    return _Member(path, int(offset), np.dtype(dtype), tuple(int(n) for n in shape))


class ShardedArray:
    """Read-only rows of one column over shards, concatenated in order (see the module doc).

    Parameters
    ----------
    files : sequence of path
        The shard files (uncompressed ``.npz``), in order.
    n_rows : sequence of int
        Rows of each shard (the manifest's count; checked against the file).
    column : str
        The column (``.npz`` member without ``.npy``).
    dtype : dtype
        Its expected dtype.
    row_shape : tuple of int
        Its expected shape per row (``()`` for a 1-D column).
    """

    def __init__(self, files: Sequence[str | os.PathLike], n_rows: Sequence[int], column: str,
                 dtype: Any, row_shape: tuple[int, ...] = ()) -> None:
        if len(files) != len(n_rows):
            raise EdgeSEAError("ShardedArray needs one row count per shard file")
        self.files = [Path(f) for f in files]
        self.counts = np.array([int(n) for n in n_rows], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.counts)]).astype(np.int64)
        self.column, self.dtype = column, np.dtype(dtype)
        self.row_shape = tuple(int(n) for n in row_shape)
        self.row_bytes = int(np.prod(self.row_shape, dtype=np.int64)) * self.dtype.itemsize
        self._members: dict[int, _Member] = {}

    @property
    def shape(self) -> tuple[int, ...]:
        """``(rows, *row_shape)``."""
        return (int(self.starts[-1]), *self.row_shape)

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return 1 + len(self.row_shape)

    def __len__(self) -> int:
        return int(self.starts[-1])

    def __repr__(self) -> str:
        return (f"ShardedArray({self.column!r}, shape={self.shape}, dtype={self.dtype}, "
                f"shards={len(self.files)})")

    def _member(self, k: int) -> _Member:
        m = self._members.get(k)
        if m is None:
            m = _locate(self.files[k], self.column)
            want = (int(self.counts[k]), *self.row_shape)
            if m.shape != want or m.dtype != self.dtype:
                raise EdgeSEAError(f"shard {m.path} is corrupt: column {self.column!r} has "
                                   f"shape {m.shape} {m.dtype}, expected {want} {self.dtype}")
            self._members[k] = m
        return m

    def _read(self, k: int, lo: int, hi: int, out: np.ndarray) -> None:
        """Rows ``lo:hi`` of shard ``k`` into ``out`` (contiguous, ``hi - lo`` rows)."""
        m = self._member(k)
        view = memoryview(out.reshape(-1).view(np.uint8))
        want, done = (hi - lo) * self.row_bytes, 0
        with open(m.path, "rb", buffering=0) as f:
            while done < want:
                n = os.preadv(f.fileno(), [view[done:want]], m.offset + lo * self.row_bytes
                              + done)
                if n <= 0:
                    raise EdgeSEAError(f"shard {m.path} is truncated: rerun the stage that "
                                       "writes it")
                done += n

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` (clipped to the array) as a new ndarray."""
        n = len(self)
        start, stop = max(0, min(int(start), n)), max(0, min(int(stop), n))
        out = np.empty((max(0, stop - start), *self.row_shape), self.dtype)
        pos = start
        while pos < stop:
            k = int(np.searchsorted(self.starts, pos, side="right")) - 1
            hi = min(stop, int(self.starts[k + 1]))
            self._read(k, pos - int(self.starts[k]), hi - int(self.starts[k]),
                       out[pos - start:hi - start])
            pos = hi
        return out

    def take(self, rows: Any) -> np.ndarray:
        """The rows at the integer indices ``rows`` (any order, repeats allowed)."""
        idx = np.asarray(rows)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64, copy=False).reshape(-1)
        n = len(self)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"row index out of range for {n} rows")
        idx = np.where(idx < 0, idx + n, idx)
        order = np.argsort(idx, kind="stable")
        sorted_idx = idx[order]
        out = np.empty((len(idx), *self.row_shape), self.dtype)
        bounds = np.searchsorted(sorted_idx, self.starts)
        for k in np.flatnonzero(np.diff(bounds)):
            a, b = int(bounds[k]), int(bounds[k + 1])
            local = sorted_idx[a:b] - self.starts[k]
            m = self._member(int(k))
            mm = np.memmap(m.path, m.dtype, "r", offset=m.offset, shape=m.shape)
            try:
                out[order[a:b]] = mm[local]
            finally:
                mm._mmap.close()  # unmap now: touched pages leave the resident set
                del mm
        return out

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step == 1:
                return self.read(start, stop)
            return self.take(np.arange(start, stop, step))
        if isinstance(key, int | np.integer):
            return self.take(np.array([int(key)]))[0]
        if isinstance(key, tuple):
            raise EdgeSEAError("a ShardedArray is indexed by rows only")
        return self.take(key)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self.read(0, len(self))
        return arr if dtype is None else arr.astype(dtype)

    def iter_blocks(self, block_rows: int = BLOCK_ROWS) -> Iterator[tuple[int, np.ndarray]]:
        """``(start, rows start:start+block)`` over the whole array, in order."""
        for start in range(0, len(self), block_rows):
            yield start, self.read(start, start + block_rows)


def store_column(store: Any, column: str) -> ShardedArray:
    """Column ``column`` of the complete shards of an :class:`~edgesea.store.shards.EmbeddingStore`
    as a :class:`ShardedArray` (row ``i``: window id ``i``)."""
    store._columns([column])  # unknown column: EdgeSEAError
    shards = store._complete_shards()
    row_shape = (store.emb_dim,) if column == "embedding" else ()
    return ShardedArray([store.root / s["file"] for s in shards],
                        [int(s["n_rows"]) for s in shards], column,
                        store.column_dtype(column), row_shape)


def augmented_column(out_dir: str | os.PathLike, column: str) -> ShardedArray:
    """Column ``column`` (``embedding``, ``student_audio``, ...) of a complete augmented
    store (:mod:`edgesea.augment.bank`) as a :class:`ShardedArray`."""

    out = Path(out_dir)
    manifest = read_sharded_manifest(out, "edgesea augmented store")
    shards = manifest.get("shards") or []
    if any(s.get("status") != "complete" for s in shards):
        raise EdgeSEAError(f"{out} is incomplete: rerun the augmentation to finish it")
    if not shards:
        raise EdgeSEAError(f"{out} holds no augmented windows")
    first = _locate(out / shards[0]["file"], column)
    return ShardedArray([out / s["file"] for s in shards], [int(s["n_rows"]) for s in shards],
                        column, first.dtype, first.shape[1:])


class RowView:
    """Rows ``rows`` of ``base`` (an ndarray, memory map or :class:`ShardedArray`), read on
    indexing: ``view[i] == base[rows[i]]`` without copying ``base``."""

    def __init__(self, base: Any, rows: Any) -> None:
        self.base, self.rows = base, np.asarray(rows, dtype=np.int64).reshape(-1)
        self.dtype = np.dtype(base.dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        """``(len(rows), *base.shape[1:])``."""
        return (len(self.rows), *tuple(self.base.shape[1:]))

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key: Any) -> np.ndarray:
        rows = self.rows[key]
        if np.ndim(rows) == 0:
            return np.asarray(self.base[np.array([rows])])[0]
        return np.asarray(self.base[rows])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = np.asarray(self.base[self.rows])
        return arr if dtype is None else arr.astype(dtype)


class ConcatRows:
    """The rows of several arrays (same row shape) one after the other, read on indexing."""

    def __init__(self, parts: Sequence[Any]) -> None:
        self.parts = list(parts)
        if not self.parts or len({tuple(p.shape[1:]) for p in self.parts}) != 1:
            raise EdgeSEAError("ConcatRows needs arrays of the same row shape")
        self.starts = np.concatenate([[0], np.cumsum([len(p) for p in self.parts])])
        self.dtype = np.result_type(*[p.dtype for p in self.parts])

    @property
    def shape(self) -> tuple[int, ...]:
        """``(total rows, *row shape)``."""
        return (int(self.starts[-1]), *tuple(self.parts[0].shape[1:]))

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    def __len__(self) -> int:
        return int(self.starts[-1])

    def __getitem__(self, key: Any) -> np.ndarray:
        n = len(self)
        idx = np.arange(*key.indices(n)) if isinstance(key, slice) else np.asarray(key)
        scalar = np.ndim(idx) == 0
        idx = np.atleast_1d(idx).astype(np.int64, copy=False)
        idx = np.where(idx < 0, idx + n, idx)
        out = np.empty((len(idx), *self.shape[1:]), self.dtype)
        part = np.searchsorted(self.starts, idx, side="right") - 1
        for p in np.unique(part):
            sel = np.flatnonzero(part == p)
            out[sel] = np.asarray(self.parts[p][idx[sel] - self.starts[p]])
        return out[0] if scalar else out


def iter_rows(x: Any, rows: np.ndarray | None = None, block_rows: int = BLOCK_ROWS
              ) -> Iterator[np.ndarray]:
    """Blocks of ``x[rows]`` (all rows when None), in order, ``block_rows`` at a time."""
    n = len(x) if rows is None else len(rows)
    for i in range(0, n, block_rows):
        sel = slice(i, min(n, i + block_rows))
        yield np.asarray(x[sel] if rows is None else x[rows[sel]])
