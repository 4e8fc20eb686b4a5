"""The aisfx network in torch: its Essentia log-mel front end, its CNN9 and the packed path.

:class:`AisfxFrontend` reproduces the published Essentia front end (the one the network was
trained on), :class:`AisfxNet` the ``EmbeddingNet`` (CNN9, 512-d) of the PyPI package
``aisfx`` 0.1.2, and :func:`packed_forward` runs that network through its BatchNorm-folded,
packed trunk for CPU inference. No weights here: :mod:`edgesea.teachers.aisfx` reads the
package's checkpoint and builds the teacher (dense) and :mod:`edgesea.sparse` the pruned
models on these modules.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from edgesea.frontend.mel import aisfx_mel_filterbank
from edgesea.models.inference import compile_trunk, fold_batchnorm, weights_signature

__all__ = ["HOP", "LOG_SCALE", "N_FFT", "N_MELS", "SAMPLE_RATE", "AisfxFrontend", "AisfxNet",
           "aisfx_mel_filterbank", "packed_forward"]

SAMPLE_RATE = 44100
N_FFT = 2048
HOP = 1024
N_MELS = 96
LOG_SCALE = 9.457798957824707  # the package's 'original' min-max normalisation (min 0)

class AisfxFrontend(nn.Module):
    """The aisfx (Essentia) log-mel front end: waveforms ``(B, n)`` -> ``(B, T, 96)``.

    44.1 kHz mono input, no gain normalisation. Frames of 2048 samples with a hop of 1024,
    the first centred on sample 0 (1024 zeros before, zeros after the end as needed), so
    ``T = ceil((n + 1024) / 1024)``. Symmetric Hann window ``0.5 - 0.5 cos(2 pi k / 2047)``,
    not normalised; power spectrum; :func:`aisfx_mel_filterbank`; then
    ``log10(1e4 * x + 1) / 9.457798957824707``.
    """

    def __init__(self) -> None:
        super().__init__()
        win = torch.hann_window(N_FFT, periodic=False, dtype=torch.float64)
        self.register_buffer("window", win.float(), persistent=False)
        mel = torch.from_numpy(aisfx_mel_filterbank().T.astype(np.float32))
        self.register_buffer("mel_basis", mel, persistent=False)  # (1025, 96)

    @staticmethod
    def n_frames(n_samples: int) -> int:
        """Number of frames for ``n_samples`` input samples."""
        return math.ceil((n_samples + HOP) / HOP)

    @staticmethod
    def config() -> dict[str, Any]:
        """The front-end settings as plain JSON (part of the teacher identity)."""
        return {"sample_rate": SAMPLE_RATE, "n_fft": N_FFT, "hop": HOP, "n_mels": N_MELS,
                "window": "hann_symmetric", "mel": "htk_warping_unit_sum", "fmin": 0.0,
                "fmax": SAMPLE_RATE / 2, "compression": "log10(1e4x+1)", "scale": LOG_SCALE,
                "first_frame_centred_on": 0}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Waveforms ``(B, n)`` (or ``(n,)``) -> normalised log-mel ``(B, T, 96)``."""
        if x.dim() == 1:
            x = x.unsqueeze(0)
        n = x.shape[-1]
        t = self.n_frames(n)
        padded = nn.functional.pad(x, (HOP, t * HOP - n))  # length (t - 1) * HOP + N_FFT
        spec = torch.stft(padded, N_FFT, HOP, window=self.window, center=False,
                          return_complex=True)
        power = spec.real.square() + spec.imag.square()  # (B, 1025, T)
        mel = torch.matmul(power.transpose(1, 2), self.mel_basis)  # (B, T, 96)
        return torch.log10(1e4 * mel + 1.0) / LOG_SCALE


class _ConvBlock(nn.Module):
    """Two [3x3 conv (no bias), BatchNorm, ReLU] layers, then an optional 2x2 max pool."""

    def __init__(self, c_in: int, c_out: int, pool: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out, eps=1e-5)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out, eps=1e-5)
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, T, F)`` -> ``(B, C_out, T', F')``."""
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.bn2(self.conv2(x)))
        return nn.functional.max_pool2d(x, 2) if self.pool else x


class AisfxNet(nn.Module):
    """The aisfx ``EmbeddingNet`` (CNN9): log-mel ``(B, T, 96)`` -> embeddings ``(B, 512)``.

    Four conv blocks (64, 128, 256, 512 channels), 2x2 max pooling after blocks 1-3, then the
    mean over the mel axis and the max over time. Outputs are >= 0 (after ReLU). The
    state-dict names match :func:`load_aisfx_checkpoint`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv_block1 = _ConvBlock(1, 64, True)
        self.conv_block2 = _ConvBlock(64, 128, True)
        self.conv_block3 = _ConvBlock(128, 256, True)
        self.conv_block4 = _ConvBlock(256, 512, False)

    def layers(self) -> nn.Sequential:
        """The four blocks as one ``nn.Sequential`` of this network's own modules (conv,
        BatchNorm, ReLU, ..., max pool) on ``(B, 1, T, 96)``: what
        :func:`~edgesea.models.inference.compile_trunk` packs."""
        mods: list[nn.Module] = []
        for b in (self.conv_block1, self.conv_block2, self.conv_block3, self.conv_block4):
            mods += [b.conv1, b.bn1, nn.ReLU(), b.conv2, b.bn2, nn.ReLU()]
            mods += [nn.MaxPool2d(2)] if b.pool else []
        return nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log-mel ``(B, T, 96)`` with ``T >= 8`` -> ``(B, 512)``."""
        x = x.unsqueeze(1)
        for block in (self.conv_block1, self.conv_block2, self.conv_block3, self.conv_block4):
            x = block(x)
        return self.pool(x)

    @staticmethod
    def pool(features: torch.Tensor) -> torch.Tensor:
        """The trunk's feature map ``(B, 512, T', F')`` -> ``(B, 512)``: mean over frequency,
        then max over time."""
        return features.mean(dim=3).amax(dim=2)


def packed_forward(net: AisfxNet, logmel: torch.Tensor,
                   cache: dict[int, tuple[tuple, nn.Module, bool]]) -> torch.Tensor:
    """``net`` on ``(B, T, 96)`` log-mel (no gradient, CPU) through its BatchNorm-folded,
    packed trunk (:func:`~edgesea.models.inference.compile_trunk`).

    Equal to ``net(logmel)`` in eval mode to float rounding (~1e-6 relative) and about 1.6x
    faster on CPU (``benchmarks/teacher_speed.py``). The trunk is built once per frame count
    ``T`` and kept in ``cache``; it is rebuilt when ``net``'s weights change (a new tensor
    or an in-place write, e.g. ``load_state_dict``), so a stale copy is never used.
    """

    t = int(logmel.shape[1])
    weights = weights_signature(net)
    if t not in cache or cache[t][0] != weights:
        cache[t] = (weights, *compile_trunk(fold_batchnorm(net.layers()), t, N_MELS))
    _, trunk, channels_last = cache[t]
    x = logmel.unsqueeze(1)
    x = x.contiguous(memory_format=torch.channels_last) if channels_last else x
    return net.pool(trunk(x))
