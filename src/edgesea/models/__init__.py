"""Model families (SEA students, L3-Net), their footprint, and the model file format.

Without torch (the light install) the package is lazy (PEP 562), so its torch-free
:mod:`.validate` can be imported; with torch every name is bound at import, as the names
``footprint`` (a function and its module) need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgesea.core.extras import has_torch
from edgesea.core.lazy import attach

if TYPE_CHECKING:
    from edgesea.models.edgel3 import load_edgel3_h5 as load_edgel3_h5
    from edgesea.models.footprint import Footprint as Footprint
    from edgesea.models.footprint import footprint as footprint
    from edgesea.models.footprint import macs as macs
    from edgesea.models.io import load_model as load_model
    from edgesea.models.io import read_header as read_header
    from edgesea.models.io import save_model as save_model
    from edgesea.models.network import HEADS as HEADS
    from edgesea.models.network import LEVELS as LEVELS
    from edgesea.models.network import MCU1M_BLOCKS as MCU1M_BLOCKS
    from edgesea.models.network import MCU_BLOCKS as MCU_BLOCKS
    from edgesea.models.network import SEA_FILTERS as SEA_FILTERS
    from edgesea.models.network import STUDENT_RATES as STUDENT_RATES
    from edgesea.models.network import EmbeddingModel as EmbeddingModel
    from edgesea.models.network import ModelConfig as ModelConfig
    from edgesea.models.network import l3net as l3net
    from edgesea.models.network import sea_mcu1m_student as sea_mcu1m_student
    from edgesea.models.network import sea_mcu_student as sea_mcu_student
    from edgesea.models.network import sea_student as sea_student
    from edgesea.models.network import student_frontend as student_frontend

_EXPORTS = {
    "edgel3": ["load_edgel3_h5"],
    "footprint": ["Footprint", "footprint", "macs"],
    "io": ["load_model", "read_header", "save_model"],
    "network": ["HEADS", "LEVELS", "MCU1M_BLOCKS", "MCU_BLOCKS", "SEA_FILTERS",
                "STUDENT_RATES", "EmbeddingModel", "ModelConfig", "l3net", "sea_mcu1m_student",
                "sea_mcu_student", "sea_student", "student_frontend"],
}
__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
if has_torch():  # bind every name now (the function footprint, not its module)
    for _name in __all__:
        globals()[_name] = __getattr__(_name)
    del _name
