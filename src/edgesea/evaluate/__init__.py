"""Downstream evaluation: labelled datasets (:mod:`.datasets`), the classifier and AUPRC
(:mod:`.classify`), runs over several embedders (:mod:`.run`) and their report
(:mod:`.report`).
"""

from edgesea.evaluate.classify import (
    Dataset,
    auprc_metrics,
    chance_levels,
    clip_features,
    embed_dataset,
    evaluate_embedder,
    fit_and_score,
    read_dataset,
    select_classifier,
    small_fold_warnings,
)
from edgesea.evaluate.datasets import (
    URBANSOUND8K_COLUMNS,
    prepare_urbansound8k,
)
from edgesea.evaluate.run import (
    run_evaluation,
)

__all__ = [
    "URBANSOUND8K_COLUMNS",
    "Dataset",
    "auprc_metrics",
    "chance_levels",
    "clip_features",
    "embed_dataset",
    "evaluate_embedder",
    "fit_and_score",
    "prepare_urbansound8k",
    "read_dataset",
    "run_evaluation",
    "select_classifier",
    "small_fold_warnings",
]
