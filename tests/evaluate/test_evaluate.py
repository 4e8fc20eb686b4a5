"""Tests of :mod:`edgesea.evaluate.classify` and ``edgesea evaluate``: metrics on known inputs,
metadata (single- and multi-label), the leakage guard, the embedding cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score
from typer.testing import CliRunner

from edgesea.cli import app
from edgesea.errors import EdgeSEAError
from edgesea.evaluate.classify import (
    auprc_metrics,
    clip_features,
    embed_dataset,
    evaluate_embedder,
    read_dataset,
)
from edgesea.evaluate.run import run_evaluation
from edgesea.models import load_model, save_model, sea_student
from edgesea.teachers.model import ModelTeacher
from shared_helpers import make_dataset


def test_auprc_on_known_inputs() -> None:
    y = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])
    s = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.1, 0.9]])
    m = auprc_metrics(y, s)
    # class 0: ranks 0.9 (+), 0.8 (-), 0.7 (+), 0.1 (-): AP = (1 + 2/3) / 2
    # class 1: ranks 0.9 (+), 0.3 (-), 0.2 (+), 0.1 (-): AP = (1 + 2/3) / 2
    assert m["per_class_ap"] == pytest.approx([5 / 6, 5 / 6])
    assert m["macro_auprc"] == pytest.approx(5 / 6)
    assert m["micro_auprc"] == pytest.approx(average_precision_score(y.ravel(), s.ravel()))
    assert m["accuracy"] == pytest.approx(0.75)
    rng = np.random.default_rng(0)
    y = (rng.random((40, 5)) < 0.3).astype(int)
    y[0, 3] = 1
    s = rng.random((40, 5))
    m = auprc_metrics(y, s, multilabel=True)
    assert "accuracy" not in m
    assert m["micro_auprc"] == pytest.approx(average_precision_score(y, s, average="micro"))
    assert m["macro_auprc"] == pytest.approx(average_precision_score(y, s, average="macro"))
    y[:, 2] = 0  # an absent class is left out of the macro average
    m = auprc_metrics(y, s, multilabel=True)
    assert np.isnan(m["per_class_ap"][2])
    assert m["macro_auprc"] == pytest.approx(np.mean([average_precision_score(y[:, j], s[:, j])
                                                      for j in (0, 1, 3, 4)]))
    with pytest.raises(EdgeSEAError):
        auprc_metrics(y, s[:, :2])


def test_clip_features() -> None:
    w = [np.array([[1.0, 2.0], [3.0, 0.0]]), np.array([[5.0, 5.0]])]
    np.testing.assert_array_equal(clip_features(w), [[2, 1, 3, 2], [5, 5, 5, 5]])




@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("m") / "student.safetensors"
    save_model(sea_student(16, head="linear", filters=(4, 4, 8, 8)).eval(), path)
    return path


def test_read_dataset(tmp_path: Path) -> None:
    ds = read_dataset(make_dataset(tmp_path / "single"))
    assert ds.classes == ["high", "low"] and not ds.multilabel
    assert ds.labels.shape == (36, 2) and (ds.labels.sum(1) == 1).all()
    assert sorted(set(ds.folds)) == [1, 2, 3] and len(set(ds.groups)) == 18
    ml = read_dataset(make_dataset(tmp_path / "multi", multilabel=True))
    assert ml.multilabel and ml.classes == ["high", "low", "noise"]
    assert ml.labels[0].tolist() == [0, 1, 1]
    (tmp_path / "bad").mkdir()
    with pytest.raises(EdgeSEAError, match=r"metadata\.csv"):
        read_dataset(tmp_path / "bad")
    (tmp_path / "bad" / "metadata.csv").write_text("filename,label,fold\nx.wav,a,1\n")
    with pytest.raises(EdgeSEAError, match="missing"):
        read_dataset(tmp_path / "bad")
    (tmp_path / "bad" / "metadata.csv").write_text("filename,label,fold\nx.wav,a,one\n")
    with pytest.raises(EdgeSEAError, match="not an integer"):
        read_dataset(tmp_path / "bad")


def test_evaluate_end_to_end_and_cache(tmp_path: Path, model_file: Path) -> None:
    root = make_dataset(tmp_path / "ds")
    out = tmp_path / "eval"
    res = run_evaluation(root, [model_file], [], [1, 2], 3, 2, 0.5, out, progress=False)
    r = res["models"]["student"]
    assert r["n_train"] == 24 and r["n_test"] == 12 and r["emb_dim"] == 16
    assert len(r["metrics"]["micro_auprc"]["values"]) == 2
    assert r["metrics"]["accuracy"]["mean"] > 0.8  # low vs high tones are easy
    assert r["classifier"]["hidden"] in (0, 128, 256) and len(r["search"]) == 12
    assert json.loads((out / "results.json").read_text())["protocol"]["test_fold"] == 3
    assert np.load(out / "test_scores.npz")["student"].shape == (12, 2)
    # the cache: one store per (embedder identity, hop), reused on a second run
    caches = sorted(c for c in (out / "cache").iterdir() if c.is_dir())
    ident = ModelTeacher(load_model(model_file)).identity
    assert [c.name for c in caches] == [f"{ident}-hop0.5"]
    mtime = os.stat(caches[0] / "manifest.json").st_mtime_ns
    again = run_evaluation(root, [model_file], [], [1, 2], 3, 2, 0.5, out, progress=False)
    assert again["models"]["student"]["metrics"] == r["metrics"]  # the stored result
    assert len(list((out / "cache").glob(f"{ident}-hop0.5-*.npz"))) == 1
    run_evaluation(root, [model_file], [], [1, 2], 3, 1, 0.5, out, progress=False)
    assert len(list((out / "cache").glob(f"{ident}-hop0.5-*.npz"))) == 2  # other protocol
    assert os.stat(caches[0] / "manifest.json").st_mtime_ns == mtime
    # a changed model gets its own cache entry (never stale embeddings)
    m = load_model(model_file)
    with torch.no_grad():
        m.projection.weight.mul_(2)
    other = save_model(m, tmp_path / "student.safetensors")
    run_evaluation(root, [Path(other)], [], [1, 2], 3, 1, 0.5, out, progress=False)
    assert len([c for c in (out / "cache").iterdir() if c.is_dir()]) == 2


def test_multilabel_evaluation(tmp_path: Path, model_file: Path) -> None:
    ds = read_dataset(make_dataset(tmp_path / "ds", multilabel=True))
    windows = embed_dataset(ds, ModelTeacher(load_model(model_file)), tmp_path / "c", 0.5,
                            progress=False)
    assert len(windows) == 36 and windows[0].shape == (3, 16)
    res = evaluate_embedder(ds, windows, [1, 2], 3, seeds=1)
    assert "accuracy" not in res["metrics"]
    assert set(res["per_class_ap"]) == {"high", "low", "noise"}


def test_leakage_guard(tmp_path: Path, model_file: Path) -> None:
    root = make_dataset(tmp_path / "ds")
    with pytest.raises(EdgeSEAError, match="refusing"):
        run_evaluation(root, [model_file], [], [1, 3], 3, 1, 0.5, tmp_path / "o",
                       progress=False)
    assert not (tmp_path / "o").exists()  # refused before any work
    ds = read_dataset(root)
    fake = [np.zeros((1, 2))] * 36
    with pytest.raises(EdgeSEAError, match="refusing"):
        evaluate_embedder(ds, fake, [3], 3)
    with pytest.raises(EdgeSEAError, match="not in the dataset"):
        evaluate_embedder(ds, fake, [1], 7)
    res = CliRunner().invoke(app, ["evaluate", "--dataset", str(root), "--model",
                                   str(model_file), "--train-folds", "1,2,3", "--test-fold",
                                   "3", "--out", str(tmp_path / "o2")])
    assert res.exit_code == 2 and "refusing" in res.output


def test_cli_evaluate(tmp_path: Path, model_file: Path) -> None:
    root = make_dataset(tmp_path / "ds")
    res = CliRunner().invoke(app, ["evaluate", "--dataset", str(root), "--model",
                                   str(model_file), "--train-folds", "1,2", "--test-fold", "3",
                                   "--seeds", "1", "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 0, res.output
    assert "student" in res.output and "micro-AUPRC" in res.output


def test_evaluate_output_explains_itself(tmp_path: Path, model_file: Path,
                                         monkeypatch) -> None:
    import edgesea.evaluate.classify as ev

    monkeypatch.setattr(ev, "HIDDEN", (0,))  # a logistic regression: deterministic
    root = make_dataset(tmp_path / "ds")
    (tmp_path / "mine").mkdir()
    other = tmp_path / "mine" / "student.safetensors"
    other.write_bytes(model_file.read_bytes())
    monkeypatch.chdir(model_file.parent)
    res = CliRunner().invoke(app, ["evaluate", "--dataset", str(root), "--model",
                                   "student.safetensors", "--model", str(other),
                                   "--train-folds", "1,2", "--test-fold", "3",
                                   "--seeds", "3", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    out = res.stdout
    # unique, readable labels (were "mine/student" and "/student")
    names = [f"{model_file.parent.name}/student", "mine/student"]
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert list(results["models"]) == names and all(n in out for n in names)
    # the progress bar names the embedder (was "teacher-embed")
    assert f"embedding {names[0]}" in res.stderr and "teacher-embed" not in res.stderr
    # sd 0 is explained
    r = results["models"][names[0]]
    assert r["metrics"]["micro_auprc"]["std"] == 0 and r["deterministic"]
    assert "deterministic; seeds change nothing" in out
    # chance levels: 6 high + 6 low test clips
    assert results["chance"] == {"micro_auprc": 0.5, "macro_auprc": 0.5, "accuracy": 0.5}
    assert "chance level" in out and "0.5000" in out
    # a 12-clip test fold is too small to trust
    assert any("only 12 clips" in w for w in results["warnings"])
    assert "warning: the test fold has only 12 clips" in res.stderr
    # the report and its figures, named at the end
    report = tmp_path / "o" / "report.md"
    assert out.rstrip().endswith(f"report: {report}")
    text = report.read_text()
    assert "chance" in text and "pr_curves.png" in text and "per_class_ap.png" in text
    assert (tmp_path / "o" / "pr_curves.png").stat().st_size > 1000
    assert (tmp_path / "o" / "per_class_ap.png").stat().st_size > 1000


def test_deterministic_classifier_is_fitted_once(tmp_path: Path, monkeypatch) -> None:
    """A logistic regression gives the same result for every seed: it is fitted once on the
    training folds, not once per seed (issue 34)."""
    import edgesea.evaluate.classify as ev

    ds = read_dataset(make_dataset(tmp_path / "d"))
    rng = np.random.default_rng(0)
    windows = [rng.normal(size=(3, 4)) + (1.0 if "low" in ds.classes[int(y.argmax())] else 0)
               for y in ds.labels]
    monkeypatch.setattr(ev, "HIDDEN", (0,))
    calls = []
    real = ev.fit_and_score
    monkeypatch.setattr(ev, "fit_and_score", lambda *a, **k: calls.append(a[6]) or real(*a, **k))
    res = ev.evaluate_embedder(ds, windows, [1, 2], 3, seeds=5)
    n_search = len(ev.ALPHAS) * 2  # the classifier search: one fit per (alpha, fold)
    assert res["deterministic"] and len(calls) == n_search + 1
    assert len(res["metrics"]["micro_auprc"]["values"]) == 5
    assert res["metrics"]["micro_auprc"]["std"] == 0
