"""Tests of the weight average of :func:`edgesea.distill.train.train_student` (``TrainConfig.ema``):
settings, that it leaves the training itself unchanged, that validation and the returned
model use it, exact resume, and checkpoints without it refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from edgesea.distill.train import TrainConfig, predict, regression_metrics, train_student
from edgesea.errors import EdgeSEAError
from edgesea.models import sea_mcu_student
from edgesea.specialize.pipeline import SpecializeConfig


def tiny_model(seed: int = 0):
    torch.manual_seed(seed)  # BatchNorm inside: its statistics are averaged too
    return sea_mcu_student(6, blocks=((8, 1), (8, 2)))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(-40, 10, (56, 64, 50)).astype(np.float32)
    w = rng.standard_normal((64, 6)) / 8
    y = ((x.mean(axis=2) + 40) / 10 @ w).astype(np.float32)
    return x[:48], y[:48], x[48:], y[48:]


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, True, float("nan"), "0.9"])
def test_bad_ema(bad) -> None:
    with pytest.raises(EdgeSEAError, match="invalid ema"):
        TrainConfig(ema=bad)


def test_ema_setting_is_written_only_when_on() -> None:
    """Runs and checkpoints from before the setting keep their keys (no retraining)."""
    assert "ema" not in TrainConfig().to_dict()
    assert TrainConfig(ema=0.99).to_dict()["ema"] == 0.99
    assert TrainConfig.from_dict(TrainConfig(ema=0.99).to_dict()).ema == 0.99
    assert TrainConfig.from_dict(TrainConfig().to_dict()).ema == 0.0
    assert SpecializeConfig(train={"ema": 0.995}).train["ema"] == 0.995
    assert "ema" not in SpecializeConfig().train


def _ckpt(path: Path) -> dict:
    return torch.load(path, weights_only=True)


def test_average_is_validated_and_kept_training_unchanged(data, tmp_path: Path) -> None:
    x, y, xv, yv = data
    base = dict(epochs=3, lr=3e-3, batch_size=16, seed=1)
    plain = train_student(tiny_model(), x, y, xv, yv, tmp_path / "plain", TrainConfig(**base),
                          progress=False)
    avg = train_student(tiny_model(), x, y, xv, yv, tmp_path / "ema",
                        TrainConfig(**base, ema=0.7), progress=False)
    # the gradient steps are the same: the raw weights after the last epoch are equal
    raw_plain, last = _ckpt(tmp_path / "plain/latest.pt"), _ckpt(tmp_path / "ema/latest.pt")
    for k, v in raw_plain["model"].items():
        assert torch.equal(v, last["model"][k]), k
    assert last["ema_n"] == 3 * 3  # one update per step: 3 batches x 3 epochs
    # the average is not the raw weights (parameters and BatchNorm statistics)
    assert not torch.equal(last["ema"]["projection.weight"], last["model"]["projection.weight"])
    means = [k for k in last["ema"] if k.endswith("running_mean")]
    assert means and not torch.equal(last["ema"][means[0]], last["model"][means[0]])
    # validation scored the averaged weights, and the returned model holds them
    assert [h["val_loss"] for h in avg.history] != [h["val_loss"] for h in plain.history]
    assert regression_metrics(yv, predict(avg.model, xv))["mse"] == pytest.approx(
        avg.best["val_mse"], rel=1e-5)
    best = _ckpt(tmp_path / "ema/best.pt")["model"]
    for k, v in avg.model.state_dict().items():
        assert torch.equal(v, best[k]), k
    if avg.best_epoch == 3:
        for k, v in best.items():
            assert torch.equal(v, last["ema"][k]), k


def test_tiny_decay_follows_the_raw_weights(data, tmp_path: Path) -> None:
    """decay -> 0: the average is the latest weights (the update uses the current step)."""
    x, y, xv, yv = data
    train_student(tiny_model(), x, y, xv, yv, tmp_path, TrainConfig(
        epochs=1, lr=3e-3, batch_size=16, ema=1e-7), progress=False)
    last = _ckpt(tmp_path / "latest.pt")
    for k, v in last["model"].items():
        if v.is_floating_point():
            torch.testing.assert_close(last["ema"][k], v, rtol=1e-5, atol=1e-6)


class Interrupt(Exception):
    pass


def test_resume_with_ema_continues_exactly(data, tmp_path: Path) -> None:
    x, y, xv, yv = data
    cfg = TrainConfig(epochs=3, lr=3e-3, batch_size=16, ema=0.8)
    full = train_student(tiny_model(), x, y, xv, yv, tmp_path / "full", cfg, progress=False)

    def stop_at_1(row):
        if row["epoch"] == 1:
            raise Interrupt

    with pytest.raises(Interrupt):
        train_student(tiny_model(), x, y, xv, yv, tmp_path / "cut", cfg, progress=False,
                      on_epoch=stop_at_1)
    res = train_student(tiny_model(seed=5), x, y, xv, yv, tmp_path / "cut", cfg,
                        resume=True, progress=False)
    assert [h["val_loss"] for h in res.history] == [h["val_loss"] for h in full.history]
    for k, v in full.model.state_dict().items():
        assert torch.equal(v, res.model.state_dict()[k]), k
    a, b = _ckpt(tmp_path / "full/latest.pt"), _ckpt(tmp_path / "cut/latest.pt")
    for k, v in a["ema"].items():
        assert torch.equal(v, b["ema"][k]), k


def test_checkpoint_without_the_average_is_refused(data, tmp_path: Path) -> None:
    x, y, xv, yv = data
    cfg = TrainConfig(epochs=2, lr=3e-3, batch_size=16, ema=0.8)

    def stop(row):
        raise Interrupt

    with pytest.raises(Interrupt):
        train_student(tiny_model(), x, y, xv, yv, tmp_path, cfg, progress=False,
                      on_epoch=stop)
    ckpt = _ckpt(tmp_path / "latest.pt")
    del ckpt["ema"]
    torch.save(ckpt, tmp_path / "latest.pt")
    model = tiny_model(seed=3)
    init = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(EdgeSEAError, match="averaged weights"):
        train_student(model, x, y, xv, yv, tmp_path, cfg, resume=True, progress=False)
    for k, v in model.state_dict().items():  # nothing was loaded into the model
        assert torch.equal(v, init[k]), k
