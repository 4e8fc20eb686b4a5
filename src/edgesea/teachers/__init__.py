"""Teachers: big pretrained embedding models behind one small interface (:class:`Teacher`).

- :class:`~edgesea.teachers.aisfx.AisfxTeacher`: the default, shipped on PyPI with its weights
  (``pip install --no-deps aisfx==0.1.2``);
- :class:`~edgesea.teachers.openl3.OpenL3Teacher`: OpenL3 Keras ``.h5`` weights, if you have them;
- :class:`~edgesea.teachers.model.ModelTeacher`: any edgesea model (e.g. a large student).
"""

from edgesea.teachers.aisfx import AisfxTeacher
from edgesea.teachers.base import Teacher, identity_hash
from edgesea.teachers.openl3 import OpenL3Teacher, load_openl3_h5

__all__ = ["AisfxTeacher", "OpenL3Teacher", "Teacher", "identity_hash", "load_openl3_h5"]
