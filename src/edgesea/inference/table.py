"""One Parquet table for a whole dataset (``edgesea embed DIR -o FILE.parquet``): a row per
audio file with its path, window timestamps, window embeddings, the clip embedding when
pooled, and the provenance of the row.

The table is written as the ``.npz`` outputs are: files are streamed in bounded blocks
(through :func:`~edgesea.inference.process.iter_process_files` into a temporary folder),
the table goes to a temporary file renamed over ``FILE.parquet`` at the end (never
half-written), and a rerun keeps the rows whose file and settings are unchanged and embeds
only the others (resumable). A table made by another model or settings is refused (one table,
one embedding space) unless ``overwrite``. Needs pyarrow: ``pip install edgesea[parquet]``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgesea.core.fileio import atomic_path
from edgesea.errors import EdgeSEAError, MissingExtraError
from edgesea.inference.api import embedder_identity, get_embedder
from edgesea.inference.pooling import check_pool
from edgesea.inference.process import iter_process_files
from edgesea.inference.provenance import differences, make_provenance, source_info

__all__ = ["embed_to_parquet"]

_META = b"edgesea"  # schema metadata key: the table's model and settings


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:
        raise MissingExtraError("a Parquet table needs pyarrow: pip install "
                                f"edgesea[parquet] ({e})") from e
    return pa, pq


def _existing(out: Path, settings: dict[str, Any], overwrite: bool, pq: Any
              ) -> dict[str, dict[str, Any]]:
    """The rows of an existing table made with ``settings`` (by file), or {}."""
    if not out.exists() or overwrite:
        return {}
    try:
        meta = pq.read_schema(out).metadata or {}
        made = json.loads(meta.get(_META, b"{}"))
        table = pq.read_table(out)
    except Exception as e:  # not a table edgesea can read back
        raise EdgeSEAError(f"{out} exists but is not a readable Parquet table ({e}): pass "
                           "overwrite=True (--overwrite) to replace it") from e
    if made != settings:
        diffs = [f"{k}={made.get(k)!r} (this run {v!r})" for k, v in settings.items()
                 if made.get(k) != v]
        raise EdgeSEAError(f"{out} holds embeddings of another model or settings ("
                           f"{', '.join(diffs) or 'no edgesea metadata'}): one table holds "
                           "one embedding space; pass overwrite=True (--overwrite) to "
                           "replace it, or write another table")
    return {r["file"]: r for r in table.to_pylist()}


def embed_to_parquet(paths: Sequence[str | os.PathLike], out: str | os.PathLike, *,
                     model: Any = None, model_type: str = "sea", emb_dim: int = 128,
                     center: bool = True, hop_size: float = 0.1, batch_size: int = 64,
                     overwrite: bool = False, tier: str = "mcu",
                     pool: str | Sequence[str] | None = None) -> dict[str, Any]:
    """Embed audio files into one Parquet table ``out``.

    Parameters
    ----------
    paths : sequence of paths
        The audio files (rows in this order).
    out : path
        The ``.parquet`` file (written atomically; an existing one is resumed).
    model, model_type, emb_dim, center, hop_size, batch_size, tier, pool
        As for :func:`edgesea.process_file`.
    overwrite : bool
        Replace a table made by another model or settings (else refused).

    Returns
    -------
    dict
        ``{"written": n, "kept": n, "failed": [(path, error), ...], "table": path}``.

    Raises
    ------
    EdgeSEAError
        A table of another model or settings, or files that could not be embedded (after
        the table of the others is written).
    """
    pa, pq = _pyarrow()
    out = Path(out)
    if out.suffix != ".parquet":
        raise EdgeSEAError(f"{out}: a table's name ends in .parquet")
    pool = check_pool(pool)
    net = get_embedder(model, model_type, emb_dim, tier=tier)
    identity = embedder_identity(net)
    settings = {"model": identity, "emb_dim": int(net.emb_dim), "hop_size": float(hop_size),
                "center": bool(center), "pool": list(pool)}
    old = _existing(out, settings, overwrite, pq)
    files = [os.fspath(p) for p in paths]
    keep = {}
    for f in files:
        row = old.get(f)
        if row is not None and not differences(json.loads(row["provenance"]), make_provenance(
                identity, net.emb_dim, hop_size, center, source_info(f), pool)):
            keep[f] = row
    todo = [f for f in files if f not in keep]
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".tmp-table-", dir=out.parent))
    try:
        results = {}
        for i, f in enumerate(todo):  # a folder each: files may share a base name
            results[f] = next(iter(iter_process_files(
                [f], work / f"{i:06d}", None, model=net, center=center, hop_size=hop_size,
                batch_size=batch_size, overwrite=True, pool=pool)))
        failed = [(f, results[f].error) for f in todo if results[f].status == "failed"]
        d = int(net.emb_dim)
        fields = [pa.field("file", pa.string()), pa.field("timestamps", pa.list_(pa.float64())),
                  pa.field("embedding", pa.list_(pa.list_(pa.float32(), d)))]
        if pool:
            fields.append(pa.field("clip_embedding", pa.list_(pa.float32(), d * len(pool))))
        fields.append(pa.field("provenance", pa.string()))
        schema = pa.schema(fields, metadata={_META: json.dumps(settings).encode()})
        written = 0
        with atomic_path(out, suffix=".parquet") as tmp:
            with pq.ParquetWriter(tmp, schema) as writer:
                for f in files:
                    if f in keep:
                        row = keep[f]
                    elif results.get(f) is not None and results[f].status != "failed":
                        row = _row(f, results[f].output, pool)
                        written += 1
                    else:
                        continue
                    writer.write_table(pa.Table.from_pylist([row], schema=schema))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failed:
        raise EdgeSEAError(f"{len(failed)} of {len(files)} files could not be embedded (the "
                           f"table holds the others): " + "; ".join(f"{f}: {e}"
                                                                   for f, e in failed))
    return {"written": written, "kept": len(keep), "failed": failed, "table": str(out)}


def _row(path: str, npz: str, pool: tuple[str, ...]) -> dict[str, Any]:
    """A table row from one file's ``.npz`` output (its provenance names the source)."""
    with np.load(npz, allow_pickle=False) as z:
        prov = json.loads(str(z["provenance"][()]))
        row = {"file": path, "timestamps": z["timestamps"].tolist(),
               "embedding": z["embedding"].tolist(), "provenance": json.dumps(prov)}
        if pool:
            row["clip_embedding"] = z["clip_embedding"].tolist()
    return row
