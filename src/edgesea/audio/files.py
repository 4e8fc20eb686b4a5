"""Audio file sets: every file under a folder, recording groups of a dataset's files, and the
check that refuses upstream audio taken from an excluded (e.g. evaluation) folder."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import numpy as np

from edgesea.core.fileio import walk_real_dirs
from edgesea.errors import EdgeSEAError
from edgesea.store.integrity import file_content

__all__ = ["check_excluded", "files_under", "recording_groups"]

_US8K = re.compile(r"^(\d+)-\d+-\d+-\d+$")


def recording_groups(paths: list[str], group_by: str = "auto") -> np.ndarray:
    """Recording id (int) of each file: see :attr:`SpecializeConfig.group_by`."""
    stems = [Path(p).stem for p in paths]
    if group_by == "auto":
        group_by = "urbansound8k" if stems and all(_US8K.match(s) for s in stems) else "file"
    if group_by == "urbansound8k":
        bad = [p for p, s in zip(paths, stems, strict=True) if not _US8K.match(s)]
        if bad:
            raise EdgeSEAError(f"group_by='urbansound8k' needs FSID-CLASS-OCC-SLICE file names; "
                               f"not: {bad[:3]}")
        names = [_US8K.match(s).group(1) for s in stems]
    else:
        names = list(paths)
    _, ids = np.unique(np.array(names), return_inverse=True)
    return ids.astype(np.int64)


def files_under(path: str) -> list[str]:
    """Every regular file at or under ``path`` (real paths; links followed, each real folder
    visited once)."""
    if os.path.isfile(path):
        return [path]
    found = []
    for _, real, _, filenames in walk_real_dirs(path):
        found += [p for p in (os.path.join(real, n) for n in filenames) if os.path.isfile(p)]
    return found


def check_excluded(audio_dir: str | os.PathLike, files: list[str],
                   exclude: list[str | os.PathLike]) -> None:
    """Refuse upstream audio that lies in an excluded folder (e.g. an evaluation test fold)
    or that is a byte-identical copy of an excluded file under another name or folder.

    Parameters
    ----------
    audio_dir : path
        Folder the ``files`` paths are relative to.
    files : list of str
        The upstream files.
    exclude : list of path
        Excluded folders (walked recursively, links followed) or files; each must exist.

    Raises
    ------
    EdgeSEAError
        If an excluded path does not exist, an upstream file lies inside an excluded folder,
        or an upstream file has the same bytes (sha256) as an excluded file.

    Notes
    -----
    Content is compared as file bytes: only upstream files whose size equals some excluded
    file's are hashed (with :func:`edgesea.store.integrity.file_content`, whose digests the
    embed stage then reuses), and excluded files only when some upstream file has their
    size. The same audio re-encoded (another format, container, rate or bit depth) or
    trimmed has other bytes and is *not* detected: comparing decoded samples would mean
    decoding every upstream file, and re-encoding changes the samples anyway.
    """
    audio_dir = Path(audio_dir)
    upstream = [(f, os.path.realpath(audio_dir / f)) for f in files]
    by_size: dict[int, list[str]] = {}
    for bad in exclude:
        real = os.path.realpath(bad)
        if not os.path.exists(real):
            raise EdgeSEAError(f"excluded folder {bad} does not exist: --exclude takes an "
                               "existing folder (or file) of evaluation audio")
        root = real.rstrip(os.sep) + os.sep
        hits = [f for f, r in upstream if r == real or r.startswith(root)]
        if hits:
            raise EdgeSEAError(f"{len(hits)} upstream files lie in the excluded folder {bad} "
                               f"(e.g. {hits[0]}): evaluation audio must never be used to "
                               "sample, augment or train")
        for p in files_under(real):
            with contextlib.suppress(OSError):
                by_size.setdefault(os.path.getsize(p), []).append(p)
    copies = []
    for f, r in upstream:
        try:
            same_size = by_size.get(os.path.getsize(r))
        except OSError:
            continue  # unreadable: the embed stage records it as failed
        if not same_size:
            continue
        digest = file_content(r)["sha256"]
        twin = next((q for q in same_size
                     if digest is not None and file_content(q)["sha256"] == digest), None)
        if twin is not None:
            copies.append((f, twin))
    if copies:
        f, twin = copies[0]
        more = f" and {len(copies) - 1} more" if len(copies) > 1 else ""
        raise EdgeSEAError(
            f"upstream file {f} has the same content (sha256) as the excluded file {twin}"
            f"{more}: a copy of evaluation audio must never be used to sample, augment or "
            "train; remove the copies from the upstream folder (only byte-identical copies "
            "are detected, not the same audio re-encoded)")
