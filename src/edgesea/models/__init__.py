"""Model families (SEA students, L3-Net), their footprint, and the model file format."""

from .edgel3 import load_edgel3_h5
from .footprint import Footprint, footprint
from .io import load_model, read_header, save_model
from .network import HEADS, SEA_FILTERS, EmbeddingModel, ModelConfig, l3net, sea_student

__all__ = ["HEADS", "SEA_FILTERS", "EmbeddingModel", "Footprint", "ModelConfig", "footprint",
           "l3net", "load_edgel3_h5", "load_model", "read_header", "save_model", "sea_student"]
