"""Log-mel front ends as ``torch.nn.Module`` objects, with explicit parameters.

:class:`LogMelSpectrogram` turns a batch of waveforms ``(B, n_samples)`` into log-mel images
``(B, n_mels, n_frames)``. Every choice is a constructor argument (sample rate, FFT size, hop,
window, padding, mel scale and normalisation, magnitude or power, dB reference and floor), and
:meth:`LogMelSpectrogram.config` / :meth:`LogMelSpectrogram.from_config` round-trip them as
plain JSON. Padding ``"stream"`` frames a window exactly as ``"same"`` does, but takes the
samples around the window from the continuous signal instead of zeros
(:meth:`LogMelSpectrogram.context`), so that the frames of overlapping windows can be
computed once on the whole signal (:meth:`LogMelSpectrogram.window_logmels`).
:func:`kapre_preset` reproduces the kapre 0.1.4 ``Melspectrogram`` layer used by the
original SEA students (edgel3) and by OpenL3. The mel matrix is built in NumPy by
:mod:`edgesea.frontend.mel` (no librosa at run time; its names are re-exported here).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from edgesea.errors import EdgeSEAError
from edgesea.frontend.mel import PADDINGS, SPECTRA, WINDOWS, hz_to_mel, mel_filterbank, mel_to_hz

__all__ = ["LogMelSpectrogram", "hz_to_mel", "mel_filterbank", "mel_to_hz"]


#: STFT frames computed at a time by :meth:`LogMelSpectrogram.window_logmels` (bounds its
#: memory: 4096 frames of a 1024-point FFT are ~25 MB of spectra).
MAX_BLOCK_FRAMES = 4096


class LogMelSpectrogram(nn.Module):
    """Batched log-mel spectrogram: ``(B, n_samples) -> (B, n_mels, n_frames)``.

    Parameters
    ----------
    sample_rate : int
        Rate of the input waveform.
    n_fft : int
        FFT size (= window length).
    hop_length : int
        Hop between frames, in samples.
    n_mels : int
        Number of mel bands.
    window : {"hann", "hamming", "ones"}
        Analysis window; ``periodic=True`` gives the DFT-even (periodic) form.
    periodic : bool
        Periodic (True, as kapre/scipy ``sym=False``) or symmetric window.
    padding : {"same", "end", "center", "valid", "stream"}
        ``"same"``: TensorFlow 'SAME' convolution padding (kapre): ``ceil(n / hop)`` frames,
        zeros split evenly (extra zero at the end). ``"end"``: ``ceil(n / hop)`` frames starting
        at sample 0, zeros only at the end (``tf.signal.stft(pad_end=True)``, kapre 0.3).
        ``"center"``: ``n_fft // 2`` zeros on
        both sides (librosa ``center=True`` with zero padding). ``"valid"``: no padding.
        ``"stream"``: the frames of ``"same"`` for a window of ``window_samples``, whose
        samples outside the window come from the signal around it: the input is either the
        window with its :meth:`context` (``window_samples + left + right`` samples, framed
        without padding) or the bare window (``window_samples``; the context is zeros, which
        is exactly ``"same"``).
    fmin, fmax : float
        Band edges in Hz (``fmax=None`` is ``sample_rate / 2``).
    mel_scale : {"htk", "slaney"}
        Mel formula.
    mel_norm : {"slaney", None}
        Band normalisation of the filterbank.
    spectrum : {"power", "magnitude"}
        What the mel matrix is applied to: ``"power"`` (``|X|**2``, kapre 0.1.4, librosa) or
        ``"magnitude"`` (``|X|``, kapre 0.3 as used by openl3 0.4).
    power : float
        Exponent applied after the mel matrix, relative to the spectrum: with
        ``spectrum="power"`` the output is ``(mel @ |X|**2) ** (power / 2)`` (``power=2``: mel
        power spectrogram; ``power=1``: its square root, kapre 0.1.4's ``power_melgram=1``);
        with ``"magnitude"`` it is ``(mel @ |X|) ** power``.
    db : bool
        If True, convert to ``10 * log10(max(x, amin))``.
    ref : {"max"} or float
        dB reference: ``"max"`` subtracts each example's maximum (0 dB peak per window); a
        number subtracts ``10 * log10(ref)``.
    amin : float
        Floor applied before the logarithm.
    top_db : float or None
        Clip below ``max - top_db`` (per example); None disables.
    window_samples : int or None
        The window length (samples) of a ``"stream"`` front end, which it needs to tell a
        window with context from a bare one (set by the model: its window); required with
        ``padding="stream"`` and refused with any other padding.
    """

    def __init__(self, sample_rate: int, n_fft: int, hop_length: int, n_mels: int, *,
                 window: str = "hann", periodic: bool = True, padding: str = "same",
                 fmin: float = 0.0, fmax: float | None = None, mel_scale: str = "htk",
                 mel_norm: str | None = "slaney", spectrum: str = "power",
                 power: float = 1.0, db: bool = True,
                 ref: str | float = "max", amin: float = 1e-10,
                 top_db: float | None = 80.0, window_samples: int | None = None) -> None:
        super().__init__()
        if window not in WINDOWS:
            raise EdgeSEAError(f"unknown window {window!r}: expected one of {WINDOWS}")
        if padding not in PADDINGS:
            raise EdgeSEAError(f"unknown padding {padding!r}: expected one of {PADDINGS}")
        if not (isinstance(ref, str) and ref == "max") and not (
                isinstance(ref, int | float) and ref > 0):
            raise EdgeSEAError(f"invalid ref={ref!r}: expected 'max' or a positive number")
        if spectrum not in SPECTRA:
            raise EdgeSEAError(f"unknown spectrum {spectrum!r}: expected one of {SPECTRA}")
        if int(n_fft) < 2 or int(hop_length) < 1 or int(n_mels) < 1:
            raise EdgeSEAError("n_fft must be >= 2, hop_length >= 1 and n_mels >= 1")
        if padding == "stream":
            if isinstance(window_samples, bool) or not isinstance(
                    window_samples, int | np.integer) or window_samples < 1:
                raise EdgeSEAError(f"padding='stream' needs window_samples, the window length "
                                   f"in samples (an integer >= 1), got {window_samples!r}")
            window_samples = int(window_samples)
        elif window_samples is not None:
            raise EdgeSEAError(f"window_samples={window_samples!r} is only used by "
                               f"padding='stream', not padding={padding!r}: leave it None")
        self.window_samples = window_samples
        self.sample_rate = int(sample_rate)
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length)
        self.n_mels = int(n_mels)
        self.window_name = window
        self.periodic = bool(periodic)
        self.padding = padding
        self.fmin = float(fmin)
        self.fmax = None if fmax is None else float(fmax)
        self.mel_scale = mel_scale
        self.mel_norm = mel_norm
        self.spectrum = spectrum
        self.power = float(power)
        self.db = bool(db)
        self.ref = ref
        self.amin = float(amin)
        self.top_db = None if top_db is None else float(top_db)
        fb = mel_filterbank(self.sample_rate, self.n_fft, self.n_mels, self.fmin, self.fmax,
                            mel_scale, mel_norm)
        self.register_buffer("mel_basis", torch.from_numpy(fb.T.astype(np.float32)),
                             persistent=False)
        if window == "hann":
            win = torch.hann_window(self.n_fft, periodic=self.periodic, dtype=torch.float64)
        elif window == "hamming":
            win = torch.hamming_window(self.n_fft, periodic=self.periodic, dtype=torch.float64)
        else:
            win = torch.ones(self.n_fft, dtype=torch.float64)
        self.register_buffer("window", win.float(), persistent=False)

    # -- configuration -------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """All constructor arguments as a JSON-serialisable dict (``window_samples`` only
        for ``padding="stream"``, so the configurations of other front ends are unchanged)."""
        cfg = {"sample_rate": self.sample_rate, "n_fft": self.n_fft,
               "hop_length": self.hop_length, "n_mels": self.n_mels,
               "window": self.window_name, "periodic": self.periodic,
               "padding": self.padding, "fmin": self.fmin, "fmax": self.fmax,
               "mel_scale": self.mel_scale, "mel_norm": self.mel_norm,
               "spectrum": self.spectrum, "power": self.power,
               "db": self.db, "ref": self.ref, "amin": self.amin, "top_db": self.top_db}
        if self.window_samples is not None:
            cfg["window_samples"] = self.window_samples
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LogMelSpectrogram:
        """Build from :meth:`config` output."""
        try:
            return cls(**config)
        except TypeError as e:
            raise EdgeSEAError(f"invalid front-end configuration {config}: {e}") from e

    def _same_padding(self, n: int) -> tuple[int, int]:
        """Zeros (before, after) that 'same' padding adds to ``n`` samples."""
        n_out = math.ceil(n / self.hop_length)
        total = max((n_out - 1) * self.hop_length + self.n_fft - n, 0)
        return total // 2, total - total // 2

    def context(self, n_window: int | None = None) -> tuple[int, int]:
        """Samples ``(left, right)`` of signal the front end reads around a window.

        Parameters
        ----------
        n_window : int, optional
            Window length in samples (default: :attr:`window_samples`).

        Returns
        -------
        tuple of int
            For ``padding="stream"``, the amounts ``"same"`` padding would add as zeros
            (``left = (n_fft - hop) // 2`` and ``right = n_fft - hop - left`` when the window
            is a multiple of the hop: 432 + 432 at 8 kHz, n_fft 1024, hop 160); ``(0, 0)``
            for every other padding (the front end sees the window only).
        """
        if self.padding != "stream":
            return 0, 0
        n = self.window_samples if n_window is None else int(n_window)
        return self._same_padding(n)

    def n_frames(self, n_samples: int) -> int:
        """Number of frames for an input of ``n_samples`` (for ``"stream"``: the window with
        its context or the bare window; both give ``ceil(window_samples / hop)``)."""
        if self.padding == "stream":
            left, right = self.context()
            if n_samples == self.window_samples + left + right:
                n_samples = self.window_samples
            return math.ceil(n_samples / self.hop_length)
        if self.padding in ("same", "end"):
            return math.ceil(n_samples / self.hop_length)
        if self.padding == "center":
            return 1 + n_samples // self.hop_length
        return 1 + max(n_samples - self.n_fft, 0) // self.hop_length

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-1]
        if self.padding == "stream":
            left, right = self.context()
            if n == self.window_samples + left + right:
                return x
            if n == self.window_samples:
                return nn.functional.pad(x, (left, right))
            raise EdgeSEAError(f"a 'stream' front end takes windows of {self.window_samples} "
                               f"samples, or {self.window_samples + left + right} with their "
                               f"context ({left} before, {right} after); got {n}")
        if self.padding == "same":
            n_out = math.ceil(n / self.hop_length)
            total = max((n_out - 1) * self.hop_length + self.n_fft - n, 0)
            left = total // 2
            return nn.functional.pad(x, (left, total - left))
        if self.padding == "end":
            n_out = math.ceil(n / self.hop_length)
            return nn.functional.pad(x, (0, max((n_out - 1) * self.hop_length + self.n_fft - n,
                                                0)))
        if self.padding == "center":
            half = self.n_fft // 2
            return nn.functional.pad(x, (half, half))
        if n < self.n_fft:
            raise EdgeSEAError(f"input of {n} samples is shorter than n_fft={self.n_fft} "
                               "with padding='valid'")
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Waveforms ``(B, n)`` -> log-mel ``(B, n_mels, n_frames)``."""
        if x.dim() == 1:
            x = x.unsqueeze(0)
        return self.reference(self.frame_logmel(self._pad(x)))

    def frame_logmel(self, x: torch.Tensor) -> torch.Tensor:
        """Log-mel of every frame of ``x``, before the per-example dB reference and floor.

        Parameters
        ----------
        x : torch.Tensor [shape=(B, n)]
            Samples, already padded: frame ``t`` is ``x[:, t*hop : t*hop + n_fft]``.

        Returns
        -------
        torch.Tensor [shape=(B, n_mels, 1 + (n - n_fft) // hop)]
            ``10 log10(max(mel, amin))`` (or the mel itself when ``db`` is False): each
            frame depends on its own samples only, so frames of a long signal can be sliced
            into windows and finished by :meth:`reference`.
        """
        spec = torch.stft(x, self.n_fft, self.hop_length, window=self.window,
                          center=False, return_complex=True)
        power = spec.real.square() + spec.imag.square()  # (B, F, T)
        if self.spectrum == "power":
            mel = torch.matmul(self.mel_basis.T, power)  # (B, n_mels, T)
            if self.power != 2.0:
                mel = mel.pow(self.power / 2.0)
        else:
            mel = torch.matmul(self.mel_basis.T, power.sqrt())
            if self.power != 1.0:
                mel = mel.pow(self.power)
        if not self.db:
            return mel
        return 10.0 * torch.log10(torch.clamp(mel, min=self.amin))

    def reference(self, out: torch.Tensor) -> torch.Tensor:
        """The dB reference and floor of :meth:`forward`, per example, on
        :meth:`frame_logmel` output ``(B, n_mels, T)`` (the identity when ``db`` is False)."""
        if not self.db:
            return out
        peak = out.amax(dim=(-2, -1), keepdim=True)
        if self.ref == "max":
            out = out - peak
            peak = torch.zeros_like(peak)
        else:
            shift = 10.0 * math.log10(float(self.ref))
            out = out - shift
            peak = peak - shift
        if self.top_db is not None:
            out = torch.maximum(out, peak - self.top_db)
        return out

    def window_logmels(self, signal: np.ndarray, n_windows: int, hop: int, *, start: int = 0,
                       n_window: int | None = None, block: int | None = None
                       ) -> Iterator[torch.Tensor]:
        """Log-mel inputs of evenly spaced windows of one continuous signal, in blocks.

        Window ``i`` covers ``signal[start + i*hop : start + i*hop + n_window]``; samples
        outside ``signal`` are zeros. A ``"stream"`` front end gives each window its real
        :meth:`context` from the signal; when ``hop`` is a multiple of :attr:`hop_length`
        (and windows share frames), the frames are computed once per block on the
        continuous signal and each window is its slice of ``n_frames`` of them (then
        :meth:`reference` per window). Otherwise each window is computed alone (the
        window-by-window result, which the shared frames equal up to float rounding).

        Parameters
        ----------
        signal : np.ndarray [shape=(n,)]
            Mono samples at :attr:`sample_rate`.
        n_windows : int
            Number of windows.
        hop : int
            Samples between window starts (>= 1).
        start : int
            Where window 0 starts in ``signal`` (negative: before it, in zeros).
        n_window : int, optional
            Window length in samples (default :attr:`window_samples`; required for
            front ends other than ``"stream"``).
        block : int, optional
            Windows per yielded block (default: at most 256, and few enough that a block
            needs at most :data:`MAX_BLOCK_FRAMES` STFT frames): memory is bounded by one
            block, whatever the length of ``signal``. Blocks only bound memory: the values
            do not depend on them beyond float rounding.

        Yields
        ------
        torch.Tensor [shape=(b, n_mels, n_frames)]
            Consecutive blocks of ``b <= block`` windows, ``n_windows`` in all (float32,
            computed without autograd).
        """
        n_window = self.window_samples if n_window is None else int(n_window)
        if n_window is None or n_window < 1 or int(hop) < 1 or (
                block is not None and int(block) < 1):
            raise EdgeSEAError("window_logmels needs n_window >= 1, hop >= 1 and block >= 1")
        hop = int(hop)
        sig = torch.as_tensor(np.ascontiguousarray(signal, dtype=np.float32)).reshape(-1)
        left, right = self.context(n_window)
        nf = self.n_frames(n_window) if self.padding != "stream" else math.ceil(
            n_window / self.hop_length)
        step, rem = divmod(hop, self.hop_length)
        shared = self.padding == "stream" and rem == 0 and step <= nf
        span = n_window + left + right
        if block is None:
            fit = (MAX_BLOCK_FRAMES - nf) // step + 1 if shared else MAX_BLOCK_FRAMES // nf
            block = min(256, max(1, fit))
        block = int(block)
        for i0 in range(0, int(n_windows), block):
            b = min(block, int(n_windows) - i0)
            s0 = start + i0 * hop - left
            with torch.no_grad():
                if shared:
                    seg = _segment(sig, s0, s0 + ((b - 1) * step + nf - 1) * self.hop_length
                                   + self.n_fft)
                    frames = self.frame_logmel(seg[None])[0]  # (n_mels, (b-1)*step + nf)
                    out = self.reference(
                        frames.unfold(-1, nf, step).permute(1, 0, 2).contiguous())
                else:
                    if hop >= span:  # windows apart: each cut alone (no padding between)
                        wins = torch.stack([_segment(sig, s0 + j * hop, s0 + j * hop + span)
                                            for j in range(b)])
                    else:
                        wins = _segment(sig, s0, s0 + (b - 1) * hop + span).unfold(0, span, hop)
                    if self.padding == "stream":
                        out = self.reference(self.frame_logmel(wins))
                    else:
                        out = self(wins)
            yield out


def _segment(sig: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
    """``sig[lo:hi]`` with zeros where the range leaves ``sig`` (a view when it does not)."""
    n = sig.shape[0]
    if 0 <= lo and hi <= n:
        return sig[lo:hi]
    out = sig.new_zeros(hi - lo)
    a, b = max(lo, 0), min(hi, n)
    if a < b:
        out[a - lo:b - lo] = sig[a:b]
    return out
