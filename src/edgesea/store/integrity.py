"""Writer-side integrity of embedding stores (:mod:`edgesea.store.shards`): one writer at a time,
and the content fingerprints that tell which files changed since their rows were computed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from edgesea.errors import EdgeSEAError

__all__ = ["LOCK_FILE", "check_manifest_entries", "content_changed", "file_content",
           "writer_lock"]

#: The lock file a store's writer holds (``fcntl.flock``), holding the writer's pid.
LOCK_FILE = ".writer.lock"


@contextlib.contextmanager
def writer_lock(root: str | os.PathLike) -> Iterator[None]:
    """Hold the store's writer lock (``ROOT/.writer.lock``, created) for the ``with`` block;
    the file is removed when the block ends without an error (a crash leaves it, holding a
    dead pid: the next writer takes it over, as the lock itself died with the process).

    On a file system without locks (some network mounts) it only warns.

    Raises
    ------
    EdgeSEAError
        Another process holds the lock (it is writing this store), or the lock file cannot
        be opened or locked.
    """
    import fcntl

    path = Path(root) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as e:
        raise EdgeSEAError(f"cannot open the store lock {path}: {e}") from e
    try:
        locked = True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                locked = False
            elif e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
                raise EdgeSEAError(f"{root} is being written by another process (pid "
                                   f"{holder}): wait for it to finish (or stop it), or write "
                                   "another store") from None
            else:
                raise EdgeSEAError(f"cannot lock the store {root} ({path}): {e}") from e
        if locked:
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the previous holder removed it as we locked it: it has just run
                raise EdgeSEAError(f"{root} was being written by another process: run again")
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        else:
            warnings.warn(f"the file system of {root} does not support locks: make sure no "
                          "other process writes this store", stacklevel=3)
        yield
        if locked:  # a clean exit removes the lock file (still holding the lock)
            with contextlib.suppress(OSError):
                os.unlink(path)
    finally:
        os.close(fd)  # releases the lock


#: sha256 of files hashed in this process, keyed by everything a change of their bytes
#: changes: (device, inode, size, mtime_ns, ctime_ns). ``os.utime`` can restore an mtime but
#: not a ctime, so a rewritten file never matches an old key. Only files whose ctime is
#: over two seconds old when hashed are kept, so a rewrite within the same timestamp tick
#: (file systems keep ctime at millisecond granularity) cannot hit a stale entry.
_DIGESTS: dict[tuple[int, ...], str] = {}
_DIGESTS_MAX = 200_000


def file_content(path: str | os.PathLike) -> dict[str, Any]:
    """The ``content`` fingerprint of a file: ``{"size", "mtime_ns", "sha256"}``.

    ``sha256`` hashes the file's bytes (read in chunks), once per process for an unchanged
    file (``specialize`` keys its embed stage on it, then the extraction checks it); it is
    None (and ``size``, ``mtime_ns`` too if the file cannot be stat'ed) when the file cannot
    be read, so the failure is recorded rather than raised.
    """
    try:
        st = os.stat(path)
    except OSError:
        return {"size": None, "mtime_ns": None, "sha256": None}
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    digest: str | None = _DIGESTS.get(key)
    if digest is None:
        try:
            with open(path, "rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
        except OSError:
            digest = None
        if digest is not None and time.time_ns() - st.st_ctime_ns >= 2_000_000_000:
            if len(_DIGESTS) >= _DIGESTS_MAX:
                _DIGESTS.clear()
            _DIGESTS[key] = digest
    return {"size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns), "sha256": digest}


def content_changed(recorded: Any, current: dict[str, Any]) -> bool:
    """Whether a file's rows, computed from content ``recorded`` (a manifest entry's
    ``content``; None or absent: unknown), are stale for its ``current`` content."""
    if not isinstance(recorded, dict):
        return True
    return (recorded.get("sha256") != current["sha256"]
            or recorded.get("size") != current["size"])


def _is_int(v: Any, lo: int = 0) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= lo


def check_manifest_entries(manifest: dict[str, Any], path: Path) -> None:
    """Check the types and ranges of the store manifest fields readers use (teacher,
    hop_size, center, every file and shard entry); :class:`EdgeSEAError` if one is off."""
    bad = None
    hop = manifest["hop_size"]
    files, shards = manifest["files"], manifest["shards"]
    if not isinstance(manifest["teacher"], dict):
        bad = "teacher is not an object"
    elif isinstance(hop, bool) or not isinstance(hop, int | float) or not 0 < hop < 1e6:
        bad = f"hop_size={hop!r:.40}"
    elif not isinstance(manifest["center"], bool):
        bad = f"center={manifest['center']!r:.40}"
    elif not isinstance(files, list) or not isinstance(shards, list):
        bad = "files or shards is not a list"
    else:
        for i, f in enumerate(files):
            if not (isinstance(f, dict) and isinstance(f.get("path"), str)
                    and _is_int(f.get("shard")) and f["shard"] < max(len(shards), 1)
                    and isinstance(f.get("status"), str) and _is_int(f.get("n_windows", 0))
                    and (f.get("duration_s") is None or (
                        isinstance(f["duration_s"], int | float)
                        and not isinstance(f["duration_s"], bool)))
                    and (f.get("error") is None or isinstance(f["error"], str))
                    and (f.get("content") is None or isinstance(f["content"], dict))):
                bad = f"file entry {i} is malformed"
                break
        for k, sh in enumerate(shards):
            if bad is None and not (isinstance(sh, dict) and isinstance(sh.get("status"), str)
                                    and _is_int(sh.get("first_file", 0))
                                    and _is_int(sh.get("n_files", 0))):
                bad = f"shard entry {k} is malformed"
    if bad is not None:
        raise EdgeSEAError(f"{path} is corrupt: {bad} (write the store again)")
