"""Embeddings of a live stream: audio arrives in chunks (a microphone, a socket) and the
embedding of each window is given as soon as its last sample (and the context its front end
reads) has arrived.

The rows equal :func:`edgesea.get_embedding` on the whole signal: the same windows (1 s at
the model's rate, ``hop_size`` apart, ``center`` padding half a window of zeros in front),
the same timestamps, the same resampling (soxr HQ, streamed), the zero padding of the tail
at :meth:`StreamEmbedder.flush`. Memory is bounded by one window plus its context plus the
chunk being pushed, whatever the length of the stream.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import soxr

from edgesea.audio.io import bandwidth_warning, to_float_mono
from edgesea.audio.windows import front_padding, hop_length, n_windows, window_timestamps
from edgesea.core.checks import check_flag, check_hop_size, check_sample_rate
from edgesea.core.extras import is_torch_module
from edgesea.errors import EdgeSEAError, EdgeSEAWarning
from edgesea.inference.api import get_embedder

__all__ = ["StreamEmbedder"]


class StreamEmbedder:
    """Embed audio pushed in chunks, window by window, as :func:`edgesea.get_embedding`.

    Parameters
    ----------
    model : EmbeddingModel, path, packaged name or int8 ``.tflite``, optional
        As for :func:`edgesea.get_embedding`; None: the packaged ``(model_type, emb_dim,
        tier)`` student.
    sr : number
        Sample rate of the pushed audio (resampled to the model's, in stream).
    hop_size : float
        Seconds between window starts.
    center : bool
        Windows centred on their timestamps (half a window of zeros in front), as
        :func:`edgesea.get_embedding` by default.
    model_type, emb_dim, tier
        Which packaged model when ``model`` is None.

    Examples
    --------
    >>> stream = StreamEmbedder(sr=16000, hop_size=0.5)           # doctest: +SKIP
    >>> for chunk in microphone_chunks():                          # doctest: +SKIP
    ...     emb, ts = stream.push(chunk)       # (k, D) rows for the windows now complete
    >>> emb, ts = stream.flush()               # the last windows (tail zero-padded)
    """

    def __init__(self, model: Any = None,
                 sr: float | None = None, hop_size: float = 0.1, center: bool = True, *,
                 model_type: str = "sea", emb_dim: int = 128, tier: str = "mcu") -> None:
        if sr is None:
            raise EdgeSEAError("StreamEmbedder needs the sample rate of the pushed audio: sr=")
        self.sr = check_sample_rate(sr)
        hop_size = check_hop_size(hop_size)
        center = check_flag(center, "center")
        self.net: Any = get_embedder(model, model_type, emb_dim, tier=tier)
        if not hasattr(getattr(self.net, "frontend", None), "context"):
            raise EdgeSEAError("StreamEmbedder streams edgesea students (float, ONNX or int8); "
                               f"{self.net!r} is not one")
        self._run = self._float_run() if is_torch_module(self.net) else self.net.embed_logmel
        self.rate = int(self.net.sample_rate)
        self.window = int(self.net.window_samples)
        self.hop = hop_length(hop_size, self.rate)
        self.hop_size, self.center = hop_size, bool(center)
        self.left, self.right = (int(c) for c in self.net.frontend.context(self.window))
        self.front = front_padding(self.window, self.center)
        if (message := bandwidth_warning(self.sr, self.rate)) is not None:
            warnings.warn(message, EdgeSEAWarning, stacklevel=2)
        self._resampler = (soxr.ResampleStream(self.sr, self.rate, 1, dtype="float32",
                                               quality="HQ")
                           if self.sr != self.rate else None)
        self._buf = np.zeros(0, np.float32)  # model-rate samples from absolute index _base
        self._base = 0
        self._skip = 0  # samples still to come that no window reads (a hop above a window)
        self._received = 0  # model-rate samples so far
        self._raw = 0  # input samples so far
        self._nonzero = False
        self._next = 0  # the next window to embed
        self._done = False

    def _float_run(self) -> Any:
        # a torch student (torch is imported already)
        import torch

        from edgesea.inference.batching import _inference_net

        net = _inference_net(self.net)

        def run(logmel: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return net.embed_logmel(torch.from_numpy(logmel)).numpy()
        return run

    @property
    def emb_dim(self) -> int:
        """Embedding size of the model."""
        return int(self.net.emb_dim)

    def _start(self, t: int) -> int:
        """Absolute model-rate sample where the input of window ``t`` begins (context
        included; negative: in the zeros before the signal)."""
        return t * self.hop - self.front - self.left

    def _mono(self, chunk: Any) -> np.ndarray:
        arr = np.asarray(chunk)
        if arr.ndim == 2:  # (n, channels): each sample scaled, then the mean of channels
            flat = to_float_mono(arr.reshape(-1)) if arr.size else np.zeros(0, np.float32)
            return flat.reshape(arr.shape).mean(axis=1, dtype=np.float64).astype(np.float32)
        if arr.ndim == 1 and arr.size == 0:
            return np.zeros(0, np.float32)
        return to_float_mono(arr)

    def push(self, chunk: Any) -> tuple[np.ndarray, np.ndarray]:
        """Add audio; the embeddings of the windows it completes.

        Parameters
        ----------
        chunk : np.ndarray [shape=(n,) or (n, channels)]
            The next samples at ``sr`` (float, or integer PCM); any length, 0 included.

        Returns
        -------
        embedding : np.ndarray [shape=(k, D), dtype=float32]
        timestamps : np.ndarray [shape=(k,), dtype=float64]
            The windows completed by this chunk (k may be 0), in order.
        """
        if self._done:
            raise EdgeSEAError("this stream was flushed: make a new StreamEmbedder")
        mono = self._mono(chunk)
        self._raw += mono.shape[0]
        self._nonzero = self._nonzero or bool(np.any(mono))
        if self._resampler is not None:
            mono = self._resampler.resample_chunk(mono)
        self._append(mono)
        ready = 0  # windows whose input (context included) has fully arrived
        while self._start(self._next + ready) + self.left + self.window + self.right \
                <= self._received:
            ready += 1
        return self._embed(ready)

    def flush(self) -> tuple[np.ndarray, np.ndarray]:
        """End the stream: the embeddings of the windows left (the tail zero-padded, as
        :func:`edgesea.get_embedding` pads the end of a signal)."""
        if self._done:
            raise EdgeSEAError("this stream was already flushed")
        if self._resampler is not None:
            self._append(self._resampler.resample_chunk(np.zeros(0, np.float32), last=True))
        if not self._nonzero:
            warnings.warn("audio is all zeros (silent): its embeddings carry no information",
                          EdgeSEAWarning, stacklevel=2)
        if self._raw < self.net.window * self.sr:
            warnings.warn(f"audio is {self._raw / self.sr:.3f} s long, shorter than one window "
                          f"({self.net.window:g} s): it is zero-padded", EdgeSEAWarning,
                          stacklevel=2)
        total = n_windows(self._received, self.rate, self.net.window, self.hop_size,
                          self.center)
        out = self._embed(max(0, total - self._next))
        self._done = True
        self._buf = np.zeros(0, np.float32)
        return out

    def _append(self, mono: np.ndarray) -> None:
        if self._received == 0 and self._base == 0:
            self._base = self._start(0)  # zeros before the signal, as get_embedding pads
            self._buf = np.zeros(-self._base, np.float32) if self._base < 0 else self._buf
        self._received += mono.shape[0]
        if self._skip:
            drop = min(self._skip, mono.shape[0])
            mono, self._skip = mono[drop:], self._skip - drop
        self._buf = np.concatenate([self._buf, mono]) if mono.size else self._buf

    def _embed(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        t0 = self._next
        if k == 0:
            return np.zeros((0, self.emb_dim), np.float32), np.zeros(0, np.float64)
        if self._base == 0 and self._received == 0:
            self._append(np.zeros(0, np.float32))
        start = self._start(t0) + self.left - self._base  # window t0's first sample in _buf
        rows = [np.asarray(self._run(np.asarray(block)), np.float32)
                for block in self.net.frontend.window_logmels(
                    self._buf, k, self.hop, start=start, n_window=self.window)]
        self._next += k
        keep = self._start(self._next) - self._base  # drop what no later window reads
        if keep > 0:
            self._skip = max(0, keep - self._buf.shape[0])  # not arrived yet: dropped later
            self._buf = self._buf[keep:].copy()
            self._base += keep
        return np.concatenate(rows), window_timestamps(k, self.hop, self.rate, start=t0)
