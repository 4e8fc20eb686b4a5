"""Embedding stores: teacher embeddings of a folder of audio, on disk, in shards.

A store is a directory written by :func:`edgesea.extract.run.extract`, readable with nothing but
``json`` and ``numpy``::

    STORE/
      manifest.json
      shards/shard-00000.npz
      shards/shard-00001.npz
      ...

``manifest.json`` (UTF-8 JSON object)
    ``format``: ``"edgesea-embedding-store"``; ``format_version``: 1, or 2 for a store whose
    embeddings are float16 (readers refuse newer). ``embedding_dtype`` (optional, version 2
    only): ``"float16"`` (half the disk of the default ``"float32"``; see
    :data:`EMBEDDING_DTYPES`).
    ``teacher``: ``{"name", "identity", "sample_rate", "window", "emb_dim"}`` (``identity``
    is a hash of the teacher's weights and preprocessing; ``window`` in seconds).
    ``hop_size`` (seconds), ``center`` (bool): the windowing of
    :func:`edgesea.audio.io.frame_audio`. ``files_per_shard`` (int).
    ``files``: the source files, sorted by path, one object each: ``path`` (relative to the
    audio folder, ``/``-separated), ``shard`` (index into ``shards``), ``status``
    (``"pending"``, ``"ok"`` or ``"failed"``), ``duration_s`` (seconds of audio in the
    file, null unless ok), ``n_windows`` (rows of this file, 0 unless ok), ``error`` (the
    reason a file failed, else null), ``content`` (the fingerprint of the file's bytes its
    rows were computed from: ``{"size": bytes, "mtime_ns": int, "sha256": hex digest of
    the whole file}``, ``sha256`` null if the file could not be read;
    :func:`edgesea.store.integrity.file_content`; null while pending;
    absent in stores written before edgesea recorded it, which count as changed). A rerun
    recomputes the shards of files whose size or ``sha256`` changed (an ``mtime_ns`` change
    alone is only recorded). Shard ``k`` holds files
    ``k * files_per_shard ... (k + 1) * files_per_shard - 1``.
    ``shards``: one object per shard: ``file`` (path relative to the store, e.g.
    ``"shards/shard-00000.npz"``), ``first_file``, ``n_files``, ``status``
    (``"pending"`` or ``"complete"``) and ``n_rows``. Only ``"complete"`` shards exist and
    count; a pending shard's file, if any, is stale and ignored.

``shards/shard-NNNNN.npz`` (``np.savez``, uncompressed; one row per window)
    ``file_index`` int32 (B,): index into ``manifest["files"]``.
    ``timestamp_s`` float64 (B,): the window's timestamp, ``t * hop_size`` for the ``t``-th
    window of its file (as :func:`edgesea.get_embedding` returns).
    ``start_s`` float64 (B,): where the window starts in the source file, in seconds:
    ``timestamp_s - (window_samples // 2) / sample_rate`` when ``center`` (window ``t`` is
    centred on ``timestamp_s``; the first starts before 0, in zero padding), else
    ``timestamp_s``; ``window_samples = round(window * sample_rate)`` of the teacher.
    ``embedding`` float32 (B, emb_dim): the teacher's embedding (float16 when the manifest's
    ``embedding_dtype`` says so).
    ``laeq_db`` float32 (B,): A-weighted equivalent level of the window in dBFS
    (:func:`edgesea.audio.loudness.laeq`, computed on the same window at the teacher's rate).

Rows are ordered by file, then by time. A window's global id (:attr:`EmbeddingStore.window_ids`)
is its row number when the complete shards are concatenated in shard order. Reading
without edgesea::

    m = json.load(open("STORE/manifest.json"))
    for s in m["shards"]:
        if s["status"] == "complete":
            with np.load("STORE/" + s["file"]) as z:
                emb, files = z["embedding"], [m["files"][i]["path"] for i in z["file_index"]]

Every file is written atomically (a ``.tmp-<pid>-*`` file in the same folder, then
``os.replace``; see :mod:`edgesea.core.fileio`), and the manifest is rewritten after each shard,
so a killed writer leaves only complete shards plus temp files that the next run deletes
(only those of writers no longer running). One process writes a store at a time: a writer
holds an exclusive ``fcntl.flock`` on ``STORE/.writer.lock`` (which holds its pid) while it
runs, and a second writer is refused (:func:`edgesea.store.integrity.writer_lock`).
Readers take no lock.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgesea.core.fileio import atomic_path, clean_stale_temps
from edgesea.core.safe_json import check_shards, read_json
from edgesea.errors import EdgeSEAError
from edgesea.store.integrity import check_manifest_entries

__all__ = ["COLUMNS", "EMBEDDING_DTYPES", "FORMAT", "FORMAT_VERSION", "EmbeddingStore",
           "FileEntry", "new_manifest", "read_manifest", "settings_differences",
           "shard_rows", "write_manifest", "write_shard"]

FORMAT = "edgesea-embedding-store"
FORMAT_VERSION = 1
#: The newest version this edgesea reads (2: float16 embeddings, ``embedding_dtype``).
READ_VERSION = 2
#: Dtypes the ``embedding`` column may have on disk (the manifest's ``embedding_dtype``).
EMBEDDING_DTYPES = ("float32", "float16")
MANIFEST = "manifest.json"
SHARD_DIR = "shards"
#: Shard columns and their dtypes (``embedding`` is 2-D, the others 1-D).
COLUMNS: dict[str, np.dtype] = {"file_index": np.dtype(np.int32),
                                "start_s": np.dtype(np.float64),
                                "timestamp_s": np.dtype(np.float64),
                                "embedding": np.dtype(np.float32),
                                "laeq_db": np.dtype(np.float32)}


def shard_file(index: int) -> str:
    """The path of shard ``index`` relative to the store: ``shards/shard-NNNNN.npz``."""
    return f"{SHARD_DIR}/shard-{index:05d}.npz"


def _write_atomic(path: Path, write: Any) -> None:
    """Call ``write(binary_file)`` on a temp file beside ``path``, then rename it (a full
    disk is an :class:`EdgeSEAError`; see :func:`edgesea.core.fileio.atomic_path`)."""
    with atomic_path(path, suffix=path.suffix) as tmp, open(tmp, "wb") as fh:
        write(fh)


def write_shard(root: str | os.PathLike, index: int, columns: dict[str, np.ndarray],
                embedding_dtype: str = "float32") -> Path:
    """Write shard ``index`` of the store at ``root`` atomically; returns its path.

    ``columns`` must hold every column of :data:`COLUMNS` (cast to the documented dtypes;
    the embedding to ``embedding_dtype``, one of :data:`EMBEDDING_DTYPES`).
    """
    missing = set(COLUMNS) - set(columns)
    if missing:
        raise EdgeSEAError(f"shard {index} lacks columns {sorted(missing)}")
    if embedding_dtype not in EMBEDDING_DTYPES:
        raise EdgeSEAError(f"embedding_dtype must be one of {EMBEDDING_DTYPES}, got "
                           f"{embedding_dtype!r}")
    dtypes = {**COLUMNS, "embedding": np.dtype(embedding_dtype)}
    arrays = {k: np.ascontiguousarray(columns[k], dtype=dt) for k, dt in dtypes.items()}
    path = Path(root) / shard_file(index)
    _write_atomic(path, lambda fh: np.savez(fh, **arrays))
    return path


def write_manifest(root: str | os.PathLike, manifest: dict[str, Any]) -> None:
    """Write ``manifest.json`` atomically."""
    text = json.dumps(manifest, indent=1, allow_nan=False) + "\n"
    _write_atomic(Path(root) / MANIFEST, lambda fh: fh.write(text.encode("utf-8")))


def read_manifest(root: str | os.PathLike) -> dict[str, Any]:
    """Read and check ``manifest.json`` of the store at ``root``.

    Raises
    ------
    EdgeSEAError
        Missing, not valid JSON, not an embedding store, or of a newer format version.
    """
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise EdgeSEAError(f"{root} is not an embedding store: {MANIFEST} not found")
    # bounded size and nesting, valid text (one reader for every manifest edgesea reads)
    manifest = read_json(path, "embedding store manifest")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise EdgeSEAError(f"{path} is not an edgesea embedding store manifest "
                           f"(format {found!r}, expected {FORMAT!r})")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > READ_VERSION:
        raise EdgeSEAError(f"{path} has store format version {version!r}; this edgesea reads "
                           f"versions up to {READ_VERSION}. Upgrade edgesea to read it.")
    if manifest.get("embedding_dtype", "float32") not in EMBEDDING_DTYPES:
        raise EdgeSEAError(f"{path} is corrupt: embedding_dtype "
                           f"{manifest.get('embedding_dtype')!r} is not one of "
                           f"{EMBEDDING_DTYPES}")
    for key in ("teacher", "hop_size", "center", "files", "shards"):
        if key not in manifest:
            raise EdgeSEAError(f"{path} is corrupt: no {key!r} entry")
    check_manifest_entries(manifest, path)
    check_shards(root, manifest, f"{path}")  # no shard path outside the store
    return manifest




def shard_rows(path: str | os.PathLike) -> int | None:
    """Row count of a shard file, or None if it is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return int(z["file_index"].shape[0])
    except Exception:  # missing, truncated, not a zip, no such key: not a usable shard
        return None


def clean_temp_files(root: str | os.PathLike) -> int:
    """Delete the ``.tmp-*`` files of killed writers in ``root`` and its shard folder.

    Only files whose writer is no longer running are deleted
    (:func:`edgesea.core.fileio.clean_stale_temps`): a live writer's in-flight file is kept.
    """
    return sum(clean_stale_temps(folder) for folder in (Path(root), Path(root) / SHARD_DIR))


def new_manifest(settings: dict[str, Any], files: Sequence[str], **info: Any) -> dict[str, Any]:
    """A manifest with every file and shard pending.

    Parameters
    ----------
    settings : dict
        ``teacher``, ``hop_size``, ``center`` and ``files_per_shard`` (and optionally
        ``embedding_dtype``: ``"float16"`` makes a version 2 store).
    files : sequence of str
        Sorted relative paths of the source files.
    **info
        Extra informative entries (e.g. ``audio_dir``, ``edgesea_version``).
    """
    fps = int(settings["files_per_shard"])
    shards = [{"file": shard_file(k), "first_file": first,
               "n_files": min(fps, len(files) - first), "status": "pending", "n_rows": 0}
              for k, first in enumerate(range(0, len(files), fps))]
    entries = [{"path": f, "shard": i // fps, "status": "pending", "duration_s": None,
                "n_windows": 0, "error": None, "content": None} for i, f in enumerate(files)]
    version = 2 if settings.get("embedding_dtype", "float32") != "float32" else FORMAT_VERSION
    return {"format": FORMAT, "format_version": version, **settings, **info,
            "files": entries, "shards": shards}


def settings_differences(manifest: dict[str, Any], settings: dict[str, Any],
                         files: Sequence[str]) -> list[str]:
    """Human-readable differences between a manifest and new settings + file list
    (empty when a run may resume into the store)."""
    diffs = [f"{k}: {manifest.get(k)!r} in the store, {v!r} now" for k, v in settings.items()
             if manifest.get(k) != v]
    old = [f.get("path") for f in manifest.get("files", [])]
    if old != list(files):
        added, removed = len(set(files) - set(old)), len(set(old) - set(files))
        diffs.append(f"file list: {len(old)} files in the store, {len(files)} now "
                     f"({added} added, {removed} removed)")
    return diffs


@dataclass(frozen=True)
class FileEntry:
    """One source file of a store (see the module docstring for the fields)."""

    index: int
    path: str
    shard: int
    status: str
    duration_s: float | None
    n_windows: int
    error: str | None


class EmbeddingStore:
    """Read access to an embedding store directory (see the module docstring).

    Use :meth:`open`. Only complete shards are read, so a store being written (or left by
    an interrupted run) can be read too; :attr:`complete` says whether every shard is done.
    """

    def __init__(self, root: str | os.PathLike, manifest: dict[str, Any]) -> None:
        self.root = Path(root)
        self.manifest = manifest
        self.teacher: dict[str, Any] = dict(manifest["teacher"])
        self.hop_size = float(manifest["hop_size"])
        self.center = bool(manifest["center"])

    @classmethod
    def open(cls, root: str | os.PathLike) -> EmbeddingStore:
        """Open the store at ``root`` (reads and checks the manifest only)."""
        return cls(root, read_manifest(root))

    def __repr__(self) -> str:
        return (f"EmbeddingStore({str(self.root)!r}, teacher={self.teacher.get('name')!r}, "
                f"files={len(self.manifest['files'])}, windows={len(self)}, "
                f"complete={self.complete})")

    @property
    def emb_dim(self) -> int:
        """Embedding dimension."""
        return int(self.teacher["emb_dim"])

    @property
    def sample_rate(self) -> int:
        """The teacher's sample rate (windows and LAeq were computed at it)."""
        return int(self.teacher["sample_rate"])

    @property
    def window(self) -> float:
        """Window length in seconds."""
        return float(self.teacher["window"])

    @property
    def embedding_dtype(self) -> np.dtype:
        """The dtype of the ``embedding`` column on disk (float32, or float16)."""
        return np.dtype(self.manifest.get("embedding_dtype", "float32"))

    def column_dtype(self, column: str) -> np.dtype:
        """The dtype of ``column`` in this store's shards."""
        return self.embedding_dtype if column == "embedding" else COLUMNS[column]

    @property
    def files(self) -> list[FileEntry]:
        """The per-file table, in file-index order."""
        return [FileEntry(i, f["path"], int(f["shard"]), f["status"], f.get("duration_s"),
                          int(f.get("n_windows") or 0), f.get("error"))
                for i, f in enumerate(self.manifest["files"])]

    @property
    def complete(self) -> bool:
        """True when every shard has been written."""
        return all(s["status"] == "complete" for s in self.manifest["shards"])

    def _complete_shards(self) -> list[dict[str, Any]]:
        return [s for s in self.manifest["shards"] if s["status"] == "complete"]

    def __len__(self) -> int:
        """Number of windows (rows) in the complete shards."""
        return sum(int(s["n_rows"]) for s in self._complete_shards())

    @property
    def window_ids(self) -> np.ndarray:
        """Stable int64 id of every row: its position in shard order (``arange(len)``)."""
        return np.arange(len(self), dtype=np.int64)

    def _columns(self, columns: Sequence[str] | None) -> list[str]:
        cols = list(COLUMNS) if columns is None else list(columns)
        unknown = [c for c in cols if c not in COLUMNS]
        if unknown:
            raise EdgeSEAError(f"unknown store column(s) {unknown}: expected some of "
                               f"{list(COLUMNS)}")
        return cols

    def _read_shard(self, shard: dict[str, Any], cols: list[str]) -> dict[str, np.ndarray]:
        path = self.root / shard["file"]
        n = int(shard["n_rows"])
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {c: z[c] for c in cols}
        except FileNotFoundError as e:
            raise EdgeSEAError(f"shard {path} listed as complete in the manifest is missing: "
                               "rerun the extraction to rebuild it") from e
        except Exception as e:  # zipfile/npy/KeyError: a damaged file
            raise EdgeSEAError(f"shard {path} is corrupt or incomplete ({type(e).__name__}: "
                               f"{e}): rerun the extraction to rebuild it") from e
        for c, arr in data.items():
            shape = (n, self.emb_dim) if c == "embedding" else (n,)
            if arr.shape != shape or arr.dtype != self.column_dtype(c):
                raise EdgeSEAError(f"shard {path} is corrupt: column {c!r} has shape "
                                   f"{arr.shape} {arr.dtype}, expected {shape} "
                                   f"{self.column_dtype(c)}")
        return data

    def iter_shards(self, columns: Sequence[str] | None = None
                    ) -> Iterator[dict[str, np.ndarray]]:
        """Yield the columns of each complete shard, in shard order.

        Parameters
        ----------
        columns : sequence of str, optional
            Columns to read (default: all of :data:`COLUMNS`).

        Raises
        ------
        EdgeSEAError
            A complete shard is missing, corrupt, or does not match the manifest.
        """
        cols = self._columns(columns)
        for shard in self._complete_shards():
            yield self._read_shard(shard, cols)

    def load(self, columns: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """All complete shards' columns, concatenated in shard order (row ``i`` has window
        id ``i``). Empty arrays of the right dtype and width if nothing is complete."""
        cols = self._columns(columns)
        parts: dict[str, list[np.ndarray]] = {c: [] for c in cols}
        for data in self.iter_shards(cols):
            for c in cols:
                parts[c].append(data[c])
        out = {}
        for c in cols:
            empty = np.zeros((0, self.emb_dim) if c == "embedding" else (0,),
                             self.column_dtype(c))
            out[c] = np.concatenate(parts[c]) if parts[c] else empty
        return out
