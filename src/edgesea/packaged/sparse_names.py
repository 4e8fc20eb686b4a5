"""The names of the packaged sparse models and edgel3's sparsity / ``retrain_type`` rules.

A packaged sparse model is ``edgesea/pretrained/sparse_aisfx_<level>_<retrain>.safetensors``:
``<level>`` is the edgel3 level as Python writes the float (``95.45``, ``87.0``) and
``<retrain>`` is ``kd`` or ``oneshot``; ``'ft'`` (edgel3's default) is refused because it
needs L3-Net's audio-visual task. Names only: the files are read by :mod:`edgesea.sparse`.
"""

from __future__ import annotations

import math
import re

from edgesea.errors import EdgeSEAError

__all__ = ["FT_UNAVAILABLE", "RETRAIN_CHOICES", "SPARSITY_LEVELS", "check_retrain",
           "check_sparsity", "packaged_name", "parse_packaged_name"]

#: The sparsity levels edgel3 offers (``get_embedding(..., sparsity=...)``); the pruning
#: profiles of :data:`edgesea.sparse.prune.PROFILES` are keyed by them.
SPARSITY_LEVELS: tuple[float, ...] = (53.5, 63.5, 72.3, 87.0, 95.45)


def check_sparsity(sparsity: object) -> float:
    """Validate an edgel3 sparsity level -> the level as a float.

    Raises
    ------
    EdgeSEAError
        Not one of :data:`SPARSITY_LEVELS` (the message lists them, as edgel3's does).
    """
    levels = ", ".join(f"{s:g}" for s in SPARSITY_LEVELS)
    if isinstance(sparsity, bool) or not isinstance(sparsity, int | float):
        raise EdgeSEAError(f"invalid sparsity value {sparsity!r}: expected one of {levels}")
    for s in SPARSITY_LEVELS:
        if math.isclose(float(sparsity), s, abs_tol=1e-9):
            return s
    raise EdgeSEAError(f"invalid sparsity value {sparsity!r}: expected one of {levels}")


#: ``retrain_type`` values: edgel3's ``ft`` (refused) and ``kd``, and ``oneshot`` (no
#: retraining).
RETRAIN_CHOICES = ("ft", "kd", "oneshot")
#: Why ``retrain_type='ft'`` is refused, and the one-line fix.
FT_UNAVAILABLE = (
    "retrain_type='ft' (fine-tuning, edgel3's default) retrains the pruned network on "
    "L3-Net's audio-visual correspondence task, which needs video and L3-Net's image "
    "network: not available in edgesea. Use retrain_type='kd' (retrained to reproduce the "
    "dense teacher's embeddings; the packaged sparse models are 'kd'), e.g. "
    "get_embedding(audio, sr, model_type='sparse', sparsity=95.45, retrain_type='kd')")
_NAME = re.compile(r"sparse_aisfx_(?P<level>\d+\.\d+)_(?P<retrain>kd|oneshot)")


def check_retrain(retrain_type: object) -> str:
    """Validate ``retrain_type`` -> ``"kd"`` or ``"oneshot"``.

    Raises
    ------
    EdgeSEAError
        ``'ft'`` (:data:`FT_UNAVAILABLE`) or any other value.
    """
    if retrain_type == "ft":
        raise EdgeSEAError(FT_UNAVAILABLE)
    if not isinstance(retrain_type, str) or retrain_type not in RETRAIN_CHOICES:
        raise EdgeSEAError(f"invalid retrain_type={retrain_type!r}: expected 'kd' "
                           "(knowledge distilled) or 'oneshot' (pruned, not retrained); "
                           "edgel3's 'ft' needs video")
    return retrain_type


def packaged_name(sparsity: object, retrain_type: object = "kd") -> str:
    """``"sparse_aisfx_<level>_<retrain>"``, e.g. ``sparse_aisfx_95.45_kd``.

    Raises
    ------
    EdgeSEAError
        An invalid level (the message lists the valid ones) or retraining type.
    """
    return f"sparse_aisfx_{check_sparsity(sparsity)!r}_{check_retrain(retrain_type)}"


def parse_packaged_name(name: object) -> tuple[float, str] | None:
    """``"sparse_aisfx_95.45_kd"`` -> ``(95.45, "kd")``; None for any other string."""
    m = _NAME.fullmatch(name) if isinstance(name, str) else None
    if m is None:
        return None
    level = float(m["level"])
    if level not in SPARSITY_LEVELS or packaged_name(level, m["retrain"]) != name:
        return None
    return level, m["retrain"]
