"""The pieces of ``edgesea evaluate``'s output: chance levels, test-fold warnings, unique
model labels and the report (``report.md``, ``pr_curves.png``, ``per_class_ap.png``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgesea.errors import EdgeSEAError
from edgesea.evaluate.classify import chance_levels, small_fold_warnings
from edgesea.evaluate.report import write_eval_report
from edgesea.evaluate.run import _labels


def test_chance_levels() -> None:
    y = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [1, 0, 0]])
    c = chance_levels(y)
    assert c["micro_auprc"] == pytest.approx(4 / 12)  # positive rate
    assert c["accuracy"] == pytest.approx(0.75)  # majority class share
    assert c["macro_auprc"] == pytest.approx((0.75 + 0.25) / 2)  # absent class left out
    # constant scores score exactly the micro chance level
    from sklearn.metrics import average_precision_score

    assert average_precision_score(y, np.ones(y.shape), average="micro") == pytest.approx(
        c["micro_auprc"])
    multi = chance_levels(np.array([[1, 1], [0, 1]]))
    assert "accuracy" not in multi and multi["micro_auprc"] == pytest.approx(0.75)
    with pytest.raises(EdgeSEAError, match=r"\(N, C\)"):
        chance_levels(np.zeros(3))


def test_small_fold_warnings() -> None:
    y = np.zeros((300, 3), dtype=int)
    y[:150, 0] = 1
    y[150:, 1] = 1
    w = small_fold_warnings(y, ["a", "b", "c"])
    assert len(w) == 1 and "no test clip (c)" in w[0]
    y[:5, 0], y[:5, 2] = 0, 1
    w = small_fold_warnings(y[:40], ["a", "b", "c"])
    assert len(w) == 3 and "only 40 clips" in w[0]
    assert "1 class has fewer than 10 test clips: c (5)" in w[1]  # a has 35: fine
    assert "no test clip (b)" in w[2]
    big = np.eye(2, dtype=int)[np.arange(400) % 2]
    assert small_fold_warnings(big, ["x", "y"]) == []


def test_model_labels_are_unique_and_readable(tmp_path: Path, monkeypatch) -> None:
    for d in ("mine", "other/mine", "b"):
        (tmp_path / d).mkdir(parents=True)
    for f in ("student.safetensors", "mine/student.safetensors",
              "other/mine/student.safetensors", "b/x.safetensors"):
        (tmp_path / f).write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    # the old labels were "mine/student" and "/student"
    labels = _labels([Path("mine/student.safetensors"), Path("student.safetensors")])
    assert labels == ["mine/student", f"{tmp_path.name}/student"]
    assert _labels([Path("b/x.safetensors")]) == ["x"]
    assert _labels([Path("mine/student.safetensors"),
                    Path("other/mine/student.safetensors")]) == [
        f"{tmp_path.name}/mine/student", "other/mine/student"]
    # a packaged model name (not a file) stays as given
    assert _labels([Path("sea_urban_128"), Path("student.safetensors")]) == [
        "sea_urban_128", "student"]
    with pytest.raises(EdgeSEAError, match="given twice"):
        _labels([Path("student.safetensors"), tmp_path / "student.safetensors"])


def test_report_from_results(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = np.eye(3, dtype=int)[rng.integers(0, 3, 60)]
    good = y + 0.5 * rng.random(y.shape)
    bad = rng.random(y.shape)
    metric = {"mean": 0.9, "std": 0.0, "values": [0.9, 0.9]}
    model = {"metrics": {"micro_auprc": metric, "macro_auprc": metric, "accuracy": metric},
             "classifier": {"hidden": 0, "alpha": 0.01}, "emb_dim": 8, "n_train": 100,
             "n_test": 60, "per_class_ap": {"a": 0.9, "b": 0.8, "c": float("nan")},
             "note": "sd 0: the chosen classifier (logistic regression) is deterministic; "
                     "seeds change nothing"}
    results = {"protocol": {"dataset": "ds", "train_folds": [1, 2], "test_fold": 3,
                            "seeds": 2, "hop_size": 0.5, "clip": "mean+max",
                            "selection": "cv"},
               "classes": ["a", "b", "c"], "models": {"good": model, "mine/bad": model},
               "chance": chance_levels(y), "warnings": ["the test fold has only 60 clips"]}
    np.savez(tmp_path / "test_scores.npz", labels=y, good=good, **{"mine/bad": bad})
    path = write_eval_report(tmp_path, results)
    text = path.read_text()
    assert path == tmp_path / "report.md"
    assert "chance (no information)" in text and f"{results['chance']['accuracy']:.4f}" in text
    assert "only 60 clips" in text and "deterministic" in text
    assert "pr_curves.png" in text and "per_class_ap.png" in text and "`mine/bad`" in text
    for png in ("pr_curves.png", "per_class_ap.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(EdgeSEAError, match=r"test_scores\.npz"):
        write_eval_report(tmp_path / "none", results)
