"""Model families (SEA students, L3-Net), their footprint, and the model file format."""

from edgesea.models.edgel3 import load_edgel3_h5
from edgesea.models.footprint import Footprint, footprint, macs
from edgesea.models.io import load_model, read_header, save_model
from edgesea.models.network import (
    HEADS,
    LEVELS,
    MCU1M_BLOCKS,
    MCU_BLOCKS,
    SEA_FILTERS,
    STUDENT_RATES,
    EmbeddingModel,
    ModelConfig,
    l3net,
    sea_mcu1m_student,
    sea_mcu_student,
    sea_student,
    student_frontend,
)

__all__ = ["HEADS", "LEVELS", "MCU1M_BLOCKS", "MCU_BLOCKS", "SEA_FILTERS", "STUDENT_RATES",
           "EmbeddingModel", "Footprint", "ModelConfig", "footprint", "l3net", "load_edgel3_h5",
           "load_model", "macs", "read_header", "save_model", "sea_mcu1m_student",
           "sea_mcu_student", "sea_student", "student_frontend"]
