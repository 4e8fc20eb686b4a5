"""A-weighting filter design and LAeq (dBFS) of audio windows."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from edgesea import EdgeSEAError
from edgesea.audio.loudness import a_weighting_gain_db, a_weighting_sos, laeq, laeq_frames
from edgesea.audio.windows import frame_audio

SINE_DB = 10 * np.log10(0.5)  # mean square of a full-scale sine: -3.0103 dBFS

# IEC 61672-1 Table 3 A-weighting (dB, rounded to 0.1) at the exact base-10 frequencies
# 1000 * 10 ** (k / 10) behind the nominal 10 Hz ... 20 kHz.
IEC_A = [-70.4, -63.4, -56.7, -50.5, -44.7, -39.4, -34.6, -30.2, -26.2, -22.5, -19.1, -16.1,
         -13.4, -10.9, -8.6, -6.6, -4.8, -3.2, -1.9, -0.8, 0.0, 0.6, 1.0, 1.2, 1.3, 1.2, 1.0,
         0.5, -0.1, -1.1, -2.5, -4.3, -6.6, -9.3]


def sine(freq: float, sr: int, seconds: float = 1.0, amp: float = 1.0) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return amp * np.sin(2 * np.pi * freq * t)


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("sr", [8000, 16000, 22050, 44100, 48000])
def test_full_scale_1k_sine_is_minus_3_dbfs(sr):
    assert laeq(sine(1000.0, sr), sr) == pytest.approx(SINE_DB, abs=0.05)
    # filter start-up transient of a 1 s window costs < 0.005 dB
    assert laeq(sine(1000.0, sr), sr) == pytest.approx(SINE_DB, abs=0.005)


def test_analytic_gain_reference_points():
    assert a_weighting_gain_db(100.0) == pytest.approx(-19.1, abs=0.1)
    assert a_weighting_gain_db(1000.0) == pytest.approx(0.0, abs=0.01)
    assert a_weighting_gain_db(10000.0) == pytest.approx(-2.5, abs=0.1)
    assert isinstance(a_weighting_gain_db(1000.0), float)


def test_analytic_gain_matches_iec_table():
    freqs = 1000.0 * 10.0 ** (np.arange(-20, 14) / 10)
    gains = a_weighting_gain_db(freqs)
    assert gains.shape == freqs.shape
    # +2.00 dB is 0.0003 dB above the exact 1 kHz normalisation, so 160 Hz (-13.3500 dB
    # exactly) sits on the rounding edge of the table's -13.4: allow 0.0005 dB for that
    np.testing.assert_allclose(gains, IEC_A, atol=0.0505)
    assert a_weighting_gain_db(freqs.reshape(2, 17)).shape == (2, 17)


def test_gain_at_zero_hz_is_minus_inf_without_warnings():
    assert a_weighting_gain_db(0.0) == -np.inf
    assert a_weighting_gain_db([0.0, 4000.0], sr=8000)[0] == -np.inf


@pytest.mark.parametrize("sr", [8000, 16000, 22050, 44100, 48000])
def test_digital_filter_is_0_db_at_1k(sr):
    assert a_weighting_gain_db(1000.0, sr=sr) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("sr", [44100, 48000])
def test_digital_matches_analytic_at_high_rates(sr):
    f = np.geomspace(20.0, 5000.0, 400)
    np.testing.assert_allclose(a_weighting_gain_db(f, sr), a_weighting_gain_db(f), atol=0.15)
    # 5-10 kHz: bilinear warping pulls the curve down, by at most 1.5 dB at 10 kHz
    # (IEC 61672-1 class 1 allows far more there)
    f = np.geomspace(5000.0, 10000.0, 100)
    dev = a_weighting_gain_db(f, sr) - a_weighting_gain_db(f)
    assert dev.max() <= 0.02 and dev.min() >= -1.6


@pytest.mark.parametrize(("sr", "f_max", "tol"), [(8000, 2000.0, 0.2), (16000, 3000.0, 0.15)])
def test_digital_matches_analytic_at_low_rates(sr, f_max, tol):
    f = np.geomspace(20.0, f_max, 400)
    np.testing.assert_allclose(a_weighting_gain_db(f, sr), a_weighting_gain_db(f), atol=tol)


def test_bilinear_deviation_near_nyquist_at_8k_is_as_documented():
    dev = a_weighting_gain_db([3000.0, 3600.0], 8000) - a_weighting_gain_db([3000.0, 3600.0])
    np.testing.assert_allclose(dev, [-1.4, -8.0], atol=0.1)


@pytest.mark.parametrize(("sr", "tol"), [(16000, 0.1), (44100, 0.05), (48000, 0.05)])
def test_100hz_sine_level(sr, tol):
    expected = SINE_DB + a_weighting_gain_db(100.0)  # about -22.15 dBFS
    assert laeq(sine(100.0, sr), sr) == pytest.approx(expected, abs=tol)


def test_silence_reads_floor():
    assert laeq(np.zeros(16000), 16000) == -120.0
    assert laeq(np.zeros(16000), 16000, floor_db=-90) == -90.0
    assert laeq(sine(1000.0, 16000, amp=1e-9), 16000) == -120.0  # quieter than the floor
    batch = np.stack([np.zeros(8000), sine(1000.0, 8000)])
    out = laeq(batch, 8000)
    assert out[0] == -120.0 and out[1] == pytest.approx(SINE_DB, abs=0.05)
    assert np.isfinite(out).all()


def test_batch_equals_rows():
    rng = np.random.default_rng(0)
    batch = rng.uniform(-1, 1, size=(5, 4000)) * np.array([1, 0.5, 0.1, 0.0, 1e-3])[:, None]
    out = laeq(batch, 16000)
    assert isinstance(out, np.ndarray) and out.shape == (5,)
    np.testing.assert_allclose(out, [laeq(row, 16000) for row in batch], rtol=0, atol=1e-12)
    assert isinstance(laeq(batch[0], 16000), float)


def test_scaling_by_0_1_lowers_level_by_20_db():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(16000) * 0.1
    assert laeq(0.1 * x, 16000) == pytest.approx(laeq(x, 16000) - 20.0, abs=1e-9)


def test_float32_and_lists_are_accepted():
    x = sine(1000.0, 16000, amp=0.5)
    assert laeq(x.astype(np.float32), 16000) == pytest.approx(laeq(x, 16000), abs=1e-4)
    assert laeq(list(x), 16000) == pytest.approx(laeq(x, 16000))


def test_sos_design_and_cache():
    sos = a_weighting_sos(16000)
    assert sos.shape == (3, 6) and np.isfinite(sos).all()
    sos[:] = 0.0  # a copy: the cached design is untouched
    np.testing.assert_array_equal(a_weighting_sos(16000.0), a_weighting_sos(16000))
    assert np.any(a_weighting_sos(16000))
    assert not np.allclose(a_weighting_sos(8000), a_weighting_sos(48000))


def test_laeq_frames_align_with_embedding_windows():
    sr = 16000
    audio = np.concatenate([sine(1000.0, sr, 2.0), np.zeros(2 * sr)]).astype(np.float32)
    levels, ts = laeq_frames(audio, sr, hop_size=0.5)
    frames, ts_ref = frame_audio(audio, sr, 1.0, 0.5, True)
    np.testing.assert_array_equal(ts, ts_ref)
    np.testing.assert_allclose(levels, laeq(frames, sr))
    assert levels.shape == (frames.shape[0],)
    assert levels[-1] == -120.0 and levels[2] == pytest.approx(SINE_DB, abs=0.05)
    pcm = (audio * 2**14).astype(np.int16)  # integer PCM / stereo go through to_float_mono
    lv16, _ = laeq_frames(np.stack([pcm, pcm], axis=1), sr, hop_size=0.5)
    np.testing.assert_allclose(lv16, np.maximum(levels - 20 * np.log10(2), -120.0), atol=1e-3)


@pytest.mark.parametrize("bad", [
    np.array([0.0, np.nan]), np.array([np.inf, 0.0]), np.zeros(0), np.zeros((0, 10)),
    np.zeros((2, 0)), np.zeros((2, 2, 2)), np.zeros(10, dtype=np.int16),
    np.zeros(10, dtype=bool), np.float64(0.5), [[0.0, 1.0], [0.0]], "audio",
])
def test_invalid_windows(bad):
    with pytest.raises(EdgeSEAError):
        laeq(bad, 16000)


@pytest.mark.parametrize("sr", [0, -16000, float("nan"), float("inf"), "16000", True, None, 2000])
def test_invalid_sample_rate(sr):
    with pytest.raises(EdgeSEAError):
        laeq(np.zeros(100), sr)
    with pytest.raises(EdgeSEAError):
        a_weighting_sos(sr)
    if sr is not None:
        with pytest.raises(EdgeSEAError):
            a_weighting_gain_db(1000.0, sr)


@pytest.mark.parametrize("floor_db", [float("nan"), -np.inf, "low", None, True])
def test_invalid_floor(floor_db):
    with pytest.raises(EdgeSEAError):
        laeq(np.zeros(100), 16000, floor_db=floor_db)


@pytest.mark.parametrize(("freqs", "sr"), [(-1.0, None), (np.nan, None), ("1k", None),
                                           ([100.0, 4001.0], 8000)])
def test_invalid_freqs(freqs, sr):
    with pytest.raises(EdgeSEAError):
        a_weighting_gain_db(freqs, sr)


@pytest.mark.parametrize("window", [0.0, -1.0, float("nan"), "1", 1e-6])
def test_laeq_frames_invalid_window(window):
    with pytest.raises(EdgeSEAError):
        laeq_frames(np.zeros(16000), 16000, window=window)
