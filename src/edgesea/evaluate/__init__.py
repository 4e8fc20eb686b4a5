"""Downstream evaluation: labelled datasets (:mod:`.datasets`), the classifier and AUPRC
(:mod:`.classify`), runs over several embedders (:mod:`.run`) and their report
(:mod:`.report`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgesea.core.lazy import attach

if TYPE_CHECKING:
    from edgesea.evaluate.classify import (
        Dataset as Dataset,
    )
    from edgesea.evaluate.classify import (
        auprc_metrics as auprc_metrics,
    )
    from edgesea.evaluate.classify import (
        chance_levels as chance_levels,
    )
    from edgesea.evaluate.classify import (
        clip_features as clip_features,
    )
    from edgesea.evaluate.classify import (
        embed_dataset as embed_dataset,
    )
    from edgesea.evaluate.classify import (
        evaluate_embedder as evaluate_embedder,
    )
    from edgesea.evaluate.classify import (
        fit_and_score as fit_and_score,
    )
    from edgesea.evaluate.classify import (
        read_dataset as read_dataset,
    )
    from edgesea.evaluate.classify import (
        select_classifier as select_classifier,
    )
    from edgesea.evaluate.classify import (
        small_fold_warnings as small_fold_warnings,
    )
    from edgesea.evaluate.datasets import (
        URBANSOUND8K_COLUMNS as URBANSOUND8K_COLUMNS,
    )
    from edgesea.evaluate.datasets import (
        prepare_urbansound8k as prepare_urbansound8k,
    )
    from edgesea.evaluate.run import (
        run_evaluation as run_evaluation,
    )

__getattr__, __dir__, __all__ = attach(__name__, {
    "classify": ["Dataset", "auprc_metrics", "chance_levels", "clip_features", "embed_dataset",
                 "evaluate_embedder", "fit_and_score", "read_dataset", "select_classifier",
                 "small_fold_warnings"],
    "datasets": ["URBANSOUND8K_COLUMNS", "prepare_urbansound8k"],
    "run": ["run_evaluation"],
})
