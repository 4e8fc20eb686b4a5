"""Import of the original edgel3 Keras .h5 SEA student, checked against the TF/Keras oracle."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

import edgesea
from edgesea.audio.io import resample, to_float_mono
from edgesea.audio.windows import frame_audio, n_windows
from edgesea.cli import app
from edgesea.errors import EdgeSEAError
from edgesea.models import load_model, read_header, save_model
from edgesea.models.edgel3 import load_edgel3_h5

h5py = pytest.importorskip("h5py")

H5_NAME = "edgel3_sea_ust_audio_emb_64.h5"
runner = CliRunner()


def rel_err(got: np.ndarray, want: np.ndarray) -> float:
    """Max abs difference relative to the max abs reference value."""
    return float(np.abs(got - want).max() / np.abs(want).max())


def run(model: torch.nn.Module, windows: np.ndarray) -> np.ndarray:
    model.eval()
    with torch.inference_mode():
        return model(torch.from_numpy(np.ascontiguousarray(windows, np.float32))).numpy()


@pytest.fixture(scope="module")
def h5_path(shared_dir: Path) -> Path:
    path = shared_dir / "models" / "edgel3" / H5_NAME
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return path


@pytest.fixture(scope="module")
def oracle(shared_dir: Path) -> dict[str, np.ndarray]:
    path = shared_dir / "models" / "edgel3" / "sea64_reference.npz"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def converted(h5_path: Path) -> edgesea.models.EmbeddingModel:
    return load_edgel3_h5(h5_path)


@pytest.fixture(scope="module")
def converted_path(converted, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("edgel3") / "sea64.safetensors"
    save_model(converted, path)
    return path


def test_architecture_and_provenance(converted) -> None:
    cfg = converted.config
    assert cfg.emb_dim == 64 and cfg.sample_rate == 8000 and cfg.window == 1.0
    assert cfg.blocks == [[32, 32], [64, 64], [128, 128], [64, 64]]
    assert cfg.pool_after == [True, True, True, False]
    assert cfg.head == "paper" and cfg.bn_eps == 1e-3
    assert converted.metadata == {"source": "edgel3", "file": H5_NAME, "keras_version": "2.0.9",
                                  "imported_by": "edgesea.models.edgel3"}
    assert not converted.training


def test_matches_keras_oracle(converted, oracle) -> None:
    emb = run(converted, oracle["windows"])
    err = rel_err(emb, oracle["embedding"])
    print(f"edgel3 sea64 vs Keras oracle: relative error {err:.3g}")
    assert emb.shape == (48, 64)
    assert err <= 1e-4


def test_round_trip_gives_identical_outputs(converted, converted_path, oracle) -> None:
    loaded = load_model(converted_path)
    assert read_header(converted_path)["metadata"] == converted.metadata
    got, want = run(loaded, oracle["windows"]), run(converted, oracle["windows"])
    np.testing.assert_array_equal(got, want)
    assert rel_err(got, oracle["embedding"]) <= 1e-4


def test_get_embedding_matches_framed_model(converted, converted_path, real_clip) -> None:
    audio, sr = real_clip
    emb, ts = edgesea.get_embedding(audio, sr, model=converted_path, hop_size=0.5)
    frames, stamps = frame_audio(resample(to_float_mono(audio), sr, 8000), 8000, 1.0, 0.5)
    want = run(converted, frames)
    assert emb.shape == want.shape and emb.shape[1] == 64
    np.testing.assert_allclose(ts, stamps)
    assert rel_err(emb, want) <= 1e-5


def test_cli_convert_then_embed(h5_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "converted.safetensors"
    result = runner.invoke(app, ["convert-edgel3", str(h5_path), str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and "footprint" in result.stdout and "params" in result.stdout
    wav = tmp_path / "tone.wav"
    t = np.arange(16000 * 2) / 16000
    sf.write(wav, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000)
    result = runner.invoke(app, ["embed", str(wav), "--model", str(out), "-q"])
    assert result.exit_code == 0, result.output
    with np.load(tmp_path / "tone.npz") as z:
        assert z["embedding"].shape == (n_windows(16000, 8000, 1.0, 0.1, True), 64)
        assert np.isfinite(z["embedding"]).all()


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    text = tmp_path / "notes.h5"
    text.write_text("not an hdf5 file")
    empty = tmp_path / "empty.h5"
    with h5py.File(empty, "w") as f:
        f.create_group("something_else")
    return {"missing": tmp_path / "missing.h5", "not h5": text, "no model_weights": empty}


@pytest.mark.parametrize("kind", ["missing", "not h5", "no model_weights"])
def test_bad_files_raise_and_exit_2(kind: str, tmp_path: Path) -> None:
    path = _bad_files(tmp_path)[kind]
    with pytest.raises(EdgeSEAError):
        load_edgel3_h5(path)
    out = tmp_path / "out.safetensors"
    result = runner.invoke(app, ["convert-edgel3", str(path), str(out)])
    assert result.exit_code == 2, result.output
    assert "error:" in result.stderr and "Traceback" not in result.output
    assert not out.exists()


def _patched_copy(h5_path: Path, tmp_path: Path, name: str, value: np.ndarray) -> Path:
    path = tmp_path / "patched.h5"
    shutil.copy(h5_path, path)
    path.chmod(0o644)
    with h5py.File(path, "r+") as f:
        del f[name]
        f[name] = value
    return path


def test_wrong_layer_shape(h5_path: Path, tmp_path: Path) -> None:
    name = "model_weights/conv2d_3/conv2d_3/kernel:0"
    path = _patched_copy(h5_path, tmp_path, name, np.zeros((3, 3, 31, 64), np.float32))
    with pytest.raises(EdgeSEAError, match="conv2d_3"):
        load_edgel3_h5(path)


def test_other_front_end_is_refused(h5_path: Path, tmp_path: Path) -> None:
    from edgesea.frontend.logmel import mel_filterbank

    name = "model_weights/melspectrogram_1/melspectrogram_1/Variable:0"
    other = mel_filterbank(16000, 1024, 64).T.astype(np.float32)  # another sample rate
    with pytest.raises(EdgeSEAError, match="mel matrix"):
        load_edgel3_h5(_patched_copy(h5_path, tmp_path, name, other))


def test_missing_h5py_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(EdgeSEAError, match=r"pip install edgesea\[h5\]"):
        load_edgel3_h5(tmp_path / "any.h5")


def _declared_only(tmp_path: Path, shape: tuple[int, ...], dtype: str = "f4") -> Path:
    """A tiny Keras-like file whose DFT kernel dataset declares ``shape`` but holds no data
    (HDF5 allocates dataset storage lazily, so the file stays a few KB)."""
    path = tmp_path / "hostile.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("model_weights/melspectrogram_1/melspectrogram_1")
        g.create_dataset("real_kernels:0", shape=shape, dtype=dtype)
    return path


def test_dataset_declared_larger_than_the_file_is_refused_before_reading(tmp_path: Path
                                                                        ) -> None:
    path = _declared_only(tmp_path, (1024, 1, 1, 513))  # 2 MB declared in a ~3 KB file
    assert path.stat().st_size < 10_000
    with pytest.raises(EdgeSEAError, match=r"declares 2,101,248 bytes.*more than the whole "
                                           r"file"):
        load_edgel3_h5(path)
    result = runner.invoke(app, ["convert-edgel3", str(path), str(tmp_path / "o.safetensors")])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_huge_declared_dataset_does_not_allocate(tmp_path: Path) -> None:
    """60000 x 60000 float32 (14 GB) declared in a few KB: refused from the header alone."""
    path = _declared_only(tmp_path, (60000, 60000))
    with pytest.raises(EdgeSEAError, match="more than the whole file"):
        load_edgel3_h5(path)


def test_non_numeric_dataset_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "strings.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("model_weights/melspectrogram_1/melspectrogram_1")
        g.create_dataset("real_kernels:0", data=np.array([b"abc", b"de"], dtype=object),
                         dtype=h5py.string_dtype())
    with pytest.raises(EdgeSEAError, match="real_kernels"):
        load_edgel3_h5(path)
