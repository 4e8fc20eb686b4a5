"""Writer-side integrity of embedding stores (:mod:`edgesea.store`): one writer at a time,
and the content fingerprints that tell which files changed since their rows were computed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import EdgeSEAError

__all__ = ["LOCK_FILE", "content_changed", "file_content", "writer_lock"]

#: The lock file a store's writer holds (``fcntl.flock``), holding the writer's pid.
LOCK_FILE = ".writer.lock"


@contextlib.contextmanager
def writer_lock(root: str | os.PathLike) -> Iterator[None]:
    """Hold the store's writer lock (``ROOT/.writer.lock``, created) for the ``with`` block.

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
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        else:
            warnings.warn(f"the file system of {root} does not support locks: make sure no "
                          "other process writes this store", stacklevel=3)
        yield
    finally:
        os.close(fd)  # releases the lock


def file_content(path: str | os.PathLike) -> dict[str, Any]:
    """The ``content`` fingerprint of a file: ``{"size", "mtime_ns", "sha256"}``.

    ``sha256`` hashes the file's bytes (read in chunks); it is None (and ``size``,
    ``mtime_ns`` too if the file cannot be stat'ed) when the file cannot be read, so the
    failure is recorded rather than raised.
    """
    try:
        st = os.stat(path)
    except OSError:
        return {"size": None, "mtime_ns": None, "sha256": None}
    try:
        with open(path, "rb") as fh:
            digest: str | None = hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        digest = None
    return {"size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns), "sha256": digest}


def content_changed(recorded: Any, current: dict[str, Any]) -> bool:
    """Whether a file's rows, computed from content ``recorded`` (a manifest entry's
    ``content``; None or absent: unknown), are stale for its ``current`` content."""
    if not isinstance(recorded, dict):
        return True
    return (recorded.get("sha256") != current["sha256"]
            or recorded.get("size") != current["size"])
