"""Every third-party package the inference install imports is one of its declared
dependencies (``pip install edgesea`` alone must run the CLI and the embedding API)."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "edgesea"
#: The modules of the inference install (no torch): what `pip install edgesea` runs.
LIGHT = ["core", "audio", "packaged", "zoo", "light", "inference", "cli", "edgel3",
         "frontend/mel.py", "runtime/litert.py", "runtime/spec_reader.py",
         "runtime/frontend_spec.py", "sparse/arrays.py", "sparse/file_checks.py",
         "sparse/packaged.py", "models/validate.py", "hear.py", "errors.py", "_aliases.py",
         "__init__.py"]
#: Modules of those packages that only the train install imports (lazily, inside functions):
#: the loudness relevance of the sampler, the torch students' batcher.
TRAIN_ONLY = {"audio/loudness.py", "inference/batching.py"}


def _module_level_imports(path: Path) -> set[str]:
    """Top-level names imported at module level, outside ``if`` blocks (TYPE_CHECKING and
    optional imports) and functions."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _declared() -> set[str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {re.split(r"[<>=!~ \[;]", d, maxsplit=1)[0].lower().replace("_", "-") for d in deps}


def test_light_modules_import_only_declared_packages():
    files = []
    for entry in LIGHT:
        p = SRC / entry
        files += sorted(p.rglob("*.py")) if p.is_dir() else [p]
    files = [f for f in files if f.relative_to(SRC).as_posix() not in TRAIN_ONLY]
    imported = set().union(*(_module_level_imports(f) for f in files))
    dists = md.packages_distributions()
    third_party = {n for n in imported if n in dists and n != "edgesea"}
    needed = {dists[n][0].lower().replace("_", "-") for n in third_party}
    missing = needed - _declared()
    assert not missing, (f"imported at module level by the inference install but not in "
                         f"[project].dependencies: {sorted(missing)}")
