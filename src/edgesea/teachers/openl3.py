"""OpenL3 (L3-Net audio, mel128/mel256) as a teacher, imported from its Keras ``.h5`` files.

OpenL3's audio model: 1 s at 48 kHz -> log-mel (n_fft 2048, hop 242, 128 or 256 bands; the
openl3 0.4 front end by default, :func:`~edgesea.frontend.presets.openl3_v04_preset`, or the
kapre 0.1.4 layer, :func:`~edgesea.frontend.presets.kapre_preset`) -> BatchNorm -> four blocks of
``[3x3 conv -> BN -> ReLU] x 2`` (64, 128, 256, 512 filters; 2x2 max pool after blocks 1-3),
except that the model ends at the last conv, ``audio_embedding_layer``: no BN and no ReLU
follow it, so the global max pool (the 512-d embedding) can be negative. :func:`load_openl3_h5`
reads the weights with h5py (no TensorFlow) into :func:`~edgesea.models.l3net`;
:class:`OpenL3Teacher` puts it behind the
:class:`~edgesea.teachers.base.Teacher` protocol.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from edgesea.errors import EdgeSEAError, EdgeSEAWarning
from edgesea.frontend.logmel import mel_filterbank
from edgesea.models.keras_h5 import (
    conv_bn_names,
    copy_conv_bn_weights,
    keras_version,
    layer_array,
    numbered_layers,
    open_keras_h5,
)
from edgesea.models.network import EmbeddingModel, l3net
from edgesea.teachers.base import identity_hash

__all__ = ["OpenL3Teacher", "load_openl3_h5"]

_SR, _N_FFT = 48000, 2048
_FILTERS = (64, 64, 128, 128, 256, 256, 512, 512)
_BN_KEYS = ("gamma", "beta", "moving_mean", "moving_variance")


def _n_mels(layers: Any, path: str, n_mels: int | None) -> tuple[int, str, float]:
    """Band count, where it came from, and max |stored - ours| of the mel matrix (or NaN)."""
    if numbered_layers(layers, "spectrogram") or "_linear" in os.path.basename(path):
        raise EdgeSEAError(f"{path}: a linear-spectrogram OpenL3 model; only mel128/mel256 "
                           "are supported")
    for name in numbered_layers(layers, "melspectrogram")[:1]:
        for key in ("real_kernels", "imag_kernels"):
            if f"{key}:0" in layers[name].get(name, {}):
                shape = layer_array(layers, name, key, path).shape
                if shape != (_N_FFT, 1, 1, _N_FFT // 2 + 1):
                    raise EdgeSEAError(f"{path}: {key} of shape {shape} is not the OpenL3 mel "
                                       f"front end's ({_N_FFT}, 1, 1, {_N_FFT // 2 + 1})")
        if "Variable:0" in layers[name].get(name, {}):
            mel = layer_array(layers, name, "Variable", path)
            if mel.ndim != 2 or mel.shape[0] != _N_FFT // 2 + 1 or mel.shape[1] not in (128, 256):
                raise EdgeSEAError(f"{path}: mel matrix of shape {mel.shape}; OpenL3 uses "
                                   f"({_N_FFT // 2 + 1}, 128) or ({_N_FFT // 2 + 1}, 256)")
            found = int(mel.shape[1])
            if n_mels is not None and n_mels != found:
                raise EdgeSEAError(f"{path}: n_mels={n_mels} given but the file has {found}")
            diff = float(np.abs(mel - mel_filterbank(_SR, _N_FFT, found).T).max())
            return found, "mel_matrix", diff
    m = re.search(r"mel(128|256)", os.path.basename(path))
    if n_mels is None and m is None:
        raise EdgeSEAError(f"{path}: cannot tell 128 from 256 mel bands (no mel matrix in the "
                           "file, no 'mel128'/'mel256' in its name); pass n_mels")
    source, found = ("argument", n_mels) if n_mels is not None else ("filename", int(m[1]))
    if found not in (128, 256):
        raise EdgeSEAError(f"{path}: unsupported n_mels={found}: OpenL3 uses 128 or 256")
    return found, source, float("nan")


def load_openl3_h5(path: str | os.PathLike, n_mels: int | None = None,
                   frontend: str = "openl3-0.4") -> EmbeddingModel:
    """Load an OpenL3 audio model file (``openl3_audio_mel256_env.h5``, ...).

    Parameters
    ----------
    path : str or PathLike
        A Keras 2 ``.h5`` file of an OpenL3 mel128/mel256 audio network.
    n_mels : {128, 256}, optional
        Mel bands; inferred from the kapre mel matrix when the file stores one (then it must
        agree), else from the file name (``mel128`` / ``mel256``).

    frontend : {"openl3-0.4", "kapre-0.1.4"}
        Log-mel front end: what openl3 0.4 computes (kapre 0.3 with its 0.1.4 dB rule:
        frames from sample 0, magnitude mel, Slaney scale) or the kapre 0.1.4 layer the
        weights were trained with (TF 'SAME' framing, sqrt of power mel, HTK scale). The
        stored mel matrix, where present, is checked against the kapre 0.1.4 filterbank.

    Returns
    -------
    EmbeddingModel
        ``l3net(n_mels, frontend)`` (which, like OpenL3, ends at ``audio_embedding_layer``
        with no BN/ReLU after it) with the file's weights, in eval mode; ``metadata`` records
        the provenance.

    Raises
    ------
    EdgeSEAError
        h5py missing; the file missing, not HDF5, without Keras weights, with layers of other
        shapes, or with an unsupported front end (n_mels not 128/256, linear spectrogram).
    """
    path = os.fspath(path)
    # root_layers: also a save_weights() file, with the layers at the root
    with open_keras_h5(path, "OpenL3", root_layers=True) as (f, layers):
        bands, source, diff = _n_mels(layers, path, n_mels)
        conv_names, bn_names = conv_bn_names(layers)
        if len(conv_names) != len(_FILTERS) or len(bn_names) != len(_FILTERS):
            raise EdgeSEAError(
                f"{path}: found convs {conv_names} and {len(bn_names)} BatchNorm layers; "
                f"OpenL3 has {len(_FILTERS) - 1} 'conv2d_k' + 'audio_embedding_layer' and "
                f"{len(_FILTERS)} BatchNorms")
        convs = [[layer_array(layers, n, k, path) for k in ("kernel", "bias")]
                 for n in conv_names]
        bns = [[layer_array(layers, n, k, path) for k in _BN_KEYS] for n in bn_names]
        version = keras_version(f, layers)
    for name, (kernel, bias), cin, cout in zip(conv_names, convs, (1, *_FILTERS[:-1]),
                                               _FILTERS, strict=True):
        if kernel.shape != (3, 3, cin, cout) or bias.shape != (cout,):
            raise EdgeSEAError(f"{path}: layer {name!r} has kernel {kernel.shape} and bias "
                               f"{bias.shape}; OpenL3 expects (3, 3, {cin}, {cout}) and "
                               f"({cout},)")
    for name, stats, width in zip(bn_names, bns, (1, *_FILTERS[:-1]), strict=True):
        if any(s.shape != (width,) for s in stats):
            raise EdgeSEAError(f"{path}: BatchNorm layer {name!r} has shapes "
                               f"{[s.shape for s in stats]}, expected ({width},)")
    if not np.isnan(diff) and diff > 1e-5:
        warnings.warn(f"{path}: the stored mel matrix differs from edgesea's HTK/Slaney "
                      f"filterbank by up to {diff:.3g}; embeddings may not match OpenL3",
                      EdgeSEAWarning, stacklevel=2)
    model = l3net(bands, frontend=frontend)
    model.config.family = "openl3"  # l3net(): no BN/ReLU after audio_embedding_layer
    torch_convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    torch_bns = [model.input_bn] + [m for m in model.features if isinstance(m, nn.BatchNorm2d)]
    copy_conv_bn_weights(torch_convs, torch_bns, convs, bns)
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    model.metadata = {
        "source": "openl3", "file": os.path.basename(path), "file_sha256": digest,
        "keras_version": version, "n_mels": bands,
        "n_mels_from": source, "mel_matrix_max_abs_diff": None if np.isnan(diff) else diff,
        "frontend": frontend, "imported_by": "edgesea.teachers.openl3"}
    return model.eval()


class OpenL3Teacher:
    """OpenL3 audio embeddings (512-d, 1 s windows at 48 kHz) as a SEA teacher.

    Parameters
    ----------
    model : EmbeddingModel
        An OpenL3 network from :func:`load_openl3_h5`; the teacher keeps a private copy
        (:attr:`model`), so later changes to ``model`` are not seen.
    batch_size : int
        Windows per forward pass in :meth:`embed`.
    device : str or torch.device, optional
        Where to run (default CPU, with the BN-folded :meth:`EmbeddingModel.for_inference`
        copy, built on the first :meth:`embed`).

    Attributes
    ----------
    name, sample_rate, window, emb_dim : str, int, float, int
        ``"openl3"``, 48000, 1.0 and 512.
    identity : str
        :func:`~edgesea.teachers.base.identity_hash` of the weights and front-end settings.
    """

    name = "openl3"

    def __init__(self, model: EmbeddingModel, batch_size: int = 32,
                 device: str | torch.device | None = None) -> None:
        if not isinstance(model, EmbeddingModel) or model.sample_rate != _SR \
                or model.window != 1.0 or model.emb_dim != 512:
            raise EdgeSEAError("OpenL3Teacher expects a 48 kHz, 1 s, 512-d EmbeddingModel "
                               "from load_openl3_h5")
        if int(batch_size) < 1:
            raise EdgeSEAError(f"batch_size must be >= 1, got {batch_size}")
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.sample_rate, self.window, self.emb_dim = _SR, 1.0, 512
        self.window_samples = model.window_samples
        self.batch_size = int(batch_size)
        self.device = torch.device(device or "cpu")
        self._net: torch.nn.Module | None = None
        self.identity = identity_hash(self.model.state_dict(), {
            "teacher": "openl3", "frontend": model.config.frontend,
            "bn_eps": model.config.bn_eps, "extra": model.config.extra})

    @classmethod
    def from_h5(cls, path: str | os.PathLike, n_mels: int | None = None,
                frontend: str = "openl3-0.4", **kwargs: Any) -> OpenL3Teacher:
        """:func:`load_openl3_h5` then the constructor (``kwargs``: batch_size, device)."""
        return cls(load_openl3_h5(path, n_mels=n_mels, frontend=frontend), **kwargs)

    def __repr__(self) -> str:
        return (f"OpenL3Teacher(n_mels={self.model.config.frontend['n_mels']}, "
                f"identity={self.identity!r})")

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """Embed ``(B, 48000)`` windows at 48 kHz -> ``(B, 512)`` float32."""
        arr = np.asarray(windows)
        if arr.ndim != 2 or arr.shape[1] != self.window_samples:
            raise EdgeSEAError(f"openl3 teacher expects windows of shape "
                               f"(B, {self.window_samples}) (1 s at 48000 Hz), got {arr.shape}")
        out = np.zeros((arr.shape[0], self.emb_dim), dtype=np.float32)
        if self._net is None and arr.shape[0]:
            self._net = (self.model.for_inference() if self.device.type == "cpu"
                         else copy.deepcopy(self.model).to(self.device))
        with torch.inference_mode():
            for i in range(0, arr.shape[0], self.batch_size):
                x = torch.tensor(arr[i:i + self.batch_size], dtype=torch.float32)
                out[i:i + self.batch_size] = self._net(x.to(self.device)).cpu().numpy()
        return out
