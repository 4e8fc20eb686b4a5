"""The log-mel front ends in NumPy: the torch-free twins of
:class:`~edgesea.frontend.logmel.LogMelSpectrogram` and
:class:`~edgesea.teachers.aisfx_net.AisfxFrontend`.

:class:`NumpyLogMel` is built from the same configuration dict
(:meth:`LogMelSpectrogram.config`, stored in every model file, ``.edge.json`` and exported
ONNX file) and computes the same log-mel images with ``numpy.fft``: windows ``(B, n)`` ->
``(B, n_mels, n_frames)``, and :meth:`NumpyLogMel.window_logmels` for evenly spaced windows of
one continuous signal, in blocks of bounded memory, sharing the frames of a ``"stream"`` front
end. The results equal the torch front end's to float rounding (about 1e-5 dB;
``tests/light/test_numpy_frontend.py``).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from edgesea.core.threads import cpu_threads
from edgesea.errors import EdgeSEAError
from edgesea.frontend.mel import (
    PADDINGS,
    SPECTRA,
    WINDOWS,
    aisfx_mel_filterbank,
    mel_filterbank,
)

__all__ = ["AISFX_FRONTEND", "NumpyAisfxFrontend", "NumpyLogMel"]

#: STFT frames computed at a time by :meth:`NumpyLogMel.window_logmels` (as the torch one).
MAX_BLOCK_FRAMES = 4096
_KEYS = {"sample_rate", "n_fft", "hop_length", "n_mels", "window", "periodic", "padding",
         "fmin", "fmax", "mel_scale", "mel_norm", "spectrum", "power", "db", "ref", "amin",
         "top_db", "window_samples"}


def _window(name: str, n: int, periodic: bool) -> np.ndarray:
    """The analysis window as torch builds it (float64, then float32)."""
    if name == "ones":
        return np.ones(n, dtype=np.float32)
    m = n if periodic else n - 1
    k = np.arange(n, dtype=np.float64)
    if name == "hann":
        w = 0.5 - 0.5 * np.cos(2.0 * np.pi * k / max(m, 1))
    else:
        w = 0.54 - 0.46 * np.cos(2.0 * np.pi * k / max(m, 1))
    return w.astype(np.float32)


#: Frames transformed at a time (a block of float64 spectra stays in cache: about twice as
#: fast as one transform of every frame at once).
_CHUNK = 128
#: Frames below which everything runs on the calling thread.
_PARALLEL_FRAMES = 512
_POOL: dict[int, ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()


def _threads() -> int:
    """Threads for the FFTs: ``OMP_NUM_THREADS`` when set (as torch and ONNX Runtime read
    it), else the CPU count."""
    return cpu_threads()


def _power(frames: np.ndarray, window: np.ndarray) -> np.ndarray:
    """``|rfft(frames * window)|**2`` of frames ``(k, n_fft)`` as float32 ``(k, F)``; the
    transform runs in float64 (NumPy's float64 FFT is about twice as fast as its float32
    one, and no less exact)."""
    spec = np.fft.rfft(frames * window, axis=-1)
    return (np.square(spec.real) + np.square(spec.imag)).astype(np.float32)


#: Rows below which a float32 matrix product takes BLAS's small-matrix path, whose rounding
#: differs (measured: 1-30 rows): fewer rows are zero-padded to this many, so a frame's
#: mel row is the same whichever block it is computed in.
_MIN_ROWS = 32


def _rows_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` with every row computed as in a large block (see :data:`_MIN_ROWS`)."""
    k = a.shape[0]
    if k >= _MIN_ROWS:
        return a @ b
    padded = np.zeros((_MIN_ROWS, a.shape[1]), dtype=a.dtype)
    padded[:k] = a
    return (padded @ b)[:k]


def _power_frames(frames: np.ndarray, window64: np.ndarray) -> np.ndarray:
    """:func:`_power` of every frame of ``frames`` ``(B, T, n_fft)`` -> ``(B * T, F)``
    float32, in blocks of :data:`_CHUNK` frames (a block's float64 spectra stay in cache),
    spread over :func:`_threads` threads when there are many (NumPy's FFT releases the GIL;
    no BLAS runs on those threads). A frame's row does not depend on the blocks."""
    b, t = frames.shape[0], frames.shape[1]
    out = np.empty((b, t, frames.shape[2] // 2 + 1), dtype=np.float32)
    tasks = [(i, j) for i in range(b) for j in range(0, t, _CHUNK)]

    def run(task: tuple[int, int]) -> None:
        i, j = task
        out[i, j:j + _CHUNK] = _power(frames[i, j:j + _CHUNK], window64)

    threads = min(_threads(), len(tasks), (b * t) // _PARALLEL_FRAMES)
    if threads < 2:
        for task in tasks:
            run(task)
    else:
        with _POOL_LOCK:
            pool = _POOL.get(threads) or _POOL.setdefault(threads,
                                                          ThreadPoolExecutor(threads))
        list(pool.map(run, tasks))
    return out.reshape(b * t, -1)


def _segment(sig: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """``sig[lo:hi]`` with zeros where the range leaves ``sig``."""
    n = sig.shape[0]
    if 0 <= lo and hi <= n:
        return sig[lo:hi]
    out = np.zeros(hi - lo, dtype=np.float32)
    a, b = max(lo, 0), min(hi, n)
    if a < b:
        out[a - lo:b - lo] = sig[a:b]
    return out


class NumpyLogMel:
    """Batched log-mel spectrogram in NumPy: ``(B, n_samples) -> (B, n_mels, n_frames)``.

    Parameters
    ----------
    config : dict
        :meth:`edgesea.frontend.logmel.LogMelSpectrogram.config` output (the parameters and
        their meaning are documented there).

    Raises
    ------
    EdgeSEAError
        An unknown key, or a value the torch front end refuses.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        if not isinstance(config, dict) or set(config) - _KEYS or not {
                "sample_rate", "n_fft", "hop_length", "n_mels"} <= set(config):
            raise EdgeSEAError(f"invalid front-end configuration {config!r}: expected the "
                               f"keys of LogMelSpectrogram.config() ({sorted(_KEYS)})")
        c = {"window": "hann", "periodic": True, "padding": "same", "fmin": 0.0, "fmax": None,
             "mel_scale": "htk", "mel_norm": "slaney", "spectrum": "power", "power": 1.0,
             "db": True, "ref": "max", "amin": 1e-10, "top_db": 80.0, "window_samples": None,
             **config}
        if c["window"] not in WINDOWS or c["padding"] not in PADDINGS \
                or c["spectrum"] not in SPECTRA:
            raise EdgeSEAError(f"invalid front-end configuration {config!r}: window in "
                               f"{WINDOWS}, padding in {PADDINGS}, spectrum in {SPECTRA}")
        if not (c["ref"] == "max" or (isinstance(c["ref"], int | float) and c["ref"] > 0)):
            raise EdgeSEAError(f"invalid ref={c['ref']!r}: expected 'max' or a positive number")
        self.sample_rate, self.n_fft = int(c["sample_rate"]), int(c["n_fft"])
        self.hop_length, self.n_mels = int(c["hop_length"]), int(c["n_mels"])
        if self.n_fft < 2 or self.hop_length < 1 or self.n_mels < 1:
            raise EdgeSEAError("n_fft must be >= 2, hop_length >= 1 and n_mels >= 1")
        self.padding, self.spectrum = c["padding"], c["spectrum"]
        ws = c["window_samples"]
        if (self.padding == "stream") != (ws is not None) or (
                ws is not None and (isinstance(ws, bool) or int(ws) < 1)):
            raise EdgeSEAError("window_samples (an integer >= 1) is required with "
                               "padding='stream' and refused otherwise")
        self.window_samples = None if ws is None else int(ws)
        self.power, self.db, self.ref = float(c["power"]), bool(c["db"]), c["ref"]
        self.amin = float(c["amin"])
        self.top_db = None if c["top_db"] is None else float(c["top_db"])
        self._config = dict(config)
        fb = mel_filterbank(self.sample_rate, self.n_fft, self.n_mels, float(c["fmin"]),
                            None if c["fmax"] is None else float(c["fmax"]), c["mel_scale"],
                            c["mel_norm"])
        self.mel_basis = np.ascontiguousarray(fb.T.astype(np.float32))  # (F, n_mels)
        self.window = _window(c["window"], self.n_fft, bool(c["periodic"]))
        self._window64 = self.window.astype(np.float64)

    def config(self) -> dict[str, Any]:
        """The configuration it was built from."""
        return dict(self._config)

    def _same_padding(self, n: int) -> tuple[int, int]:
        total = max((math.ceil(n / self.hop_length) - 1) * self.hop_length + self.n_fft - n, 0)
        return total // 2, total - total // 2

    def context(self, n_window: int | None = None) -> tuple[int, int]:
        """Samples ``(left, right)`` read around a window (``(0, 0)`` unless ``"stream"``)."""
        if self.padding != "stream":
            return 0, 0
        return self._same_padding(self.window_samples if n_window is None else int(n_window))

    def n_frames(self, n_samples: int) -> int:
        """Number of frames for an input of ``n_samples`` (as the torch front end)."""
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

    def _pad(self, x: np.ndarray) -> np.ndarray:
        n = x.shape[-1]
        if self.padding == "stream":
            left, right = self.context()
            if n == self.window_samples + left + right:
                return x
            if n != self.window_samples:
                raise EdgeSEAError(f"a 'stream' front end takes windows of "
                                   f"{self.window_samples} samples, or "
                                   f"{self.window_samples + left + right} with their context; "
                                   f"got {n}")
            before, after = left, right
        elif self.padding == "same":
            before, after = self._same_padding(n)
        elif self.padding == "end":
            before = 0
            after = max((math.ceil(n / self.hop_length) - 1) * self.hop_length + self.n_fft - n,
                        0)
        elif self.padding == "center":
            before = after = self.n_fft // 2
        else:
            if n < self.n_fft:
                raise EdgeSEAError(f"input of {n} samples is shorter than n_fft={self.n_fft} "
                                   "with padding='valid'")
            return x
        return np.pad(x, ((0, 0), (before, after)))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Waveforms ``(B, n)`` (or ``(n,)``) -> log-mel ``(B, n_mels, n_frames)`` float32."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == 1:
            x = x[None]
        return self.reference(self.frame_logmel(self._pad(x)))

    def frame_logmel(self, x: np.ndarray) -> np.ndarray:
        """Log-mel of every frame of padded ``x`` ``(B, n)``, before the per-example dB
        reference and floor: ``(B, n_mels, 1 + (n - n_fft) // hop)``."""
        frames = sliding_window_view(x, self.n_fft, axis=-1)[..., ::self.hop_length, :]
        mel = self._mel_rows(_power_frames(frames, self._window64))  # (B * T, n_mels)
        return np.ascontiguousarray(mel.reshape(frames.shape[0], frames.shape[1], -1)
                                    .transpose(0, 2, 1))

    def _mel_rows(self, power: np.ndarray) -> np.ndarray:
        """Power spectra ``(k, F)`` -> their (log-)mel rows ``(k, n_mels)`` float32."""
        if self.spectrum == "power":
            mel = _rows_matmul(power, self.mel_basis)
            if self.power != 2.0:
                mel = mel ** np.float32(self.power / 2.0)
        else:
            mel = _rows_matmul(np.sqrt(power), self.mel_basis)
            if self.power != 1.0:
                mel = mel ** np.float32(self.power)
        if not self.db:
            return mel
        return np.float32(10.0) * np.log10(np.maximum(mel, np.float32(self.amin)))

    def reference(self, out: np.ndarray) -> np.ndarray:
        """The per-example dB reference and floor on :meth:`frame_logmel` output."""
        if not self.db:
            return out
        peak = out.max(axis=(-2, -1), keepdims=True)
        if self.ref == "max":
            out = out - peak
            peak = np.zeros_like(peak)
        else:
            shift = np.float32(10.0 * math.log10(float(self.ref)))
            out, peak = out - shift, peak - shift
        if self.top_db is not None:
            out = np.maximum(out, peak - np.float32(self.top_db))
        return out.astype(np.float32, copy=False)

    def window_logmels(self, signal: np.ndarray, n_windows: int, hop: int, *, start: int = 0,
                       n_window: int | None = None, block: int | None = None
                       ) -> Iterator[np.ndarray]:
        """Log-mel inputs of evenly spaced windows of one signal, in blocks: as
        :meth:`edgesea.frontend.logmel.LogMelSpectrogram.window_logmels` (same windows,
        same blocks, same shared frames), as float32 arrays."""
        n_window = self.window_samples if n_window is None else int(n_window)
        if n_window is None or n_window < 1 or int(hop) < 1 or (
                block is not None and int(block) < 1):
            raise EdgeSEAError("window_logmels needs n_window >= 1, hop >= 1 and block >= 1")
        hop = int(hop)
        sig = np.ascontiguousarray(signal, dtype=np.float32).reshape(-1)
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
            if shared:
                seg = _segment(sig, s0, s0 + ((b - 1) * step + nf - 1) * self.hop_length
                               + self.n_fft)
                frames = self.frame_logmel(seg[None])[0]  # (n_mels, (b-1)*step + nf)
                wins = sliding_window_view(frames, nf, axis=-1)[:, ::step]  # (n_mels, b, nf)
                yield self.reference(np.ascontiguousarray(wins.transpose(1, 0, 2)))
                continue
            if hop >= span:
                wins = np.stack([_segment(sig, s0 + j * hop, s0 + j * hop + span)
                                 for j in range(b)])
            else:
                wins = sliding_window_view(_segment(sig, s0, s0 + (b - 1) * hop + span),
                                           span)[::hop]
            if self.padding == "stream":
                yield self.reference(self.frame_logmel(wins))
            else:
                yield self(wins)


#: The aisfx (Essentia) front end's settings (see :class:`NumpyAisfxFrontend`).
AISFX_FRONTEND = {"sample_rate": 44100, "n_fft": 2048, "hop": 1024, "n_mels": 96,
                  "scale": 9.457798957824707}


class NumpyAisfxFrontend:
    """The aisfx (Essentia) log-mel front end in NumPy: ``(B, n)`` -> ``(B, T, 96)``, as
    :class:`~edgesea.teachers.aisfx_net.AisfxFrontend` computes it (symmetric Hann, power
    spectrum, Essentia's unit-sum HTK mel bands, ``log10(1e4 x + 1) / 9.4578``)."""

    def __init__(self) -> None:
        a = AISFX_FRONTEND
        self.n_fft, self.hop, self.n_mels = a["n_fft"], a["hop"], a["n_mels"]
        self.window = _window("hann", self.n_fft, periodic=False)
        self._window64 = self.window.astype(np.float64)
        self.mel_basis = np.ascontiguousarray(
            aisfx_mel_filterbank(a["sample_rate"], self.n_fft, self.n_mels).T.astype(np.float32))

    def n_frames(self, n_samples: int) -> int:
        """``ceil((n + 1024) / 1024)`` frames for ``n`` samples."""
        return math.ceil((n_samples + self.hop) / self.hop)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Waveforms ``(B, n)`` (or ``(n,)``) -> normalised log-mel ``(B, T, 96)``."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == 1:
            x = x[None]
        n = x.shape[-1]
        t = self.n_frames(n)
        padded = np.pad(x, ((0, 0), (self.hop, t * self.hop - n)))
        frames = sliding_window_view(padded, self.n_fft, axis=-1)[..., ::self.hop, :]
        mel = _rows_matmul(_power_frames(frames, self._window64), self.mel_basis)
        mel = (np.log10(np.float32(1e4) * mel + np.float32(1.0))
               / np.float32(AISFX_FRONTEND["scale"])).astype(np.float32, copy=False)
        return mel.reshape(frames.shape[0], frames.shape[1], -1)
