"""edgel3's exception (``edgel3.edgel3_exceptions``): :class:`EdgeL3Error`, the same class as
:class:`~edgesea.errors.EdgeSEAError`, so ``except edgel3.EdgeL3Error`` catches every error
edgesea raises."""

from __future__ import annotations

from edgesea.errors import EdgeSEAError

__all__ = ["EdgeL3Error"]

#: edgel3's error type: the same class as :class:`~edgesea.errors.EdgeSEAError`.
EdgeL3Error = EdgeSEAError
