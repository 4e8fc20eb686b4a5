"""Model families (SEA students, L3-Net), their footprint, and the model file format."""

from .edgel3 import load_edgel3_h5
from .footprint import Footprint, footprint
from .io import load_model, read_header, save_model
from .network import (
    HEADS,
    MCU_BLOCKS,
    SEA_FILTERS,
    EmbeddingModel,
    ModelConfig,
    l3net,
    sea_mcu_student,
    sea_student,
)

__all__ = ["HEADS", "MCU_BLOCKS", "SEA_FILTERS", "EmbeddingModel", "Footprint", "ModelConfig",
           "footprint", "l3net", "load_edgel3_h5", "load_model", "read_header", "save_model",
           "sea_mcu_student", "sea_student"]
