"""The one table of old import paths: modules and names that moved in the 0.1 layout
redesign, and the import hook that hands back the module object at the new path.

``import edgesea.api`` gives the very module object ``edgesea.inference.api`` (so patching
``edgesea.api.x`` patches the real module); ``from edgesea.sparse import build_sparse_model``
gives the function now defined in :mod:`edgesea.prune.build`. Old module paths that are
package names today (``edgesea.audio``, ``edgesea.store``, ``edgesea.zoo`` ...) are the
packages, which re-export the public names of the old module; patch the defining module
(e.g. ``edgesea.audio.io``) there. ``docs/architecture.md`` lists the layout.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any

__all__ = ["MODULES", "NAMES", "install", "moved_name"]

#: Old module path -> the module that now holds its code.
MODULES: dict[str, str] = {
    "edgesea.advice": "edgesea.specialize.advice",
    "edgesea.api": "edgesea.inference.api",
    "edgesea.audio_stream": "edgesea.audio.stream",
    "edgesea.augstore": "edgesea.augment.bank",
    "edgesea.batching": "edgesea.inference.batching",
    "edgesea.datasets": "edgesea.evaluate.datasets",
    "edgesea.distill_checkpoint": "edgesea.distill.checkpoint",
    "edgesea.distill_config": "edgesea.distill.config",
    "edgesea.distill_metrics": "edgesea.distill.metrics",
    "edgesea.distill_stage": "edgesea.specialize.distill_job",
    "edgesea.distributed.ddp": "edgesea.specialize.ddp_job",
    "edgesea.eval_report": "edgesea.evaluate.report",
    "edgesea.evaluate_run": "edgesea.evaluate.run",
    "edgesea.export.embedder": "edgesea.inference.int8",
    "edgesea.export.frontend_spec": "edgesea.runtime.frontend_spec",
    "edgesea.export.runtime": "edgesea.runtime.litert",
    "edgesea.export.spec_reader": "edgesea.runtime.spec_reader",
    "edgesea.extract_decode": "edgesea.extract.decode",
    "edgesea.fileio": "edgesea.core.fileio",
    "edgesea.kdpp": "edgesea.sampling.kdpp",
    "edgesea.loudness": "edgesea.audio.loudness",
    "edgesea.mel": "edgesea.frontend.mel",
    "edgesea.outputs": "edgesea.inference.outputs",
    "edgesea.pipeline": "edgesea.specialize.pipeline",
    "edgesea.presets": "edgesea.frontend.presets",
    "edgesea.process": "edgesea.inference.process",
    "edgesea.provenance": "edgesea.inference.provenance",
    "edgesea.report": "edgesea.specialize.report",
    "edgesea.safe_json": "edgesea.core.safe_json",
    "edgesea.settings": "edgesea.core.settings",
    "edgesea.sparse.build": "edgesea.prune.build",
    "edgesea.sparse.retrain": "edgesea.prune.retrain",
    "edgesea.specialize_config": "edgesea.specialize.config",
    "edgesea.stages": "edgesea.specialize.stages",
    "edgesea.store_arrays": "edgesea.store.arrays",
    "edgesea.store_integrity": "edgesea.store.integrity",
    "edgesea.store_synth": "edgesea.store.synth",
    "edgesea.tiers": "edgesea.packaged.tiers",
    "edgesea.views": "edgesea.teachers.views",
}

#: Package -> {old public name: the module that now defines it}, for names that left the
#: package they were imported from.
NAMES: dict[str, dict[str, str]] = {
    "edgesea.inference.api": {"iter_process_files": "edgesea.inference.process",
                              "output_path": "edgesea.inference.process",
                              "process_file": "edgesea.inference.process"},
    "edgesea.inference.int8": {"iter_embed_files": "edgesea.inference.process"},
    "edgesea.specialize.distill_job": {"distill_parallel": "edgesea.specialize.ddp_job"},
    "edgesea.specialize.ddp_job": {"Parallel": "edgesea.distill.parallel"},
    "edgesea.sparse": {"BuildResult": "edgesea.prune.build",
                       "build_sparse_model": "edgesea.prune.build",
                       "save_packaged": "edgesea.prune.build"},
}


def moved_name(package: str, name: str) -> Any:
    """The object an old ``from <package> import <name>`` meant, or AttributeError."""
    target = NAMES.get(package, {}).get(name)
    if target is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return getattr(importlib.import_module(target), name)


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:  # already executed at its new path
        return None


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None
                  ) -> importlib.machinery.ModuleSpec | None:
        new = MODULES.get(fullname)
        if new is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(new))


def install() -> None:
    """Put the old-path finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.append(_AliasFinder())
