"""``edgesea specialize``: the whole SEA pipeline in one resumable run directory: settings
(:mod:`.config`), the run-directory layout (:mod:`.layout`), the stage computations
(:mod:`.stages`), the pipeline (:mod:`.pipeline`), the distill stage and its DDP job
(:mod:`.distill_job`, :mod:`.ddp_job`), the report (:mod:`.report`) and advice
(:mod:`.advice`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgesea.core.lazy import attach

if TYPE_CHECKING:
    from edgesea.specialize.config import (
        SAMPLING as SAMPLING,
    )
    from edgesea.specialize.config import (
        SpecializeConfig as SpecializeConfig,
    )
    from edgesea.specialize.pipeline import (
        STAGES as STAGES,
    )
    from edgesea.specialize.pipeline import (
        SpecializeResult as SpecializeResult,
    )
    from edgesea.specialize.pipeline import (
        recording_groups as recording_groups,
    )
    from edgesea.specialize.pipeline import (
        specialize as specialize,
    )
    from edgesea.specialize.pipeline import (
        training_advice as training_advice,
    )

__getattr__, __dir__, __all__ = attach(__name__, {
    "config": ["SAMPLING", "SpecializeConfig"],
    "pipeline": ["STAGES", "SpecializeResult", "recording_groups", "specialize", "training_advice"],
})
