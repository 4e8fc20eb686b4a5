"""Log-mel front end: kapre oracle, librosa filterbank, config round trip, padding, dB."""

from __future__ import annotations

import json
import math

import librosa
import numpy as np
import pytest
import torch

from edgesea import EdgeSEAError
from edgesea.frontend.logmel import LogMelSpectrogram, hz_to_mel, mel_filterbank, mel_to_hz
from edgesea.frontend.presets import kapre_preset


def _signals(batch=3, n=8000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 8000
    x = 0.05 * rng.standard_normal((batch, n))
    x += 0.5 * np.sin(2 * np.pi * rng.uniform(100, 3000, (batch, 1)) * t)
    return torch.from_numpy(x.astype(np.float32))


def test_kapre_preset_matches_edgel3_oracle(shared_dir):
    ref = np.load(shared_dir / "models" / "edgel3" / "sea64_reference.npz")
    windows, expected = ref["windows"], ref["logmel_db"]
    assert windows.shape == (48, 8000)
    with torch.inference_mode():
        out = kapre_preset()(torch.from_numpy(windows)).numpy()
    assert out.shape == expected.shape == (48, 64, 50)
    assert np.abs(out - expected).max() < 0.01


def test_kapre_preset_by_hand():
    """The kapre semantics re-derived with numpy: SAME padding (432 | 432), periodic Hann,
    power -> mel -> sqrt -> dB, per-window max at 0, floor -80."""
    x = _signals(2).numpy().astype(np.float64)
    n_fft, hop = 1024, 160
    padded = np.pad(x, ((0, 0), (432, 432)))
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    idx = np.arange(50)[:, None] * hop + np.arange(n_fft)[None, :]
    spec = np.abs(np.fft.rfft(padded[:, idx] * win, axis=-1)) ** 2  # (B, T, F)
    mel = librosa.filters.mel(sr=8000, n_fft=n_fft, n_mels=64, htk=True, norm="slaney",
                              dtype=np.float64)
    m = np.sqrt(np.einsum("mf,btf->bmt", mel, spec))
    db = 10 * np.log10(np.maximum(m, 1e-10))
    db -= db.max(axis=(1, 2), keepdims=True)
    db = np.maximum(db, -80)
    with torch.inference_mode():
        out = kapre_preset()(torch.from_numpy(x.astype(np.float32))).numpy()
    assert np.abs(out - db).max() < 0.01
    assert out.max(axis=(1, 2)) == pytest.approx([0.0, 0.0])


@pytest.mark.filterwarnings("ignore:Empty filters detected")
@pytest.mark.parametrize(("sr", "n_fft", "n_mels", "fmin", "fmax"), [
    (8000, 1024, 64, 0.0, None),
    (48000, 2048, 256, 0.0, None),
    (22050, 512, 40, 50.0, 8000.0),
])
@pytest.mark.parametrize("htk", [True, False])
@pytest.mark.parametrize("norm", ["slaney", None])
def test_mel_filterbank_equals_librosa(sr, n_fft, n_mels, fmin, fmax, htk, norm):
    ours = mel_filterbank(sr, n_fft, n_mels, fmin, fmax, scale="htk" if htk else "slaney",
                          norm=norm)
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax,
                              htk=htk, norm="slaney", dtype=np.float64)
    if norm is None:
        # librosa's norm=None path imports librosa.util.utils, whose numba functions take
        # ~21 s to compile in a fresh environment (CI): undo the Slaney area normalisation
        # (2 / band width, librosa.filters.mel's own factor) instead
        edges = librosa.mel_frequencies(n_mels + 2, fmin=fmin, fmax=sr / 2 if fmax is None
                                        else fmax, htk=htk)
        ref = ref / (2.0 / (edges[2:] - edges[:-2]))[:, None]
    assert ours.shape == ref.shape == (n_mels, 1 + n_fft // 2)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)


def test_mel_filterbank_odd_n_fft_equals_librosa():
    ours = mel_filterbank(8000, 1023, 64)
    ref = librosa.filters.mel(sr=8000, n_fft=1023, n_mels=64, htk=True, dtype=np.float64)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("scale", ["htk", "slaney"])
def test_mel_scale_matches_librosa_and_inverts(scale):
    f = np.array([0.0, 100.0, 999.0, 1000.0, 4000.0, 22050.0])
    m = hz_to_mel(f, scale)
    np.testing.assert_allclose(m, librosa.hz_to_mel(f, htk=scale == "htk"), rtol=1e-12)
    np.testing.assert_allclose(mel_to_hz(m, scale), f, rtol=1e-10, atol=1e-9)


def test_mel_filterbank_errors():
    with pytest.raises(EdgeSEAError, match="norm"):
        mel_filterbank(8000, 1024, 64, norm="l2")
    with pytest.raises(EdgeSEAError, match="scale"):
        mel_filterbank(8000, 1024, 64, scale="bark")
    with pytest.raises(EdgeSEAError, match="fmax"):
        mel_filterbank(8000, 1024, 64, fmax=5000.0)


@pytest.mark.parametrize("module", [
    kapre_preset(),
    LogMelSpectrogram(16000, 400, 100, 40, window="hamming", periodic=False, padding="center",
                      fmin=20.0, fmax=7600.0, mel_scale="slaney", mel_norm=None, power=2.0,
                      ref=1.0, top_db=None, amin=1e-5),
    LogMelSpectrogram(8000, 256, 64, 32, window="ones", padding="valid", db=False),
])
def test_config_round_trip(module):
    cfg = module.config()
    cfg2 = json.loads(json.dumps(cfg))  # plain JSON
    rebuilt = LogMelSpectrogram.from_config(cfg2)
    assert rebuilt.config() == cfg
    x = _signals(2, n=module.sample_rate)
    with torch.inference_mode():
        assert torch.equal(rebuilt(x), module(x))
        assert torch.equal(rebuilt.mel_basis, module.mel_basis)
        assert torch.equal(rebuilt.window, module.window)


def test_from_config_bad_key():
    cfg = kapre_preset().config()
    cfg["bogus"] = 1
    with pytest.raises(EdgeSEAError, match="configuration"):
        LogMelSpectrogram.from_config(cfg)


@pytest.mark.parametrize("n", [1, 159, 160, 161, 1000, 1024, 1025, 7999, 8000, 8001])
def test_same_padding_frame_count(n):
    m = kapre_preset()
    with torch.inference_mode():
        out = m(torch.ones(2, n))
    assert out.shape == (2, 64, math.ceil(n / 160))
    assert m.n_frames(n) == math.ceil(n / 160)


@pytest.mark.parametrize("n", [1024, 1500, 8000])
@pytest.mark.parametrize("padding", ["center", "valid"])
def test_other_paddings_frame_count(n, padding):
    m = LogMelSpectrogram(8000, 1024, 160, 64, padding=padding)
    with torch.inference_mode():
        out = m(torch.ones(1, n))
    assert out.shape[-1] == m.n_frames(n)
    expected = 1 + n // 160 if padding == "center" else 1 + (n - 1024) // 160
    assert out.shape[-1] == expected


def test_valid_padding_too_short():
    m = LogMelSpectrogram(8000, 1024, 160, 64, padding="valid")
    with pytest.raises(EdgeSEAError, match="shorter than n_fft"):
        m(torch.ones(1, 1000))


def test_one_dim_input_is_a_batch_of_one():
    m = kapre_preset()
    x = _signals(1)
    with torch.inference_mode():
        assert torch.equal(m(x[0]), m(x))


def test_batched_equals_per_example():
    m = kapre_preset()
    x = _signals(5, seed=3)
    x[2] *= 0.001  # very different levels: the per-window max reference must stay per window
    with torch.inference_mode():
        batched = m(x).numpy()
        single = np.concatenate([m(x[i:i + 1]).numpy() for i in range(5)])
    np.testing.assert_allclose(batched, single, rtol=0, atol=1e-4)
    assert batched.max(axis=(1, 2)) == pytest.approx(np.zeros(5), abs=1e-6)


def test_power_and_linear_output():
    x = _signals(2)
    kw = dict(db=False, top_db=None)
    mag = LogMelSpectrogram(8000, 1024, 160, 64, power=1.0, **kw)
    pw = LogMelSpectrogram(8000, 1024, 160, 64, power=2.0, **kw)
    with torch.inference_mode():
        a, b = mag(x), pw(x)
    assert (a >= 0).all()
    torch.testing.assert_close(a.square(), b, rtol=1e-4, atol=1e-6)


def test_ref_float_and_top_db_none():
    x = _signals(2)
    x[:, 4000:] = 0.0  # silent half: the dB floor (amin) is reached there
    lin = LogMelSpectrogram(8000, 1024, 160, 64, db=False)
    with torch.inference_mode():
        mel = lin(x).double().numpy()
    db_abs = 10 * np.log10(np.maximum(mel, 1e-10))

    ref2 = LogMelSpectrogram(8000, 1024, 160, 64, ref=2.0, top_db=None)
    with torch.inference_mode():
        out = ref2(x).numpy()
    np.testing.assert_allclose(out, db_abs - 10 * np.log10(2.0), atol=1e-3)
    assert out.min() < -80  # nothing clipped

    ref1_clip = LogMelSpectrogram(8000, 1024, 160, 64, ref=1.0, top_db=30.0)
    with torch.inference_mode():
        out = ref1_clip(x).numpy()
    peak = db_abs.max(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out, np.maximum(db_abs, peak - 30.0), atol=1e-3)
    assert out.max() == pytest.approx(peak.max(), abs=1e-3)  # no shift with ref=1

    maxref_noclip = LogMelSpectrogram(8000, 1024, 160, 64, ref="max", top_db=None)
    with torch.inference_mode():
        out = maxref_noclip(x).numpy()
    np.testing.assert_allclose(out, db_abs - peak, atol=1e-3)
    assert out.min() < -80

    with torch.inference_mode():
        clipped = kapre_preset()(x).numpy()
    assert clipped.min() == pytest.approx(-80.0)
    np.testing.assert_allclose(clipped, np.maximum(db_abs - peak, -80.0), atol=1e-3)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"window": "blackman"}, "window"),
    ({"padding": "reflect"}, "padding"),
    ({"padding": "SAME"}, "padding"),
    ({"ref": "min"}, "ref"),
    ({"ref": -1.0}, "ref"),
    ({"ref": 0}, "ref"),
    ({"mel_norm": "l1"}, "norm"),
    ({"mel_scale": "mel"}, "scale"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(EdgeSEAError, match=match):
        LogMelSpectrogram(8000, 1024, 160, 64, **kwargs)


def test_bad_sizes():
    with pytest.raises(EdgeSEAError):
        LogMelSpectrogram(8000, 1, 160, 64)
    with pytest.raises(EdgeSEAError):
        LogMelSpectrogram(8000, 1024, 0, 64)


def test_openl3_v04_preset_matches_numpy_reference():
    """openl3 0.4 (kapre 0.3, pad_end, magnitude mel on the Slaney scale, 0.1.4 dB rule)
    against an independent numpy + librosa-filterbank computation."""
    import librosa

    from edgesea.frontend.presets import openl3_v04_preset

    rng = np.random.default_rng(3)
    x = (rng.standard_normal((2, 48000)) * np.linspace(0.01, 0.5, 48000)).astype(np.float32)
    fe = openl3_v04_preset(n_mels=256)
    got = fe(torch.from_numpy(x)).numpy()
    n_frames = -(-48000 // 242)
    assert got.shape == (2, 256, n_frames) == (2, 256, 199)
    padded = np.pad(x.astype(np.float64), ((0, 0), (0, (n_frames - 1) * 242 + 2048 - 48000)))
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(2048) / 2048)  # periodic Hann
    frames = np.stack([padded[:, t * 242:t * 242 + 2048] for t in range(n_frames)], axis=1)
    mag = np.abs(np.fft.rfft(frames * win, axis=-1))  # (2, T, 1025)
    fb = librosa.filters.mel(sr=48000, n_fft=2048, n_mels=256, htk=False, norm="slaney")
    mel = np.einsum("mf,btf->bmt", fb, mag)
    ref = 10 * np.log10(np.maximum(mel, 1e-10))
    ref = np.maximum(ref - ref.max(axis=(1, 2), keepdims=True), -80.0)
    assert np.abs(got - ref).max() < 0.01
    assert fe.config()["padding"] == "end" and fe.config()["spectrum"] == "magnitude"
