"""Exception and warning types raised by edgesea.

Every invalid input raises :class:`EdgeSEAError` with a message that says what was wrong
and what is accepted; recoverable oddities (silent audio, audio shorter than one window)
emit :class:`EdgeSEAWarning`. Subclasses also inherit the standard type, as scikit-learn's
do: :class:`ParameterError` is a :class:`ValueError`, :class:`MissingExtraError` an
:class:`ImportError`.
"""

from __future__ import annotations

__all__ = ["EdgeSEAError", "EdgeSEAWarning", "MissingExtraError", "ParameterError"]


class EdgeSEAError(Exception):
    """An input, file or setting that edgesea cannot accept."""


class ParameterError(EdgeSEAError, ValueError):
    """A parameter value outside what is accepted (also a :class:`ValueError`)."""


class MissingExtraError(EdgeSEAError, ImportError):
    """An optional dependency is not installed; the message names the extra to install
    (also an :class:`ImportError`)."""


class EdgeSEAWarning(UserWarning):
    """Something unusual that edgesea handled (e.g. silent or very short audio)."""
