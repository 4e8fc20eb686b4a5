"""Streamed decoding and windowing (:mod:`edgesea.audio.stream`) equals the whole-file path
bit for bit, and bad input gives :class:`EdgeSEAError`."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from edgesea.audio.io import load_audio, resample, to_float_mono
from edgesea.audio.stream import StreamInfo, stream_mono, stream_windows
from edgesea.audio.windows import frame_audio
from edgesea.errors import EdgeSEAError


@pytest.mark.parametrize("seconds,file_sr,ch", [(3.7, 16000, 1), (0.3, 22050, 2),
                                                (12.4, 11025, 1), (1.0, 8000, 2)])
@pytest.mark.parametrize("sr,hop,center", [(8000, 0.1, True), (44100, 0.5, False),
                                           (16000, 1 / 30, True)])
def test_stream_windows_equal_frame_audio(tmp_path, seconds, file_sr, ch, sr, hop, center):
    rng = np.random.default_rng(1)
    x = (0.2 * rng.standard_normal((int(seconds * file_sr), ch))).astype(np.float32)
    path = tmp_path / "a.wav"
    sf.write(path, x, file_sr, subtype="FLOAT")
    audio, fsr = load_audio(path)
    whole, stamps = frame_audio(resample(to_float_mono(audio), fsr, sr), sr, 1.0, hop, center)
    info = StreamInfo()
    parts = list(stream_windows(path, sr, 1.0, hop, center, block_windows=7, block_s=0.9,
                                info=info))
    frames = np.concatenate([p[0] for p in parts])
    ts = np.concatenate([p[1] for p in parts])
    assert frames.shape == whole.shape
    assert np.array_equal(frames, whole)
    assert np.allclose(ts, stamps, rtol=0, atol=1e-9)
    assert info.n_windows == len(whole)
    assert info.n_input == x.shape[0] and abs(info.duration_s - x.shape[0] / file_sr) < 1e-12


def test_stream_mono_equals_resampled_file(tmp_path):
    x = np.random.default_rng(2).standard_normal(50_000).astype(np.float32) * 0.1
    sf.write(tmp_path / "b.wav", x, 16000, subtype="FLOAT")
    audio, fsr = load_audio(tmp_path / "b.wav")
    out = np.concatenate(list(stream_mono(tmp_path / "b.wav", 44100, block_s=0.37)))
    assert np.array_equal(out, resample(to_float_mono(audio), fsr, 44100))


def test_stream_errors(tmp_path):
    with pytest.raises(EdgeSEAError, match="not found"):
        list(stream_mono(tmp_path / "missing.wav"))
    with pytest.raises(EdgeSEAError, match="directory"):
        list(stream_mono(tmp_path))
    (tmp_path / "bad.flac").write_bytes(b"garbage" * 50)
    with pytest.raises(EdgeSEAError, match="not an audio format"):
        list(stream_mono(tmp_path / "bad.flac"))
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(EdgeSEAError, match="empty"):
        list(stream_mono(tmp_path / "empty.wav"))
