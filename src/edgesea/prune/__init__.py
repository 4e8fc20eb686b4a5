"""``edgesea prune``: sparse models built by pruning the aisfx teacher to an edgel3 level and
retraining it by distillation (:mod:`.build`, :mod:`.retrain`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgesea.core.lazy import attach

if TYPE_CHECKING:
    from edgesea.prune.build import (
        UPSTREAM_LICENSE as UPSTREAM_LICENSE,
    )
    from edgesea.prune.build import (
        BuildResult as BuildResult,
    )
    from edgesea.prune.build import (
        build_sparse_model as build_sparse_model,
    )
    from edgesea.prune.build import (
        save_packaged as save_packaged,
    )
    from edgesea.prune.retrain import (
        KDData as KDData,
    )
    from edgesea.prune.retrain import (
        kd_data as kd_data,
    )
    from edgesea.prune.retrain import (
        kd_split as kd_split,
    )
    from edgesea.prune.retrain import (
        retrain_kd as retrain_kd,
    )

__getattr__, __dir__, __all__ = attach(__name__, {
    "build": ["UPSTREAM_LICENSE", "BuildResult", "build_sparse_model", "save_packaged"],
    "retrain": ["KDData", "kd_data", "kd_split", "retrain_kd"],
})
