"""Read a sparse model file into NumPy arrays, without torch: the reading half of
:mod:`edgesea.sparse.storage` (which turns the arrays into the torch network), also used by
the torch-free runtime (:mod:`edgesea.light.sparse`).

Every check of :func:`edgesea.sparse.storage.load_sparse` is made here: the size caps and the
header (:mod:`edgesea.sparse.file_checks`) before any tensor is read, then each mask against
its value count and padding bits, the checksum, finite values and the per-layer counts.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from safetensors import safe_open

from edgesea.errors import EdgeSEAError
from edgesea.sparse.file_checks import architecture, check_table, document, raw_header

__all__ = ["SparseArrays", "array_hash", "canonical_json", "read_sparse_arrays"]

#: numpy dtype -> the dtype name the checksum covers (torch's, as the file was written)
_TORCH_NAMES = {"float32": "torch.float32", "float16": "torch.float16",
                "int64": "torch.int64", "uint8": "torch.uint8"}


def canonical_json(value: Any) -> bytes:
    """``value`` as compact JSON with sorted keys (UTF-8): the form the checksum covers
    (the same bytes as :func:`edgesea.models.io.canonical_json`)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def array_hash(arrays: dict[str, np.ndarray]) -> Any:
    """A running sha256 over every array's name, dtype, shape and bytes in name order: the
    same digest :func:`edgesea.models.io.tensor_hash` gives for the equal torch tensors."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.asarray(arrays[name], order="C")  # (ascontiguousarray makes 0-d arrays 1-d)
        dtype = _TORCH_NAMES.get(a.dtype.name)
        if dtype is None:
            raise EdgeSEAError(f"{name}: unsupported dtype {a.dtype}")
        h.update(f"{name}|{dtype}|{tuple(a.shape)}|".encode())
        h.update(a.tobytes())
    return h


@dataclass
class SparseArrays:
    """What :func:`read_sparse_arrays` read.

    Attributes
    ----------
    state : dict of str to np.ndarray
        The network's state dict (dense float32 convolution weights, pruned ones ``+0.0``).
    masks : dict of str to np.ndarray
        Bool masks of the stored weights of each convolution.
    header : dict
        The file's JSON document.
    path : str
    file_bytes : int
    values_dtype : str
        ``"float32"`` or ``"float16"``: how the non-zero values are stored.
    """

    state: dict[str, np.ndarray]
    masks: dict[str, np.ndarray]
    header: dict[str, Any]
    path: str
    file_bytes: int
    values_dtype: str


def read_sparse_arrays(path: str | os.PathLike) -> SparseArrays:
    """Read and check a sparse model file (see :func:`edgesea.sparse.storage.load_sparse`
    for every check and the errors), giving NumPy arrays."""
    path = os.fspath(path)
    table, size = raw_header(path)
    doc = document(table, path)
    counts = check_table(table, path)
    shapes, convs = architecture()
    try:
        with safe_open(path, framework="np") as f:
            # the header's shapes (safetensors' numpy reader gives scalars as shape (1,))
            tensors = {k: f.get_tensor(k).reshape(table[k]["shape"]) for k in f.keys()}
    except Exception as e:  # safetensors' own errors: offsets out of the file, ...
        raise EdgeSEAError(f"{path} is not a readable sparse model file (corrupt or "
                           f"truncated): {e}") from e
    state: dict[str, np.ndarray] = {}
    masks: dict[str, np.ndarray] = {}
    dtypes = set()
    for k in convs:
        shape = shapes[k][0]
        n = int(np.prod(shape))
        bits = np.unpackbits(tensors[f"sparse/{k}.mask"])
        if bits[n:].any():
            raise EdgeSEAError(f"{path}: the mask of {k} has padding bits set")
        keep = bits[:n].astype(bool)
        if int(keep.sum()) != counts[f"sparse/{k}.values"]:
            raise EdgeSEAError(f"{path}: the mask of {k} keeps {int(keep.sum()):,} weights "
                               f"but {counts[f'sparse/{k}.values']:,} values are stored")
        values = tensors[f"sparse/{k}.values"]
        dtypes.add(values.dtype.name)
        flat = np.zeros(n, dtype=np.float32)
        flat[keep] = values.astype(np.float32)
        state[k] = flat.reshape(shape)
        masks[k] = keep.reshape(shape)
    for k in shapes:
        if k not in convs:
            state[k] = tensors[f"dense/{k}"]
    h = array_hash(tensors)
    h.update(b"|edgesea-sparse|")
    h.update(canonical_json({k: v for k, v in doc.items() if k != "sha256"}))
    if h.hexdigest() != doc["sha256"]:
        raise EdgeSEAError(f"{path}: checksum mismatch: the file is corrupt or was changed "
                           "after it was written")
    bad = [k for k, a in state.items() if a.dtype.kind == "f" and not np.isfinite(a).all()]
    if bad:
        raise EdgeSEAError(f"{path}: {bad[0]} holds NaN or Inf values")
    layers = {r.get("name"): r.get("nonzero") for r in doc["layers"] if isinstance(r, dict)}
    if layers != {k: int(masks[k].sum()) for k in convs}:
        raise EdgeSEAError(f"{path}: the per-layer counts of the metadata do not match the "
                           "stored masks")
    if len(dtypes) > 1:
        raise EdgeSEAError(f"{path}: the stored values mix dtypes {sorted(dtypes)}")
    return SparseArrays(state=state, masks=masks, header=doc, path=path, file_bytes=size,
                        values_dtype=dtypes.pop() if dtypes else "float32")
