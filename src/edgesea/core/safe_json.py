"""One validating reader for the JSON files edgesea reads back (edge specs, store and
augmentation manifests, caches): sizes, depth, text and paths are bounded before use.

:func:`read_json` refuses, with an :class:`EdgeSEAError` naming the file: a file larger than
its bound (checked with ``stat`` before reading), text that is not UTF-8 JSON, nesting deeper
than ``max_depth`` (checked on the text before Python's recursive decoder sees it), and strings
that cannot be written back out (lone surrogates such as ``"\\udcff"``).
:func:`member_path` resolves a path a file names inside a folder and refuses one that leaves
it (``../../etc/passwd``, an absolute path).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from edgesea.errors import EdgeSEAError

__all__ = ["MAX_JSON_BYTES", "MAX_JSON_DEPTH", "check_shards", "check_text", "json_depth",
           "member_path", "read_json", "read_sharded_manifest"]

#: Default bounds of :func:`read_json` (a store manifest of 100,000 files is about 30 MB).
MAX_JSON_BYTES = 256 * 1024 * 1024
MAX_JSON_DEPTH = 64


def json_depth(text: str) -> int:
    """The deepest nesting of ``[`` / ``{`` in JSON text (strings skipped), in one pass."""
    depth = deepest = 0
    in_str = escape = False
    for ch in text:
        if in_str:
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def check_text(value: Any, where: str) -> None:
    """Refuse strings (keys and values, recursively) that are not valid Unicode text."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError as e:
                raise EdgeSEAError(f"{where} holds a string that is not valid text "
                                   f"({e.reason} at {e.start}): the file is corrupt or "
                                   "was not written by edgesea") from None
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


def read_json(path: str | os.PathLike, what: str, *, max_bytes: int = MAX_JSON_BYTES,
              max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Read and check a JSON file.

    Parameters
    ----------
    path : str or PathLike
        The file.
    what : str
        What it is, for the messages (``"edge spec"``, ``"store manifest"``).
    max_bytes, max_depth : int
        Bounds of the file's size and of its nesting.

    Raises
    ------
    EdgeSEAError
        Missing, too large, not UTF-8 JSON, too deeply nested, or holding invalid text.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as e:
        raise EdgeSEAError(f"cannot read the {what} {p}: {e.strerror or e}") from e
    if size > max_bytes:
        raise EdgeSEAError(f"the {what} {p} is {size:,} bytes: more than the {max_bytes:,} "
                           "edgesea reads (corrupt, or not this kind of file)")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise EdgeSEAError(f"cannot read the {what} {p}: {e}") from e
    depth = json_depth(text)
    if depth > max_depth:
        raise EdgeSEAError(f"the {what} {p} is nested {depth} levels deep: at most "
                           f"{max_depth} (corrupt, or not this kind of file)")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise EdgeSEAError(f"the {what} {p} is not valid JSON ({str(e)[:120]}): corrupt or "
                           "truncated; write it again") from None
    check_text(value, f"the {what} {p}")
    return value


def member_path(root: str | os.PathLike, rel: Any, what: str) -> Path:
    """``root / rel`` when ``rel`` is a relative path that stays inside ``root`` as written
    (no absolute path, no ``..`` that climbs out), else an :class:`EdgeSEAError`. Links inside
    the folder are the folder owner's choice and are followed as they are."""
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        raise EdgeSEAError(f"{what}: invalid path {rel!r:.80}: expected a relative path")
    norm = os.path.normpath(rel)
    if os.path.isabs(rel) or norm == ".." or norm.startswith(".." + os.sep):
        raise EdgeSEAError(f"{what}: the path {rel!r:.80} points outside {root}: refusing to "
                           "read it (the manifest is corrupt or was tampered with)")
    return Path(root) / norm


def check_shards(root: str | os.PathLike, manifest: Any, what: str) -> list[dict[str, Any]]:
    """The ``shards`` of a store manifest, each a dict whose ``file`` stays inside ``root``
    (:func:`member_path`) and whose ``n_rows`` is a count."""
    shards = manifest.get("shards") if isinstance(manifest, dict) else None
    if not isinstance(shards, list) or not all(isinstance(sh, dict) for sh in shards):
        raise EdgeSEAError(f"{what}: 'shards' is not a list of shard entries (corrupt)")
    for sh in shards:
        member_path(root, sh.get("file"), what)
        rows = sh.get("n_rows", 0)
        if isinstance(rows, bool) or not isinstance(rows, int) or not 0 <= rows <= 1 << 40:
            raise EdgeSEAError(f"{what}: shard {sh.get('file')!r:.60} has n_rows={rows!r:.40} "
                               "(corrupt)")
    return shards


def read_sharded_manifest(root: str | os.PathLike, what: str) -> dict[str, Any]:
    """``root/manifest.json`` of a sharded store read with :func:`read_json`: an object whose
    shards all lie inside ``root`` (:func:`check_shards`)."""
    path = Path(root) / "manifest.json"
    if not path.is_file():
        raise EdgeSEAError(f"{root} is not an {what}: no manifest.json")
    manifest = read_json(path, f"{what} manifest")
    if not isinstance(manifest, dict):
        raise EdgeSEAError(f"{path} is not an {what} manifest (not a JSON object)")
    check_shards(root, manifest, str(path))
    return manifest
