"""The sparse model file: a pruned aisfx network that stores only its non-zero weights.

Layout: a standard safetensors file. For each of the eight 3x3 convolutions' weights ``W``
(``n`` values) it holds

- ``sparse/<name>.mask``: uint8, ``ceil(n / 8)`` bytes: ``np.packbits`` (most significant
  bit first) of ``W.reshape(-1) != 0`` in C order, padding bits zero;
- ``sparse/<name>.values``: float32 (or float16, ``values_dtype``), the non-zero values of
  ``W`` in C order (as many as the mask has set bits);

and every other tensor of the network (BatchNorm weights, biases, running statistics) dense
under ``dense/<name>``. The header metadata has one key, ``"edgesea-sparse"``, a JSON
document: ``format`` (``"edgesea-sparse"``), ``format_version``, ``architecture``
(``"aisfx-cnn9"``), ``sparsity`` (the requested level), ``method``, ``measured_sparsity``,
``weights`` / ``nonzero`` and per-layer ``layers``, ``retrain`` (``"kd"`` or ``"oneshot"``),
``teacher`` (name, package, identity, license), ``training_data``, ``recipe``,
``licenses``, free-form ``metadata``, and ``sha256`` over the tensors and the rest of the
document. A zero stored as ``-0.0`` reads back as ``+0.0`` (same embeddings).

The file size shrinks with sparsity: 1 bit per weight plus 4 bytes per kept weight, instead
of 4 bytes per weight. Reading treats the file as untrusted: its size, the header size and
JSON nesting are bounded, every tensor name, dtype and shape is compared with what the
architecture implies (mask length ``ceil(n / 8)``, value count = the mask's popcount) before
any tensor is read, then the checksum and the finiteness of the values are checked. Every
problem is an :class:`~edgesea.errors.EdgeSEAError` saying what is wrong.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from edgesea.core.fileio import atomic_path
from edgesea.errors import EdgeSEAError
from edgesea.models.io import canonical_json, tensor_hash
from edgesea.sparse.arrays import read_sparse_arrays
from edgesea.sparse.file_checks import (
    ARCHITECTURE,
    DTYPES,
    FORMAT,
    FORMAT_VERSION,
    KEY,
    MAX_FILE_BYTES,
    MAX_HEADER_BYTES,
    RETRAIN_TYPES,
    TEACHER_LICENSE,
    architecture,
    document,
    is_sparse_file,
    raw_header,
)
from edgesea.teachers.aisfx import AisfxNet

__all__ = ["ARCHITECTURE", "FORMAT", "FORMAT_VERSION", "MAX_FILE_BYTES", "MAX_HEADER_BYTES",
           "RETRAIN_TYPES", "TEACHER_LICENSE", "SparseFile", "is_sparse_file", "load_sparse",
           "read_sparse_header", "save_sparse", "sparse_digest"]


def _state_of(net: Any) -> dict[str, torch.Tensor]:
    """The state dict of an AisfxNet, a SparseModel (its ``.net``) or a mapping, checked
    against the architecture."""
    if isinstance(net, Mapping):
        state = dict(net)
    elif isinstance(getattr(net, "net", None), nn.Module):
        state = net.net.state_dict()
    elif isinstance(net, nn.Module):
        state = net.state_dict()
    else:
        raise EdgeSEAError(f"expected an AisfxNet, a SparseModel or a state dict, got "
                           f"{type(net).__name__}")
    shapes, _ = architecture()
    problems = [f"missing {k}" for k in shapes if k not in state]
    problems += [f"unexpected {k}" for k in state if k not in shapes]
    for k in set(shapes) & set(state):
        t = state[k]
        if not isinstance(t, torch.Tensor) or tuple(t.shape) != shapes[k][0] \
                or DTYPES.get(str(t.dtype).removeprefix("torch.")) != shapes[k][1]:
            problems.append(f"{k} is not a {shapes[k][1]} tensor of shape {shapes[k][0]}")
    if problems:
        raise EdgeSEAError(f"not the {ARCHITECTURE} network: " + "; ".join(sorted(problems)[:6]))
    return {k: v.detach().cpu().contiguous() for k, v in state.items()}


def sparse_digest(tensors: dict[str, torch.Tensor], doc: dict[str, Any]) -> str:
    """The file's checksum: SHA-256 over every stored tensor's name, dtype, shape and bytes
    (name order), then ``b"|edgesea-sparse|"`` and the canonical JSON of ``doc`` without
    its ``sha256`` key."""
    h = tensor_hash(tensors)
    h.update(b"|edgesea-sparse|")
    h.update(canonical_json({k: v for k, v in doc.items() if k != "sha256"}))
    return h.hexdigest()


def save_sparse(net: Any, path: str | os.PathLike, *, sparsity: float | None,
                retrain: str, recipe: Mapping[str, Any] | None = None, method: str = "layer",
                masks: Mapping[str, torch.Tensor] | None = None,
                teacher_identity: str | None = None, training_data: str | None = None,
                licenses: Mapping[str, str] | None = None,
                metadata: Mapping[str, Any] | None = None,
                values_dtype: str = "float32") -> str:
    """Write a pruned aisfx network as a sparse model file, atomically (temp + rename).

    Parameters
    ----------
    net : AisfxNet, SparseModel or dict of str to torch.Tensor
        The pruned network, or its state dict.
    path : path
        Destination (conventionally ``*.safetensors``).
    sparsity : float or None
        The requested level (an edgel3 level for ``method="layer"``, the percentage for
        ``"global"``); recorded, and the measured sparsity beside it.
    retrain : {"kd", "oneshot"}
        How the pruned network was retrained.
    recipe : dict, optional
        How it was built (JSON-ready; e.g. the training settings).
    method : {"layer", "global"}
        The pruning method.
    masks : dict of str to torch.Tensor, optional
        Keep-masks of the pruning: every weight outside them must be zero (checked).
    teacher_identity : str, optional
        Identity of the dense teacher it was pruned from (``AisfxTeacher().identity``).
    training_data : str, optional
        The audio it was retrained on (``kd``).
    licenses : dict of str to str, optional
        Added to ``{"teacher_weights": TEACHER_LICENSE}`` (e.g. ``training_data``).
    metadata : dict, optional
        Free-form JSON-ready values.
    values_dtype : {"float32", "float16"}
        How the non-zero convolution weights are stored: ``"float16"`` halves the file (the
        weights are rounded to half precision and read back as float32; BatchNorm stays
        float32). Recorded as ``values_dtype`` in the header.

    Returns
    -------
    str
        The path written.

    Raises
    ------
    EdgeSEAError
        Not the aisfx network, non-finite weights, weights outside ``masks`` that are not
        zero, an unknown ``retrain``/``method``, or metadata that is not JSON.
    """
    if retrain not in RETRAIN_TYPES:
        raise EdgeSEAError(f"invalid retrain={retrain!r}: a stored sparse model is one of "
                           f"{RETRAIN_TYPES}")
    if method not in ("layer", "global"):
        raise EdgeSEAError(f"invalid method={method!r}: expected 'layer' or 'global'")
    if values_dtype not in ("float32", "float16"):
        raise EdgeSEAError(f"invalid values_dtype={values_dtype!r}: expected 'float32' or "
                           "'float16'")
    state = _state_of(net)
    _, convs = architecture()
    tensors: dict[str, torch.Tensor] = {}
    layers, total, nonzero = [], 0, 0
    for name, t in state.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise EdgeSEAError(f"{name} holds NaN or Inf values: refusing to save")
        if name not in convs:
            tensors[f"dense/{name}"] = t.clone()
            continue
        keep = t != 0
        if masks is not None and name in masks and bool((keep & ~masks[name].cpu()).any()):
            raise EdgeSEAError(f"{name} has non-zero weights outside its pruning mask: apply "
                               "the masks (edgesea.sparse.prune.apply_masks) before saving")
        flat = keep.reshape(-1).numpy()
        tensors[f"sparse/{name}.mask"] = torch.from_numpy(np.packbits(flat))
        values = t.reshape(-1)[keep.reshape(-1)].clone()
        if values_dtype == "float16":
            if bool((values.abs() > torch.finfo(torch.float16).max).any()):
                raise EdgeSEAError(f"{name} has weights beyond float16's range: store them "
                                   "as float32")
            values = values.half()
        tensors[f"sparse/{name}.values"] = values
        n, nz = t.numel(), int(flat.sum())
        layers.append({"name": name, "shape": list(t.shape), "weights": n, "nonzero": nz,
                       "sparsity": 100.0 * (n - nz) / n})
        total, nonzero = total + n, nonzero + nz
    doc: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "architecture": ARCHITECTURE,
        "emb_dim": 512, "sample_rate": 44100, "window": 1.0,
        "sparsity": None if sparsity is None else float(sparsity), "method": method,
        "measured_sparsity": 100.0 * (total - nonzero) / total, "weights": total,
        "nonzero": nonzero, "layers": layers, "retrain": retrain,
        "teacher": {"name": "aisfx", "package": "aisfx 0.1.2", "identity": teacher_identity,
                    "license": TEACHER_LICENSE},
        "training_data": training_data, "recipe": dict(recipe or {}),
        "licenses": {"teacher_weights": TEACHER_LICENSE, **dict(licenses or {})},
        "metadata": dict(metadata or {}), "values_dtype": values_dtype}
    try:
        doc = json.loads(json.dumps(doc, allow_nan=False))
    except (TypeError, ValueError) as e:
        raise EdgeSEAError(f"recipe and metadata must be JSON-serialisable: {e}") from e
    doc["sha256"] = sparse_digest(tensors, doc)
    path = os.fspath(path)
    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file(tensors, tmp, metadata={KEY: json.dumps(doc)})
    return path


def read_sparse_header(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON document of a sparse model file, without reading its tensors.

    Raises
    ------
    EdgeSEAError
        As :func:`load_sparse`, for the checks that need no tensor data.
    """
    path = os.fspath(path)
    table, _ = raw_header(path)
    return document(table, path)


@dataclass
class SparseFile:
    """What :func:`load_sparse` read.

    Attributes
    ----------
    net : AisfxNet
        The restored network (eval mode; pruned weights are ``+0.0``).
    masks : dict of str to torch.Tensor
        Bool masks of the stored (non-zero) weights of each convolution.
    header : dict
        The file's JSON document (see the module docstring).
    path : str
    file_bytes : int
        Size of the file.
    """

    net: nn.Module
    masks: dict[str, torch.Tensor]
    header: dict[str, Any]
    path: str
    file_bytes: int


def load_sparse(path: str | os.PathLike) -> SparseFile:
    """Read a sparse model file written by :func:`save_sparse`: the exact network back.

    Raises
    ------
    EdgeSEAError
        Missing, a directory, larger than :data:`MAX_FILE_BYTES`, truncated, a header over
        :data:`MAX_HEADER_BYTES` or not JSON, not a sparse model, a newer format version,
        tensors whose names, dtypes or shapes do not fit the architecture, a mask whose
        popcount differs from its value count or with padding bits set, a checksum that
        does not match, or values that are not finite.
    """

    arrays = read_sparse_arrays(path)
    state = {k: torch.from_numpy(np.array(v)) for k, v in arrays.state.items()}
    masks = {k: torch.from_numpy(v) for k, v in arrays.masks.items()}
    net = AisfxNet()
    net.load_state_dict(state, strict=True)
    return SparseFile(net=net.eval(), masks=masks, header=arrays.header, path=arrays.path,
                      file_bytes=arrays.file_bytes)
