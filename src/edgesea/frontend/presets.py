"""Front-end presets: the log-mel front ends of the models edgesea ports (edgel3 / kapre
0.1.4, openl3 0.4.x), as :class:`~edgesea.frontend.logmel.LogMelSpectrogram` objects."""

from __future__ import annotations

from edgesea.frontend.logmel import LogMelSpectrogram

__all__ = ["kapre_preset", "openl3_v04_preset"]


def kapre_preset(sample_rate: int = 8000, n_fft: int = 1024, hop_length: int = 160,
                 n_mels: int = 64) -> LogMelSpectrogram:
    """The kapre 0.1.4 ``Melspectrogram`` of edgel3 SEA students and OpenL3.

    Defaults are the SEA student (8 kHz, n_fft 1024, hop 160, 64 bands); OpenL3's mel256
    front end is ``kapre_preset(48000, 2048, 242, 256)``. Semantics: TF 'SAME' framing,
    periodic Hann, power spectrum, HTK-scale Slaney-normalised mel matrix over 0..sr/2,
    square root (``power_melgram=1``), ``10 log10(max(x, 1e-10))``, per-window max to 0 dB,
    floor -80 dB.
    """
    return LogMelSpectrogram(sample_rate, n_fft, hop_length, n_mels, window="hann",
                             periodic=True, padding="same", fmin=0.0, fmax=None,
                             mel_scale="htk", mel_norm="slaney", power=1.0, db=True,
                             ref="max", amin=1e-10, top_db=80.0)


def openl3_v04_preset(n_mels: int = 256, sample_rate: int = 48000, n_fft: int = 2048,
                      hop_length: int = 242) -> LogMelSpectrogram:
    """The front end of openl3 0.4.x (kapre 0.3 ``get_melspectrogram_layer`` with
    ``pad_end=True`` and openl3's ``kapre_v0_1_4_magnitude_to_decibel``).

    Differences from :func:`kapre_preset` (the kapre 0.1.4 layer the weights were trained
    with): frames start at sample 0 and only the end is zero-padded; the mel matrix (Slaney
    scale, Slaney norm) is applied to the magnitude ``|X|``. The dB rule is the same:
    ``10 log10(max(x, 1e-10))``, per-window max to 0 dB, floor -80 dB.
    """
    return LogMelSpectrogram(sample_rate, n_fft, hop_length, n_mels, window="hann",
                             periodic=True, padding="end", fmin=0.0, fmax=None,
                             mel_scale="slaney", mel_norm="slaney", spectrum="magnitude",
                             power=1.0, db=True, ref="max", amin=1e-10, top_db=80.0)
