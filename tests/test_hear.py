"""Tests of the HEAR 2021 API adapter (edgesea.hear)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import edgesea
from edgesea import hear
from edgesea.audio.windows import n_windows
from edgesea.errors import EdgeSEAError
from edgesea.models import save_model, sea_student
from edgesea.packaged import names as zoo

SR = 16000
N_SAMPLES = 20800  # 1.3 s at 16 kHz; even, so exactly 10400 samples at 8 kHz
N_SOUNDS = 2


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> str:
    torch.manual_seed(0)
    return save_model(sea_student(128).eval(), tmp_path_factory.mktemp("m") / "s.safetensors")


@pytest.fixture(scope="module")
def audio() -> torch.Tensor:
    rng = np.random.default_rng(0)
    return torch.from_numpy(rng.uniform(-0.5, 0.5, (N_SOUNDS, N_SAMPLES)).astype(np.float32))


@pytest.fixture(scope="module")
def model(model_path) -> hear.HEARModel:
    return hear.load_model(model_path)


@pytest.fixture(scope="module")
def ts_out(model, audio) -> tuple[torch.Tensor, torch.Tensor]:
    return hear.get_timestamp_embeddings(audio, model)


def _expected_frames(n_samples: int, hop: float) -> int:
    n8k = n_samples * 8000 // SR
    total = n8k + 4000  # half a 1 s window of zeros in front (center=True)
    return 1 + math.ceil((total - 8000) / round(hop * 8000))


def test_attributes(model):
    assert isinstance(model, torch.nn.Module)
    assert model.sample_rate == 16000
    assert model.scene_embedding_size == 128
    assert model.timestamp_embedding_size == 128
    assert model.hop_size == 0.05
    assert model.model.sample_rate == 8000


def test_timestamp_embeddings_shapes_and_times(ts_out):
    emb, ts = ts_out
    t = _expected_frames(N_SAMPLES, 0.05)
    assert t == 17
    assert t == n_windows(N_SAMPLES // 2, 8000, 1.0, 0.05, True)
    assert emb.shape == (N_SOUNDS, t, 128)
    assert emb.dtype == torch.float32
    assert ts.shape == (N_SOUNDS, t)
    assert ts.dtype in (torch.float32, torch.float64)
    assert torch.all(ts[:, 0] == 0)
    np.testing.assert_allclose(torch.diff(ts, dim=1).numpy(), 50.0)
    np.testing.assert_allclose(ts[0].numpy(), np.arange(t) * 50.0)


@pytest.mark.parametrize("hop", [0.1, 0.25])
def test_hop_size(model_path, audio, hop):
    m = hear.load_model(model_path, hop_size=hop)
    emb, ts = hear.get_timestamp_embeddings(audio[:1], m)
    t = _expected_frames(N_SAMPLES, hop)
    assert emb.shape == (1, t, 128)
    np.testing.assert_allclose(ts[0].numpy(), np.arange(t) * hop * 1000)


def test_matches_get_embedding(ts_out, model_path, audio):
    emb, ts = ts_out
    ref, ref_ts = edgesea.get_embedding(list(audio.numpy()), SR, model=model_path,
                                        hop_size=0.05)
    for i in range(N_SOUNDS):
        assert np.allclose(emb[i].numpy(), ref[i], rtol=1e-6, atol=0)
        np.testing.assert_allclose(ts[i].numpy(), ref_ts[i] * 1000)


def test_scene_embedding_is_mean(model, audio, ts_out):
    scene = hear.get_scene_embeddings(audio, model)
    assert scene.shape == (N_SOUNDS, 128)
    assert scene.dtype == torch.float32
    assert torch.allclose(scene, ts_out[0].mean(dim=1))


def test_float64_input_and_forward(model, audio, ts_out):
    emb64, _ = hear.get_timestamp_embeddings(audio[:1].double(), model)
    assert emb64.dtype == torch.float32
    assert torch.allclose(emb64, ts_out[0][:1], rtol=1e-5, atol=1e-6)
    assert torch.allclose(model(audio[:1]), ts_out[0][:1], rtol=1e-5, atol=1e-6)


def test_private_copy_of_cached_model(model, model_path):
    assert model.model is not edgesea.get_model(model_path)


@pytest.mark.parametrize("bad", [
    torch.zeros(N_SAMPLES),
    torch.zeros(1, 1, N_SAMPLES),
    torch.zeros(2, N_SAMPLES, dtype=torch.int16),
    torch.zeros(0, N_SAMPLES),
    np.zeros((1, N_SAMPLES), dtype=np.float32),
])
def test_bad_input(model, bad):
    with pytest.raises(EdgeSEAError):
        hear.get_timestamp_embeddings(bad, model)
    with pytest.raises(EdgeSEAError):
        hear.get_scene_embeddings(bad, model)


def test_bad_model(audio):
    with pytest.raises(EdgeSEAError):
        hear.get_timestamp_embeddings(audio, object())


def test_no_packaged_model(tmp_path, monkeypatch):
    monkeypatch.setattr(zoo, "PRETRAINED_DIR", tmp_path)
    with pytest.raises(EdgeSEAError):
        hear.load_model("")


def test_missing_file(tmp_path):
    with pytest.raises(EdgeSEAError):
        hear.load_model(str(tmp_path / "nope.safetensors"))


def test_stream_model_matches_get_embedding(tmp_path, audio) -> None:
    """A stream-front-end student (the default since wave 2) gets each window's context in
    HEAR as in get_embedding (the old code fed bare windows: zero context)."""
    from edgesea.models import sea_mcu_student

    torch.manual_seed(1)
    net = sea_mcu_student(32, sample_rate=16000, blocks=[[8, 8], [16], [16, 16]],
                          stream=True)
    with torch.no_grad():  # BatchNorm statistics that are not the initial ones
        net.train()
        net(0.1 * torch.randn(8, net.window_samples))
    path = save_model(net.eval(), tmp_path / "stream.safetensors")
    m = hear.load_model(path)
    emb, _ = hear.get_timestamp_embeddings(audio, m)
    for i in range(N_SOUNDS):
        want, _ = edgesea.get_embedding(audio[i].numpy(), SR, model=path, center=True,
                                        hop_size=m.hop_size, verbose=False)
        np.testing.assert_allclose(emb[i].numpy(), want, rtol=1e-4, atol=1e-5)


def test_timestamps_are_the_true_window_centres() -> None:
    """A hop that is not a whole number of samples at the model's rate: the timestamps are
    where the windows really are (t * round(hop * sr) / sr), as get_embedding reports."""
    import edgesea
    from edgesea import hear

    model = hear.load_model()
    model.hop_size = 1 / 30
    audio = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 16000 * 10))
                             .astype(np.float32) * 0.1)
    _, ts = hear.get_timestamp_embeddings(audio, model)
    _, want = edgesea.get_embedding(audio[0].numpy(), 16000, model=model.model,
                                    hop_size=1 / 30)
    np.testing.assert_allclose(ts[0].numpy(), want * 1000.0, rtol=0, atol=1e-9)
    hop = round(16000 / 30) / 16000
    assert abs(ts[0, -1].item() - (ts.shape[1] - 1) * hop * 1000) < 1e-6
