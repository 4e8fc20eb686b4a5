"""The thread count a user asked for through ``OMP_NUM_THREADS`` (as torch, NumPy's BLAS and
ONNX Runtime read it), read in one place for every runtime that sizes a pool by it."""

from __future__ import annotations

import os

__all__ = ["cpu_threads", "env_threads"]


def env_threads() -> int | None:
    """``OMP_NUM_THREADS`` as a positive integer, or None when it is unset, empty, zero or not
    a whole number (the runtime's own default then applies)."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def cpu_threads() -> int:
    """:func:`env_threads` when set, else the CPU count (at least 1)."""
    return env_threads() or max(1, os.cpu_count() or 1)
