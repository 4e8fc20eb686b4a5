"""Distillation: train a student to regress (reduced) teacher embeddings from log-mels.

:func:`train_student` fits an :class:`~edgesea.models.EmbeddingModel` on cached student
inputs (log-mel spectrograms, ``(N, n_mels, n_frames)``, any float dtype, memory-mapped is
fine) and targets ``(N, emb_dim)``: MSE loss (optionally plus a cosine term), Adam, early
stopping on the validation loss and learning-rate decay on plateaus (or cosine decay),
optionally an exponential moving average of the weights (``TrainConfig.ema``). Each
epoch writes ``latest.pt`` (and ``best.pt`` on improvement) atomically, so a killed run
continues exactly with ``resume=True``; batches are drawn from a generator seeded by
``(seed, epoch)`` and every random state is checkpointed, so the same seed on the same
machine gives the same weights. Per-epoch metrics (MSE, MAE, cosine similarity, R^2) go to
``history.json`` and ``curves.png``. A damaged or hostile checkpoint is refused with a clear
error (see ``resume`` in :func:`train_student`), never half-loaded. Inside an initialised
``torch.distributed`` group of several processes it trains with DistributedDataParallel
(:mod:`edgesea.specialize.ddp_job`: a distributed sampler reseeded per epoch, rank 0 alone
writing checkpoints).
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from edgesea.core.fileio import clean_stale_temps, write_json
from edgesea.distill.checkpoint import (
    _CKPT_KEYS,
    _averaged,
    _check_weights,
    _max_checkpoint_bytes,
    _read_checkpoint,
    _restore,
    _restore_average,
    save_atomic,
)
from edgesea.distill.config import LOSSES, SCHEDULES, TrainConfig
from edgesea.distill.forward import Forward, batch_tensor, default_forward, predict
from edgesea.distill.metrics import plot_curves, regression_metrics
from edgesea.errors import EdgeSEAError, EdgeSEAWarning
from edgesea.models.network import EmbeddingModel

__all__ = ["LOSSES", "SCHEDULES", "TrainConfig", "TrainResult", "plot_curves", "predict",
           "regression_metrics", "train_student"]

_CKPT_VERSION = 1


@dataclass
class TrainResult:
    """What :func:`train_student` did: the model holds the best epoch's weights."""

    model: EmbeddingModel
    history: list[dict[str, float]]
    best_epoch: int
    stopped_early: bool
    epochs_run_now: int
    wall_s: float

    @property
    def best(self) -> dict[str, float]:
        """The metrics of the best epoch."""
        return self.history[self.best_epoch - 1]


def _check_data(x: Any, y: Any, name: str) -> None:
    if np.ndim(x) != 3 or np.ndim(y) != 2 or len(x) != len(y) or len(x) < 1:
        raise EdgeSEAError(f"{name} data must be inputs (N, n_mels, n_frames) and targets "
                           f"(N, emb_dim) with the same N >= 1, got shapes {np.shape(x)} and "
                           f"{np.shape(y)}")


def _mask(xb: torch.Tensor, width: int, gen: torch.Generator) -> torch.Tensor:
    """SpecAugment-style: one band of up to ``width`` mels and one of up to ``width``
    frames per window set to the window's minimum."""
    b, n_mels, n_frames = xb.shape
    lo = xb.amin(dim=(1, 2), keepdim=True)
    keep = torch.ones_like(xb, dtype=torch.bool)
    for axis, size in ((1, n_mels), (2, n_frames)):
        w = torch.randint(0, width + 1, (b,), generator=gen)
        start = (torch.rand(b, generator=gen) * (size - w + 1).float()).long()
        pos = torch.arange(size)
        band = (pos[None] >= start[:, None]) & (pos[None] < (start + w)[:, None])
        keep &= ~(band[:, :, None] if axis == 1 else band[:, None, :])
    return torch.where(keep, xb, lo)


def _loss(pred: torch.Tensor, yb: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    loss = torch.mean((pred - yb) ** 2)
    if cfg.loss == "mse+cosine":
        loss = loss + cfg.cosine_weight * (1 - torch.cosine_similarity(pred, yb, dim=1)).mean()
    return loss


def _improved(loss: float, best: float, cfg: TrainConfig) -> bool:
    return loss < best - cfg.min_delta


def _parallel() -> Any:
    """The DDP helper when this process is one of several of a ``torch.distributed`` group
    (:class:`edgesea.distill.parallel.Parallel`), else None (imported only then)."""
    dist = torch.distributed
    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return None
    from edgesea.distill.parallel import Parallel  # torch.distributed's DDP: only when used

    return Parallel()


def _resume(latest: Path, max_bytes: int, cfg: TrainConfig, data_id: list[int], par: Any,
            model: torch.nn.Module, opt: torch.optim.Optimizer, gen: torch.Generator,
            avg: Any) -> dict[str, Any]:
    """The training state of the checkpoint ``latest``, after checking that it was written
    with the same settings and data; model, optimizer, generator (and average) restored."""
    ckpt = _read_checkpoint(latest, max_bytes, _CKPT_KEYS)
    if ckpt.get("version") != _CKPT_VERSION or ckpt.get("config") != cfg.to_dict() \
            or ckpt.get("data") != data_id:
        raise EdgeSEAError(f"{latest} was written with other settings or data; rerun "
                           "without resume to start again")
    if ckpt.get("threads") != torch.get_num_threads():
        warnings.warn(f"resuming with {torch.get_num_threads()} torch threads; the run "
                      f"started with {ckpt.get('threads')}: results may differ from an "
                      "uninterrupted run in the last bits", EdgeSEAWarning, stacklevel=3)
    if ckpt.get("world_size", 1) != (1 if par is None else par.world):
        warnings.warn(f"resuming on {1 if par is None else par.world} processes; the run "
                      f"started on {ckpt.get('world_size', 1)}: batches differ from an "
                      "uninterrupted run", EdgeSEAWarning, stacklevel=3)
    if avg is not None:  # the copy first: the model is loaded only from a whole file
        _restore_average(latest, ckpt, avg, model)
    state = _restore(latest, ckpt, model, opt, gen, cfg)
    if par is not None:
        par.restore_generator(ckpt, gen)
    return state


def _set_epoch_lr(opt: torch.optim.Optimizer, cfg: TrainConfig, epoch: int) -> float:
    """The learning rate of ``epoch`` (set first for the cosine schedule)."""
    if cfg.schedule == "cosine":
        lr = 0.5 * cfg.lr * (1 + math.cos(math.pi * (epoch - 1) / cfg.epochs))
        for g in opt.param_groups:
            g["lr"] = lr
    return opt.param_groups[0]["lr"]


def _train_epoch(model: torch.nn.Module, net: Any, fwd: Forward, opt: torch.optim.Optimizer,
                 x_train: Any, y_tr: np.ndarray, order: np.ndarray, bsz: int,
                 cfg: TrainConfig, gen: torch.Generator, avg: Any, bar_desc: str,
                 show: bool, epoch: int) -> np.ndarray:
    """One pass over ``order`` in batches of ``bsz``: sums of squared error, absolute
    error, cosine, loss x rows, and rows."""
    sums = np.zeros(5)
    bar = tqdm(range(0, len(order), bsz), desc=bar_desc, unit="batch", leave=False,
               disable=not show)
    for i in bar:
        idx = np.sort(order[i:i + bsz])  # sorted: cheap memmap reads
        xb = batch_tensor(x_train, idx)
        yb = torch.from_numpy(y_tr[idx])
        if cfg.spec_mask:
            xb = _mask(xb, cfg.spec_mask, gen)
        pred = fwd(model, xb) if net is None else net(xb)
        loss = _loss(pred, yb, cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if avg is not None:
            avg.update_parameters(model)
        with torch.no_grad():
            err = pred - yb
            sums += [float((err ** 2).sum()), float(err.abs().sum()),
                     float(torch.cosine_similarity(pred, yb, dim=1).sum()),
                     loss.item() * len(idx), len(idx)]
        if not math.isfinite(sums[3]):
            raise EdgeSEAError(f"training diverged at epoch {epoch} (loss {sums[3]}); "
                               "lower the learning rate")
    return sums


def _epoch_row(epoch: int, lr: float, sums: np.ndarray, sst: float, d: int,
               val: dict[str, float], cfg: TrainConfig) -> dict[str, float]:
    """The history row of an epoch: training sums turned into means, validation metrics."""
    n = int(sums[4])
    row = {"epoch": epoch, "lr": lr, "train_loss": sums[3] / n,
           "train_mse": sums[0] / (n * d), "train_mae": sums[1] / (n * d),
           "train_cosine": sums[2] / n,
           "train_r2": float(1 - sums[0] / sst) if sst else math.nan}
    row |= {f"val_{k}": v for k, v in val.items()}
    row["val_loss"] = val["mse"] + (cfg.cosine_weight * (1 - val["cosine"])
                                    if cfg.loss == "mse+cosine" else 0.0)
    return row


def _track_best(state: dict[str, Any], row: dict[str, float], cfg: TrainConfig,
                opt: torch.optim.Optimizer) -> bool:
    """Update early stopping and the plateau schedule; True when ``row`` is a new best."""
    epoch = int(row["epoch"])
    improved = _improved(row["val_loss"], state["best_loss"], cfg)
    if improved:
        state.update(best_loss=row["val_loss"], best_epoch=epoch, since_best=0, since_lr=0)
    else:
        state["since_best"] += 1
        state["since_lr"] += 1
        if cfg.schedule == "plateau" and state["since_lr"] >= cfg.lr_patience:
            for g in opt.param_groups:
                g["lr"] *= cfg.lr_factor
            state["since_lr"] = 0
    if cfg.patience and state["since_best"] >= cfg.patience:
        state["done"] = True
    state["stopped_early"] = bool(state["done"])
    return improved


def _save_latest(latest: Path, state: dict[str, Any], cfg: TrainConfig, data_id: list[int],
                 model: torch.nn.Module, opt: torch.optim.Optimizer, gen: torch.Generator,
                 par: Any, avg: Any, writer: bool) -> None:
    """The resumable checkpoint after an epoch (every rank gathers; rank 0 writes)."""
    extra = {} if par is None else {"world_size": par.world,
                                    "rank_generators": par.gather(gen.get_state())}
    if avg is not None:
        extra |= {"ema": avg.module.state_dict(), "ema_n": int(avg.n_averaged)}
    if writer:
        save_atomic({"version": _CKPT_VERSION, "config": cfg.to_dict(), "data": data_id,
                     "model": model.state_dict(), "optimizer": opt.state_dict(),
                     "generator": gen.get_state(), "torch_rng": torch.get_rng_state(),
                     "threads": torch.get_num_threads(), "state": json.dumps(state),
                     **extra}, latest)


def train_student(model: EmbeddingModel, x_train: np.ndarray, y_train: np.ndarray,
                  x_val: np.ndarray, y_val: np.ndarray, out_dir: str | os.PathLike,
                  config: TrainConfig | None = None, resume: bool = False,
                  progress: bool = True,
                  on_epoch: Callable[[dict[str, float]], None] | None = None,
                  forward: Forward | None = None) -> TrainResult:
    """Train ``model`` to map cached inputs to targets, checkpointing into ``out_dir``.

    Parameters
    ----------
    model : EmbeddingModel
        The student (its initial weights are the caller's: seed torch before building it).
    x_train, y_train : ndarray
        Inputs ``(N, n_mels, n_frames)`` (log-mels of the model's front end) and targets
        ``(N, emb_dim)``.
    x_val, y_val : ndarray
        Validation data (other recordings than the training data).
    out_dir : path
        Checkpoint folder: ``latest.pt``, ``best.pt``, ``history.json``, ``curves.png``.
    config : TrainConfig
        Settings (default :class:`TrainConfig()`).
    resume : bool
        Continue from ``out_dir/latest.pt`` (the same data and settings are required).
        Without it, existing checkpoints are replaced. The checkpoint is loaded
        ``weights_only`` (no code in it runs), after checking that its size is plausible for
        the model; a truncated, damaged, oversized or foreign one (wrong keys, shapes,
        optimizer or random state) is an :class:`EdgeSEAError` naming the file, and nothing
        is loaded from it. There is no fallback to ``best.pt``: it holds no optimizer or
        random state, so continuing from it would not be the interrupted run; start again
        with ``resume=False`` (``--force`` without ``--resume``).
    progress : bool
        Show a progress bar per epoch on stderr.
    on_epoch : callable, optional
        Called with each epoch's metrics.
    forward : callable, optional
        ``forward(model, inputs) -> outputs`` for a network that is not an
        :class:`EmbeddingModel` (e.g. a pruned teacher, :mod:`edgesea.sparse`); its output
        width is ``model.emb_dim`` when the model has that attribute.

    Returns
    -------
    TrainResult
        With ``model`` holding the best epoch's weights (eval mode).
    """
    cfg = config or TrainConfig()
    _check_data(x_train, y_train, "training")
    _check_data(x_val, y_val, "validation")
    emb_dim = getattr(model, "emb_dim", y_train.shape[1])
    if y_train.shape[1] != emb_dim or y_val.shape[1] != emb_dim:
        raise EdgeSEAError(f"targets have {y_train.shape[1]} dimensions; the model outputs "
                           f"{emb_dim}")
    fwd = forward or default_forward
    par = _parallel()
    writer = par is None or par.rank == 0  # rank 0 alone writes
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(out)  # checkpoints half-written by a killed run
    latest, best_path = out / "latest.pt", out / "best.pt"
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed if par is None else par.seed(cfg.seed))
    data_id = [len(x_train), len(x_val), int(emb_dim)]
    model.to(memory_format=torch.channels_last)
    state: dict[str, Any] = {"epoch": 0, "best_loss": math.inf, "best_epoch": 0,
                             "since_best": 0, "since_lr": 0, "history": [], "done": False}
    max_bytes = _max_checkpoint_bytes(model, cfg)
    avg = _averaged(model, cfg.ema) if cfg.ema else None
    if resume and latest.is_file():
        state = _resume(latest, max_bytes, cfg, data_id, par, model, opt, gen, avg)
    elif not resume and writer:
        for p in (latest, best_path, out / "history.json"):
            p.unlink(missing_ok=True)
    if par is not None:
        par.barrier()
    net = par.wrap(model, fwd) if par is not None else None
    y_tr = np.asarray(y_train, dtype=np.float32)
    sst = float(((y_tr - y_tr.mean(0)) ** 2).sum())
    t0 = time.perf_counter()
    start_epoch = state["epoch"]
    model.train()
    while not state["done"] and state["epoch"] < cfg.epochs:
        epoch = state["epoch"] + 1
        lr = _set_epoch_lr(opt, cfg, epoch)
        te = time.perf_counter()
        if par is None:
            order = np.random.default_rng([cfg.seed, epoch]).permutation(len(x_train))
            bsz = cfg.batch_size
        else:  # this rank's share, reshuffled each epoch (DistributedSampler.set_epoch)
            order, bsz = par.order(len(x_train), cfg.seed, epoch), par.batch(cfg.batch_size)
        sums = _train_epoch(model, net, fwd, opt, x_train, y_tr, order, bsz, cfg, gen, avg,
                            f"epoch {epoch}/{cfg.epochs}", progress and writer, epoch)
        if par is not None:
            sums = par.sum(sums)
        scored = model if avg is None else avg.module  # the weights validated and kept
        val = regression_metrics(y_val, predict(scored, x_val, forward=forward) if par is None
                                 else par.predict(scored, x_val, forward))
        row = _epoch_row(epoch, lr, sums, sst, y_tr.shape[1], val, cfg)
        row["epoch_s"] = time.perf_counter() - te
        state["history"].append(row)
        state["epoch"] = epoch
        if _track_best(state, row, cfg, opt) and writer:
            save_atomic({"model": scored.state_dict(), "epoch": epoch}, best_path)
        _save_latest(latest, state, cfg, data_id, model, opt, gen, par, avg, writer)
        if writer:
            write_json(out / "history.json", state["history"])
            if on_epoch is not None:
                on_epoch(row)
    state["done"] = True
    if par is not None:
        par.barrier()  # rank 0's checkpoints are written
    if state["best_epoch"] == 0:
        raise EdgeSEAError("no epoch improved on the initial validation loss (loss not finite?)")
    if writer:
        plot_curves(state["history"], out / "curves.png", best_epoch=state["best_epoch"])
    best = _read_checkpoint(best_path, max_bytes, ("model",))
    _check_weights(best_path, best["model"], model)
    model.load_state_dict(best["model"])
    model.to(memory_format=torch.contiguous_format)
    model.eval()
    return TrainResult(model=model, history=state["history"], best_epoch=state["best_epoch"],
                       stopped_early=bool(state.get("stopped_early")),
                       epochs_run_now=state["epoch"] - start_epoch,
                       wall_s=time.perf_counter() - t0)
