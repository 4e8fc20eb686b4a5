"""Tests of :mod:`edgesea.evaluate.protocols` and of ``edgesea evaluate --cross-check --lr``
with a teacher: the LR protocol's C selection, the fold cross-check, scores relative to the
teacher."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from edgesea.cli import app
from edgesea.errors import EdgeSEAError
from edgesea.evaluate import protocols
from edgesea.evaluate.classify import Dataset
from edgesea.evaluate.protocols import LR_CS, cross_fold, fit_lr, lr_protocol, relative_to
from edgesea.evaluate.run import run_evaluation
from edgesea.models import save_model, sea_student
from shared_helpers import make_dataset


def _blobs(n: int = 90, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cls = np.arange(n) % 3
    x = rng.normal(size=(n, 6)) + 3.0 * np.eye(3, 6)[cls]
    folds = np.repeat([1, 2, 3], n // 3)
    return x, np.eye(3)[cls], folds


def test_lr_protocol_chooses_c_on_the_first_training_fold_only(monkeypatch) -> None:
    x, y, folds = _blobs()
    calls: list[tuple[int, int, float]] = []
    real = protocols.fit_lr

    def spy(x_tr, y_tr, x_te, y_te, c, multilabel):
        calls.append((len(x_tr), len(x_te), c))
        return real(x_tr, y_tr, x_te, y_te, c, multilabel)

    monkeypatch.setattr(protocols, "fit_lr", spy)
    res = lr_protocol(x, y, folds, [1, 2], 3, multilabel=False)
    # one selection fit per C (fold 1 -> fold 2), then one refit on 1+2 scored on 3
    assert calls[:-1] == [(30, 30, c) for c in LR_CS]
    assert calls[-1] == (60, 30, res["C"])
    best = max(res["search"], key=lambda r: r["val_micro_auprc"])
    assert res["C"] == best["C"]
    want = real(x[folds < 3], y[folds < 3], x[folds == 3], y[folds == 3], res["C"], False)
    assert res["metrics"]["micro_auprc"]["mean"] == pytest.approx(want["micro_auprc"])
    assert res["metrics"]["micro_auprc"]["mean"] > 0.8 and "accuracy" in res["metrics"]


def test_lr_protocol_refuses_bad_folds() -> None:
    x, y, folds = _blobs()
    with pytest.raises(EdgeSEAError, match="two training folds"):
        lr_protocol(x, y, folds, [1], 3, False)
    with pytest.raises(EdgeSEAError, match="refusing"):
        lr_protocol(x, y, folds, [1, 3], 3, False)
    with pytest.raises(EdgeSEAError, match="not in the dataset"):
        lr_protocol(x, y, folds, [1, 2], 9, False)


def test_fit_lr_multilabel_scores_every_class() -> None:
    x, y, folds = _blobs()
    y = np.concatenate([y, (x[:, :1] > 0).astype(float)], axis=1)
    r = fit_lr(x[folds == 1], y[folds == 1], x[folds == 2], y[folds == 2], 1.0, True)
    assert r["scores"].shape == (30, 4) and "accuracy" not in r


def _dataset(x: np.ndarray, y: np.ndarray, folds: np.ndarray) -> tuple[Dataset, list]:
    ds = Dataset(Path("."), [f"{i}.wav" for i in range(len(x))], y, ["a", "b", "c"], folds,
                 np.arange(len(x)), False)
    # one window per clip; clip features are [mean, max] = [x, x]
    return ds, [row[None, :] for row in x]


def test_lr_cross_fold_picks_c_on_the_reverse_pair() -> None:
    x, y, folds = _blobs()
    ds, windows = _dataset(x, y, folds)
    res = cross_fold(ds, windows, [1, 2], protocol="lr")
    assert set(res["pairs"]) == {"1->2", "2->1"}
    feats = np.concatenate([x, x], axis=1)
    m1, m2 = folds == 1, folds == 2
    c12 = max(LR_CS, key=lambda c: fit_lr(feats[m2], y[m2], feats[m1], y[m1], c, False)[
        "micro_auprc"])
    assert res["pairs"]["1->2"]["C"] == c12
    want = fit_lr(feats[m1], y[m1], feats[m2], y[m2], c12, False)["micro_auprc"]
    assert res["pairs"]["1->2"]["micro_auprc"] == pytest.approx(want)
    assert res["mean"]["micro_auprc"] == pytest.approx(np.mean(
        [p["micro_auprc"] for p in res["pairs"].values()]))
    assert 3 not in folds[np.isin(folds, [1, 2])]  # fold 3 plays no part
    with pytest.raises(EdgeSEAError, match="two or more"):
        cross_fold(ds, windows, [1])
    with pytest.raises(EdgeSEAError, match="protocol"):
        cross_fold(ds, windows, [1, 2], protocol="svm")


def test_relative_to() -> None:
    got = relative_to({"micro_auprc": {"mean": 0.6}, "accuracy": 0.3, "other": 1.0},
                      {"micro_auprc": {"mean": 0.8}, "accuracy": 0.0})
    assert got == {"micro_auprc": pytest.approx(0.75)}


@pytest.fixture(scope="module")
def two_models(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("m")
    torch.manual_seed(0)
    small = (4, 4, 8, 8)
    save_model(sea_student(16, head="linear", filters=small).eval(), d / "teach.safetensors")
    torch.manual_seed(1)
    save_model(sea_student(8, head="linear", filters=small).eval(), d / "student.safetensors")
    return d / "teach.safetensors", d / "student.safetensors"


def test_evaluate_reports_relative_to_the_teacher(tmp_path: Path, two_models) -> None:
    teacher, student = two_models
    root = make_dataset(tmp_path / "ds")
    res = run_evaluation(root, [student], [f"model:{teacher}"], [1, 2], 3, 1, 0.5,
                         tmp_path / "o", progress=False, cross_check=True, lr=True)
    t, s = res["models"][f"teacher:model:{teacher}"], res["models"]["student"]
    assert "relative" not in t and s["relative"]["teacher"] == f"teacher:model:{teacher}"
    for key, get in (("test", lambda r: r["metrics"]["micro_auprc"]["mean"]),
                     ("cross_fold", lambda r: r["cross_fold"]["mean"]["micro_auprc"]),
                     ("lr", lambda r: r["lr"]["metrics"]["micro_auprc"]["mean"])):
        assert s["relative"][key]["micro_auprc"] == pytest.approx(get(s) / get(t))
    assert set(s["cross_fold"]["pairs"]) == {"1->2", "2->1"}
    # cached: the second run reads the stored result with its extra protocols
    again = run_evaluation(root, [student], [f"model:{teacher}"], [1, 2], 3, 1, 0.5,
                           tmp_path / "o", progress=False, cross_check=True, lr=True)
    assert again["models"]["student"]["relative"] == s["relative"]
    with pytest.raises(EdgeSEAError, match="two or more training folds"):
        run_evaluation(root, [student], [], [1], 3, 1, 0.5, tmp_path / "o2",
                       progress=False, cross_check=True)


def test_cli_prints_the_share_of_the_teacher(tmp_path: Path, two_models) -> None:
    teacher, student = two_models
    root = make_dataset(tmp_path / "ds")
    res = CliRunner().invoke(app, [
        "evaluate", "--dataset", str(root), "--model", str(student), "--teacher",
        f"model:{teacher}", "--train-folds", "1,2", "--test-fold", "3", "--seeds", "1",
        "--cross-check", "--lr", "--out", str(tmp_path / "o"), "-q"])
    assert res.exit_code == 0, res.output
    assert f"as % of teacher:model:{teacher}" in res.output
    line = next(ln for ln in res.output.splitlines() if ln.startswith("student")
                and "%" in ln)
    assert len(line.split()) == 1 + 3 + 3 * 2  # name, 3 scores, 3 shares ("97.0 %")
