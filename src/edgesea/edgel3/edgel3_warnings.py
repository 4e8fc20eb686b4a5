"""edgel3's warning (``edgel3.edgel3_warnings``): :class:`EdgeL3Warning`, the same class as
:class:`~edgesea.errors.EdgeSEAWarning` (silent or short audio)."""

from __future__ import annotations

from edgesea.errors import EdgeSEAWarning

__all__ = ["EdgeL3Warning"]

#: edgel3's warning type: :class:`~edgesea.errors.EdgeSEAWarning`.
EdgeL3Warning = EdgeSEAWarning
