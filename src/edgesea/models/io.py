"""The edgesea model file: weights + JSON config in one safetensors file.

Layout: a standard safetensors file (readable by any safetensors reader) whose tensors are
the model's ``state_dict`` plus optional extra arrays under ``extra/<name>``, and whose
header metadata holds one key, ``"edgesea"``, a JSON document::

    {"format": "edgesea-model", "format_version": 2,
     "config": {...ModelConfig...}, "metadata": {...free-form...},
     "sha256": "<hash of all tensor names, dtypes, shapes and bytes, then of the canonical
                JSON of config and metadata>"}

Loading never executes code (no pickle). The file is treated as untrusted: the header size
and JSON nesting are bounded, every configuration field is checked against
:data:`~edgesea.models.validate.LIMITS`, and the tensor names and shapes in the safetensors
header are compared with those the configuration implies, all before any tensor data is read
or the network is built; then the checksum and the finiteness of the weights are checked.
Version-1 files (whose checksum covers only the tensors) still load, with an
:class:`~edgesea.errors.EdgeSEAWarning`; re-saving them writes version 2.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from edgesea.core.fileio import atomic_path
from edgesea.core.safe_json import check_text
from edgesea.errors import EdgeSEAError, EdgeSEAWarning
from edgesea.models.network import EmbeddingModel, ModelConfig
from edgesea.models.validate import expected_state_shapes

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_HEADER_BYTES",
    "MAX_JSON_DEPTH",
    "header_digest",
    "load_model",
    "read_header",
    "save_model",
    "tensor_digest",
    "tensor_hash",
]

FORMAT = "edgesea-model"
FORMAT_VERSION = 2
#: Largest safetensors header accepted (tensor table + edgesea JSON); edgesea writes ~10 KB.
MAX_HEADER_BYTES = 16 << 20
#: Deepest JSON nesting accepted in the edgesea header (edgesea writes at most ~6 levels).
MAX_JSON_DEPTH = 32
_EXTRA = "extra/"
_FLOAT_DTYPES = ("F16", "BF16", "F32", "F64")
_INT_DTYPES = ("I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64")


def tensor_hash(tensors: dict[str, torch.Tensor]) -> Any:
    """A running ``hashlib.sha256`` over every tensor's name, dtype, shape and bytes, in name
    order (continue it with ``update`` to cover more)."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h


def tensor_digest(tensors: dict[str, torch.Tensor]) -> str:
    """The format-1 checksum: SHA-256 of every tensor's name, dtype, shape and bytes."""
    return tensor_hash(tensors).hexdigest()


def canonical_json(value: Any) -> bytes:
    """``value`` as compact JSON with sorted keys (UTF-8): the form the checksum covers."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def header_digest(tensors: dict[str, torch.Tensor], header: dict[str, Any]) -> str:
    """The format-2 checksum: :func:`tensor_digest`'s hash continued with
    ``b"|edgesea-header|"`` and the :func:`canonical_json` of
    ``{"config": ..., "metadata": ...}`` of ``header``."""
    h = tensor_hash(tensors)
    h.update(b"|edgesea-header|")
    h.update(canonical_json({"config": header.get("config"),
                             "metadata": header.get("metadata")}))
    return h.hexdigest()


def save_model(model: EmbeddingModel, path: str | os.PathLike,
               extras: dict[str, np.ndarray] | None = None) -> str:
    """Write ``model`` (weights, config, ``model.metadata``) to ``path`` atomically.

    Parameters
    ----------
    model : EmbeddingModel
        The model to save.
    path : str or PathLike
        Destination (conventionally ``*.safetensors``); written via a temp file + rename.
    extras : dict of str to np.ndarray, optional
        Extra numeric arrays stored beside the weights (e.g. a fitted reducer); returned by
        :func:`load_model` as ``model.extras``. Defaults to ``model.extras`` if present.

    Returns
    -------
    str
        The path written (format version :data:`FORMAT_VERSION`).
    """
    if not isinstance(model, EmbeddingModel):
        raise EdgeSEAError(f"save_model expects an edgesea EmbeddingModel, got {type(model)}")
    tensors = {k: v.detach().cpu().contiguous().clone()
               for k, v in model.state_dict().items()}
    extras = extras if extras is not None else getattr(model, "extras", {}) or {}
    for name, arr in extras.items():
        tensors[_EXTRA + name] = torch.from_numpy(np.ascontiguousarray(arr)).clone()
    try:
        meta = json.dumps(model.metadata)
    except (TypeError, ValueError) as e:
        raise EdgeSEAError(f"model.metadata must be JSON-serialisable: {e}") from e
    header = {"format": FORMAT, "format_version": FORMAT_VERSION,
              "config": json.loads(json.dumps(model.config.to_dict())),
              "metadata": json.loads(meta)}
    header["sha256"] = header_digest(tensors, header)
    path = os.fspath(path)
    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file(tensors, tmp, metadata={"edgesea": json.dumps(header)})
    return path


def read_header(path: str | os.PathLike) -> dict[str, Any]:
    """Return the JSON header of an edgesea model file without loading weights.

    Raises
    ------
    EdgeSEAError
        As :func:`load_model`, for the checks that need no tensor data (the configuration
        is checked; the checksum is not).
    """
    with _open(path) as (_, header):
        ModelConfig.from_dict(header.get("config"))
        return header


def _check_depth(value: Any, path: str) -> None:
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise EdgeSEAError(f"{path}: the edgesea header is nested more than "
                                   f"{MAX_JSON_DEPTH} levels deep: not an edgesea model file")
            stack.extend((c, depth + 1) for c in (v.values() if isinstance(v, dict) else v))


def _parse_header(raw: str, path: str) -> dict[str, Any]:
    try:
        header = json.loads(raw)
    except RecursionError as e:
        raise EdgeSEAError(f"{path}: the edgesea header is nested too deeply: not an edgesea "
                           "model file") from e
    except ValueError as e:  # JSONDecodeError, or an integer of thousands of digits
        raise EdgeSEAError(f"{path}: the edgesea header is not valid JSON ({e})") from e
    _check_depth(header, path)
    check_text(header, f"{path}: the edgesea header")  # a lone surrogate cannot be printed
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        fmt = header.get("format") if isinstance(header, dict) else None
        raise EdgeSEAError(f"{path} is not an edgesea model file (format {fmt!r:.80}, "
                           f"expected {FORMAT!r})")
    version = header.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise EdgeSEAError(f"{path} has an invalid model format version {version!r:.80}: "
                           f"expected an integer from 1 to {FORMAT_VERSION}")
    if version > FORMAT_VERSION:
        raise EdgeSEAError(
            f"{path} has model format version {version!r}; this edgesea reads versions up to "
            f"{FORMAT_VERSION}. Upgrade edgesea to load it.")
    return header


@contextlib.contextmanager
def _open(path: str | os.PathLike) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Yield ``(safe_open handle, parsed header)`` after the checks that need no tensors."""
    path = os.fspath(path)
    expected = "expected an edgesea model file (*.safetensors written by edgesea.save_model)"
    if os.path.isdir(path):
        raise EdgeSEAError(f"{path} is a directory: {expected}")
    if not os.path.exists(path):
        raise EdgeSEAError(f"model file not found: {path}")
    if not os.path.isfile(path):
        raise EdgeSEAError(f"{path} is not a regular file: {expected}")
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        prefix = fh.read(8)
    n = struct.unpack("<Q", prefix)[0] if len(prefix) == 8 else None
    if n is None or n + 8 > size:
        raise EdgeSEAError(f"{path} is not a readable edgesea model file (truncated, or "
                           f"another format): {size} bytes; {expected}")
    if n > MAX_HEADER_BYTES:
        raise EdgeSEAError(f"{path}: its safetensors header declares {n:,} bytes, more than "
                           f"the {MAX_HEADER_BYTES:,} edgesea accepts: not an edgesea model")
    try:
        with safe_open(path, framework="pt") as f:
            raw = (f.metadata() or {}).get("edgesea")
            if raw is None:
                raise EdgeSEAError(f"{path} is a safetensors file but not an edgesea model "
                                   "(no 'edgesea' header)")
            yield f, _parse_header(raw, path)
    except EdgeSEAError:
        raise
    except Exception as e:  # safetensors raises its own error types for bad headers/buffers
        raise EdgeSEAError(
            f"{path} is not a readable edgesea model file (corrupt, truncated, or another "
            f"format): {e}") from e


def _check_shapes(f: Any, config: ModelConfig, path: str) -> list[str]:
    """Compare the tensor table with the configuration's state_dict; return all names."""
    names = list(f.keys())
    expected = expected_state_shapes(config)
    state = [k for k in names if not k.startswith(_EXTRA)]
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    problems = []
    if missing:
        problems.append(f"missing {missing[:8]}{' ...' if len(missing) > 8 else ''}")
    if unexpected:
        problems.append(f"unexpected {unexpected[:8]}{' ...' if len(unexpected) > 8 else ''}")
    for name in sorted(set(state) & set(expected)):
        sl = f.get_slice(name)
        shape, dtype = tuple(sl.get_shape()), sl.get_dtype()
        want, kind = expected[name]
        ok_dtype = dtype in (_FLOAT_DTYPES if kind == "float" else _INT_DTYPES)
        if shape != want or not ok_dtype:
            problems.append(f"{name} is {dtype} {list(shape)}, the configuration implies "
                            f"{kind} {list(want)}")
        if len(problems) >= 8:
            break
    if problems:
        raise EdgeSEAError(f"{path}: weights do not fit the stored configuration: "
                           + "; ".join(problems))
    return names


def load_model(path: str | os.PathLike) -> EmbeddingModel:
    """Load an edgesea model file written by :func:`save_model` (in eval mode).

    Raises
    ------
    EdgeSEAError
        Missing, a directory, corrupt, truncated, of a newer format version, not an edgesea
        model, a configuration out of bounds, weights that do not fit it or are not finite,
        or a checksum (of the weights and, from format version 2, the header) that does not
        match.

    Warns
    -----
    EdgeSEAWarning
        A format-1 file: its header is not integrity-checked (re-save it to fix that).
    """
    path = os.fspath(path)
    with _open(path) as (f, header):
        config = ModelConfig.from_dict(header.get("config"))
        metadata = header.get("metadata")
        if metadata is None:
            metadata = {}
        if not isinstance(metadata, dict):
            raise EdgeSEAError(f"{path}: the header's metadata must be a JSON object, got "
                               f"{type(metadata).__name__}")
        names = _check_shapes(f, config, path)
        tensors = {k: f.get_tensor(k) for k in names}
    version, stored = header["format_version"], header.get("sha256")
    actual = header_digest(tensors, header) if version >= 2 else tensor_digest(tensors)
    if stored != actual:
        covered = "weights and header do" if version >= 2 else "weights do"
        raise EdgeSEAError(f"{path} is corrupt: its {covered} not match the checksum stored "
                           "in the file")
    if version < 2:
        warnings.warn(
            f"{path} is a format-version-1 edgesea model: its header (configuration and "
            "metadata) is not integrity-checked, only its weights. Re-save it to add the "
            "check: edgesea.save_model(edgesea.load_model(path), path)",
            EdgeSEAWarning, stacklevel=2)
    state = {k: v for k, v in tensors.items() if not k.startswith(_EXTRA)}
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise EdgeSEAError(f"{path}: non-finite weights (NaN or infinity) in {bad[:8]}: the "
                           "model diverged or the file was altered; it cannot be used")
    model = EmbeddingModel(config, metadata=metadata)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise EdgeSEAError(f"{path}: weights do not fit the stored configuration: {e}") from e
    model.extras = {k[len(_EXTRA):]: v.numpy() for k, v in tensors.items()
                    if k.startswith(_EXTRA)}
    model.source_path = os.path.abspath(path)
    return model.eval()
