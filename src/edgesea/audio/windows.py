"""Window geometry, in one place: how a signal is cut into fixed-length windows at a hop
(edgel3/openl3's framing: ``center`` pads half a window of zeros in front), how many windows
that gives, and their timestamps. Every stage that frames audio (inference, streams, the
teacher's store, the student's inputs) uses these functions."""

from __future__ import annotations

import math

import numpy as np

from edgesea.core.checks import check_flag, check_hop_size
from edgesea.errors import EdgeSEAError

__all__ = ["frame_audio", "frame_windows", "front_padding", "hop_length", "n_windows",
           "window_length", "window_timestamps"]


def hop_length(hop_size: float, sr: float) -> int:
    """The hop in samples, ``round(hop_size * sr)``; an error when shorter than one sample."""
    hop_len = int(round(hop_size * sr))
    if hop_len < 1:
        raise EdgeSEAError(
            f"hop_size={hop_size} s is shorter than one sample at {sr:g} Hz: expected "
            f"hop_size >= {1.0 / sr:.3g} s")
    return hop_len


def window_length(window: float, sr: float) -> int:
    """Samples in a window of ``window`` seconds at ``sr``: ``round(window * sr)``."""
    return int(round(window * sr))


def front_padding(frame_len: int, center: bool) -> int:
    """Zeros before the signal: half a window when windows are centred on their timestamps
    (edgel3/openl3's ``center=True``), none otherwise."""
    return frame_len // 2 if center else 0


def window_timestamps(n: int, hop_length: int, sr: float, start: int = 0) -> np.ndarray:
    """Timestamps (s) of windows ``start .. start + n - 1`` that advance by ``hop_length``.

    Window ``t`` starts ``t * hop_length`` samples into the padded signal, so its centre
    (``center=True``) or start (``center=False``) in the audio is ``t * hop_length / sr``
    seconds: float64, computed from integers, so blocks give the same values as one call.
    """
    return np.arange(start, start + n, dtype=np.int64) * int(hop_length) / float(sr)


def n_windows(n_samples: int, sr: float, window: float = 1.0, hop_size: float = 0.1,
              center: bool = True) -> int:
    """Number of windows :func:`frame_audio` cuts from ``n_samples`` samples."""
    frame_len = window_length(window, sr)
    hop_len = hop_length(hop_size, sr)
    total = n_samples + front_padding(frame_len, center)
    if total <= frame_len:
        return 1
    return 1 + int(math.ceil((total - frame_len) / hop_len))


def frame_audio(audio: np.ndarray, sr: float, window: float = 1.0, hop_size: float = 0.1,
                center: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Cut a mono signal into fixed-length windows, exactly like edgel3/openl3.

    Parameters
    ----------
    audio : np.ndarray [shape=(n,)]
        Mono samples at ``sr``.
    sr : float
        Sample rate of ``audio``.
    window : float
        Window length in seconds (1.0 for SEA students).
    hop_size : float
        Hop between window starts, in seconds.
    center : bool or {0, 1}
        If True, prepend ``window / 2`` of zeros so window ``t`` is centred on its timestamp.

    Returns
    -------
    frames : np.ndarray [shape=(T, round(window * sr))]
        A read-only strided view (no copy) of the zero-padded signal; window ``t`` starts
        ``t * round(hop_size * sr)`` samples into it. When the hop is longer than a window
        the windows are copied instead (read-only too), so a huge hop costs no padding.
    timestamps : np.ndarray [shape=(T,), dtype=float64]
        Window centres (``center=False``: starts) in seconds,
        ``arange(T) * round(hop_size * sr) / sr`` (:func:`window_timestamps`).
    """
    center = check_flag(center, "center")
    hop_size = check_hop_size(hop_size)
    frame_len = window_length(window, sr)
    hop_len = hop_length(hop_size, sr)
    n = n_windows(audio.shape[0], sr, window, hop_size, bool(center))
    front = front_padding(frame_len, bool(center))
    if hop_len > frame_len:  # windows do not overlap: cut each (memory: the windows alone,
        frames = np.zeros((n, frame_len), dtype=np.float32)  # not n hops of padding)
        for t in range(n):
            lo = t * hop_len - front
            a, b = max(lo, 0), min(lo + frame_len, audio.shape[0])
            if a < b:
                frames[t, a - lo:b - lo] = audio[a:b]
        frames.flags.writeable = False
        return frames, window_timestamps(n, hop_len, sr)
    total = frame_len + (n - 1) * hop_len
    padded = np.zeros(total, dtype=np.float32)
    padded[front:front + audio.shape[0]] = audio
    frames = np.lib.stride_tricks.sliding_window_view(padded, frame_len)[::hop_len]
    assert frames.shape[0] == n
    return frames, window_timestamps(n, hop_len, sr)


def frame_windows(mono: np.ndarray, sr: int, n: int, hop_size: float, window: float,
             center: bool) -> np.ndarray:
    """The first ``n`` windows of ``mono`` framed as :func:`frame_audio` does (same starts),
    for a count known beforehand (e.g. a store's rows of the file)."""
    frame_len = window_length(window, sr)
    hop_len = hop_length(hop_size, sr)
    front = front_padding(frame_len, bool(center))
    total = frame_len + (n - 1) * hop_len
    padded = np.zeros(max(total, front + len(mono)), dtype=np.float32)
    padded[front:front + len(mono)] = mono
    return np.lib.stride_tricks.sliding_window_view(padded[:total], frame_len)[::hop_len][:n]
