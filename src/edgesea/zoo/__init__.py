"""The model zoo as users see it: the packaged names and their resolution
(:mod:`edgesea.packaged`, re-exported here) and the catalog with each model's recorded
figures (:mod:`.catalog`, ``edgesea models``). Importing it does not import torch.
"""

from edgesea.packaged.names import (
    EMB_DIMS,
    INT8_SUFFIX,
    MODEL_KINDS,
    MODEL_TYPES,
    PRETRAINED_DIR,
    ZOO_TIERS,
    available,
    packaged_levels,
    packaged_names,
    parse_zoo_name,
    pretrained_path,
    resolve_model,
    zoo_name,
)
from edgesea.zoo.catalog import ZooModel, catalog
from edgesea.zoo.figures import card_figures, share_of_teacher, teacher_reference

__all__ = ["EMB_DIMS", "INT8_SUFFIX", "MODEL_KINDS", "MODEL_TYPES", "PRETRAINED_DIR", "ZOO_TIERS",
           "ZooModel", "available", "card_figures", "catalog", "packaged_levels", "packaged_names",
           "parse_zoo_name", "pretrained_path", "resolve_model", "share_of_teacher",
           "teacher_reference", "zoo_name"]
