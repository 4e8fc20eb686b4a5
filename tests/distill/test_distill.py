"""Tests of :mod:`edgesea.distill.train`: metrics against scikit-learn, settings validation,
learning on a learnable task, determinism, exact resume after an interruption, masking."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from edgesea.distill.train import TrainConfig, _mask, predict, regression_metrics, train_student
from edgesea.errors import EdgeSEAError
from edgesea.models import sea_student


def tiny_model(seed: int = 0, emb_dim: int = 6):
    torch.manual_seed(seed)
    return sea_student(emb_dim, head="linear", filters=(4, 4, 8, 8))


@pytest.fixture(scope="module")
def data():
    """Log-mel-shaped inputs whose targets are a fixed function of the input (learnable)."""
    rng = np.random.default_rng(0)
    x = rng.normal(-40, 10, (160, 64, 50)).astype(np.float16)
    w = rng.standard_normal((64, 6)) / 8
    y = ((x.astype(np.float32).mean(axis=2) + 40) / 10 @ w).astype(np.float32)
    return x[:128], y[:128], x[128:], y[128:]


@pytest.fixture(scope="module")
def small(data):
    """The first 16 training and 8 validation rows of :func:`data`: for tests whose
    assertions do not depend on how much is trained on (schedules, a restart's epoch
    count), so that they cost a fraction of a full-size run."""
    x, y, xv, yv = data
    return x[:16], y[:16], xv[:8], yv[:8]


def test_regression_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(1)
    y = rng.standard_normal((50, 7)) * rng.uniform(0.5, 3, 7)
    p = y + rng.standard_normal((50, 7)) * 0.5
    m = regression_metrics(y, p)
    assert m["mse"] == pytest.approx(mean_squared_error(y, p))
    assert m["mae"] == pytest.approx(mean_absolute_error(y, p))
    assert m["r2"] == pytest.approx(r2_score(y, p, multioutput="variance_weighted"))
    cos = [a @ b / np.linalg.norm(a) / np.linalg.norm(b) for a, b in zip(y, p, strict=True)]
    assert m["cosine"] == pytest.approx(np.mean(cos))
    assert regression_metrics(y, y)["r2"] == 1.0
    with pytest.raises(EdgeSEAError):
        regression_metrics(y, p[:, :3])


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"lr": -1.0}, {"lr": float("nan")},
                                 {"loss": "huber"}, {"schedule": "step"}, {"lr_factor": 1.5},
                                 {"patience": -1}, {"batch_size": True}, {"weight_decay": -0.1}])
def test_bad_train_config(bad: dict) -> None:
    with pytest.raises(EdgeSEAError):
        TrainConfig(**bad)
    with pytest.raises(EdgeSEAError, match="unknown training settings"):
        TrainConfig.from_dict({"epochz": 3})


def test_learns_and_writes_checkpoints(data, tmp_path: Path) -> None:
    x, y, xv, yv = data
    cfg = TrainConfig(epochs=8, lr=3e-3, batch_size=32, loss="mse+cosine", spec_mask=4)
    before = regression_metrics(yv, predict(tiny_model(), xv))["mse"]
    res = train_student(tiny_model(), x, y, xv, yv, tmp_path, cfg, progress=False)
    assert len(res.history) == 8 and res.epochs_run_now == 8
    assert res.best["val_mse"] < before
    assert res.best["val_r2"] > regression_metrics(yv, predict(tiny_model(), xv))["r2"]
    # the returned model holds the best epoch's weights
    assert regression_metrics(yv, predict(res.model, xv))["mse"] == pytest.approx(
        res.best["val_mse"], rel=1e-5)
    for name in ("latest.pt", "best.pt", "history.json", "curves.png"):
        assert (tmp_path / name).is_file()
    hist = json.loads((tmp_path / "history.json").read_text())
    assert [h["epoch"] for h in hist] == list(range(1, 9))
    assert {"train_mse", "val_mae", "val_cosine", "val_r2", "train_r2", "lr"} <= set(hist[0])
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(tmp_path.glob(".tmp-*"))


def test_same_seed_same_weights(data, tmp_path: Path) -> None:
    x, y, xv, yv = data
    cfg = TrainConfig(epochs=2, lr=1e-3, batch_size=32, spec_mask=3, seed=3)
    a = train_student(tiny_model(), x, y, xv, yv, tmp_path / "a", cfg, progress=False).model
    b = train_student(tiny_model(), x, y, xv, yv, tmp_path / "b", cfg, progress=False).model
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k
    c = train_student(tiny_model(), x, y, xv, yv, tmp_path / "c",
                      TrainConfig(epochs=2, lr=1e-3, batch_size=32, spec_mask=3, seed=4),
                      progress=False).model
    assert not torch.equal(a.projection.weight, c.projection.weight)


class Interrupt(Exception):
    pass


def test_resume_continues_exactly(data, tmp_path: Path) -> None:
    x, y, xv, yv = data
    cfg = TrainConfig(epochs=5, lr=2e-3, batch_size=32, spec_mask=3, lr_patience=1,
                      patience=3, schedule="plateau")
    full = train_student(tiny_model(), x, y, xv, yv, tmp_path / "full", cfg, progress=False)

    def stop_at_2(row):
        if row["epoch"] == 2:
            raise Interrupt  # after epoch 2's checkpoint was written, as a kill would

    with pytest.raises(Interrupt):
        train_student(tiny_model(), x, y, xv, yv, tmp_path / "cut", cfg, progress=False,
                      on_epoch=stop_at_2)
    # a fresh process would build the model again from the seed; resume restores everything
    res = train_student(tiny_model(seed=99), x, y, xv, yv, tmp_path / "cut", cfg, resume=True,
                        progress=False)
    assert res.epochs_run_now == len(full.history) - 2
    assert [h["val_loss"] for h in res.history] == [h["val_loss"] for h in full.history]
    assert [h["lr"] for h in res.history] == [h["lr"] for h in full.history]
    for va, vb in zip(res.model.state_dict().values(), full.model.state_dict().values(),
                      strict=True):
        assert torch.equal(va, vb)
    # resuming a finished run trains nothing more
    again = train_student(tiny_model(), x, y, xv, yv, tmp_path / "cut", cfg, resume=True,
                          progress=False)
    assert again.epochs_run_now == 0 and again.best_epoch == full.best_epoch
    # other settings: refused
    with pytest.raises(EdgeSEAError, match="other settings"):
        train_student(tiny_model(), x, y, xv, yv, tmp_path / "cut",
                      TrainConfig(epochs=5, lr=1e-3), resume=True, progress=False)


def test_early_stopping_and_plateau(small, tmp_path: Path) -> None:
    x, y, xv, yv = small
    # nothing improves by 1.0: stop after epoch 1 + 3
    cfg = TrainConfig(epochs=30, lr=1e-9, batch_size=64, patience=3, lr_patience=2,
                      min_delta=1.0, schedule="plateau")
    res = train_student(tiny_model(), x, y, xv, yv, tmp_path, cfg, progress=False)
    assert res.stopped_early and len(res.history) == 4 and res.best_epoch == 1
    assert [h["lr"] for h in res.history] == pytest.approx([1e-9, 1e-9, 1e-9, 1e-10])


def test_cosine_schedule(small, tmp_path: Path) -> None:
    x, y, xv, yv = small
    cfg = TrainConfig(epochs=4, lr=1e-3, schedule="cosine", patience=0)
    res = train_student(tiny_model(), x, y, xv, yv, tmp_path, cfg, progress=False)
    assert [h["lr"] for h in res.history] == pytest.approx(
        [1e-3 * 0.5 * (1 + np.cos(np.pi * e / 4)) for e in range(4)])


def test_bad_data_shapes(data, tmp_path: Path) -> None:
    x, y, xv, yv = data
    with pytest.raises(EdgeSEAError, match="same N"):
        train_student(tiny_model(), x, y[:5], xv, yv, tmp_path, progress=False)
    with pytest.raises(EdgeSEAError, match="dimensions"):
        train_student(tiny_model(emb_dim=5), x, y, xv, yv, tmp_path, progress=False)


def test_mask_is_deterministic_and_bounded() -> None:
    x = torch.randn(8, 64, 50)
    a = _mask(x, 5, torch.Generator().manual_seed(0))
    b = _mask(x, 5, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and a.shape == x.shape
    changed = a != x
    lo = x.amin(dim=(1, 2), keepdim=True).expand_as(x)
    assert torch.equal(a[changed], lo[changed])
    # at most 5 whole mel rows and 5 whole frame columns per window
    for i in range(8):
        rows = changed[i].all(dim=1).sum().item()
        cols = changed[i].all(dim=0).sum().item()
        assert rows <= 5 and cols <= 5
        assert changed[i].sum() <= 5 * 50 + 5 * 64


class _Touch:
    """Unpickling this creates ``path`` (a stand-in for arbitrary code execution)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


@pytest.fixture(scope="module")
def interrupted(data, tmp_path_factory):
    """A checkpoint folder of a run stopped after epoch 1 of 3 (``latest.pt`` resumable)."""
    x, y, xv, yv = data
    cfg = TrainConfig(epochs=3, lr=1e-3, batch_size=64)
    out = tmp_path_factory.mktemp("interrupted")

    def stop(row):
        raise Interrupt

    with pytest.raises(Interrupt):
        train_student(tiny_model(), x, y, xv, yv, out, cfg, progress=False, on_epoch=stop)
    return out, cfg


def _damage(kind: str, good: bytes, path: Path, marker: Path) -> None:
    import pickle

    if kind == "truncated":
        path.write_bytes(good[:len(good) // 2])
    elif kind == "garbage":
        path.write_bytes(np.random.default_rng(0).bytes(5000))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "pickle":
        path.write_bytes(pickle.dumps({"version": 1, "model": _Touch(marker)}))
    elif kind == "torch-pickle":
        torch.save({"version": 1, "model": _Touch(marker)}, path)
    else:
        import io
        ckpt = torch.load(io.BytesIO(good), weights_only=True)
        if kind == "missing-keys":
            del ckpt["optimizer"], ckpt["model"]
        elif kind == "wrong-shape":
            name = next(iter(ckpt["model"]))
            ckpt["model"][name] = torch.zeros(3, 1, 2)
        elif kind == "not-a-dict":
            ckpt = [1, 2, 3]
        elif kind == "bad-state":
            ckpt["state"] = "{not json"
        elif kind == "bad-optimizer":
            ckpt["optimizer"] = {"state": {}, "param_groups": []}
        elif kind == "bad-generator":
            ckpt["generator"] = torch.zeros(3, dtype=torch.uint8)
        torch.save(ckpt, path)


@pytest.mark.parametrize("kind", ["truncated", "garbage", "empty", "pickle", "torch-pickle",
                                  "missing-keys", "wrong-shape", "not-a-dict", "bad-state",
                                  "bad-optimizer", "bad-generator"])
def test_damaged_checkpoint_is_a_clear_error(kind: str, data, small, interrupted,
                                             tmp_path: Path, monkeypatch) -> None:
    import shutil

    import edgesea.distill.train

    # curves.png (checked by test_learns_and_writes_checkpoints) costs ~0.8 s a run here,
    # most of this test; the restart below only has to write one (of any content)
    monkeypatch.setattr(edgesea.distill.train, "plot_curves",
                        lambda history, path, best_epoch=None: Path(path).write_bytes(b"png"))

    x, y, xv, yv = data
    src, cfg = interrupted
    out = tmp_path / "ckpt"
    shutil.copytree(src, out)
    marker = tmp_path / "pwned"
    _damage(kind, (src / "latest.pt").read_bytes(), out / "latest.pt", marker)
    with pytest.raises(EdgeSEAError, match=r"latest\.pt") as e:
        train_student(tiny_model(), x, y, xv, yv, out, cfg, resume=True, progress=False)
    assert "--force" in str(e.value)
    assert not marker.exists()  # the payload never ran
    assert (out / "latest.pt").exists()  # left for the user to inspect; never half-used
    # starting again (no resume) replaces it (on fewer rows: only the epoch count is checked)
    res = train_student(tiny_model(), *small, out, cfg, progress=False)
    assert res.epochs_run_now == 3


def test_absurdly_large_checkpoint_is_refused_unread(data, interrupted, tmp_path: Path,
                                                     monkeypatch) -> None:
    import shutil

    x, y, xv, yv = data
    src, cfg = interrupted
    out = tmp_path / "ckpt"
    shutil.copytree(src, out)
    with open(out / "latest.pt", "r+b") as f:
        f.truncate(50 * 2**30)  # sparse: costs no disk

    def no_load(*a, **kw):
        raise AssertionError("torch.load was called")

    monkeypatch.setattr(torch, "load", no_load)
    with pytest.raises(EdgeSEAError, match=r"latest\.pt.*too large.*--force"):
        train_student(tiny_model(), x, y, xv, yv, out, cfg, resume=True, progress=False)


def test_damaged_best_checkpoint_is_a_clear_error(data, interrupted, tmp_path: Path) -> None:
    import shutil

    x, y, xv, yv = data
    src, cfg = interrupted
    out = tmp_path / "ckpt"
    shutil.copytree(src, out)
    (out / "best.pt").write_bytes((src / "best.pt").read_bytes()[:100])
    with pytest.raises(EdgeSEAError, match=r"best\.pt"):
        train_student(tiny_model(), x, y, xv, yv, out, cfg, resume=True, progress=False)
