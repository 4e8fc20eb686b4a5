"""Decoding with PyAV (FFmpeg): the formats libsndfile cannot read (m4a/AAC, mp4, webm/opus,
wma, ...), behind the same interface as ``soundfile.SoundFile``.

:class:`AvReader` gives ``samplerate``, ``channels``, ``frames`` (from the container's
duration: an estimate for compressed streams, used only to bound an allocation) and
``read(n, dtype="float32", always_2d=True)`` returning ``(k, channels)`` float32 blocks, so
:func:`edgesea.audio.io.load_audio` and :mod:`edgesea.audio.stream` decode, downmix and
resample such a file exactly as they do a wav file. PyAV is the ``av`` extra
(``pip install edgesea[av]``); :func:`edgesea.audio.io.load_audio` uses it only when
libsndfile does not recognise a file.
"""

from __future__ import annotations

import os
from collections import deque
from typing import Any

import numpy as np

from edgesea.core.extras import require
from edgesea.errors import EdgeSEAError

__all__ = ["AvReader", "pyav_available"]


def pyav_available() -> bool:
    """Whether PyAV can be imported."""
    try:
        require("av", "decoding with FFmpeg")
    except ImportError:
        return False
    return True


class AvReader:
    """One audio stream of a media file decoded by PyAV, in float32 blocks.

    Parameters
    ----------
    path : str or os.PathLike
        A media file with at least one audio stream (the first is read).

    Raises
    ------
    EdgeSEAError
        PyAV not installed (:class:`~edgesea.errors.MissingExtraError`, naming the extra), the
        file cannot be opened by FFmpeg, or it has no audio stream.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        av = require("av", f"decoding {os.fspath(path)} (a format libsndfile does not read)")
        self.name = os.fspath(path)
        try:
            self._container = av.open(self.name, mode="r")
        except (av.FFmpegError, OSError, ValueError) as e:
            raise EdgeSEAError(f"could not decode audio from {self.name}: FFmpeg (PyAV) "
                               f"cannot read it either [{e}]") from e
        streams = [s for s in self._container.streams if s.type == "audio"]
        if not streams:
            self._container.close()
            raise EdgeSEAError(f"{self.name} has no audio stream")
        self._stream = streams[0]
        ctx = self._stream.codec_context
        self.samplerate = int(ctx.sample_rate or 0)
        self.channels = int(ctx.channels or len(ctx.layout.channels) or 0)
        if self.samplerate <= 0 or self.channels <= 0:
            self._container.close()
            raise EdgeSEAError(f"{self.name}: its audio stream has no sample rate or channels")
        seconds = None
        if self._stream.duration is not None and self._stream.time_base is not None:
            seconds = float(self._stream.duration * self._stream.time_base)
        elif self._container.duration is not None:
            seconds = self._container.duration / 1e6
        self.frames = int(round(seconds * self.samplerate)) if seconds else 0
        self._resampler = av.AudioResampler(format="flt", layout=ctx.layout,
                                            rate=self.samplerate)
        self._frames = self._decode()
        self._queue: deque[np.ndarray] = deque()
        self._queued = 0
        self._av = av

    def _decode(self) -> Any:
        for packet in self._container.demux(self._stream):
            for frame in packet.decode():
                yield from self._resampler.resample(frame)
        yield from self._resampler.resample(None)  # the resampler's tail

    def _block(self, frame: Any) -> np.ndarray:
        data = frame.to_ndarray()  # packed float: (1, samples * channels)
        return np.ascontiguousarray(data.reshape(-1, self.channels), dtype=np.float32)

    def read(self, frames: int = -1, dtype: str = "float32", always_2d: bool = True
             ) -> np.ndarray:
        """The next ``frames`` samples (all that are left for ``-1``) as ``(k, channels)``
        float32 (fewer than asked at the end of the stream)."""
        if dtype != "float32" or not always_2d:
            raise EdgeSEAError("AvReader.read gives float32 (k, channels) blocks only")
        want = None if frames is None or frames < 0 else int(frames)
        try:
            while want is None or self._queued < want:
                frame = next(self._frames, None)
                if frame is None:
                    break
                block = self._block(frame)
                self._queue.append(block)
                self._queued += block.shape[0]
        except self._av.FFmpegError as e:
            raise EdgeSEAError(f"could not decode audio from {self.name}: the stream is "
                               f"damaged [{e}]") from e
        take = self._queued if want is None else min(want, self._queued)
        parts, got = [], 0
        while got < take:
            block = self._queue.popleft()
            need = take - got
            if block.shape[0] > need:
                self._queue.appendleft(block[need:])
                block = block[:need]
            parts.append(block)
            got += block.shape[0]
        self._queued -= take
        if not parts:
            return np.zeros((0, self.channels), np.float32)
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def close(self) -> None:
        """Close the file."""
        self._container.close()

    def __enter__(self) -> AvReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
