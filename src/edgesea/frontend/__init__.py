"""Log-mel front ends: the torch modules (:mod:`.logmel`), the presets of the models edgesea
ports (:mod:`.presets`) and the mel scale in NumPy (:mod:`.mel`).
"""

from edgesea.frontend.logmel import (
    LogMelSpectrogram,
    hz_to_mel,
    mel_filterbank,
    mel_to_hz,
)
from edgesea.frontend.presets import (
    kapre_preset,
    openl3_v04_preset,
)

__all__ = ["LogMelSpectrogram", "hz_to_mel", "kapre_preset", "mel_filterbank", "mel_to_hz",
           "openl3_v04_preset"]
