"""The packaged pretrained files: their names and how a name or path resolves to a file
(:mod:`.names`), the sparse models' names and edgel3's sparsity rules (:mod:`.sparse_names`)
and the device capacity tiers (:mod:`.tiers`). No torch, nothing read but file names.
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
from edgesea.packaged.sparse_names import (
    FT_UNAVAILABLE,
    RETRAIN_CHOICES,
    SPARSITY_LEVELS,
    check_retrain,
    check_sparsity,
    packaged_name,
    parse_packaged_name,
)
from edgesea.packaged.tiers import (
    TIERS,
    Tier,
    check_budget,
    fits,
    get_tier,
    tier_report,
)

__all__ = [
    "EMB_DIMS",
    "FT_UNAVAILABLE",
    "INT8_SUFFIX",
    "MODEL_KINDS",
    "MODEL_TYPES",
    "PRETRAINED_DIR",
    "RETRAIN_CHOICES",
    "SPARSITY_LEVELS",
    "TIERS",
    "ZOO_TIERS",
    "Tier",
    "available",
    "check_budget",
    "check_retrain",
    "check_sparsity",
    "fits",
    "get_tier",
    "packaged_levels",
    "packaged_name",
    "packaged_names",
    "parse_packaged_name",
    "parse_zoo_name",
    "pretrained_path",
    "resolve_model",
    "tier_report",
    "zoo_name",
]
