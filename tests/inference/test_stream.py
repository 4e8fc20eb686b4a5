"""StreamEmbedder: audio pushed in chunks gives the rows of get_embedding on the whole signal
(float within 1e-5, int8 equal), for chunks of 1 sample to 10 s, with bounded memory."""

from __future__ import annotations

import numpy as np
import pytest

import edgesea
from edgesea.errors import EdgeSEAError, EdgeSEAWarning
from edgesea.inference.stream import StreamEmbedder
from edgesea.packaged.names import PRETRAINED_DIR

MODEL = "sea_urban_64"
pytestmark = pytest.mark.skipif(not (PRETRAINED_DIR / f"{MODEL}.safetensors").is_file(),
                                reason="the packaged student is not installed")


def _signal(seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(3 * t))
            + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def _stream(model, audio: np.ndarray, sr: int, chunk: int, **kw) -> tuple:
    s = StreamEmbedder(model, sr, **kw)
    embs, stamps = [], []
    for i in range(0, len(audio), chunk):
        e, t = s.push(audio[i:i + chunk])
        embs.append(e)
        stamps.append(t)
    e, t = s.flush()
    return np.concatenate([*embs, e]), np.concatenate([*stamps, t]), s


@pytest.mark.parametrize(("sr", "chunk", "hop", "center"), [
    (16000, 320, 0.1, True), (16000, 1, 0.5, True), (22050, 441, 0.25, False),
    (44100, 44100 * 10, 0.5, True), (16000, 7919, 0.1, False), (8000, 1, 1.5, True)])
def test_float_rows_equal_get_embedding(sr: int, chunk: int, hop: float, center: bool) -> None:
    seconds = 1.3 if chunk == 1 else 3.7
    audio = _signal(seconds, sr)
    want, want_ts = edgesea.get_embedding(audio, sr, model=MODEL, hop_size=hop,
                                          center=center)
    got, ts, _ = _stream(MODEL, audio, sr, chunk, hop_size=hop, center=center)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(ts, want_ts)


@pytest.mark.parametrize("chunk", [1, 320, 16000 * 10])
def test_int8_rows_are_equal(chunk: int) -> None:
    pytest.importorskip("ai_edge_litert")
    model = f"{MODEL}.int8"
    audio = _signal(1.2 if chunk == 1 else 3.3, 16000, seed=1)
    want, want_ts = edgesea.get_embedding(audio, 16000, model=model, hop_size=0.5)
    got, ts, _ = _stream(model, audio, 16000, chunk, hop_size=0.5)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(ts, want_ts)


def test_rows_come_as_soon_as_their_window_is_complete() -> None:
    s = StreamEmbedder(MODEL, 16000, hop_size=0.5)
    _, right = s.net.frontend.context(s.window)
    counts = []
    for _ in range(10):  # 10 chunks of 0.5 s
        e, _ = s.push(np.full(8000, 0.1, np.float32))
        counts.append(len(e))
    # window t (centred) needs samples up to t*8000 - 8000 + 16000 + right
    expected = [sum(1 for t in range(40) if t * 8000 + 8000 + right <= n * 8000)
                for n in range(1, 11)]
    assert np.cumsum(counts).tolist() == expected


def test_memory_is_bounded_by_a_window() -> None:
    s = StreamEmbedder(MODEL, 16000, hop_size=0.5)
    left, right = s.net.frontend.context(s.window)
    largest = 0
    for i in range(120):  # two minutes in 1 s chunks
        s.push(_signal(1.0, 16000, seed=i))
        largest = max(largest, s._buf.shape[0])
    assert largest <= left + s.window + right + 16000 + s.hop


def test_channels_pcm_and_errors() -> None:
    audio = _signal(2.0, 16000)
    stereo = (np.stack([audio, audio], axis=1) * 32767).astype(np.int16)
    want, _ = edgesea.get_embedding(stereo, 16000, model=MODEL, hop_size=0.5)
    got, _, _ = _stream(MODEL, stereo, 16000, 1000, hop_size=0.5)
    np.testing.assert_allclose(got, want, atol=1e-5)
    with pytest.raises(EdgeSEAError, match="sample rate"):
        StreamEmbedder(MODEL)
    with pytest.warns(EdgeSEAWarning, match="silent"):
        e, _ = _stream(MODEL, np.zeros(20000, np.float32), 16000, 500)[:2]
    assert len(e) > 0
    s = StreamEmbedder(MODEL, 16000)
    with pytest.warns(EdgeSEAWarning):
        s.flush()
    with pytest.raises(EdgeSEAError, match="flushed"):
        s.push(np.zeros(10, np.float32))
