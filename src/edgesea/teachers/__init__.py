"""Teachers: big pretrained embedding models behind one small interface (:class:`Teacher`).

- :class:`~edgesea.teachers.aisfx.AisfxTeacher`: the default, shipped on PyPI with its weights
  (``pip install --no-deps aisfx==0.1.2``);
- :class:`~edgesea.teachers.openl3.OpenL3Teacher`: OpenL3 Keras ``.h5`` weights, if you have them;
- :class:`~edgesea.teachers.model.ModelTeacher`: any edgesea model (e.g. a large student).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgesea.core.lazy import attach

if TYPE_CHECKING:
    from edgesea.teachers.aisfx import (
        AisfxTeacher as AisfxTeacher,
    )
    from edgesea.teachers.base import (
        Teacher as Teacher,
    )
    from edgesea.teachers.base import (
        identity_hash as identity_hash,
    )
    from edgesea.teachers.openl3 import (
        OpenL3Teacher as OpenL3Teacher,
    )
    from edgesea.teachers.openl3 import (
        load_openl3_h5 as load_openl3_h5,
    )

__getattr__, __dir__, __all__ = attach(__name__, {
    "aisfx": ["AisfxTeacher"],
    "base": ["Teacher", "identity_hash"],
    "openl3": ["OpenL3Teacher", "load_openl3_h5"],
})
