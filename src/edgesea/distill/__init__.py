"""Distillation of a student: settings (:mod:`.config`), the training loop (:mod:`.train`),
prediction (:mod:`.predict`), checkpoints (:mod:`.checkpoint`), metrics (:mod:`.metrics`) and
DistributedDataParallel training (:mod:`.parallel`).
"""

from edgesea.distill.config import (
    LOSSES,
    SCHEDULES,
    TrainConfig,
)
from edgesea.distill.train import (
    TrainResult,
    plot_curves,
    predict,
    regression_metrics,
    train_student,
)

__all__ = ["LOSSES", "SCHEDULES", "TrainConfig", "TrainResult", "plot_curves", "predict",
           "regression_metrics", "train_student"]
