"""``edgesea specialize``: the whole SEA pipeline in one resumable run directory: settings
(:mod:`.config`), the run-directory layout (:mod:`.layout`), the stage computations
(:mod:`.stages`), the pipeline (:mod:`.pipeline`), the distill stage and its DDP job
(:mod:`.distill_job`, :mod:`.ddp_job`), the report (:mod:`.report`) and advice
(:mod:`.advice`).
"""

from edgesea.specialize.config import (
    SAMPLING,
    SpecializeConfig,
)
from edgesea.specialize.pipeline import (
    STAGES,
    SpecializeResult,
    _windows,
    recording_groups,
    specialize,
    training_advice,
)

__all__ = ["SAMPLING", "STAGES", "SpecializeConfig", "SpecializeResult", "_windows",
           "recording_groups", "specialize", "training_advice"]
