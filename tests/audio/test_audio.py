"""Audio input: windowing (the openl3 v0.4 contract), validation, dtypes, resampling, decoding."""

from __future__ import annotations

import io
import math
import os

import numpy as np
import pytest
import soundfile as sf

import edgesea
from edgesea import EdgeSEAError, EdgeSEAWarning
from edgesea.audio.io import load_audio, preprocess_audio, to_float_mono
from edgesea.audio.windows import frame_audio, n_windows

SR = 8000
FRAME = 8000  # 1 s at 8 kHz


def openl3_frames(audio: np.ndarray, sr: int, hop_size: float, center: bool,
                  window: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Independent re-implementation of openl3 v0.4 ``_preprocess_audio_batch`` framing.

    Returns (frames, timestamps, padded signal, front padding). The hop length is rounded
    (openl3 truncates ``int(hop_size * sr)``, which turns 0.3 * 48000 into 14399), and the
    timestamps are where the windows really are, ``i * hop_len / sr`` (openl3/edgel3 return
    ``arange(T) * hop_size``, which drifts from the windows when the hop is not a whole
    number of samples).
    """
    frame_len = int(round(window * sr))
    hop_len = int(round(hop_size * sr))
    x = np.asarray(audio, dtype=np.float32)
    front = 0
    if center:
        front = frame_len // 2
        x = np.concatenate([np.zeros(front, np.float32), x])
    length = len(x)
    if length < frame_len:
        pad = frame_len - length
    else:
        pad = int(math.ceil((length - frame_len) / hop_len)) * hop_len - (length - frame_len)
    if pad > 0:
        x = np.concatenate([x, np.zeros(pad, np.float32)])
    n_frames = 1 + (len(x) - frame_len) // hop_len
    frames = np.stack([x[i * hop_len:i * hop_len + frame_len] for i in range(n_frames)])
    timestamps = np.array([i * hop_len / sr for i in range(n_frames)])
    return frames, timestamps, x, front


HOPS = [0.1, 0.25, 0.5, 1.0, 0.3]
LENGTHS = [
    1,            # one sample
    5000,         # shorter than one window
    FRAME - 1,
    FRAME,        # exactly one window
    FRAME + 1,    # one window + 1 sample
    12345,
    3 * FRAME + 17,
]


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("hop_size", HOPS)
@pytest.mark.parametrize("n", LENGTHS)
def test_frame_audio_matches_openl3(n, hop_size, center):
    rng = np.random.default_rng(n)
    audio = rng.uniform(-1, 1, n).astype(np.float32)
    frames, ts = frame_audio(audio, SR, 1.0, hop_size, center)
    ref_frames, ref_ts, padded, front = openl3_frames(audio, SR, hop_size, center)

    assert frames.shape == ref_frames.shape
    assert frames.shape[1] == FRAME
    assert n_windows(n, SR, 1.0, hop_size, center) == ref_frames.shape[0]
    np.testing.assert_array_equal(ts, ref_ts)
    np.testing.assert_array_equal(np.asarray(frames), ref_frames)

    # frames are slices of the padded signal every hop
    hop_len = int(round(hop_size * SR))
    for t in range(frames.shape[0]):
        np.testing.assert_array_equal(frames[t], padded[t * hop_len:t * hop_len + FRAME])
    # the original signal sits right after the front padding
    np.testing.assert_array_equal(padded[front:front + n], audio)

    # every sample is covered by some window
    covered = np.zeros(len(padded), dtype=bool)
    for t in range(frames.shape[0]):
        covered[t * hop_len:t * hop_len + FRAME] = True
    assert covered[front:front + n].all()


@pytest.mark.parametrize(("n", "center", "expected"), [
    (FRAME, False, 1),
    (FRAME + 1, False, 2),
    (1, False, 1),
    (1, True, 1),
    (FRAME, True, 6),       # 4000 zeros + 8000 samples -> 1 + ceil(4000 / 800)
    (FRAME // 2, True, 1),  # 4000 zeros + 4000 samples fill exactly one window
    (FRAME // 2 + 1, True, 2),
])
def test_frame_counts_hand_computed(n, center, expected):
    frames, ts = frame_audio(np.ones(n, np.float32), SR, 1.0, 0.1, center)
    assert frames.shape == (expected, FRAME)
    np.testing.assert_allclose(ts, np.arange(expected) * 0.1)


def test_center_puts_half_a_window_of_zeros_first():
    audio = np.arange(1, 9001, dtype=np.float32)
    frames, ts = frame_audio(audio, SR, 1.0, 0.5, center=True)
    assert np.all(frames[0, :4000] == 0)
    assert frames[0, 4000] == 1.0
    # window t is centred on t * hop_size: sample at 0.5 s is the centre of window 1
    assert frames[1, 4000] == audio[4000]
    assert ts[1] == 0.5
    frames_nc, _ = frame_audio(audio, SR, 1.0, 0.5, center=False)
    assert frames_nc[0, 0] == 1.0


@pytest.mark.parametrize("sr", [16000, 22050])
@pytest.mark.parametrize("hop_size", [0.1, 0.3])
def test_frame_audio_other_rates(sr, hop_size):
    audio = np.random.default_rng(1).standard_normal(int(2.7 * sr)).astype(np.float32)
    frames, ts = frame_audio(audio, sr, 1.0, hop_size, True)
    ref_frames, ref_ts, _, _ = openl3_frames(audio, sr, hop_size, True)
    np.testing.assert_array_equal(np.asarray(frames), ref_frames)
    np.testing.assert_array_equal(ts, ref_ts)


# -- validation errors ----------------------------------------------------------------------

GOOD = np.random.default_rng(0).uniform(-0.5, 0.5, 9000).astype(np.float32)


@pytest.mark.parametrize(("audio", "sr", "kwargs", "match"), [
    (np.zeros(0, np.float32), SR, {}, "empty"),
    (np.zeros((0, 2), np.float32), SR, {}, "empty"),
    (np.array([0.1, np.nan] * 5000, np.float32), SR, {}, "NaN"),
    (np.array([0.1, np.inf] * 5000, np.float32), SR, {}, "Inf"),
    (np.zeros((100, 2, 2), np.float32) + 0.1, SR, {}, "dimensions"),
    (GOOD, 0, {}, "sample rate"),
    (GOOD, -8000, {}, "sample rate"),
    (GOOD, "16000", {}, "sample rate"),
    (GOOD, None, {}, "sample rate"),
    (GOOD, True, {}, "sample rate"),
    (GOOD, float("nan"), {}, "sample rate"),
    (GOOD, float("inf"), {}, "sample rate"),
    (GOOD, SR, {"hop_size": 0}, "hop_size"),
    (GOOD, SR, {"hop_size": -0.1}, "hop_size"),
    (GOOD, SR, {"hop_size": "0.1"}, "hop_size"),
    (GOOD, SR, {"hop_size": float("nan")}, "hop_size"),
    (GOOD, SR, {"center": "yes"}, "center"),
    (GOOD, SR, {"center": 2}, "center"),  # 0 and 1 are accepted, as by edgel3
    (GOOD, SR, {"center": 0.5}, "center"),
    (GOOD, SR, {"verbose": -1}, "verbose"),
    (GOOD, SR, {"verbose": "x"}, "verbose"),
    (np.stack([GOOD, GOOD]), SR, {}, "channels"),  # (2, N): channels first
    ([GOOD, GOOD, GOOD], [SR, SR], {}, "sample rates"),
    ([GOOD], [SR, SR], {}, "sample rates"),
    (GOOD, [SR], {}, "list"),
    ([], SR, {}, "empty"),
    (np.array(["a", "b"]), SR, {}, "dtype"),
    (np.ones(9000, dtype=bool), SR, {}, "dtype"),
])
def test_get_embedding_validation_errors(tiny_model_path, audio, sr, kwargs, match):
    with pytest.raises(EdgeSEAError, match=match):
        edgesea.get_embedding(audio, sr, model=tiny_model_path, **kwargs)


def test_error_message_says_what_is_accepted(tiny_model_path):
    with pytest.raises(EdgeSEAError) as exc:
        edgesea.get_embedding(GOOD, "16000", model=tiny_model_path)
    msg = str(exc.value)
    assert "'16000'" in msg and "str" in msg and "positive" in msg


def test_hop_shorter_than_a_sample_is_an_error():
    with pytest.raises(EdgeSEAError, match="shorter than one sample"):
        frame_audio(GOOD, SR, 1.0, 1e-5, True)


def test_frame_audio_rejects_non_bool_center():
    with pytest.raises(EdgeSEAError, match="center"):
        frame_audio(GOOD, SR, 1.0, 0.1, center="false")


# -- warnings -------------------------------------------------------------------------------

def test_warns_on_all_zero_audio():
    with pytest.warns(EdgeSEAWarning, match="zeros"):
        preprocess_audio(np.zeros(2 * SR, np.float32), SR, SR)


def test_warns_on_short_audio():
    with pytest.warns(EdgeSEAWarning, match="shorter than one window"):
        frames, _ = preprocess_audio(GOOD[:4000], SR, SR)
    assert frames.shape == (1, FRAME)


def test_no_warning_for_normal_audio():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", EdgeSEAWarning)
        preprocess_audio(GOOD, SR, SR)


def test_get_embedding_warns(tiny_model_path):
    with pytest.warns(EdgeSEAWarning, match="zeros"):
        edgesea.get_embedding(np.zeros(SR, np.float32), SR, model=tiny_model_path)
    with pytest.warns(EdgeSEAWarning, match="shorter"):
        edgesea.get_embedding(GOOD[:100], SR, model=tiny_model_path)


# -- dtypes, channels, resampling -----------------------------------------------------------

def test_int16_full_scale():
    x = np.array([32767, -32768, 0, 16384], dtype=np.int16)
    out = to_float_mono(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [32767 / 32768, -1.0, 0.0, 0.5], atol=1e-7)
    assert out[0] == pytest.approx(1.0, abs=1e-4)


def test_int32_scale():
    x = np.array([2**31 - 1, -(2**31), 2**30], dtype=np.int32)
    np.testing.assert_allclose(to_float_mono(x), [1.0, -1.0, 0.5], atol=1e-6)


def test_uint8_centred():
    x = np.array([0, 128, 255, 192], dtype=np.uint8)
    np.testing.assert_allclose(to_float_mono(x), [-1.0, 0.0, 127 / 128, 0.5], atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_float_kept(dtype):
    x = np.random.default_rng(2).uniform(-1, 1, 1000).astype(dtype)
    out = to_float_mono(x)
    assert out.dtype == np.float32 and out.ndim == 1
    np.testing.assert_allclose(out, x.astype(np.float32), rtol=0, atol=0)


def test_int_and_float_give_same_embedding(tiny_model_path):
    x16 = (np.random.default_rng(3).uniform(-0.9, 0.9, 12000) * 32768).astype(np.int16)
    xf = x16.astype(np.float32) / 32768
    e16, _ = edgesea.get_embedding(x16, SR, model=tiny_model_path)
    ef, _ = edgesea.get_embedding(xf, SR, model=tiny_model_path)
    np.testing.assert_array_equal(e16, ef)


def test_stereo_downmixed_by_mean():
    rng = np.random.default_rng(4)
    left = rng.uniform(-1, 1, 2000).astype(np.float32)
    right = rng.uniform(-1, 1, 2000).astype(np.float32)
    out = to_float_mono(np.stack([left, right], axis=1))
    assert out.shape == (2000,)
    np.testing.assert_allclose(out, (left + right) / 2, atol=1e-7)


def test_stereo_int16_downmix():
    st = np.array([[32767, -32768], [16384, 16384]], dtype=np.int16).repeat(3, axis=0)
    out = to_float_mono(st)
    np.testing.assert_allclose(out[:3], (32767 - 32768) / 2 / 32768, atol=1e-7)
    np.testing.assert_allclose(out[3:], 0.5, atol=1e-7)


def test_resampled_44k_gives_right_number_of_windows():
    sr_in = 44100
    t = np.arange(int(2.5 * sr_in)) / sr_in
    audio = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    frames, ts = preprocess_audio(audio, sr_in, SR, hop_size=0.1)
    n8k = int(round(len(audio) * SR / sr_in))  # 20000 samples
    ref_frames, ref_ts, _, _ = openl3_frames(np.zeros(n8k), SR, 0.1, True)
    assert frames.shape == ref_frames.shape == (21, FRAME)
    np.testing.assert_allclose(ts, ref_ts)
    # content: the same sine sampled at 8 kHz (away from the edges)
    t8 = np.arange(n8k) / SR
    expected = 0.5 * np.sin(2 * np.pi * 440 * t8)
    got = frames[5, :]  # window 5 starts 5 hops into the centred signal = audio sample 0
    start = 5 * 800 - 4000
    np.testing.assert_allclose(got[2000:6000], expected[start + 2000:start + 6000], atol=2e-3)


def test_get_embedding_44k_stereo_int16(tiny_model_path):
    sr_in = 44100
    rng = np.random.default_rng(5)
    st = (rng.uniform(-0.5, 0.5, (sr_in * 2, 2)) * 32768).astype(np.int16)
    emb, ts = edgesea.get_embedding(st, sr_in, model=tiny_model_path, hop_size=0.25)
    expected = n_windows(16000, SR, 1.0, 0.25, True)
    assert emb.shape == (expected, 128)
    np.testing.assert_allclose(ts, np.arange(expected) * 0.25)


# -- decoding -------------------------------------------------------------------------------

FORMATS = [("wav", "WAV", "PCM_16", 1e-4), ("flac", "FLAC", "PCM_16", 1e-4),
           ("ogg", "OGG", "VORBIS", 0.1)]


def _tone(sr=16000, seconds=0.5, channels=2):
    t = np.arange(int(sr * seconds)) / sr
    mono = 0.3 * np.sin(2 * np.pi * 300 * t)
    return np.stack([mono, -0.5 * mono], axis=1)[:, :channels].astype(np.float32)


@pytest.mark.parametrize(("ext", "fmt", "subtype", "tol"), FORMATS)
def test_load_audio_from_path(tmp_path, ext, fmt, subtype, tol):
    data = _tone()
    path = tmp_path / f"tone.{ext}"
    sf.write(path, data, 16000, format=fmt, subtype=subtype)
    for src in (path, str(path)):
        audio, sr = edgesea.load_audio(src)
        assert sr == 16000 and isinstance(sr, int)
        assert audio.dtype == np.float32
        assert audio.ndim == 2 and audio.shape[1] == 2
        if ext != "ogg":  # lossless formats keep the exact length
            assert audio.shape[0] == data.shape[0]
        n = min(len(audio), len(data))
        err = np.abs(audio[:n] - data[:n])
        assert np.median(err) < tol


@pytest.mark.parametrize(("ext", "fmt", "subtype", "tol"), FORMATS)
def test_load_audio_from_file_object(ext, fmt, subtype, tol):
    data = _tone(channels=1)
    buf = io.BytesIO()
    sf.write(buf, data, 16000, format=fmt, subtype=subtype)
    buf.seek(0)
    audio, sr = edgesea.load_audio(buf)
    assert sr == 16000
    assert audio.shape[1] == 1 and audio.dtype == np.float32
    if ext != "ogg":
        assert audio.shape[0] == data.shape[0]
    n = min(len(audio), len(data))
    assert np.median(np.abs(audio[:n] - data[:n])) < tol


def test_load_audio_exact_wav_float(tmp_path):
    data = _tone()
    path = tmp_path / "f.wav"
    sf.write(path, data, 16000, subtype="FLOAT")
    audio, _ = edgesea.load_audio(path)
    np.testing.assert_array_equal(audio, data)


def test_load_audio_missing_file(tmp_path):
    with pytest.raises(EdgeSEAError, match="not found"):
        edgesea.load_audio(tmp_path / "nope.wav")


def test_load_audio_directory(tmp_path):
    with pytest.raises(EdgeSEAError, match="directory"):
        edgesea.load_audio(tmp_path)


def test_load_audio_garbage_path(tmp_path):
    path = tmp_path / "garbage.wav"
    path.write_bytes(np.random.default_rng(6).bytes(4096))
    with pytest.raises(EdgeSEAError, match="could not decode"):
        edgesea.load_audio(path)


def test_load_audio_garbage_file_object():
    with pytest.raises(EdgeSEAError, match="could not decode"):
        edgesea.load_audio(io.BytesIO(b"this is not audio at all" * 50))


# -- clear errors for unreadable, damaged and absurd inputs (issue 17, item 8) ---------------

def _flac(path, seconds=3.0):
    sf.write(path, (0.1 * np.random.default_rng(0).standard_normal(int(16000 * seconds))
                    ).astype(np.float32), 16000)
    return path.read_bytes()


@pytest.mark.parametrize("damage", ["truncated", "garbage_after_magic", "hole"])
def test_damaged_flac_message_says_damaged(tmp_path, damage):
    good = _flac(tmp_path / "good.flac")
    data = {"truncated": good[: len(good) // 2],
            "garbage_after_magic": b"fLaC" + bytes(range(256)) * 12,
            "hole": good[:100] + bytes(range(256)) * 20 + good[5220:]}[damage]
    bad = tmp_path / "bad.flac"
    bad.write_bytes(data)
    with pytest.raises(EdgeSEAError, match="damaged or truncated") as e:
        load_audio(bad)
    assert "possibly a pipe" not in str(e.value).split("[libsndfile")[0]
    assert str(bad) in str(e.value)


def test_not_audio_message(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"hello world" * 20)
    with pytest.raises(EdgeSEAError, match="not an audio format"):
        load_audio(tmp_path / "x.wav")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file_message(tmp_path):
    p = tmp_path / "locked.wav"
    sf.write(p, np.zeros(1600, np.float32), 16000)
    p.chmod(0)
    with pytest.raises(EdgeSEAError, match="permission denied"):
        load_audio(p)


@pytest.mark.parametrize("sr", [1e-6, 0.5, 99.0, 1e7, 1e12])
def test_absurd_sample_rates_refused_before_allocation(sr):
    with pytest.raises(EdgeSEAError, match="samples per second"):
        preprocess_audio(np.zeros(100, np.float32), sr, 8000)


def test_audio_rate_bounds_accepted():
    frames, _ = preprocess_audio(np.zeros(400, np.float32) + 0.1, 100, 8000)
    assert frames.shape[1] == 8000


@pytest.mark.parametrize("code,expected", [
    (2, "operating system refused to read it"),       # libsndfile's "System error."
    (7, "damaged or truncated"),                       # "... (possibly a pipe?)"
])
def test_libsndfile_codes_get_clear_messages(tmp_path, monkeypatch, code, expected):
    p = tmp_path / "x.flac"
    sf.write(p, np.zeros(1600, np.float32), 16000)

    def fail(*args, **kwargs):
        raise sf.LibsndfileError(code, prefix=f"Error opening {str(p)!r}: ")

    monkeypatch.setattr(sf, "read", fail)
    with pytest.raises(EdgeSEAError, match=expected) as e:
        load_audio(p)
    assert str(e.value).startswith(f"could not decode audio from {p}: {expected}") or \
        expected in str(e.value).split("[libsndfile")[0]
