"""Lazy package namespaces (PEP 562), as ``lazy_loader.attach`` does: a package lists which
module defines each public name, and a name's module is imported on first use, so importing
a package (or one light module of it) does not import torch."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["attach"]


def attach(package: str, exports: dict[str, list[str]]
           ) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package`` whose public names are defined in
    its submodules: ``exports`` maps a submodule (relative name, e.g. ``"api"``) to the names
    it defines.

    Examples
    --------
    >>> __getattr__, __dir__, __all__ = attach(__name__, {"api": ["get_embedding"]})
    """
    where = {name: f"{package}.{module}" for module, names in exports.items() for name in names}
    names = sorted(where)

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(names) | set(vars(sys.modules[package])))

    return __getattr__, __dir__, names
