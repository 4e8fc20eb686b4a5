"""OpenL3 .h5 import and teacher, checked against an independent NumPy forward pass.

The published OpenL3 files cannot be downloaded here, so the tests write files in the exact
Keras 2 layout (``model_weights/<layer>/<layer>/<weight>:0``) with known random weights.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from edgesea.errors import EdgeSEAError, EdgeSEAWarning
from edgesea.frontend.logmel import mel_filterbank
from edgesea.models import load_model, save_model
from edgesea.teachers import Teacher
from edgesea.teachers.openl3 import OpenL3Teacher, load_openl3_h5

h5py = pytest.importorskip("h5py")

FILTERS = (64, 64, 128, 128, 256, 256, 512, 512)
EPS = 1e-3


def keras_weights(seed: int = 0) -> tuple[list, list]:
    """Random conv (HWIO kernel, bias) and BN (gamma, beta, mean, var) weights, in order."""
    rng = np.random.default_rng(seed)
    convs, bns = [], [(np.array([0.05]), np.array([0.2]), np.array([-35.0]), np.array([300.0]))]
    for cin, cout in zip((1, *FILTERS[:-1]), FILTERS, strict=True):
        kernel = rng.normal(0, np.sqrt(2 / (9 * cin)), (3, 3, cin, cout))
        convs.append((kernel, rng.normal(0, 0.1, cout)))
        bns.append((rng.uniform(0.5, 1.5, cout), rng.normal(0, 0.1, cout),
                    rng.normal(0, 0.2, cout), rng.uniform(0.5, 2.0, cout)))
    return convs, bns[:len(FILTERS)]  # no BN after audio_embedding_layer


def write_h5(path: Path, n_mels: int = 256, mel: bool = True, seed: int = 0,
             conv_start: int = 8, bn_start: int = 5) -> Path:
    """An OpenL3-like Keras file; suffixes start at 8/5 so that alphabetical order is wrong."""
    convs, bns = keras_weights(seed)
    conv_names = [f"conv2d_{conv_start + i}" for i in range(7)] + ["audio_embedding_layer"]
    bn_names = [f"batch_normalization_{bn_start + i}" for i in range(8)]
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.1.6"
        f.attrs["backend"] = b"tensorflow"
        g = f.create_group("model_weights")
        order = ["input_1"]

        def layer(name: str, weights: dict[str, np.ndarray]) -> None:
            grp = g.create_group(name)
            grp.attrs["weight_names"] = np.array([f"{name}/{k}:0".encode() for k in weights])
            for k, v in weights.items():
                grp.create_dataset(f"{name}/{k}:0", data=np.asarray(v, np.float32))
            order.append(name)

        if mel:
            dft = np.zeros((2048, 1, 1, 1025), np.float32)
            layer("melspectrogram_1", {"real_kernels": dft, "imag_kernels": dft,
                                       "Variable": mel_filterbank(48000, 2048, n_mels).T})
        for i, (bn, conv) in enumerate(zip(bn_names, conv_names, strict=True)):
            layer(bn, dict(zip(("gamma", "beta", "moving_mean", "moving_variance"), bns[i],
                               strict=True)))
            layer(conv, {"kernel": convs[i][0], "bias": convs[i][1]})
        g.attrs["layer_names"] = np.array([n.encode() for n in order])
    return path


@pytest.fixture(scope="module")
def h5_path(tmp_path_factory) -> Path:
    return write_h5(tmp_path_factory.mktemp("openl3") / "openl3_audio_mel256_env.h5")


@pytest.fixture(scope="module")
def model(h5_path):
    return load_openl3_h5(h5_path)


@pytest.fixture(scope="module")
def path128(tmp_path_factory) -> Path:
    """A mel128 file without the kapre layer (n_mels comes from the name)."""
    folder = tmp_path_factory.mktemp("openl3_128")
    return write_h5(folder / "openl3_audio_mel128_music.h5", n_mels=128, mel=False)


@pytest.fixture(scope="module")
def windows() -> np.ndarray:
    rng = np.random.default_rng(1)
    t = np.arange(48000) / 48000
    chirp = 0.5 * np.sin(2 * np.pi * (200 * t + 4000 * t ** 2))
    return np.stack([chirp, 0.1 * rng.standard_normal(48000)]).astype(np.float32)


# -- independent NumPy reference (float64, Keras semantics) ----------------------------------
def np_conv_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Keras Conv2D 'same' (cross-correlation): x (C, H, W), kernel HWIO -> (O, H, W)."""
    kh, kw = kernel.shape[:2]
    _, h, w = x.shape
    xp = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2)))
    out = np.zeros((kernel.shape[3], h, w))
    for dh in range(kh):
        for dw in range(kw):
            out += np.tensordot(kernel[dh, dw], xp[:, dh:dh + h, dw:dw + w], axes=([0], [0]))
    return out + bias[:, None, None]


def np_bn(x: np.ndarray, gamma, beta, mean, var) -> np.ndarray:
    c = (slice(None), None, None)
    return gamma[c] * (x - mean[c]) / np.sqrt(var[c] + EPS) + beta[c]


def np_pool2(x: np.ndarray) -> np.ndarray:
    c, h, w = x.shape
    x = x[:, :h // 2 * 2, :w // 2 * 2]
    return x.reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4))


def np_forward(logmel: np.ndarray, n_convs: int) -> np.ndarray:
    """Input BN then the first ``n_convs`` convs of OpenL3 (with BN/ReLU/pool as in Keras)."""
    convs, bns = keras_weights()
    x = np_bn(logmel[None].astype(np.float64), *bns[0])
    for i in range(n_convs):
        x = np_conv_same(x, *convs[i])
        if i == len(FILTERS) - 1:
            break  # audio_embedding_layer: the model's output, no BN / ReLU
        x = np.maximum(np_bn(x, *bns[i + 1]), 0.0)
        if i in (1, 3, 5):
            x = np_pool2(x)
    return x


@pytest.fixture(scope="module")
def eager(model, windows) -> np.ndarray:
    """The eager model's embeddings of ``windows``."""
    with torch.inference_mode():
        return model(torch.from_numpy(windows)).numpy()


def rel(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.abs(got - want).max() / np.abs(want).max())


def test_first_block_matches_numpy_reference(model, windows) -> None:
    with torch.inference_mode():
        logmel = model.frontend(torch.from_numpy(windows[:1]))
        got = model.features[:7](model.input_bn(logmel.unsqueeze(1)))[0].numpy()
    want = np_forward(logmel[0].numpy(), 2)
    assert got.shape == want.shape == (64, 128, 99)
    assert (want > 0).mean() > 0.2  # ReLU is not killing everything
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    assert rel(got, want) < 1e-5


def test_full_network_matches_numpy_reference(model, windows, eager) -> None:
    with torch.inference_mode():
        logmel = model.frontend(torch.from_numpy(windows[:1]))
    fmap = np_forward(logmel[0].numpy(), 8)
    assert fmap.shape == (512, 32, 24)  # OpenL3's (32, 24) map for mel256
    assert eager.shape == (2, 512)
    assert rel(eager[0], fmap.max(axis=(1, 2))) < 1e-4


def test_teacher_shape_batching_and_provenance(path128, windows) -> None:
    teacher = OpenL3Teacher.from_h5(path128, batch_size=1)  # mel128: half the trace time
    assert isinstance(teacher, Teacher)
    assert (teacher.name, teacher.sample_rate, teacher.window, teacher.emb_dim) == (
        "openl3", 48000, 1.0, 512)
    emb = teacher.embed(windows)
    assert emb.shape == (2, 512) and emb.dtype == np.float32 and np.isfinite(emb).all()
    with torch.inference_mode():
        eager = teacher.model(torch.from_numpy(windows)).numpy()
    assert rel(emb, eager) < 1e-4
    assert teacher.embed(windows[:0]).shape == (0, 512)
    with pytest.raises(EdgeSEAError, match="48000"):
        teacher.embed(windows[:, :8000])


def test_architecture_and_provenance(model, h5_path) -> None:
    meta = model.metadata
    assert meta["source"] == "openl3" and meta["file"] == h5_path.name
    assert meta["n_mels"] == 256 and meta["n_mels_from"] == "mel_matrix"
    assert meta["mel_matrix_max_abs_diff"] < 1e-6 and len(meta["file_sha256"]) == 64
    assert model.config.family == "openl3" and model.config.frontend["n_mels"] == 256
    assert not model.training


def test_output_is_the_raw_last_conv(model, windows, eager) -> None:
    """No BN/ReLU after audio_embedding_layer: shifting its bias shifts the embedding."""
    last = model.features[-1]
    assert isinstance(last, torch.nn.Conv2d) and not model.config.final_bn_relu
    shift = float(eager.max()) + 1.0
    with torch.inference_mode():
        last.bias -= shift
        after = model(torch.from_numpy(windows[:1])).numpy()
        last.bias += shift
    assert (after < 0).all()  # OpenL3 embeddings can be negative
    np.testing.assert_allclose(after[0], eager[0] - shift, atol=1e-4 * shift)


def test_save_model_round_trips(model, windows, tmp_path: Path) -> None:
    """The config records the missing last BN/ReLU, so a saved copy loads and agrees."""
    path = save_model(model, tmp_path / "openl3.safetensors")
    loaded = load_model(path)
    x = torch.from_numpy(windows[:1])
    with torch.inference_mode():
        assert torch.equal(model(x), loaded(x))


def test_identity_is_stable_and_tracks_weights(h5_path) -> None:
    a, b = OpenL3Teacher.from_h5(h5_path), OpenL3Teacher.from_h5(h5_path)
    assert a.identity == b.identity
    with torch.no_grad():
        b.model.features[3].weight[0, 0, 0, 0] += 1e-3
    assert OpenL3Teacher(b.model).identity != a.identity


def test_mel128_from_name_or_argument(path128: Path, tmp_path: Path) -> None:
    m = load_openl3_h5(path128)
    assert m.config.frontend["n_mels"] == 128 and m.metadata["n_mels_from"] == "filename"
    anon = shutil.copy(path128, tmp_path / "weights.h5")
    with pytest.raises(EdgeSEAError, match="pass n_mels"):
        load_openl3_h5(anon)
    assert load_openl3_h5(anon, n_mels=256).config.frontend["n_mels"] == 256
    with pytest.raises(EdgeSEAError, match="unsupported n_mels"):
        load_openl3_h5(anon, n_mels=64)


def test_linear_spectrogram_model_is_refused(h5_path: Path, tmp_path: Path) -> None:
    linear = shutil.copy(h5_path, tmp_path / "openl3_audio_linear_env.h5")
    with pytest.raises(EdgeSEAError, match="linear"):
        load_openl3_h5(linear, n_mels=256)


def test_missing_and_foreign_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(EdgeSEAError, match="not found"):
        load_openl3_h5(tmp_path / "nope.h5")
    text = tmp_path / "model.h5"
    text.write_text("not hdf5")
    with pytest.raises(EdgeSEAError, match="not an HDF5"):
        load_openl3_h5(text)
    empty = tmp_path / "empty.h5"
    with h5py.File(empty, "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(EdgeSEAError, match="model_weights"):
        load_openl3_h5(empty)
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(EdgeSEAError, match="h5py"):
        load_openl3_h5(empty)


@pytest.mark.parametrize(("dataset", "shape", "match"), [
    ("conv2d_9/conv2d_9/kernel:0", (3, 3, 64, 32), "conv2d_9"),
    ("batch_normalization_7/batch_normalization_7/moving_variance:0", (32,), "BatchNorm"),
    ("melspectrogram_1/melspectrogram_1/Variable:0", (1025, 64), "mel matrix"),
    ("melspectrogram_1/melspectrogram_1/real_kernels:0", (512, 1, 1, 257), "real_kernels"),
])
def test_wrong_shapes_raise(h5_path: Path, tmp_path: Path, dataset: str, shape: tuple,
                            match: str) -> None:
    bad = shutil.copy(h5_path, tmp_path / "bad.h5")
    with h5py.File(bad, "r+") as f:
        del f["model_weights"][dataset]
        f["model_weights"].create_dataset(dataset, data=np.ones(shape, np.float32))
    with pytest.raises(EdgeSEAError, match=match):
        load_openl3_h5(bad)


def test_missing_layer_and_disagreeing_n_mels(h5_path: Path, tmp_path: Path) -> None:
    with pytest.raises(EdgeSEAError, match="n_mels=128 given"):
        load_openl3_h5(h5_path, n_mels=128)
    bad = shutil.copy(h5_path, tmp_path / "bad.h5")
    with h5py.File(bad, "r+") as f:
        del f["model_weights"]["audio_embedding_layer"]
    with pytest.raises(EdgeSEAError, match="audio_embedding_layer"):
        load_openl3_h5(bad)


def test_other_mel_matrix_warns(h5_path: Path, tmp_path: Path) -> None:
    other = shutil.copy(h5_path, tmp_path / "other.h5")
    with h5py.File(other, "r+") as f:
        f["model_weights/melspectrogram_1/melspectrogram_1/Variable:0"][0, 0] = 1.0
    with pytest.warns(EdgeSEAWarning, match="mel matrix"):
        load_openl3_h5(other)
