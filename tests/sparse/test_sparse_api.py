"""Sparse models through every door: ``get_embedding(model_type='sparse', ...)`` and its
errors (``ft``, invalid and unpackaged levels), the zoo (names, catalog, ``edgesea
models``), ``edgesea embed / info / footprint / evaluate``, the teacher spec ``sparse:PATH``
and the edgel3 drop-in. The models are real: the aisfx weights pruned one-shot and saved
here; the packaged kd models are checked when installed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

import edgesea
import edgesea.edgel3 as edgel3
import edgesea.packaged.names
from edgesea.audio.io import preprocess_audio
from edgesea.cli import app
from edgesea.errors import EdgeSEAError
from edgesea.extract.run import resolve_teacher
from edgesea.packaged.names import packaged_names, resolve_model
from edgesea.sparse.model import SparseModel
from edgesea.sparse.packaged import packaged_levels
from edgesea.sparse.storage import save_sparse
from edgesea.zoo import catalog
from sparse_cache import dense_teacher, pruned

ROOT = Path(__file__).resolve().parents[2]
CLIP = ROOT / "examples" / "audio" / "fold1" / "103074-7-0-2.flac"  # 4 s, 16 kHz
NAME = "sparse_aisfx_95.45_oneshot"
runner = CliRunner()


def invoke(*args: object, code: int = 0):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


@pytest.fixture(scope="module")
def dense():
    return dense_teacher()


@pytest.fixture(scope="module")
def sparse_file(dense, tmp_path_factory) -> Path:
    """The aisfx weights pruned one-shot at 95.45 %, as a sparse model file."""
    net, masks = pruned(95.45)
    return Path(save_sparse(net, tmp_path_factory.mktemp("sp") / "s95.safetensors",
                            sparsity=95.45, retrain="oneshot", masks=masks,
                            teacher_identity=dense.identity))


@pytest.fixture()
def zoo_dir(sparse_file, tmp_path, monkeypatch) -> Path:
    """A package folder holding the one-shot model under its packaged name, and a card."""
    monkeypatch.setattr(edgesea.packaged.names, "PRETRAINED_DIR", tmp_path)
    shutil.copy(sparse_file, tmp_path / f"{NAME}.safetensors")
    (tmp_path / f"{NAME}.md").write_text("| fold 10 micro-AUPRC | <!-- fill: mean ± sd --> |\n")
    return tmp_path


@pytest.fixture(scope="module")
def clip() -> tuple[np.ndarray, int]:
    audio, sr = sf.read(CLIP)
    return audio, sr


def test_get_embedding_with_a_sparse_file(sparse_file, clip) -> None:
    audio, sr = clip
    emb, ts = edgesea.get_embedding(audio, sr, model=sparse_file, hop_size=0.5, batch_size=8)
    assert emb.shape == (8, 512) and emb.dtype == np.float32 and (emb >= 0).all()
    np.testing.assert_allclose(ts, np.arange(8) * 0.5)
    model = edgesea.get_model(sparse_file)
    assert isinstance(model, SparseModel) and edgesea.get_model(str(sparse_file)) is model
    frames, _ = preprocess_audio(audio, sr, 44100, 1.0, 0.5, True)
    np.testing.assert_allclose(emb, model.embed(frames), rtol=1e-4, atol=1e-6)
    again, _ = edgesea.get_embedding([audio], [sr], model=model, hop_size=0.5, batch_size=8)
    np.testing.assert_array_equal(again[0], emb)
    with pytest.raises(EdgeSEAError, match="log-mel inputs of edgesea students"):
        edgesea.inference.api.model_inputs(audio, sr, model=model)


def test_packaged_sparse_model_by_name_and_type(zoo_dir, sparse_file, clip) -> None:
    audio, sr = clip
    assert packaged_levels() == [(95.45, "oneshot")] and packaged_names() == [NAME]
    assert resolve_model(NAME) == resolve_model(f"{NAME}.safetensors") == str(
        zoo_dir / f"{NAME}.safetensors")
    with pytest.raises(EdgeSEAError, match="not found"):
        resolve_model(f"{NAME}.int8")
    (row,) = catalog()
    assert (row.kind, row.model_type, row.emb_dim, row.sparsity, row.retrain) == (
        "sparse", "sparse", 512, 95.45, "oneshot")
    assert row.nonzero_weights == 213_281 and row.params == 213_281 + 7_680
    assert row.file_bytes == sparse_file.stat().st_size and row.micro_auprc is None
    want, _ = edgesea.get_embedding(audio, sr, model=sparse_file, hop_size=0.5, batch_size=8)
    got, _ = edgesea.get_embedding(audio, sr, model_type="sparse", sparsity=95.45,
                                   retrain_type="oneshot", hop_size=0.5, batch_size=8)
    np.testing.assert_array_equal(got, want)
    table = invoke("models").stdout
    assert NAME in table and "213,281 non-zero weights" in table and "Type sparse" in table


def test_sparse_errors_say_what_to_do(zoo_dir, clip, tmp_path) -> None:
    audio, sr = clip
    with pytest.raises(EdgeSEAError, match=r"no sparse model at sparsity 95\.45 with "
                       r"retrain_type='kd'.*95\.45 \(oneshot\).*edgesea prune"):
        edgesea.get_embedding(audio, sr, model_type="sparse")
    with pytest.raises(EdgeSEAError, match=r"53\.5.*95\.45 \(oneshot\).*edgesea prune"):
        edgesea.get_embedding(audio, sr, model_type="sparse", sparsity=53.5,
                              retrain_type="oneshot")
    with pytest.raises(EdgeSEAError, match=r"invalid sparsity value 50.*53\.5, 63\.5, "
                       r"72\.3, 87, 95\.45"):
        edgesea.get_embedding(audio, sr, model_type="sparse", sparsity=50)
    for call in (lambda: edgesea.get_embedding(audio, sr, model_type="sparse",
                                               retrain_type="ft"),
                 lambda: edgesea.process_file(CLIP, tmp_path / "o", model_type="sparse",
                                              retrain_type="ft"),
                 lambda: edgel3.get_embedding(audio, sr),
                 lambda: edgel3.load_embedding_model("sparse", 128, "ft", 95.45)):
        with pytest.raises(EdgeSEAError, match=r"retrain_type='ft'.*audio-visual.*video.*"
                           r"retrain_type='kd'"):
            call()
    assert not (tmp_path / "o").exists()
    with pytest.raises(EdgeSEAError, match="invalid retrain_type"):
        edgesea.get_model(None, "sparse", retrain_type="pruned")
    with pytest.raises(edgel3.EdgeL3Error, match=r"not packaged|no sparse model.*edgesea "
                       r"prune"):
        edgel3.load_embedding_model("sparse", 128, "kd", 87.0)
    # a file whose header does not match its packaged name
    net = SparseModel.load(zoo_dir / f"{NAME}.safetensors").net
    save_sparse(net, zoo_dir / f"{NAME}.safetensors", sparsity=87.0, retrain="oneshot")
    with pytest.raises(EdgeSEAError, match="not what its name says"):
        edgesea.get_model(None, "sparse", sparsity=95.45, retrain_type="oneshot")


def test_cli_embed_model_type_sparse(zoo_dir, sparse_file, tmp_path) -> None:
    out = tmp_path / "out"
    invoke("embed", CLIP, "-o", out, "--model-type", "sparse", "--sparsity", "95.45",
           "--retrain-type", "oneshot", "--hop-size", "0.5", "--batch-size", "8", "-q")
    with np.load(out / f"{CLIP.stem}.npz") as z:
        assert z["embedding"].shape == (8, 512)
        prov = json.loads(str(z["provenance"]))
    assert prov["emb_dim"] == 512
    assert prov["model"] == edgesea.inference.api.model_identity(edgesea.get_model(sparse_file))
    res = invoke("embed", CLIP, "-o", out, "--model-type", "sparse", code=2)
    assert "edgesea prune" in res.stderr
    res = invoke("embed", CLIP, "-o", out, "--model-type", "sparse", "--retrain-type", "ft",
                 code=2)
    assert "audio-visual" in res.stderr
    res = invoke("embed", CLIP, "-o", out, "--model-type", "sparse", "--emb-dim", "128",
                 code=2)
    assert "drop --emb-dim" in res.stderr
    res = invoke("embed", CLIP, "-o", out, "--model-type", "sparse", "--sparsity", "50",
                 code=2)
    assert "53.5, 63.5, 72.3, 87, 95.45" in res.stderr


def test_info_and_footprint_show_what_pruning_changes(sparse_file) -> None:
    text = invoke("info", sparse_file).stdout
    assert "95.44% measured (level 95.45, layer)" in text
    assert "213,281 non-zero of 4,682,304" in text and "dense 18.76 MB" in text
    assert "unchanged by pruning" in text and "fits none" in text and "CC BY 4.0" in text
    d = json.loads(invoke("info", sparse_file, "--json").stdout)
    fp = d["footprint"]
    assert d["format"] == "edgesea-sparse" and d["retrain"] == "oneshot"
    assert fp["file_bytes"] == sparse_file.stat().st_size
    assert fp["activation_elements"] == 64 * 45 * 96  # conv1 output of a 1 s window
    assert fp["macs"] == 841_218_048 and 0 < fp["nonzero_macs"] < fp["macs"] // 5
    assert fp["sparse_size_mb"] < 0.1 * fp["dense_size_mb"]
    assert json.loads(invoke("footprint", sparse_file, "--json").stdout)["footprint"] == fp
    assert "not found" in invoke("footprint", sparse_file.with_name("nope"), code=2).stderr


def test_teacher_spec_sparse(sparse_file) -> None:
    t = resolve_teacher(f"sparse:{sparse_file}")
    model = SparseModel.load(sparse_file)
    assert isinstance(t, SparseModel) and t.identity == model.identity
    assert (t.sample_rate, t.window, t.emb_dim) == (44100, 1.0, 512)
    x = np.random.default_rng(1).standard_normal((2, 44100)).astype(np.float32) * 0.1
    np.testing.assert_array_equal(t.embed(x), model.embed(x))
    with pytest.raises(EdgeSEAError, match=r"expected one of.*sparse:PATH"):
        resolve_teacher("sparse:")
    with pytest.raises(EdgeSEAError, match="not found"):
        resolve_teacher("sparse:/no/such/file.safetensors")
    with pytest.raises(EdgeSEAError, match="fixed 1 s window"):
        resolve_teacher(f"sparse:{sparse_file}", window=2.0)


@pytest.mark.slow  # ~15 s on one core: the classifier search (16 MLP fits), not the model
def test_evaluate_scores_a_sparse_model(sparse_file, tmp_path, monkeypatch) -> None:
    """``edgesea evaluate --model SPARSE`` embeds with it and reports its footprint."""
    import edgesea.evaluate.classify
    from edgesea.evaluate.run import run_evaluation

    # the classifier grid's MLPs (tested in test_evaluate.py) are 90% of this test's time:
    # logistic regression alone here, what is checked is the sparse model's part
    monkeypatch.setattr(edgesea.evaluate.classify, "HIDDEN", (0,))

    root = tmp_path / "ds"
    (root / "audio").mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = ["filename,label,fold,freesound_id"]
    t = np.arange(16000) / 16000
    for i in range(12):
        fold, cls = i % 3 + 1, (i // 3) % 2
        f0 = rng.uniform(150, 300) if cls == 0 else rng.uniform(2000, 3000)
        x = 0.3 * np.sin(2 * np.pi * f0 * t) + 0.02 * rng.standard_normal(t.size)
        sf.write(root / f"audio/c{i}.wav", x.astype(np.float32), 16000)
        rows.append(f"audio/c{i}.wav,{['low', 'high'][cls]},{fold},{i}")
    (root / "metadata.csv").write_text("\n".join(rows) + "\n")
    res = run_evaluation(root, [sparse_file], [], [1, 2], 3, 1, 1.0, tmp_path / "eval",
                         progress=False)
    r = res["models"][sparse_file.stem]
    assert r["format"] == "sparse" and r["retrain"] == "oneshot"
    assert r["nonzero_weights"] == 213_281 and r["emb_dim"] == 512
    assert r["identity"] == SparseModel.load(sparse_file).identity
    assert 0 <= r["metrics"]["micro_auprc"]["mean"] <= 1


# -- the packaged kd models, when installed ------------------------------------------------

@pytest.mark.parametrize("level", [95.45, 87.0])
def test_packaged_kd_models(level, clip) -> None:
    path = edgesea.packaged.names.PRETRAINED_DIR / f"sparse_aisfx_{level!r}_kd.safetensors"
    if not path.is_file():
        pytest.skip(f"{path.name} is not packaged yet")
    audio, sr = clip
    model = edgesea.get_model(None, "sparse", sparsity=level)
    doc = model.metadata
    assert (doc["sparsity"], doc["retrain"], doc["method"]) == (level, "kd", "layer")
    assert abs(doc["measured_sparsity"] - level) < 0.1
    assert "UrbanSound8K" in doc["training_data"] and "CC BY-NC" in doc["licenses"][
        "training_data"] and "CC BY 4.0" in doc["licenses"]["teacher_weights"]
    emb, _ = edgesea.get_embedding(audio, sr, model_type="sparse", sparsity=level,
                                   hop_size=0.5, batch_size=8)
    assert emb.shape == (8, 512) and np.isfinite(emb).all()
    alias, _ = edgel3.get_embedding(audio, sr, sparsity=level, retrain_type="kd",
                                    hop_size=0.5, verbose=0)
    assert alias.shape == (8, 512)
    row = next(m for m in catalog() if m.name == path.stem)
    assert row.kind == "sparse" and row.card and Path(row.card).is_file()
    assert "CC BY 4.0" in Path(row.card).read_text() and "CC BY-NC" in Path(
        row.card).read_text()
