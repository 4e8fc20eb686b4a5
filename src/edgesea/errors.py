"""Exception and warning types raised by edgesea.

Every invalid input raises :class:`EdgeSEAError` with a message that says what was wrong
and what is accepted; recoverable oddities (silent audio, audio shorter than one window)
emit :class:`EdgeSEAWarning`.
"""

from __future__ import annotations

__all__ = ["EdgeSEAError", "EdgeSEAWarning"]


class EdgeSEAError(Exception):
    """An input, file or setting that edgesea cannot accept."""


class EdgeSEAWarning(UserWarning):
    """Something unusual that edgesea handled (e.g. silent or very short audio)."""
