"""Audio files read in bounded blocks: decoded, downmixed, resampled and windowed as a stream.

Sensor recordings are hours long; nothing here holds a whole file. :func:`stream_mono` yields
the mono signal at a target rate block by block (libsndfile blocks, soxr's streaming
resampler), and :func:`stream_windows` cuts it into windows exactly like
:func:`edgesea.audio.windows.frame_audio` (same padding, same starts, same count). Both give results
bit-identical to decoding the whole file with :func:`edgesea.audio.io.load_audio`,
:func:`edgesea.audio.io.to_float_mono` and :func:`edgesea.audio.io.resample` (soxr's streaming and
one-shot resamplers compute the same samples), while peak memory depends only on the block
size.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import soxr

from edgesea.audio.io import _check_audio_path, _not_recognised, _open_error
from edgesea.audio.pyav import AvReader, pyav_available
from edgesea.audio.windows import (
    front_padding,
    hop_length,
    n_windows,
    window_length,
    window_timestamps,
)
from edgesea.core.checks import check_flag, check_hop_size, check_int, check_sample_rate
from edgesea.errors import EdgeSEAError

__all__ = ["StreamInfo", "open_info", "stream_mono", "stream_windows"]

#: Seconds of source audio decoded per block by default.
BLOCK_SECONDS = 20.0


@dataclass
class StreamInfo:
    """Filled in while a stream runs; final once it is exhausted.

    ``n_input`` counts decoded source samples (per channel), ``sr`` is the file's rate,
    ``n_output`` the resampled samples, ``n_windows`` the windows yielded so far.
    """

    sr: int = 0
    n_input: int = 0
    n_output: int = 0
    n_windows: int = 0

    @property
    def duration_s(self) -> float:
        """Seconds of audio decoded so far."""
        return self.n_input / self.sr if self.sr else 0.0


def _open(path: str | os.PathLike) -> sf.SoundFile | AvReader:
    """The file opened by libsndfile, or by PyAV (FFmpeg) when libsndfile does not know its
    format and the ``av`` extra is installed."""
    p = _check_audio_path(path)  # the same checks and messages as load_audio
    try:
        return sf.SoundFile(p)
    except Exception as e:  # libsndfile, permission and format errors
        if _not_recognised(e) and pyav_available():
            try:
                return AvReader(p)
            except EdgeSEAError as av_error:  # FFmpeg cannot either: libsndfile's reason
                raise _open_error(p, e, ffmpeg_failed=True) from av_error
        raise _open_error(p, e) from e


def open_info(path: str | os.PathLike) -> tuple[int, int, int]:
    """``(sample_rate, frames, channels)`` of an audio file's header, without decoding."""
    with _open(path) as f:
        return int(f.samplerate), int(f.frames), int(f.channels)


def stream_mono(path: str | os.PathLike, target_sr: float | None = None,
                block_s: float = BLOCK_SECONDS, info: StreamInfo | None = None
                ) -> Iterator[np.ndarray]:
    """Yield the file's mono float32 signal, resampled to ``target_sr``, in blocks.

    Parameters
    ----------
    path : path
        An audio file libsndfile reads.
    target_sr : float, optional
        Output rate (default: the file's own rate).
    block_s : float
        Seconds of source audio per decoded block (bounds memory).
    info : StreamInfo, optional
        Updated as blocks are read (the file's rate, samples in and out).

    Raises
    ------
    EdgeSEAError
        Missing, unreadable or undecodable file, an empty file, or NaN/Inf samples.
    """
    info = info if info is not None else StreamInfo()
    with _open(path) as f:
        sr = int(f.samplerate)
        check_sample_rate(sr, "the file's sample rate")
        info.sr = sr
        out_sr = sr if target_sr is None else check_sample_rate(target_sr, "target_sr")
        block = max(1, int(block_s * sr))
        rs = None if out_sr == sr else soxr.ResampleStream(sr, out_sr, 1, dtype="float32",
                                                           quality="HQ")
        while True:
            try:
                data = f.read(block, dtype="float32", always_2d=True)
            except Exception as e:  # a corrupt stream discovered mid-file
                raise EdgeSEAError(f"could not decode audio from {os.fspath(path)} after "
                                   f"{info.n_input / sr:.1f} s: {e}. The file is damaged or "
                                   "truncated") from e
            last = data.shape[0] < block
            if data.shape[0]:
                mono = data[:, 0] if data.shape[1] == 1 else \
                    data.mean(axis=1, dtype=np.float64).astype(np.float32)
                mono = np.ascontiguousarray(mono, dtype=np.float32)
                if not np.isfinite(mono).all():
                    raise EdgeSEAError("audio contains NaN or Inf samples: expected finite "
                                       "values")
                info.n_input += mono.shape[0]
            else:
                mono = np.zeros(0, np.float32)
            if info.n_input == 0 and last:
                raise EdgeSEAError(f"audio is empty: {os.fspath(path)} holds no samples")
            out = mono if rs is None else np.ascontiguousarray(
                rs.resample_chunk(mono, last=last), dtype=np.float32)
            info.n_output += out.shape[0]
            if out.shape[0]:
                yield out
            if last:
                return


def stream_windows(path: str | os.PathLike, sr: float, window: float = 1.0,
                   hop_size: float = 0.1, center: bool = True, block_windows: int = 64,
                   block_s: float = BLOCK_SECONDS, info: StreamInfo | None = None,
                   context: tuple[int, int] = (0, 0)
                   ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(frames, timestamps)`` blocks of at most ``block_windows`` windows of a file.

    Concatenated, the blocks equal :func:`edgesea.audio.windows.frame_audio` of the whole file
    decoded, downmixed and resampled to ``sr`` (same values, same count); ``frames`` are
    float32 copies of shape ``(B, round(window * sr))``, ``timestamps`` the windows' true
    centres (``center=False``: starts), ``t * round(hop_size * sr) / sr`` seconds.
    Memory is bounded by ``block_s`` and ``block_windows``, whatever the file's length.
    ``context=(left, right)`` extends each window by that many samples of the signal before
    and after it (zeros outside the padded signal), for a ``"stream"`` front end
    (:attr:`edgesea.models.EmbeddingModel.context_samples`); the windows' count and starts
    are unchanged.
    """
    hop_size = check_hop_size(hop_size)
    center = check_flag(center, "center")
    check_int(block_windows, "block_windows")
    info = info if info is not None else StreamInfo()
    left, right = (int(c) for c in context)
    if left < 0 or right < 0:
        raise EdgeSEAError(f"invalid context={context!r}: expected two sizes >= 0")
    frame_len = window_length(window, sr)
    hop_len = hop_length(hop_size, sr)
    front = front_padding(frame_len, center)
    span = frame_len + left + right  # what each emitted window holds
    # buf holds padded samples [base, base + len(buf)) (the left context's zeros first);
    # window t covers [t * hop_len, t * hop_len + span) of them.
    buf = np.zeros(front + left, np.float32)
    base = 0
    t = 0

    def emit(limit: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        nonlocal t
        while t < limit:
            k = min(block_windows, limit - t)
            start = t * hop_len - base
            view = np.lib.stride_tricks.sliding_window_view(
                buf[start:start + (k - 1) * hop_len + span], span)[::hop_len]
            frames = np.array(view[:k], dtype=np.float32)
            stamps = window_timestamps(k, hop_len, sr, start=t)
            t += k
            info.n_windows = t
            yield frames, stamps

    for block in stream_mono(path, sr, block_s, info):
        buf = np.concatenate([buf, block])
        end = base + buf.shape[0]  # padded samples available
        ready = 0 if end < span else (end - span) // hop_len + 1
        yield from emit(ready)
        keep = t * hop_len - base  # drop samples no later window needs
        if keep > 0:
            buf = buf[keep:]
            base += keep
    n = n_windows(info.n_output, sr, window, hop_size, bool(center))
    total = span + (n - 1) * hop_len
    missing = total - (base + buf.shape[0])
    if missing > 0:
        buf = np.concatenate([buf, np.zeros(missing, np.float32)])
    yield from emit(n)
