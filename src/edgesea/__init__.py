"""edgesea: Specialized Embedding Approximation (SEA) of audio embedding models for
microcontrollers.

Public API (edgel3-compatible)::

    emb, ts = edgesea.get_embedding(audio, sr, model="student.safetensors", hop_size=0.1)
    edgesea.process_file("clip.wav", output_dir="out/", model="student.safetensors")
    stream = edgesea.StreamEmbedder(sr=16000); emb, ts = stream.push(chunk)  # live audio

edgel3 code runs unchanged on ``import edgesea.edgel3 as edgel3`` (edgel3 0.2.1's names,
signatures and defaults, and its command line as ``python -m edgesea.edgel3``; see
``docs/edgel3.md``).

The namespace is lazy (PEP 562): ``import edgesea`` and ``import edgesea.zoo`` do not import
torch; a name is imported from its module on first use. The package layout is described in
``docs/architecture.md``; old module paths keep working through :mod:`edgesea._aliases`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from edgesea import _aliases
from edgesea._version import __version__
from edgesea.errors import EdgeSEAError, EdgeSEAWarning

if TYPE_CHECKING:
    from edgesea.audio.io import load_audio
    from edgesea.inference.api import get_embedding, get_model
    from edgesea.inference.process import process_file
    from edgesea.inference.stream import StreamEmbedder
    from edgesea.models.footprint import footprint
    from edgesea.models.io import load_model, save_model

__all__ = ["EdgeSEAError", "EdgeSEAWarning", "StreamEmbedder", "__version__", "footprint",
           "get_embedding", "get_model", "load_audio", "load_model", "process_file",
           "save_model"]

#: Public name -> the module that defines it (imported on first use).
_LAZY = {"footprint": "edgesea.models.footprint", "get_embedding": "edgesea.inference.api",
         "get_model": "edgesea.inference.api", "load_audio": "edgesea.audio.io",
         "load_model": "edgesea.models.io", "process_file": "edgesea.inference.process",
         "save_model": "edgesea.models.io", "StreamEmbedder": "edgesea.inference.stream"}

_aliases.install()


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        # on use: edgesea.core imports numpy, which `import edgesea` alone does not need
        from edgesea.core.lazy import import_for

        value = getattr(import_for(_LAZY[name], f"edgesea.{name}"), name)
        globals()[name] = value
        return value
    old = f"{__name__}.{name}"
    if old in _aliases.MODULES:  # an old module path used as an attribute (edgesea.api)
        return importlib.import_module(old)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
