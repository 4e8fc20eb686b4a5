"""List imports of ``_private`` names across subpackage boundaries in ``src/edgesea`` and
in-function imports of edgesea's own modules (those must say why: a comment on the line
or the line above naming an optional extra or the start-up cost).

    python tools/import_rules.py [-v]     exit status 1 when a private name crosses or an
                                             in-function import gives no reason
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 else parts[0]


def _has_reason(lines: list[str], i: int) -> bool:
    """A comment on the import's line or on the lines of its block of imports above it."""
    if "#" in lines[i]:
        return True
    j = i - 1
    while j >= 0 and (not lines[j].strip() or lines[j].strip().startswith(
            ("from ", "import ", "#", ")", "edgesea"))):
        if "#" in lines[j]:
            return True
        j -= 1
    return False


def scan() -> tuple[list[str], list[str], list[str]]:
    """``(private crossings, in-function imports with a reason, without one)``."""
    crossings, explained, unexplained = [], [], []
    for path in sorted((SRC / "edgesea").rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        here = module if rel.name == "__init__" else module.rsplit(".", 1)[0]
        lines = path.read_text().splitlines()
        tree = ast.parse("\n".join(lines))
        in_function = {id(n) for f in ast.walk(tree)
                       if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                       for n in ast.walk(f)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith(
                    "edgesea"):
                continue
            where = f"{path.relative_to(SRC)}:{node.lineno}"
            target_pkg = _package(node.module)
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__") \
                        and target_pkg != _package(here + ".x"):
                    crossings.append(f"{where} {node.module}.{alias.name}")
            if id(node) in in_function:
                (explained if _has_reason(lines, node.lineno - 1) else unexplained).append(
                    f"{where} {node.module}")
    return crossings, explained, unexplained


def main() -> int:
    crossings, explained, unexplained = scan()
    print(f"{len(crossings)} private names across subpackages; in-function imports of "
          f"edgesea modules: {len(explained)} with a reason, {len(unexplained)} without")
    if "-v" in sys.argv:
        for line in [*crossings, "-- without a reason:", *unexplained]:
            print("  " + line)
    return 1 if crossings or unexplained else 0


if __name__ == "__main__":
    raise SystemExit(main())
