"""Optional dependencies and the extras that provide them.

``pip install edgesea`` is the inference install (NumPy front ends, ONNX Runtime and LiteRT
networks); ``edgesea[train]`` adds torch and the pipeline (teacher embedding, specialize,
evaluate, export, prune). :func:`require` imports an optional module or raises
:class:`~edgesea.errors.MissingExtraError` naming the extra to install; :func:`has_torch`
says, without importing it, whether torch is installed.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType

from edgesea.errors import MissingExtraError

__all__ = ["EXTRA_OF", "has_torch", "is_torch_module", "require", "require_torch"]

#: The extra that installs each optional top-level package.
EXTRA_OF = {"torch": "train", "scipy": "train", "sklearn": "train", "matplotlib": "train",
            "onnx": "", "onnxruntime": "", "ai_edge_litert": "", "onnxscript": "export",
            "litert_torch": "export", "tflite": "export", "tflite_micro": "export",
            "torchao": "export", "pyarrow": "parquet", "av": "av", "ray": "ray",
            "umap": "umap", "h5py": "h5"}


def _hint(module: str) -> str:
    extra = EXTRA_OF.get(module.split(".")[0])
    if extra is None:
        return f"pip install {module.split('.')[0]}"
    return f"pip install edgesea[{extra}]" if extra else "pip install --force-reinstall edgesea"


def require(module: str, what: str) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtraError` saying that ``what`` needs it
    and which ``pip install`` provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingExtraError(f"{what} needs the package providing {module!r}, which is not "
                                f"installed ({e}): run `{_hint(module)}`") from e


def has_torch() -> bool:
    """Whether torch can be imported (checked without importing it)."""
    if "torch" in sys.modules:
        return sys.modules["torch"] is not None
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def require_torch(what: str) -> ModuleType:
    """torch, or :class:`MissingExtraError` saying that ``what`` needs ``edgesea[train]``."""
    return require("torch", what)


def is_torch_module(obj: object) -> bool:
    """Whether ``obj`` is a ``torch.nn.Module`` (without importing torch: a module object
    exists only once torch is imported)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)
