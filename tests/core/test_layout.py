"""The package layout's rules (docs/architecture.md): old import paths hand back the same
module objects, the lazy namespaces import torch only on use, no import circle, no module
over 400 lines."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import edgesea
from edgesea import _aliases

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "edgesea"


@pytest.mark.parametrize("old", sorted(_aliases.MODULES))
def test_old_module_path_is_the_same_module(old: str) -> None:
    new = importlib.import_module(_aliases.MODULES[old])
    assert importlib.import_module(old) is new
    assert sys.modules[old] is new


def test_patching_an_old_path_patches_the_real_module(monkeypatch) -> None:
    import edgesea.api

    import edgesea.inference.api

    monkeypatch.setattr(edgesea.api, "_CACHE_SIZE", 3)
    assert edgesea.inference.api._CACHE_SIZE == 3


@pytest.mark.parametrize("package,name", [(p, n) for p, names in sorted(_aliases.NAMES.items())
                                          for n in sorted(names)])
def test_moved_names_are_the_same_objects(package: str, name: str) -> None:
    target = importlib.import_module(_aliases.NAMES[package][name])
    assert getattr(importlib.import_module(package), name) is getattr(target, name)


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        edgesea.nope  # noqa: B018
    import edgesea.sparse as sparse

    with pytest.raises(AttributeError):
        sparse.nope  # noqa: B018


@pytest.mark.parametrize("code", [
    "import edgesea, edgesea.zoo; edgesea.zoo.resolve_model('sea_urban_64')",
    "import edgesea.cli",
    "from edgesea.cli import app; from typer.testing import CliRunner;"
    " r = CliRunner().invoke(app, ['models']); assert r.exit_code == 0, r.output",
    "from edgesea.cli import app; from typer.testing import CliRunner;"
    " r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output",
])
def test_light_paths_do_not_import_torch(code: str) -> None:
    check = code + "; import sys; assert 'torch' not in sys.modules, 'torch imported'"
    res = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]


def test_torch_is_imported_on_use() -> None:
    res = subprocess.run([sys.executable, "-c", "import sys, edgesea; edgesea.get_model;"
                          "print('torch' in sys.modules)"], capture_output=True, text=True)
    assert res.stdout.strip() == "True", res.stderr[-2000:]


def test_no_import_circle() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from import_cycles import circles
    finally:
        sys.path.pop(0)
    assert circles() == []


def test_no_module_over_400_lines() -> None:
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}


def test_every_module_says_what_it_does() -> None:
    missing = []
    for p in SRC.rglob("*.py"):
        if p.name == "__main__.py":
            continue
        if not p.read_text().lstrip().startswith(('"""', 'r"""')):
            missing.append(str(p.relative_to(SRC)))
    assert missing == []
