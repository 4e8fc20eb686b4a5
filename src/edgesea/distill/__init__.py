"""Distillation of a student: settings (:mod:`.config`), the training loop (:mod:`.train`),
prediction (:mod:`.forward`), checkpoints (:mod:`.checkpoint`), metrics (:mod:`.metrics`) and
DistributedDataParallel training (:mod:`.parallel`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgesea.core.lazy import attach

if TYPE_CHECKING:
    from edgesea.distill.config import (
        LOSSES as LOSSES,
    )
    from edgesea.distill.config import (
        SCHEDULES as SCHEDULES,
    )
    from edgesea.distill.config import (
        TrainConfig as TrainConfig,
    )
    from edgesea.distill.train import (
        TrainResult as TrainResult,
    )
    from edgesea.distill.train import (
        plot_curves as plot_curves,
    )
    from edgesea.distill.train import (
        predict as predict,
    )
    from edgesea.distill.train import (
        regression_metrics as regression_metrics,
    )
    from edgesea.distill.train import (
        train_student as train_student,
    )

__getattr__, __dir__, __all__ = attach(__name__, {
    "config": ["LOSSES", "SCHEDULES", "TrainConfig"],
    "train": ["TrainResult", "plot_curves", "predict", "regression_metrics", "train_student"],
})
