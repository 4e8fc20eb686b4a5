"""The data of ``specialize``'s distill stage, and the stage as a DDP job.

:func:`distill_data` gives the training and validation sets of a run directory without
loading them (memory-mapped student inputs behind row views); the single-process stage and
every DistributedDataParallel rank (:mod:`edgesea.specialize.ddp_job`) read them the same way.
:func:`distill_parallel` writes the stage's job file and initial weights and, with
``launch``, trains it on several local processes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgesea.core.safe_json import read_json
from edgesea.specialize.config import SpecializeConfig
from edgesea.store.arrays import ConcatRows, RowView

__all__ = ["distill_data", "distill_parallel"]


def distill_data(run: Path, train_on: str, has_aug: bool) -> tuple[Any, ...]:
    """``(x_train, y_train, x_val, y_val)`` of the distill stage of ``run``: inputs
    memory-mapped and selected by views (read batch by batch), targets gathered."""
    split = np.load(run / "sample.npz")
    x = np.load(run / "inputs" / "logmel.npy", mmap_mode="r")
    targets = np.load(run / "reduce" / "targets.npy", mmap_mode="r")
    tr = split["train_all"] if train_on == "all" else split["sample"]
    x_tr, y_tr = RowView(x, tr), np.asarray(targets[tr])
    if has_aug:
        x_tr = ConcatRows([x_tr, np.load(run / "augment" / "logmel.npy", mmap_mode="r")])
        y_tr = np.concatenate([y_tr, np.load(run / "reduce" / "aug_targets.npy")])
    return x_tr, y_tr, RowView(x, split["val"]), np.asarray(targets[split["val"]])


def distill_parallel(run: Path, config: SpecializeConfig, model: Any, has_aug: bool,
                      resume: bool, nproc: int, progress: bool, launch: bool) -> Any:
    """The distill stage as a DDP job (:mod:`edgesea.specialize.ddp_job`): the job file and
    the initial weights; trained on ``nproc`` processes when ``launch`` (else None: for
    torchrun). Returns a :class:`~edgesea.distill.train.TrainResult`."""
    from edgesea.distill.checkpoint import _save_atomic
    from edgesea.distill.train import TrainResult
    from edgesea.specialize.ddp_job import launch as ddp_launch
    from edgesea.specialize.ddp_job import write_job

    (run / "distill").mkdir(exist_ok=True)
    _save_atomic(model.state_dict(), run / "distill" / "init.pt")
    job = write_job(run / "distill" / "job.json", {
        "run_dir": str(run.resolve()), "config": json.loads(json.dumps(config.to_dict())),
        "train": config.train, "has_aug": has_aug, "resume": resume})
    if not launch:
        return None
    result = ddp_launch(job, nproc, progress)
    best = torch.load(run / "distill" / "best.pt", weights_only=True)
    model.load_state_dict(best["model"])
    model.eval()
    history = read_json(run / "distill" / "history.json", "training history")
    return TrainResult(model=model, history=history, best_epoch=result["best_epoch"],
                       stopped_early=result["stopped_early"],
                       epochs_run_now=result["epochs_run_now"], wall_s=result["wall_s"])
