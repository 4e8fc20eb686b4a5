"""Import the original edgel3 Keras models (``.h5``) as edgesea models.

The edgel3 package published its SEA students as Keras 2.0.9 ``.h5`` files: a kapre 0.1.4
``Melspectrogram`` layer, a BatchNorm on the spectrogram, then ``conv2d_k`` ->
``batch_normalization_k`` -> ReLU pairs (the last conv is ``audio_embedding_layer``) with
2x2 max pooling between blocks of two convs and a global max pool. :func:`load_edgel3_h5`
reads the weights (h5py only, no TensorFlow), checks that the stored front end is the one
:func:`~edgesea.frontend.presets.kapre_preset` reproduces, and returns an equivalent
:class:`~edgesea.models.network.EmbeddingModel`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import torch
from torch import nn

from edgesea.errors import EdgeSEAError
from edgesea.frontend.logmel import mel_filterbank
from edgesea.frontend.presets import kapre_preset
from edgesea.models.keras_h5 import (
    conv_bn_names,
    copy_conv_bn_weights,
    keras_version,
    layer_array,
    open_keras_h5,
)
from edgesea.models.network import EmbeddingModel, ModelConfig

__all__ = ["load_edgel3_h5"]

_SR, _N_FFT, _HOP, _N_MELS = 8000, 1024, 160, 64


def _weights(layers: Any, name: str, keys: tuple[str, ...], path: str) -> list[np.ndarray]:
    """Arrays ``keys`` of Keras layer ``name`` (stored as ``name/name/key:0``)."""
    return [layer_array(layers, name, k, path) for k in keys]


def _check_frontend(layers: Any, attrs: Any, path: str) -> None:
    """Raise unless the file's kapre front end is the 8 kHz one of :func:`kapre_preset`."""
    real, imag, mel = _weights(layers, "melspectrogram_1",
                               ("real_kernels", "imag_kernels", "Variable"), path)
    n_freq = _N_FFT // 2 + 1
    if real.shape != (_N_FFT, 1, 1, n_freq) or imag.shape != real.shape:
        raise EdgeSEAError(f"{path}: DFT kernels of shape {real.shape} differ from the edgel3 "
                           f"front end ({_N_FFT}, 1, 1, {n_freq}) (n_fft {_N_FFT})")
    ours = mel_filterbank(_SR, _N_FFT, _N_MELS).T
    if mel.shape != ours.shape or np.abs(mel - ours).max() > 1e-5 * np.abs(ours).max():
        raise EdgeSEAError(f"{path}: the mel matrix {mel.shape} is not the {_N_MELS}-band "
                           f"HTK/Slaney filterbank for {_SR} Hz, n_fft {_N_FFT}: another "
                           "sample rate or front end, which edgesea cannot import")
    hann = torch.hann_window(_N_FFT, periodic=True, dtype=torch.float64).numpy()
    if np.abs(real[:, 0, 0, 0] - hann).max() > 1e-5:
        raise EdgeSEAError(f"{path}: the DFT kernels do not use a periodic Hann window")
    try:  # the hop and scaling live only in the JSON model description
        layer_list = json.loads(attrs["model_config"])["config"]["layers"]
        cfg = next(x["config"] for x in layer_list if x["class_name"] == "Melspectrogram")
    except Exception:  # no or foreign description: the weights alone were checked
        return
    expected = {"sr": _SR, "n_dft": _N_FFT, "n_hop": _HOP, "n_mels": _N_MELS,
                "power_melgram": 1.0, "return_decibel_melgram": True}
    wrong = {k: cfg.get(k) for k, v in expected.items() if k in cfg and cfg[k] != v}
    if wrong:
        raise EdgeSEAError(f"{path}: kapre front end settings {wrong} differ from the edgel3 "
                           f"ones {expected}")


def load_edgel3_h5(path: str | os.PathLike) -> EmbeddingModel:
    """Load an original edgel3 Keras ``.h5`` SEA student as an :class:`EmbeddingModel`.

    Parameters
    ----------
    path : str or PathLike
        An edgel3 model file, e.g. ``edgel3_sea_ust_audio_emb_64.h5``.

    Returns
    -------
    EmbeddingModel
        The paper architecture (head ``"paper"``, BatchNorm eps 1e-3, kapre front end at
        8 kHz) with the file's weights, in eval mode; ``metadata`` records the provenance.

    Raises
    ------
    EdgeSEAError
        h5py missing (``pip install edgesea[h5]``); the file missing, not HDF5, without
        ``model_weights``, with layers of unexpected shapes, or with another front end.
    """
    path = os.fspath(path)
    with open_keras_h5(path, "edgel3") as (f, layers):
        _check_frontend(layers, f.attrs, path)
        conv_names, bn_names = conv_bn_names(layers)
        convs = [_weights(layers, n, ("kernel", "bias"), path) for n in conv_names]
        bns = [_weights(layers, n, ("gamma", "beta", "moving_mean", "moving_variance"), path)
               for n in bn_names]
        version = keras_version(f, layers)
    if not convs or len(convs) % 2 or len(bns) != len(convs) + 1:
        raise EdgeSEAError(f"{path}: found {len(convs)} conv and {len(bns)} BatchNorm layers; "
                           "an edgel3 SEA student has an even number of convs, each followed "
                           "by a BatchNorm, plus one on the spectrogram")
    cin = 1
    for name, (kernel, bias) in zip(conv_names, convs, strict=True):
        k = kernel.shape[0] if kernel.ndim == 4 else 0
        if kernel.ndim != 4 or kernel.shape[:3] != (k, k, cin) or k % 2 == 0 \
                or bias.shape != kernel.shape[3:]:
            raise EdgeSEAError(f"{path}: layer {name!r} has kernel {kernel.shape} and bias "
                               f"{bias.shape}; expected (k, k, {cin}, filters) with odd k")
        cin = kernel.shape[3]
    filters = [int(kernel.shape[3]) for kernel, _ in convs]
    for name, width, stats in zip(bn_names, [1, *filters], bns, strict=True):
        if any(s.shape != (width,) for s in stats):
            raise EdgeSEAError(f"{path}: BatchNorm layer {name!r} has shapes "
                               f"{[s.shape for s in stats]}, expected ({width},)")
    n_blocks = len(filters) // 2
    config = ModelConfig(
        family="sea", emb_dim=filters[-1], sample_rate=_SR, window=1.0,
        frontend=kapre_preset(_SR, _N_FFT, _HOP, _N_MELS).config(),
        blocks=[filters[2 * i:2 * i + 2] for i in range(n_blocks)],
        pool_after=[True] * (n_blocks - 1) + [False], head="paper",
        kernel_size=int(convs[0][0].shape[0]), bn_eps=1e-3)
    model = EmbeddingModel(config, metadata={
        "source": "edgel3", "file": os.path.basename(path),
        "keras_version": version,
        "imported_by": "edgesea.models.edgel3"})
    torch_convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    torch_bns = [model.input_bn] + [m for m in model.features if isinstance(m, nn.BatchNorm2d)]
    copy_conv_bn_weights(torch_convs, torch_bns, convs, bns)
    return model.eval()
