"""Settings of :func:`edgesea.distill.train.train_student` (:class:`TrainConfig`), validated."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from edgesea.core.checks import check_int
from edgesea.core.settings import Settings
from edgesea.errors import EdgeSEAError

__all__ = ["LOSSES", "SCHEDULES", "TrainConfig"]

LOSSES = ("mse", "mse+cosine")
SCHEDULES = ("plateau", "cosine")


@dataclass
class TrainConfig(Settings):
    """Settings of :func:`train_student` (defaults: the recipe of the shipped students).

    The defaults are the training settings of the packaged ``sea_urban_128`` student
    (``edgesea/pretrained/sea_urban_128.recipe.json``): 40 epochs of Adam at lr 1e-3 with a
    cosine decay and no early stopping. The SEA paper's PCA recipe is ``epochs=100,
    lr=1e-4, schedule="plateau", patience=10`` (the defaults of earlier edgesea versions).

    Attributes
    ----------
    epochs : int
        Maximum number of epochs.
    batch_size : int
        Windows per step.
    lr : float
        Adam learning rate at the start.
    weight_decay : float
        Adam L2 penalty.
    loss : {"mse", "mse+cosine"}
        ``"mse+cosine"`` adds ``cosine_weight * (1 - cos(pred, target))``.
    cosine_weight : float
        Weight of the cosine term.
    schedule : {"plateau", "cosine"}
        ``"plateau"``: multiply the lr by ``lr_factor`` after ``lr_patience`` epochs without
        a validation improvement of ``min_delta``; ``"cosine"``: cosine decay to 0 over
        ``epochs``.
    lr_patience, lr_factor : int, float
        Plateau schedule settings.
    patience : int
        Stop after this many epochs without a validation improvement of ``min_delta``
        (0 disables early stopping).
    min_delta : float
        Smallest decrease of the validation loss that counts as an improvement.
    spec_mask : int
        Training-time masking of the student input (0: off): up to this many mel bands and
        this many frames are set to the window's minimum in each window (SpecAugment-style,
        the target stays clean).
    seed : int
        Seed of batch order and augmentation (the caller seeds the initial weights).
    ema : float
        Decay of an exponential moving average of the weights (parameters and BatchNorm
        statistics, :class:`torch.optim.swa_utils.AveragedModel`), updated after every
        step; 0 (the default): off. 0.999 averages over about the last 1,000 steps.
        Validation, ``best.pt`` and the returned model then use the averaged weights.
    """

    epochs: int = 40
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    loss: str = "mse"
    cosine_weight: float = 0.1
    schedule: str = "cosine"
    lr_patience: int = 5
    lr_factor: float = 0.1
    patience: int = 0
    min_delta: float = 1e-4
    spec_mask: int = 0
    seed: int = 0
    ema: float = 0.0
    _what = "training settings"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able settings; ``ema`` only when it is on, so that runs and checkpoints
        written before it existed keep their keys."""
        d = super().to_dict()
        if not d["ema"]:
            d.pop("ema")
        return d

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            check_int(v, name)
        for name in ("patience", "lr_patience", "spec_mask", "seed"):
            v = getattr(self, name)
            check_int(v, name, low=0)
        if not (isinstance(self.lr, int | float) and math.isfinite(self.lr) and self.lr > 0):
            raise EdgeSEAError(f"invalid lr={self.lr!r}: expected a number > 0")
        for name in ("weight_decay", "cosine_weight", "min_delta"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise EdgeSEAError(f"invalid {name}={v!r}: expected a number >= 0")
        if not (isinstance(self.ema, int | float) and not isinstance(self.ema, bool)
                and 0 <= self.ema < 1):
            raise EdgeSEAError(f"invalid ema={self.ema!r}: expected a decay 0 <= d < 1 (0: "
                               "off; e.g. 0.999)")
        if not 0 < self.lr_factor < 1:
            raise EdgeSEAError(f"invalid lr_factor={self.lr_factor!r}: expected 0 < f < 1")
        if self.loss not in LOSSES:
            raise EdgeSEAError(f"unknown loss {self.loss!r}: expected one of {list(LOSSES)}")
        if self.schedule not in SCHEDULES:
            raise EdgeSEAError(f"unknown schedule {self.schedule!r}: expected one of "
                               f"{list(SCHEDULES)}")
