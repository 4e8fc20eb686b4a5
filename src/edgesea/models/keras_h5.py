"""Read Keras 2 ``.h5`` weight files into torch conv/BatchNorm modules (h5py only, no TF).

The one job of this module is the file-format plumbing shared by the Keras importers
(:func:`~edgesea.models.edgel3.load_edgel3_h5`,
:func:`~edgesea.teachers.openl3.load_openl3_h5`): opening the file with clear errors,
finding its layers, reading ``name/name/key:0`` arrays, ordering ``<prefix>_<k>`` layers,
and copying Keras HWIO conv kernels and BN statistics into ``Conv2d`` / ``BatchNorm2d``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from edgesea.errors import EdgeSEAError, MissingExtraError

__all__ = ["MAX_DIMS", "check_declared_sizes", "conv_bn_names", "copy_conv_bn_weights",
           "keras_version", "layer_array", "numbered_layers", "open_keras_h5"]

#: Most dimensions accepted for a weight array (Keras conv kernels have 4).
MAX_DIMS = 8


def _declared_bytes(ds: Any, name: str, path: str) -> int:
    """Bytes a dataset declares (shape x itemsize), from its header only; refuses
    non-numeric datasets and absurd ranks."""
    shape = ds.shape or ()
    if len(shape) > MAX_DIMS:
        raise EdgeSEAError(f"{path}: dataset {name!r} has {len(shape)} dimensions (at most "
                           f"{MAX_DIMS} accepted): not a Keras weight file")
    if ds.dtype.kind not in "fiub":
        raise EdgeSEAError(f"{path}: dataset {name!r} holds {ds.dtype} values, not numbers: "
                           "not a Keras weight file")
    return math.prod(int(n) for n in shape) * int(ds.dtype.itemsize)


def check_declared_sizes(file: Any, path: str) -> None:
    """Refuse a file whose numeric datasets declare more bytes than the file holds.

    HDF5 allocates dataset storage lazily, so a few-KB file can declare a dataset of many GB
    that reads back as zeros; Keras writes its weights uncompressed, so their declared sizes
    add up to less than the file. Reads only the datasets' headers.

    Raises
    ------
    EdgeSEAError
        A dataset (or all of them together) larger than the file, of more than
        :data:`MAX_DIMS` dimensions, or not numeric (compressed files are refused too).
    """
    size = os.path.getsize(path)
    total = 0
    datasets: list[tuple[str, Any]] = []
    file.visititems(lambda name, obj: datasets.append((name, obj))
                    if hasattr(obj, "dtype") and hasattr(obj, "shape") else None)
    for name, ds in datasets:
        if ds.dtype.kind not in "fiub":  # e.g. strings stored by other tools: never read
            continue
        n = _declared_bytes(ds, name, path)
        total += n
        if n > size or total > size:
            what = f"dataset {name!r} declares {n:,} bytes" if n > size else (
                f"its datasets declare {total:,} bytes together")
            raise EdgeSEAError(
                f"{path}: {what}, more than the whole file ({size:,} bytes): a damaged or "
                "hostile file (HDF5 stores unwritten data lazily), or a compressed one, which "
                "Keras does not write")


@contextmanager
def open_keras_h5(path: str | os.PathLike, what: str,
                  root_layers: bool = False) -> Iterator[tuple[Any, Any]]:
    """Open a Keras ``.h5`` file and yield ``(file, layers group)``.

    Parameters
    ----------
    path : str or PathLike
        The ``.h5`` file.
    what : str
        The model kind named in error messages (``"edgel3"`` -> "edgel3 model file not found").
    root_layers : bool
        Also accept ``save_weights()`` files, whose layers sit at the root (attribute
        ``layer_names``) instead of in a ``model_weights`` group.

    Raises
    ------
    EdgeSEAError
        h5py missing (``pip install edgesea[h5]``); the file missing, not HDF5, without
        Keras weights, or unreadable (an ``OSError`` inside the ``with`` block included).
    """
    try:
        import h5py
    except ImportError as e:
        raise MissingExtraError("reading Keras .h5 files needs h5py: "
                                "pip install edgesea[h5]") from e
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise EdgeSEAError(f"{what} model file not found: {path}")
    if not h5py.is_hdf5(path):
        raise EdgeSEAError(f"{path} is not an HDF5 (.h5) file: expected an {what} Keras model")
    try:
        with h5py.File(path, "r") as f:
            if "model_weights" in f:
                layers = f["model_weights"]
            elif root_layers and "layer_names" in f.attrs:
                layers = f
            else:
                raise EdgeSEAError(f"{path} is an HDF5 file without a 'model_weights' group: "
                                   "not a Keras model file saved with its weights")
            check_declared_sizes(f, path)
            yield f, layers
    except OSError as e:
        raise EdgeSEAError(f"{path}: cannot read the HDF5 file ({e})") from e


def layer_array(layers: Any, name: str, key: str, path: str) -> np.ndarray:
    """Array ``key`` of Keras layer ``name`` (stored as ``name/name/key:0``), as float32.

    The dataset's declared size is checked against the file's before it is read."""
    try:
        ds = layers[name][name][f"{key}:0"]
        if not hasattr(ds, "dtype") or not hasattr(ds, "shape"):
            raise TypeError(f"{key}:0 is a group, not an array")
    except (KeyError, TypeError, ValueError) as e:
        raise EdgeSEAError(f"{path}: layer {name!r} lacks the weight {key!r} ({e})") from e
    size = os.path.getsize(path)
    declared = _declared_bytes(ds, f"{name}/{key}", path)
    if declared > size:
        raise EdgeSEAError(f"{path}: dataset {name}/{key} declares {declared:,} bytes, more "
                           f"than the whole file ({size:,} bytes): a damaged or hostile file")
    try:
        return np.asarray(ds[()], dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise EdgeSEAError(f"{path}: layer {name!r} has an unreadable weight {key!r} ({e})"
                           ) from e


def numbered_layers(layers: Any, prefix: str) -> list[str]:
    """Layer names ``<prefix>_<k>`` sorted by the number k (not alphabetically)."""
    found = [(int(m.group(1)), n) for n in layers if (m := re.fullmatch(rf"{prefix}_(\d+)", n))]
    return [n for _, n in sorted(found)]


def conv_bn_names(layers: Any) -> tuple[list[str], list[str]]:
    """Conv names (``conv2d_k`` by k, then ``audio_embedding_layer``) and BatchNorm names."""
    convs = numbered_layers(layers, "conv2d")
    if "audio_embedding_layer" in layers:
        convs.append("audio_embedding_layer")
    return convs, numbered_layers(layers, "batch_normalization")


def keras_version(file: Any, layers: Any) -> str | None:
    """The ``keras_version`` attribute of the file (or of its layers group), decoded."""
    version = file.attrs.get("keras_version", layers.attrs.get("keras_version"))
    if isinstance(version, bytes):
        version = version.decode("utf-8", "replace")
    return None if version is None else str(version)


def copy_conv_bn_weights(convs_torch: Sequence[nn.Conv2d], bns_torch: Sequence[nn.BatchNorm2d],
                         convs_keras: Sequence[Sequence[np.ndarray]],
                         bns_keras: Sequence[Sequence[np.ndarray]]) -> None:
    """Copy Keras ``(kernel, bias)`` and ``(gamma, beta, mean, var)`` into torch modules.

    Parameters
    ----------
    convs_torch, bns_torch : sequence of Conv2d, sequence of BatchNorm2d
        Target modules, in layer order.
    convs_keras : sequence of (kernel, bias)
        Keras conv weights; kernels are HWIO and are transposed to torch's OIHW.
    bns_keras : sequence of (gamma, beta, moving_mean, moving_variance)
        Keras BatchNorm weights and statistics, one per module of ``bns_torch``.
    """
    with torch.no_grad():
        for conv, (kernel, bias) in zip(convs_torch, convs_keras, strict=True):
            conv.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))  # HWIO->OIHW
            conv.bias.copy_(torch.from_numpy(bias))
        for bn, (gamma, beta, mean, var) in zip(bns_torch, bns_keras, strict=True):
            bn.weight.copy_(torch.from_numpy(gamma))
            bn.bias.copy_(torch.from_numpy(beta))
            bn.running_mean.copy_(torch.from_numpy(mean))
            bn.running_var.copy_(torch.from_numpy(var))
