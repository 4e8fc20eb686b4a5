"""The data of ``specialize``'s distill stage.

:func:`distill_data` gives the training and validation sets of a run directory without
loading them (memory-mapped student inputs behind row views); the single-process stage and
every DistributedDataParallel rank (:mod:`edgesea.specialize.ddp_job`) read them the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgesea._aliases import moved_name
from edgesea.specialize.layout import RunLayout
from edgesea.store.arrays import ConcatRows, RowView

__all__ = ["distill_data"]


def distill_data(run: Path, train_on: str, has_aug: bool) -> tuple[Any, ...]:
    """``(x_train, y_train, x_val, y_val)`` of the distill stage of ``run``: inputs
    memory-mapped and selected by views (read batch by batch), targets gathered."""
    split = np.load(RunLayout(run).sample)
    x = np.load(RunLayout(run).inputs, mmap_mode="r")
    targets = np.load(RunLayout(run).targets, mmap_mode="r")
    tr = split["train_all"] if train_on == "all" else split["sample"]
    x_tr, y_tr = RowView(x, tr), np.asarray(targets[tr])
    if has_aug:
        x_tr = ConcatRows([x_tr, np.load(RunLayout(run).augment_inputs, mmap_mode="r")])
        y_tr = np.concatenate([y_tr, np.load(RunLayout(run).aug_targets)])
    return x_tr, y_tr, RowView(x, split["val"]), np.asarray(targets[split["val"]])


def __getattr__(name: str) -> Any:
    # Old paths of names that moved (edgesea._aliases).
    return moved_name(__name__, name)
