"""The mel scale (HTK and Slaney) and triangular mel filterbanks in NumPy, as librosa 0.x
builds them (``librosa.filters.mel``), without librosa at run time, and Essentia's mel bands as
the aisfx teacher computes them."""

from __future__ import annotations

import math

import numpy as np

from edgesea.errors import EdgeSEAError

__all__ = ["PADDINGS", "SPECTRA", "WINDOWS", "aisfx_mel_filterbank", "hz_to_mel", "mel_filterbank",
           "mel_to_hz"]

#: The front ends' padding rules, spectra and analysis windows
#: (:class:`~edgesea.frontend.logmel.LogMelSpectrogram` documents each).
PADDINGS = ("same", "end", "center", "valid", "stream")
SPECTRA = ("power", "magnitude")
WINDOWS = ("hann", "hamming", "ones")


def hz_to_mel(freqs: np.ndarray | float, scale: str = "htk") -> np.ndarray:
    """Convert Hz to mel on the ``"htk"`` or ``"slaney"`` scale (as librosa defines them)."""
    f = np.asarray(freqs, dtype=np.float64)
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + f / 700.0)
    if scale == "slaney":
        f_sp = 200.0 / 3
        mels = f / f_sp
        min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, math.log(6.4) / 27.0
        log_t = f >= min_log_hz
        return np.where(log_t, min_log_mel + np.log(np.maximum(f, 1e-12) / min_log_hz) / logstep,
                        mels)
    raise EdgeSEAError(f"unknown mel scale {scale!r}: expected 'htk' or 'slaney'")


def mel_to_hz(mels: np.ndarray | float, scale: str = "htk") -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    m = np.asarray(mels, dtype=np.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    if scale == "slaney":
        f_sp = 200.0 / 3
        min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, math.log(6.4) / 27.0
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)),
                        f_sp * m)
    raise EdgeSEAError(f"unknown mel scale {scale!r}: expected 'htk' or 'slaney'")


def mel_filterbank(sr: float, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: float | None = None, scale: str = "htk",
                   norm: str | None = "slaney") -> np.ndarray:
    """Triangular mel filterbank of shape ``(n_mels, 1 + n_fft // 2)`` (float64).

    Triangles are built in Hz between mel-spaced edges (librosa's construction). ``norm``:
    ``"slaney"`` divides each band by its width in Hz (constant energy per band), ``None``
    leaves peaks at 1.
    """
    fmax = sr / 2.0 if fmax is None else float(fmax)
    if not 0 <= fmin < fmax <= sr / 2.0 + 1e-9:
        raise EdgeSEAError(f"mel band edges fmin={fmin}, fmax={fmax} must satisfy "
                           f"0 <= fmin < fmax <= sr/2 = {sr / 2}")
    fftfreqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    mel_pts = np.linspace(hz_to_mel(fmin, scale), hz_to_mel(fmax, scale), n_mels + 2)
    mel_f = mel_to_hz(mel_pts, scale)
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fftfreqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if norm == "slaney":
        weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    elif norm is not None:
        raise EdgeSEAError(f"unknown mel norm {norm!r}: expected 'slaney' or None")
    return weights


def aisfx_mel_filterbank(sr: float = 44100, n_fft: int = 2048, n_mels: int = 96,
                         fmin: float = 0.0, fmax: float = 22050.0) -> np.ndarray:
    """Essentia's ``MelBands`` matrix ``(n_mels, 1 + n_fft // 2)`` (float64).

    HTK mel scale (``1127 ln(1 + f / 700)``), ``n_mels + 2`` edges evenly spaced in mel,
    triangles evaluated on the mel value of each bin (``weighting="warping"``: linear in mel,
    not in Hz as librosa builds them), each band divided by its sum (``normalize="unit_sum"``).
    """
    def hz2mel(f: np.ndarray) -> np.ndarray:
        return 1127.0 * np.log1p(np.asarray(f, dtype=np.float64) / 700.0)

    edges_mel = np.linspace(hz2mel(fmin), hz2mel(fmax), n_mels + 2)
    edges_hz = 700.0 * np.expm1(edges_mel / 1127.0)
    freqs = np.arange(n_fft // 2 + 1) * (sr / n_fft)
    bin_mel = hz2mel(freqs)[None, :]
    lo, mid, hi = (edges_hz[i:i + n_mels, None] for i in range(3))
    mlo, mmid, mhi = (edges_mel[i:i + n_mels, None] for i in range(3))
    f = freqs[None, :]
    up = (bin_mel - mlo) / (mmid - mlo)
    down = (mhi - bin_mel) / (mhi - mmid)
    weights = np.where((f >= lo) & (f < mid), up, np.where((f >= mid) & (f < hi), down, 0.0))
    sums = weights.sum(axis=1, keepdims=True)
    return weights / np.where(sums > 0, sums, 1.0)
