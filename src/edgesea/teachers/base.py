"""The teacher interface: what SEA needs from a big pretrained embedding model.

A teacher embeds batches of equal-length mono windows at its own sample rate. Windows are cut
with :func:`edgesea.audio.io.frame_audio` exactly like the students' windows, so a teacher window
and a student window with the same index cover the same seconds of audio.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

__all__ = ["Teacher", "identity_hash"]


@runtime_checkable
class Teacher(Protocol):
    """Protocol every teacher implements.

    Attributes
    ----------
    name : str
        Short name (``"aisfx"``, ``"openl3"``, ...).
    sample_rate : int
        Rate the windows passed to :meth:`embed` must have.
    window : float
        Window length in seconds (``window_samples = round(window * sample_rate)``).
    emb_dim : int
        Embedding dimension.
    identity : str
        Stable hash of the weights and preprocessing settings: equal identities give equal
        embeddings. Stores record it so stale embeddings are never mixed.
    """

    name: str
    sample_rate: int
    window: float
    emb_dim: int
    identity: str

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """Embed ``(B, window_samples)`` float32 windows -> ``(B, emb_dim)`` float32."""
        ...


def identity_hash(state: dict[str, torch.Tensor], settings: dict[str, Any]) -> str:
    """SHA-256 (hex, first 16 chars) of tensor names/shapes/bytes and JSON settings."""
    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]
