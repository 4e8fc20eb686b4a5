"""Atomic file writing: nothing half-written is ever left under a final name.

Temporary files are named ``.tmp-<pid>-<random><suffix>`` beside their destination, so a
later run can tell the leftovers of a killed writer (its process is gone) from the in-flight
files of a writer still running (:func:`clean_stale_temps` removes only the former).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edgesea.errors import EdgeSEAError

__all__ = [
    "TMP_PREFIX",
    "atomic_path",
    "chmod_like_new_file",
    "clean_stale_temps",
    "disk_full_error",
    "is_disk_full",
    "make_temp",
    "pid_alive",
    "walk_real_dirs",
    "write_json",
    "write_npy",
]

#: Prefix of every temporary file edgesea writes.
TMP_PREFIX = ".tmp-"
_TMP_RE = re.compile(r"^\.tmp-(\d+)-")


def chmod_like_new_file(path: str | os.PathLike) -> None:
    """Give a ``mkstemp`` file (mode 0600) the mode a plain ``open()`` would: 0666 & ~umask."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def make_temp(directory: str | os.PathLike, suffix: str = "") -> tuple[int, str]:
    """``(fd, path)`` of a new temporary file in ``directory``, named after this process."""
    return tempfile.mkstemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", suffix=suffix,
                            dir=directory)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def clean_stale_temps(folder: str | os.PathLike, recursive: bool = False) -> int:
    """Delete the temporary files of killed writers in ``folder``; returns how many.

    A file ``.tmp-<pid>-*`` is deleted only when process ``pid`` no longer runs (or is this
    process's id reused by a dead one: never this process's own files); files of the older
    ``.tmp-<random>`` naming carry no owner and are deleted when older than an hour.
    """
    import time

    root = Path(folder)
    if not root.is_dir():
        return 0
    removed = 0
    candidates = root.rglob(TMP_PREFIX + "*") if recursive else root.glob(TMP_PREFIX + "*")
    for p in candidates:
        try:
            if not p.is_file():
                continue
            m = _TMP_RE.match(p.name)
            if m:
                pid = int(m.group(1))
                if pid == os.getpid() or pid_alive(pid):
                    continue
            elif time.time() - p.stat().st_mtime < 3600:
                continue
            p.unlink()
            removed += 1
        except FileNotFoundError:  # removed by another cleaner meanwhile
            continue
    return removed


#: How writers that are not Python's own report a full disk: torch's zip writer
#: (``PytorchStreamWriter failed writing file ...: file write failed``, or ``[enforce fail at
#: inline_container.cc] . unexpected pos N vs M`` after a short write) and safetensors
#: (``I/O error: No space left on device (os error 28)``, ``File too large (os error 27)``).
_FULL_MESSAGES = ("no space left on device", "storagefull", "os error 28", "code: 28",
                  "file write failed", "filetoolarge", "os error 27", "code: 27",
                  "file too large", "disk quota exceeded", "os error 122", "unexpected pos")


#: What reading a damaged ``.npz`` (a zip of ``.npy``) can raise besides a clean refusal:
#: the zip layer (bad or unsupported entries, corrupt compressed data), the ``.npy`` header,
#: a short read. Readers of caches catch these and treat the file as absent.
NPZ_READ_ERRORS: tuple[type[BaseException], ...] = (
    OSError, ValueError, EOFError, KeyError, IndexError, TypeError, NotImplementedError,
    RuntimeError, RecursionError, MemoryError, OverflowError, UnicodeDecodeError,
    zipfile.BadZipFile, zlib.error)


def is_disk_full(err: BaseException) -> bool:
    """Whether ``err`` says the file system is full (ENOSPC), a quota is exceeded (EDQUOT)
    or the file size limit is reached (EFBIG, ``ulimit -f``), whichever library raised it."""
    if isinstance(err, OSError) and err.errno is not None:
        return err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
    if isinstance(err, MemoryError | KeyboardInterrupt | SystemExit):
        return False
    text = str(err).lower()
    return any(m in text for m in _FULL_MESSAGES)


def disk_full_error(path: str | os.PathLike, err: BaseException,
                    needed: int | None = None) -> EdgeSEAError:
    """The :class:`EdgeSEAError` for a write to ``path`` that ran out of space (``needed``:
    the bytes the whole file takes, when known)."""
    import shutil

    folder = Path(path).parent
    try:
        free = f"{shutil.disk_usage(folder).free:,} bytes free"
    except OSError:
        free = "free space unknown"
    need = f"it needs {needed:,} bytes in {folder} " if needed is not None else ""
    why = getattr(err, "strerror", None) or str(err)[:200]
    return EdgeSEAError(f"no space left on the device writing {path} (or a quota or "
                        f"file-size limit): {need}({free}; "
                        f"{why}); nothing half-written was kept; free some "
                        "space or write to a larger disk, then rerun (finished work is "
                        "reused)")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success give it a normal umask mode and
    rename it to ``path``, on error remove it. ``suffix`` keeps writers that add an
    extension (``np.save``) pointed at the same name. A full disk (ENOSPC, EDQUOT, EFBIG,
    or the same reported by torch or safetensors: :func:`is_disk_full`) while writing
    becomes an :class:`EdgeSEAError` naming ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = make_temp(path.parent, suffix)
    os.close(fd)
    try:
        yield tmp
        chmod_like_new_file(tmp)
        os.replace(tmp, path)
    except Exception as e:  # any writer's full disk (torch, safetensors, numpy, ...)
        if not isinstance(e, EdgeSEAError) and is_disk_full(e):
            raise disk_full_error(path, e) from e
        raise
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        json.dump(data, f, indent=1)


def walk_real_dirs(root: str | os.PathLike) -> Iterator[tuple[str, str, list[str], list[str]]]:
    """``os.walk(root, followlinks=True)`` visiting each real folder once.

    Yields ``(dirpath, realpath, dirnames, filenames)``; as with :func:`os.walk`, removing
    names from ``dirnames`` in place prunes the walk. A folder reached again through a link
    (or a link cycle) is skipped with everything below it.
    """
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        yield dirpath, real, dirnames, filenames


def write_npy(path: Path, dtype: Any, shape: tuple[int, ...],
               blocks: Iterable[np.ndarray]) -> None:
    """Write the ``.npy`` file of an array of ``shape`` given as row ``blocks``, atomically.

    The header for the known shape is written first, the space is reserved with
    ``posix_fallocate`` where the file system supports it (a full disk is reported before
    any work), then each block's bytes are appended: never through a memory map, whose
    writes to a full file system kill the process with SIGBUS.

    Parameters
    ----------
    path : Path
        Destination (a temporary file beside it is renamed on success, removed on error).
    dtype : dtype
        Element type of the file (each block is cast to it).
    shape : tuple of int
        Shape of the whole array; the blocks' rows must add up to ``shape[0]``.
    blocks : iterable of ndarray
        Consecutive row blocks of shape ``(n_i, *shape[1:])``.

    Raises
    ------
    EdgeSEAError
        The disk (or quota) is full, with the bytes needed and where; or the blocks do not
        make up ``shape``.
    """
    dtype = np.dtype(dtype)
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
              "shape": tuple(int(n) for n in shape)}
    needed = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    with atomic_path(path, suffix=".npy") as tmp, open(tmp, "wb") as f:
        try:
            try:
                np.lib.format.write_array_header_1_0(f, header)
            except ValueError:  # header too long for format 1.0
                np.lib.format.write_array_header_2_0(f, header)
            f.flush()
            needed += f.tell()
            fallocate = getattr(os, "posix_fallocate", None)
            if fallocate is not None:
                try:
                    fallocate(f.fileno(), 0, needed)
                except OSError as e:  # not supported here: the writes below still report
                    if is_disk_full(e):
                        raise
            rows = 0
            for block in blocks:
                block = np.ascontiguousarray(block, dtype=dtype)
                if block.shape[1:] != tuple(shape[1:]) or rows + len(block) > shape[0]:
                    raise EdgeSEAError(f"{path}: a block of shape {block.shape} does not fit "
                                       f"an array of shape {tuple(shape)} at row {rows}")
                f.write(block.data)
                rows += len(block)
            if rows != shape[0]:
                raise EdgeSEAError(f"{path}: {rows} rows were written, expected {shape[0]}")
            f.flush()
        except OSError as e:  # inside atomic_path: the message says how much was needed
            if is_disk_full(e):
                raise disk_full_error(path, e, needed) from e
            raise
