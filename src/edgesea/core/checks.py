"""Parameter checks shared by every stage: sample rates, hop sizes and flags, with errors
that say what was wrong and what is accepted."""

from __future__ import annotations

import math
import numbers

import numpy as np

from edgesea.errors import EdgeSEAError

__all__ = ["MAX_SAMPLE_RATE", "MIN_SAMPLE_RATE", "check_flag", "check_hop_size",
           "check_sample_rate"]

#: The sample rates accepted anywhere (Hz).
MIN_SAMPLE_RATE = 100.0
MAX_SAMPLE_RATE = 1_536_000.0


def check_sample_rate(sr: object, name: str = "sr") -> float:
    """Return ``sr`` as a float after checking it is a finite positive number.

    Raises
    ------
    EdgeSEAError
        If ``sr`` is not a real number (booleans and strings included) or is not > 0.
    """
    if isinstance(sr, bool | np.bool_) or not isinstance(sr, numbers.Real):
        raise EdgeSEAError(
            f"invalid sample rate {name}={sr!r} ({type(sr).__name__}): expected a positive "
            "number of samples per second, e.g. 16000 or 44100.0")
    value = float(sr)
    if not math.isfinite(value) or value <= 0:
        raise EdgeSEAError(
            f"invalid sample rate {name}={sr!r}: expected a finite number > 0, e.g. 16000")
    if not MIN_SAMPLE_RATE <= value <= MAX_SAMPLE_RATE:
        raise EdgeSEAError(
            f"invalid sample rate {name}={sr!r}: expected {MIN_SAMPLE_RATE:g} to "
            f"{MAX_SAMPLE_RATE:g} samples per second (audio rates), e.g. 16000")
    return value


def check_hop_size(hop_size: object) -> float:
    """Return ``hop_size`` (seconds) as a float after checking it is finite and > 0."""
    if isinstance(hop_size, bool | np.bool_) or not isinstance(hop_size, numbers.Real):
        raise EdgeSEAError(
            f"invalid hop_size={hop_size!r}: expected a positive number of seconds, e.g. 0.1")
    value = float(hop_size)
    if not math.isfinite(value) or value <= 0:
        raise EdgeSEAError(
            f"invalid hop_size={hop_size!r}: expected a finite number of seconds > 0, e.g. 0.1")
    return value


def check_flag(value: object, name: str) -> bool:
    """Return ``value`` as a bool after checking it is one: True/False or the integers 0/1.

    edgel3 takes ``center`` and ``verbose`` as ``True``/``False`` or ``0``/``1``; anything
    else (``-1``, ``2``, ``0.5``, ``"x"``, None, arrays) is refused rather than read as
    truthy.

    Raises
    ------
    EdgeSEAError
        If ``value`` is not a bool (Python or NumPy) or an integer equal to 0 or 1.
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer) and value in (0, 1):
        return bool(value)
    raise EdgeSEAError(f"invalid {name}={value!r}: expected True or False (or 0 or 1)")
