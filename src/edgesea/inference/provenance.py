"""The provenance of an embedding output: what produced it, and whether it can be reused.

An output ``.npz`` of :func:`edgesea.inference.process.process_file` records (in ``provenance``) the
model's identity, ``emb_dim``, ``hop_size``, ``center``, its source file's name, size,
mtime_ns and sha256 (:func:`source_info`), and the edgesea version
(:func:`make_provenance`). :func:`differences` says why an existing output may not be reused
(empty: it may): every field but the version must match, the source by its content hash, or
by size and mtime for outputs that predate it; :func:`refusal` words the error.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from edgesea._version import __version__
from edgesea.core.fileio import NPZ_READ_ERRORS
from edgesea.store.integrity import file_content

__all__ = ["MATCH_KEYS", "differences", "make_provenance", "read_provenance", "refusal",
           "source_info"]

#: The provenance fields that must match for an output to be reused.
MATCH_KEYS = ("model", "emb_dim", "hop_size", "center", "source", "pool")


def source_info(path: str | os.PathLike) -> dict[str, Any]:
    """``{"name", "size", "mtime_ns", "sha256"}`` of an audio file (raises ``OSError`` if
    missing): the content's hash, so that a file whose bytes changed under the same size and
    mtime (``cp -p``, rsync) is embedded again."""

    st = os.stat(path)
    digest = file_content(path)["sha256"]
    return {"name": os.path.basename(os.fspath(path)), "size": int(st.st_size),
            "mtime_ns": int(st.st_mtime_ns), "sha256": digest}


def _same_source(old: Any, new: Any) -> bool:
    """Whether two provenance sources are the same file content: by sha256 when both have
    it (the modification time then does not matter), else by size and mtime (outputs of
    edgesea versions that did not record the hash)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return old == new
    if old.get("sha256") and new.get("sha256"):
        keys = ("name", "size", "sha256")
    else:
        keys = ("name", "size", "mtime_ns")
    return all(old.get(k) == new.get(k) for k in keys)


def make_provenance(model_id: str, emb_dim: int, hop_size: float, center: bool,
                    source: dict[str, Any], pool: tuple[str, ...] = ()) -> dict[str, Any]:
    """The provenance record of one output (see the module docstring); ``pool`` (the clip
    embedding's statistics) only when there is one."""
    out = {"model": model_id, "emb_dim": int(emb_dim), "hop_size": float(hop_size),
           "center": bool(center), "source": dict(source), "edgesea": __version__}
    return out | ({"pool": list(pool)} if pool else {})


def read_provenance(path: str | os.PathLike) -> dict[str, Any] | None:
    """The provenance of an existing output, or None if it has none (or is unreadable)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if "provenance" not in z.files:
                return None
            value = z["provenance"]
        if value.shape != () or value.dtype.kind != "U":
            return None
        data = json.loads(str(value[()]))
    except NPZ_READ_ERRORS:  # damaged in any way: treated as having no provenance
        return None
    return data if isinstance(data, dict) else None


def differences(existing: dict[str, Any] | None, wanted: dict[str, Any]) -> list[str]:
    """What differs between an output's provenance and the run's (empty: reusable)."""
    if existing is None:
        return ["it holds no provenance (written by an older edgesea or another tool)"]
    diffs = []
    for key in MATCH_KEYS:
        old, new = existing.get(key), wanted.get(key)
        if old == new or (key == "source" and _same_source(old, new)):
            continue
        if key == "model":
            diffs.append(f"another model ({str(old)[:12]}, this run {str(new)[:12]})")
        elif key == "source":
            diffs.append("its source file changed since (its content, size or name)")
        else:
            diffs.append(f"{key}={old!r} (this run {key}={new!r})")
    return diffs


def refusal(out: str, diffs: list[str]) -> str:
    """The error of an output that exists but was not made by this run's settings."""
    made = diffs[0] if len(diffs) == 1 and diffs[0].startswith("it holds") else \
        "it was made with " + ", ".join(diffs)
    return (f"{out} exists but {made}: pass overwrite=True (--overwrite) to replace it, or a "
            "different suffix (suffix=..., -x/--suffix) to keep both")
