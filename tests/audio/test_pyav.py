"""Decoding what libsndfile cannot read (m4a/AAC) with PyAV, the ``av`` extra."""

from __future__ import annotations

import numpy as np
import pytest

import edgesea
from edgesea.audio import io as audio_io
from edgesea.audio.io import load_audio
from edgesea.audio.stream import stream_mono
from edgesea.errors import EdgeSEAError, MissingExtraError

av = pytest.importorskip("av")


def _m4a(path, x: np.ndarray, sr: int) -> str:
    """An AAC stream in an MP4 (m4a) container, encoded here by FFmpeg through PyAV."""
    layout = "mono" if x.ndim == 1 else "stereo"
    planar = x[None] if x.ndim == 1 else x.T
    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=sr)
        s.layout = layout
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planar, np.float32),
                                           format="fltp", layout=layout)
        frame.sample_rate = sr
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return str(path)


def _tone(sr: int, seconds: float, channels: int = 1) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    x = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return np.stack([x, 0.5 * x], 1).astype(np.float32) if channels == 2 else x.astype(
        np.float32)


def test_aac_m4a_is_decoded(tmp_path):
    x = _tone(16000, 3.0)
    path = _m4a(tmp_path / "tone.m4a", x, 16000)
    audio, sr = load_audio(path)
    assert sr == 16000 and audio.shape[1] == 1 and audio.dtype == np.float32
    assert abs(audio.shape[0] - len(x)) <= 2048  # the AAC encoder's priming and padding
    lag = int(np.argmax(np.correlate(audio[:4000, 0], x[:2000], "valid")))
    y = audio[lag:lag + len(x) - 4000, 0]
    assert np.corrcoef(y, x[:len(y)])[0, 1] > 0.99


def test_streamed_equals_whole_and_embeds_like_any_file(tmp_path):
    """Stereo 44.1 kHz AAC: the same downmix and resampling as a wav file; process_file's
    streamed rows equal get_embedding of the whole decoded signal."""
    x = _tone(44100, 2.5, channels=2)
    path = _m4a(tmp_path / "st.m4a", x, 44100)
    audio, sr = load_audio(path)
    assert audio.shape[1] == 2 and sr == 44100
    streamed = np.concatenate(list(stream_mono(path, 16000, block_s=0.7)))
    whole = audio_io.resample(audio_io.to_float_mono(audio), sr, 16000)
    np.testing.assert_array_equal(streamed, whole)
    out = edgesea.process_file(path, tmp_path / "out", hop_size=0.5)
    emb, _ = edgesea.get_embedding(audio, sr, hop_size=0.5)
    np.testing.assert_allclose(np.load(out[0])["embedding"], emb, rtol=1e-5, atol=1e-6)


def test_without_pyav_the_error_names_the_extra(tmp_path, monkeypatch):
    path = _m4a(tmp_path / "t.m4a", _tone(16000, 1.0), 16000)
    monkeypatch.setattr(audio_io, "pyav_available", lambda: False)
    with pytest.raises(EdgeSEAError, match=r"pip install edgesea\[av\]"):
        load_audio(path)
    (tmp_path / "junk.m4a").write_bytes(b"\x00" * 2000)
    monkeypatch.undo()
    with pytest.raises(EdgeSEAError, match="FFmpeg"):
        load_audio(tmp_path / "junk.m4a")
    assert issubclass(MissingExtraError, ImportError)
