"""Lazy package namespaces (PEP 562), as ``lazy_loader.attach`` does: a package lists which
module defines each public name, and a name's module is imported on first use, so importing
a package (or one light module of it) does not import torch."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

from edgesea.errors import MissingExtraError

__all__ = ["attach", "import_for"]

#: Packages of the ``train`` extra (the inference install has none of them).
TRAIN_PACKAGES = ("torch", "scipy", "sklearn", "matplotlib")


def import_for(module: str, name: str) -> Any:
    """``importlib.import_module(module)`` for the public name ``name``; in the inference
    install, a module that needs the ``train`` extra raises
    :class:`~edgesea.errors.MissingExtraError` saying so."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] not in TRAIN_PACKAGES:
            raise
        raise MissingExtraError(f"{name} needs {e.name!r}, which the inference install does "
                                "not have: run `pip install edgesea[train]`") from e


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
        value = getattr(import_for(module, f"{package}.{name}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(names) | set(vars(sys.modules[package])))

    return __getattr__, __dir__, names
