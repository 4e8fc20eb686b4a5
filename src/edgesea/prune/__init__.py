"""``edgesea prune``: sparse models built by pruning the aisfx teacher to an edgel3 level and
retraining it by distillation (:mod:`.build`, :mod:`.retrain`).
"""

from edgesea.prune.build import (
    UPSTREAM_LICENSE,
    BuildResult,
    build_sparse_model,
    save_packaged,
)
from edgesea.prune.retrain import (
    KDData,
    kd_data,
    kd_split,
    retrain_kd,
)

__all__ = [
    "UPSTREAM_LICENSE",
    "BuildResult",
    "KDData",
    "build_sparse_model",
    "kd_data",
    "kd_split",
    "retrain_kd",
    "save_packaged",
]
