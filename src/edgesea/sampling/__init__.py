"""Informed sampling of windows (random, relevance, k-DPP diversity, both;
:mod:`.samplers`) and the k-DPP arithmetic (:mod:`.kdpp`).
"""

from edgesea.sampling.samplers import (
    MODES,
    DPPSampler,
    RandomSampler,
    RelevanceSampler,
    make_sampler,
    relevance_minmax,
    relevance_percentile,
)

__all__ = [
    "MODES",
    "DPPSampler",
    "RandomSampler",
    "RelevanceSampler",
    "make_sampler",
    "relevance_minmax",
    "relevance_percentile",
]
