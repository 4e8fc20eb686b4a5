"""Log-mel front ends: the torch modules (:mod:`.logmel`), the presets of the models edgesea
ports (:mod:`.presets`) and the mel scale in NumPy (:mod:`.mel`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgesea.core.lazy import attach

if TYPE_CHECKING:
    from edgesea.frontend.logmel import (
        LogMelSpectrogram as LogMelSpectrogram,
    )
    from edgesea.frontend.logmel import (
        hz_to_mel as hz_to_mel,
    )
    from edgesea.frontend.logmel import (
        mel_filterbank as mel_filterbank,
    )
    from edgesea.frontend.logmel import (
        mel_to_hz as mel_to_hz,
    )
    from edgesea.frontend.presets import (
        kapre_preset as kapre_preset,
    )
    from edgesea.frontend.presets import (
        openl3_v04_preset as openl3_v04_preset,
    )

__getattr__, __dir__, __all__ = attach(__name__, {
    "logmel": ["LogMelSpectrogram", "hz_to_mel", "mel_filterbank", "mel_to_hz"],
    "presets": ["kapre_preset", "openl3_v04_preset"],
})
