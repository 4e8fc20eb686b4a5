"""A base for the JSON-able settings dataclasses (training, augmentation, specialize)."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, TypeVar

from edgesea.errors import EdgeSEAError

__all__ = ["Settings"]

S = TypeVar("S", bound="Settings")


class Settings:
    """Mixin for dataclasses: :meth:`to_dict` and a :meth:`from_dict` that names unknown
    keys in an :class:`~edgesea.errors.EdgeSEAError` (``_what`` says whose settings)."""

    _what = "settings"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able settings."""
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[S], data: dict[str, Any]) -> S:
        """Inverse of :meth:`to_dict` (unknown keys are an error)."""
        if not isinstance(data, dict):
            raise EdgeSEAError(f"{cls._what} must be a JSON object, got {type(data).__name__}")
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - names)
        if unknown:
            raise EdgeSEAError(f"unknown {cls._what} {unknown}: expected some of "
                               f"{sorted(names)}")
        return cls(**data)
