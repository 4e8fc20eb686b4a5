"""What the sparse tests share within one pytest session: the dense aisfx teacher and its
one-shot prunings (magnitude pruning of 4.7 M weights costs about a second a level)."""

from __future__ import annotations

import copy

import pytest
import torch

from edgesea.errors import EdgeSEAError
from edgesea.sparse.prune import apply_masks, magnitude_masks

_TEACHER: list = []
_PRUNED: dict[tuple, tuple] = {}


def dense_teacher():
    """The dense aisfx teacher (one per session); skips when its weights are missing."""
    from edgesea.teachers.aisfx import AisfxTeacher

    if not _TEACHER:
        try:
            _TEACHER.append(AisfxTeacher())
        except EdgeSEAError as e:
            pytest.skip(str(e))
    return _TEACHER[0]


def pruned(level: float, **kw) -> tuple[torch.nn.Module, dict[str, torch.Tensor]]:
    """A fresh copy of the aisfx network pruned one-shot at ``level`` (``kw``: as
    :func:`~edgesea.sparse.prune.magnitude_masks`), and its keep-masks."""
    key = (level, *sorted(kw.items()))
    if key not in _PRUNED:
        net = copy.deepcopy(dense_teacher().net)
        masks = magnitude_masks(net, level, **kw)
        apply_masks(net, masks)
        _PRUNED[key] = (net, masks)
    net, masks = _PRUNED[key]
    return copy.deepcopy(net), {k: m.clone() for k, m in masks.items()}
