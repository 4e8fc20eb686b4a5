"""The edgesea model file: weights + JSON config in one safetensors file.

Layout: a standard safetensors file (readable by any safetensors reader) whose tensors are
the model's ``state_dict`` plus optional extra arrays under ``extra/<name>``, and whose
header metadata holds one key, ``"edgesea"``, a JSON document::

    {"format": "edgesea-model", "format_version": 1,
     "config": {...ModelConfig...}, "metadata": {...free-form...},
     "sha256": "<hash of all tensor names, dtypes, shapes and bytes>"}

Loading never executes code (no pickle) and checks the hash, so a corrupt, truncated, newer
or foreign file gives an :class:`~edgesea.errors.EdgeSEAError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..errors import EdgeSEAError
from .network import EmbeddingModel, ModelConfig

__all__ = ["FORMAT", "FORMAT_VERSION", "load_model", "read_header", "save_model"]

FORMAT = "edgesea-model"
FORMAT_VERSION = 1
_EXTRA = "extra/"


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def chmod_like_new_file(path: str) -> None:
    """Give a ``mkstemp`` file (mode 0600) the mode a plain ``open()`` would: 0666 & ~umask."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


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
        The path written.
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
    except TypeError as e:
        raise EdgeSEAError(f"model.metadata must be JSON-serialisable: {e}") from e
    header = {"format": FORMAT, "format_version": FORMAT_VERSION,
              "config": model.config.to_dict(), "metadata": json.loads(meta),
              "sha256": _digest(tensors)}
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=directory)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={"edgesea": json.dumps(header)})
        chmod_like_new_file(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def read_header(path: str | os.PathLike) -> dict[str, Any]:
    """Return the JSON header of an edgesea model file without loading weights."""
    header, _ = _read(path, tensors=False)
    return header


def _read(path: str | os.PathLike, tensors: bool) -> tuple[dict[str, Any],
                                                          dict[str, torch.Tensor]]:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise EdgeSEAError(f"model file not found: {path}")
    try:
        with safe_open(path, framework="pt") as f:
            raw = (f.metadata() or {}).get("edgesea")
            data = {k: f.get_tensor(k) for k in f.keys()} if tensors else {}
    except Exception as e:  # safetensors raises its own error types for bad headers/buffers
        raise EdgeSEAError(
            f"{path} is not a readable edgesea model file (corrupt, truncated, or another "
            f"format): {e}") from e
    if raw is None:
        raise EdgeSEAError(f"{path} is a safetensors file but not an edgesea model "
                           "(no 'edgesea' header)")
    try:
        header = json.loads(raw)
    except json.JSONDecodeError as e:
        raise EdgeSEAError(f"{path}: the edgesea header is not valid JSON ({e})") from e
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise EdgeSEAError(f"{path} is not an edgesea model file (format "
                           f"{header.get('format') if isinstance(header, dict) else None!r})")
    version = header.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise EdgeSEAError(
            f"{path} has model format version {version!r}; this edgesea reads versions up to "
            f"{FORMAT_VERSION}. Upgrade edgesea to load it.")
    return header, data


def load_model(path: str | os.PathLike) -> EmbeddingModel:
    """Load an edgesea model file written by :func:`save_model` (in eval mode).

    Raises
    ------
    EdgeSEAError
        Missing, corrupt, truncated, of a newer format version, or not an edgesea model.
    """
    header, tensors = _read(path, tensors=True)
    if header.get("sha256") != _digest(tensors):
        raise EdgeSEAError(f"{os.fspath(path)} is corrupt: its weights do not match the "
                           "checksum stored in the file")
    config = ModelConfig.from_dict(header.get("config", {}))
    model = EmbeddingModel(config, metadata=header.get("metadata") or {})
    extras = {k[len(_EXTRA):]: v.numpy() for k, v in tensors.items() if k.startswith(_EXTRA)}
    state = {k: v for k, v in tensors.items() if not k.startswith(_EXTRA)}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise EdgeSEAError(f"{os.fspath(path)}: weights do not fit the stored configuration: "
                           f"{e}") from e
    model.extras = extras
    model.source_path = os.path.abspath(os.fspath(path))
    return model.eval()
