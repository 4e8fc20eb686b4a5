"""Augmented upstream windows labelled by the teacher: the transforms (:mod:`.transforms`), the
resumable on-disk bank (:mod:`.bank`) and the Ray engine (:mod:`.ray`, optional).
"""

from edgesea.augment.bank import (
    AUG_FORMAT,
    load_augmented,
    make_augmented,
    shard_columns,
)
from edgesea.augment.transforms import (
    AugmentConfig,
    Augmenter,
    apply_gain,
    change_speed,
    equalize,
    mix_at_snr,
    power_db,
)

__all__ = ["AUG_FORMAT", "AugmentConfig", "Augmenter", "apply_gain", "change_speed", "equalize",
           "load_augmented", "make_augmented", "mix_at_snr", "power_db", "shard_columns"]
