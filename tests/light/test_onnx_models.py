"""ONNX Runtime models: the packaged ONNX students and the sparse models run without torch
give the torch path's embeddings (max difference <= 1e-4 of the largest value)."""

from __future__ import annotations

import os

import numpy as np
import onnx
import pytest
import torch

import edgesea
from edgesea.errors import EdgeSEAError, MissingExtraError
from edgesea.export.onnx import export_onnx
from edgesea.inference import api, resolve
from edgesea.light.onnx_models import METADATA_KEY, OnnxEmbedder, OnnxSparseModel
from edgesea.models import load_model, sea_student
from edgesea.packaged.names import PRETRAINED_DIR, available, resolve_model, zoo_name
from edgesea.sparse.model import SparseModel

REL = 1e-4


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


def _audio(seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * sr))).astype(
        np.float32)


@pytest.mark.parametrize("tier", ["mcu", "mcu-1m"])
def test_packaged_onnx_students_equal_the_torch_models(tier):
    for model_type, dim in available(tier):
        name = zoo_name(model_type, dim, tier)
        onnx_path = PRETRAINED_DIR / f"{name}.onnx"
        assert onnx_path.is_file(), f"{name}.onnx is not packaged (benchmarks/build_zoo.py onnx)"
        emb = OnnxEmbedder(onnx_path)
        model = load_model(PRETRAINED_DIR / f"{name}.safetensors")
        assert emb.source_identity == api.model_identity(model)  # exported from this model
        assert (emb.emb_dim, emb.sample_rate, emb.window) == (dim, model.sample_rate,
                                                              model.window)
        x = _audio(3.3, 16000, seed=dim)
        for hop in (0.1, 0.5):
            a, ta = edgesea.get_embedding(x, 16000, model=f"{name}.onnx", hop_size=hop)
            b, tb = edgesea.get_embedding(x, 16000, model=model, hop_size=hop)
            np.testing.assert_array_equal(ta, tb)
            assert _rel(a, b) <= REL


def test_onnx_name_resolves_and_is_refused_where_a_torch_model_is_needed():
    assert resolve_model("sea_urban_128.onnx").endswith("sea_urban_128.onnx")
    with pytest.raises(EdgeSEAError, match="ONNX model"):
        resolve_model("sea_urban_128.onnx", kind="float")


def test_a_users_export_runs_with_onnx_runtime(tmp_path):
    torch.manual_seed(0)
    model = sea_student(64).eval()
    path = tmp_path / "mine.onnx"
    export_onnx(model, path)
    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert METADATA_KEY in meta
    x = _audio(2.0, 8000)
    a, _ = edgesea.get_embedding(x, 8000, model=str(path), hop_size=0.25)
    b, _ = edgesea.get_embedding(x, 8000, model=model, hop_size=0.25)
    assert _rel(a, b) <= REL
    out = edgesea.process_file([_wav(tmp_path, x, 8000)], tmp_path / "out", model=str(path),
                               hop_size=0.25)
    np.testing.assert_array_equal(np.load(out[0])["embedding"], a)


def _wav(tmp_path, x, sr) -> str:
    import soundfile as sf

    f = tmp_path / "a.wav"
    sf.write(f, x, sr, subtype="FLOAT")
    return os.fspath(f)


def test_onnx_without_edgesea_metadata_is_refused(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "plain.onnx"
    export_onnx(sea_student(64).eval(), path)
    proto = onnx.load(path)
    del proto.metadata_props[:]
    onnx.save(proto, path)
    with pytest.raises(EdgeSEAError, match="edgesea metadata"):
        OnnxEmbedder(path)
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(EdgeSEAError, match="not a runnable ONNX model"):
        OnnxEmbedder(tmp_path / "junk.onnx")


def test_sparse_model_without_torch_equals_the_torch_one():
    path = PRETRAINED_DIR / "sparse_aisfx_95.45_kd.safetensors"
    x = (0.1 * np.random.default_rng(3).standard_normal((5, 44100))).astype(np.float32)
    light, ref = OnnxSparseModel(path, batch_size=2), SparseModel.load(path)
    assert _rel(light.embed(x), ref.embed(x)) <= REL
    with pytest.raises(EdgeSEAError, match="expected"):
        light.embed(x[:, :100])


def test_get_model_without_torch_gives_the_light_embedders(monkeypatch, tmp_path):
    """What the light install resolves (torch reported absent): packaged students -> their
    ONNX files, sparse models -> ONNX Runtime, a user's .safetensors -> the extra to install."""
    monkeypatch.setattr(resolve, "has_torch", lambda: False)
    api._CACHE.clear()
    try:
        assert isinstance(api.get_model(), OnnxEmbedder)
        assert isinstance(api.get_model(None, "sparse", sparsity=87.0), OnnxSparseModel)
        assert isinstance(api.get_model("sea_urban_64"), OnnxEmbedder)
        x = _audio(2.0, 16000)
        a, _ = edgesea.get_embedding(x, 16000, hop_size=0.5)
        monkeypatch.setattr(resolve, "has_torch", lambda: True)
        b, _ = edgesea.get_embedding(x, 16000, hop_size=0.5)
        assert _rel(a, b) <= REL
        monkeypatch.setattr(resolve, "has_torch", lambda: False)
        torch.manual_seed(0)
        mine = tmp_path / "mine.safetensors"
        edgesea.models.save_model(sea_student(64), mine)
        with pytest.raises(MissingExtraError, match=r"edgesea\[train\]"):
            api.get_model(mine)
    finally:
        api._CACHE.clear()


def test_cli_embed_runs_an_onnx_model(tmp_path):
    """``edgesea embed --model NAME.onnx`` with torch installed runs ONNX Runtime too."""
    from typer.testing import CliRunner

    from edgesea.cli import app

    x = _audio(2.0, 16000, seed=5)
    wav = _wav(tmp_path, x, 16000)
    r = CliRunner().invoke(app, ["embed", wav, "--model", "sea_urban_64.onnx", "-o",
                                 str(tmp_path / "out"), "--hop-size", "0.5"])
    assert r.exit_code == 0, r.output
    emb = np.load(tmp_path / "out" / "a.npz")["embedding"]
    ref, _ = edgesea.get_embedding(x, 16000, model="sea_urban_64.onnx", hop_size=0.5)
    # the file is read in blocks: the mel matrix product runs on other row counts, which
    # BLAS rounds differently on some CPUs (seen: 4e-6 on an AMD EPYC)
    np.testing.assert_allclose(emb, ref, rtol=0, atol=1e-5)
