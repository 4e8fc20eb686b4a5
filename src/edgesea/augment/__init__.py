"""Augmented upstream windows labelled by the teacher: the transforms (:mod:`.transforms`), the
resumable on-disk bank (:mod:`.bank`) and the Ray engine (:mod:`.ray`, optional).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgesea.core.lazy import attach

if TYPE_CHECKING:
    from edgesea.augment.bank import (
        AUG_FORMAT as AUG_FORMAT,
    )
    from edgesea.augment.bank import (
        load_augmented as load_augmented,
    )
    from edgesea.augment.bank import (
        make_augmented as make_augmented,
    )
    from edgesea.augment.bank import (
        shard_columns as shard_columns,
    )
    from edgesea.augment.transforms import (
        AugmentConfig as AugmentConfig,
    )
    from edgesea.augment.transforms import (
        Augmenter as Augmenter,
    )
    from edgesea.augment.transforms import (
        apply_gain as apply_gain,
    )
    from edgesea.augment.transforms import (
        change_speed as change_speed,
    )
    from edgesea.augment.transforms import (
        equalize as equalize,
    )
    from edgesea.augment.transforms import (
        mix_at_snr as mix_at_snr,
    )
    from edgesea.augment.transforms import (
        power_db as power_db,
    )

__getattr__, __dir__, __all__ = attach(__name__, {
    "bank": ["AUG_FORMAT", "load_augmented", "make_augmented", "shard_columns"],
    "transforms": ["AugmentConfig", "Augmenter", "apply_gain", "change_speed", "equalize",
                   "mix_at_snr", "power_db"],
})
