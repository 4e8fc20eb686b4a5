"""Checks of an untrusted sparse model file before any tensor is read (for
:mod:`edgesea.sparse.storage`): the size caps, the safetensors header, the JSON document and
the tensor table against the aisfx architecture."""

from __future__ import annotations

import json
import os
import struct
from functools import lru_cache
from typing import Any

import numpy as np

from edgesea.core.safe_json import check_text
from edgesea.errors import EdgeSEAError

__all__ = ["ARCHITECTURE", "FORMAT", "FORMAT_VERSION", "KEY", "MAX_FILE_BYTES",
           "MAX_HEADER_BYTES", "RETRAIN_TYPES", "TEACHER_LICENSE", "VALUE_DTYPES", "architecture",
           "check_table", "document", "is_sparse_file", "raw_header"]

FORMAT = "edgesea-sparse"
FORMAT_VERSION = 1
ARCHITECTURE = "aisfx-cnn9"
#: Retraining of a stored sparse model: distilled from the dense teacher, or none.
RETRAIN_TYPES = ("kd", "oneshot")
#: Largest sparse model file accepted (the dense aisfx network is 18.8 MB as float32).
MAX_FILE_BYTES = 64 << 20
#: Largest safetensors header accepted (edgesea writes about 10 KB).
MAX_HEADER_BYTES = 1 << 20
_MAX_DEPTH = 16
#: The safetensors metadata key holding the JSON document.
KEY = "edgesea-sparse"
#: License of the teacher weights every sparse aisfx model derives from.
TEACHER_LICENSE = ("CC BY 4.0 (aisfx 0.1.2 checkpoint.pth by Alison B. Ma and Alexander Lerch, "
                   "ISMIR 2022; code MIT)")
#: safetensors dtype names of the state tensors of the aisfx network.
DTYPES = {"float32": "F32", "int64": "I64"}
#: safetensors dtypes of the stored non-zero values: float32, or float16 (half the bytes;
#: read back as float32).
VALUE_DTYPES = ("F32", "F16")


#: The channels of the aisfx CNN9's four blocks (two 3x3 convolutions each).
_BLOCKS = ((1, 64), (64, 128), (128, 256), (256, 512))


@lru_cache(maxsize=1)
def architecture() -> tuple[dict[str, tuple[tuple[int, ...], str]], tuple[str, ...]]:
    """``({state name: (shape, safetensors dtype)}, conv weight names)`` of
    :class:`~edgesea.teachers.aisfx_net.AisfxNet`, in its state-dict order (written out, so
    reading a file needs no torch; ``tests/sparse`` compares it with the torch network)."""
    shapes: dict[str, tuple[tuple[int, ...], str]] = {}
    convs = []
    for b, (c_in, c_out) in enumerate(_BLOCKS, start=1):
        for j, cin in ((1, c_in), (2, c_out)):
            conv, bn = f"conv_block{b}.conv{j}", f"conv_block{b}.bn{j}"
            shapes[f"{conv}.weight"] = ((c_out, cin, 3, 3), "F32")
            convs.append(f"{conv}.weight")
            for k in ("weight", "bias", "running_mean", "running_var"):
                shapes[f"{bn}.{k}"] = ((c_out,), "F32")
            shapes[f"{bn}.num_batches_tracked"] = ((), "I64")
    return shapes, tuple(convs)


def raw_header(path: str) -> tuple[dict[str, Any], int]:
    """The safetensors header JSON (bounded) and the file size."""
    if os.path.isdir(path):
        raise EdgeSEAError(f"{path} is a directory, not a sparse model file")
    if not os.path.isfile(path):
        raise EdgeSEAError(f"sparse model file not found: {path}")
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        raise EdgeSEAError(f"{path} is {size:,} bytes, more than the {MAX_FILE_BYTES:,} a "
                           "sparse aisfx model can take: not a sparse model file")
    with open(path, "rb") as fh:
        prefix = fh.read(8)
        n = struct.unpack("<Q", prefix)[0] if len(prefix) == 8 else None
        if n is None or n + 8 > size:
            raise EdgeSEAError(f"{path} is truncated or not a safetensors file ({size:,} "
                               "bytes; its header does not fit)")
        if n > MAX_HEADER_BYTES:
            raise EdgeSEAError(f"{path}: its header declares {n:,} bytes, more than the "
                               f"{MAX_HEADER_BYTES:,} accepted: not a sparse model file")
        raw = fh.read(n)
    try:
        table = json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise EdgeSEAError(f"{path}: the safetensors header is not valid JSON: {e}") from e
    if not isinstance(table, dict):
        raise EdgeSEAError(f"{path}: the safetensors header is not a JSON object")
    check_text(table, f"{path}: the safetensors header")
    return table, size


def _depth_ok(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict | list):
            if depth > _MAX_DEPTH:
                return False
            stack.extend((c, depth + 1) for c in (v.values() if isinstance(v, dict) else v))
    return True


def document(table: dict[str, Any], path: str) -> dict[str, Any]:
    meta = table.get("__metadata__")
    raw = meta.get(KEY) if isinstance(meta, dict) else None
    if not isinstance(raw, str):
        raise EdgeSEAError(f"{path} is a safetensors file but not an edgesea sparse model "
                           f"(no {KEY!r} metadata)")
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise EdgeSEAError(f"{path}: the sparse model metadata is not valid JSON: {e}") from e
    if not isinstance(doc, dict) or not _depth_ok(doc) or doc.get("format") != FORMAT:
        raise EdgeSEAError(f"{path}: the sparse model metadata is not an {FORMAT!r} document")
    check_text(doc, f"{path}: the sparse model metadata")
    version = doc.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise EdgeSEAError(f"{path}: invalid format_version {version!r:.40}")
    if version > FORMAT_VERSION:
        raise EdgeSEAError(f"{path} has sparse format version {version}; this edgesea reads "
                           f"up to {FORMAT_VERSION}: upgrade edgesea")
    if doc.get("architecture") != ARCHITECTURE:
        raise EdgeSEAError(f"{path}: architecture {doc.get('architecture')!r:.40} is not "
                           f"{ARCHITECTURE!r}")
    if doc.get("retrain") not in RETRAIN_TYPES:
        raise EdgeSEAError(f"{path}: retrain {doc.get('retrain')!r:.40} is not one of "
                           f"{RETRAIN_TYPES}")
    s = doc.get("sparsity")
    if s is not None and (isinstance(s, bool) or not isinstance(s, int | float)
                          or not 0 <= s < 100):
        raise EdgeSEAError(f"{path}: sparsity {s!r:.40} is not a percentage")
    if not isinstance(doc.get("layers"), list) or not isinstance(doc.get("sha256"), str):
        raise EdgeSEAError(f"{path}: the sparse model metadata lacks layers or sha256")
    return doc


def _expected_table() -> dict[str, tuple[tuple[int, ...], str]]:
    """Stored tensor name -> (shape, dtype) apart from the value counts (``None``)."""
    shapes, convs = architecture()
    out = {f"dense/{k}": v for k, v in shapes.items() if k not in convs}
    for k in convs:
        n = int(np.prod(shapes[k][0]))
        out[f"sparse/{k}.mask"] = (((n + 7) // 8,), "U8")
    return out


def check_table(table: dict[str, Any], path: str) -> dict[str, int]:
    """Compare the tensor table with the architecture; return the value counts."""
    shapes, convs = architecture()
    expected = _expected_table()
    names = {k for k in table if k != "__metadata__"}
    wanted = set(expected) | {f"sparse/{k}.values" for k in convs}
    problems = [f"missing {k}" for k in sorted(wanted - names)]
    problems += [f"unexpected {k!r:.60}" for k in sorted(names - wanted)]
    counts: dict[str, int] = {}
    for k in sorted(names & wanted):
        entry = table[k]
        shape = entry.get("shape") if isinstance(entry, dict) else None
        dtype = entry.get("dtype") if isinstance(entry, dict) else None
        if not isinstance(shape, list) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            problems.append(f"{k} has an invalid shape")
        elif k in expected:
            if (tuple(shape), dtype) != expected[k]:
                problems.append(f"{k} is {dtype} {shape}; the {ARCHITECTURE} network "
                                f"implies {expected[k][1]} {list(expected[k][0])}")
        else:
            n = int(np.prod(shapes[k[len("sparse/"):-len(".values")]][0]))
            if dtype not in VALUE_DTYPES or len(shape) != 1 or shape[0] > n:
                problems.append(f"{k} is {dtype} {shape}: expected F32 or F16 [k] with "
                                f"k <= {n}")
            else:
                counts[k] = shape[0]
        if len(problems) >= 8:
            break
    if problems:
        raise EdgeSEAError(f"{path}: tensors do not fit the {ARCHITECTURE} network: "
                           + "; ".join(problems))
    return counts


def is_sparse_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a readable file whose header says it is a sparse model (no
    tensor is read; a damaged sparse file is still recognised when its header is)."""
    try:
        table, _ = raw_header(os.fspath(path))
    except (EdgeSEAError, OSError):
        return False
    meta = table.get("__metadata__")
    return isinstance(meta, dict) and KEY in meta
