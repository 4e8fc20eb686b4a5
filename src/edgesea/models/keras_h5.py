"""Read Keras 2 ``.h5`` weight files into torch conv/BatchNorm modules (h5py only, no TF).

The one job of this module is the file-format plumbing shared by the Keras importers
(:func:`~edgesea.models.edgel3.load_edgel3_h5`,
:func:`~edgesea.teachers.openl3.load_openl3_h5`): opening the file with clear errors,
finding its layers, reading ``name/name/key:0`` arrays, ordering ``<prefix>_<k>`` layers,
and copying Keras HWIO conv kernels and BN statistics into ``Conv2d`` / ``BatchNorm2d``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import EdgeSEAError

__all__ = ["conv_bn_names", "copy_conv_bn_weights", "keras_version", "layer_array",
           "numbered_layers", "open_keras_h5"]


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
        raise EdgeSEAError("reading Keras .h5 files needs h5py: pip install edgesea[h5]") from e
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
            yield f, layers
    except OSError as e:
        raise EdgeSEAError(f"{path}: cannot read the HDF5 file ({e})") from e


def layer_array(layers: Any, name: str, key: str, path: str) -> np.ndarray:
    """Array ``key`` of Keras layer ``name`` (stored as ``name/name/key:0``), as float32."""
    try:
        return np.asarray(layers[name][name][f"{key}:0"][()], dtype=np.float32)
    except (KeyError, TypeError, ValueError) as e:
        raise EdgeSEAError(f"{path}: layer {name!r} lacks the weight {key!r} ({e})") from e


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
