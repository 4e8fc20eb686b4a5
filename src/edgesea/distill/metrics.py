"""Metrics and curves of :func:`edgesea.distill.train.train_student`: regression metrics of
predictions against targets, and the training curves as a PNG (``curves.png``)."""

from __future__ import annotations

import os

import numpy as np

from edgesea.core.fileio import atomic_path
from edgesea.errors import EdgeSEAError

__all__ = ["plot_curves", "regression_metrics"]


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """MSE, MAE, mean cosine similarity and R^2 of ``pred`` against targets ``y`` (N, D).

    R^2 is ``1 - sum((y - pred)^2) / sum((y - mean(y))^2)``, column means over the rows of
    ``y`` (the fraction of the targets' total variance explained)."""
    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    if y.shape != pred.shape or y.ndim != 2 or y.shape[0] < 1:
        raise EdgeSEAError(f"targets and predictions must be equal 2-D shapes, got {y.shape} "
                           f"and {pred.shape}")
    err = pred - y
    sst = float(((y - y.mean(axis=0)) ** 2).sum())
    cos = (y * pred).sum(1) / np.maximum(np.linalg.norm(y, axis=1)
                                         * np.linalg.norm(pred, axis=1), 1e-12)
    return {"mse": float((err ** 2).mean()), "mae": float(np.abs(err).mean()),
            "cosine": float(cos.mean()),
            "r2": 1.0 - float((err ** 2).sum()) / sst if sst > 0 else float("nan")}


def plot_curves(history: list[dict[str, float]], path: str | os.PathLike,
                best_epoch: int | None = None) -> str:
    """Training curves (loss, R^2, cosine, learning rate per epoch) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    panels = [("mse", "MSE", True), ("r2", "R$^2$", False), ("cosine", "cosine", False)]
    for ax, (key, title, log) in zip(axes, panels, strict=False):
        ax.plot(ep, [h[f"train_{key}"] for h in history], label="train")
        ax.plot(ep, [h[f"val_{key}"] for h in history], label="validation")
        if log:
            ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("epoch")
    axes[3].plot(ep, [h["lr"] for h in history], color="k")
    axes[3].set_yscale("log")
    axes[3].set_title("learning rate")
    axes[3].set_xlabel("epoch")
    for ax in axes[:3]:
        if best_epoch:
            ax.axvline(best_epoch, color="grey", ls=":", lw=1)
        ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)
    return os.fspath(path)
