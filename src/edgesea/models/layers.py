"""The forward pass shared by a trainable model and its inference copy: log-mel -> trunk ->
head, optionally with channels-last activations."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["global_pool", "trunk_and_head"]


def global_pool(x: torch.Tensor, mode: str) -> torch.Tensor:
    """Pool a ``(B, C, H, W)`` feature map to ``(B, C)`` (``max``, ``mean``) or ``(B, 2C)``
    (``meanmax``: mean then max)."""
    if mode == "max":
        return x.amax(dim=(2, 3))
    if mode == "mean":
        return x.mean(dim=(2, 3))
    return torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)


def trunk_and_head(net: nn.Module, logmel: torch.Tensor,
                   channels_last: bool = False) -> torch.Tensor:
    """``net``'s output for log-mel windows ``(B, n_mels, n_frames)``: input BatchNorm (if
    any), trunk, global pool, projection (if any)."""
    x = logmel.unsqueeze(1)
    if net.input_bn is not None:
        x = net.input_bn(x)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x = global_pool(net.features(x), net.config.global_pool)
    if net.projection is not None:
        x = net.projection(x)
    return x
