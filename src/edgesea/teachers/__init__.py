"""Teachers: big pretrained embedding models behind one small interface (:class:`Teacher`)."""

from .base import Teacher, identity_hash

__all__ = ["Teacher", "identity_hash"]
