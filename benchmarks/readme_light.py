"""Run the README's embedding samples (the python and sh blocks of "Quick start", up to
"Switching from edgel3" included) with a given interpreter, e.g. the light install's:
``/tmp/lightvenv/bin/python benchmarks/readme_light.py`` from the repository root. Each
block runs in a scratch copy of ``examples/``; prints one line per block and whether torch
was importable there."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def blocks() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Quick start")
    end = text.index("\n## ", start + 10)
    return re.findall(r"```(python|sh)\n(.*?)```", text[start:end], flags=re.S)


def main() -> None:
    try:
        import torch  # noqa: F401
        torch_here = True
    except ImportError:
        torch_here = False
    print(f"{sys.executable}: torch importable: {torch_here}")
    edgesea = shutil.which("edgesea", path=os.path.dirname(sys.executable)) or "edgesea"
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(ROOT / "examples", Path(tmp) / "examples")
        for i, (lang, code) in enumerate(blocks(), 1):
            if lang == "python":
                r = subprocess.run([sys.executable, "-c", code], cwd=tmp, capture_output=True,
                                   text=True)
                ok = r.returncode == 0
                print(f"block {i} (python): {'ok' if ok else 'FAILED'}")
                if not ok:
                    print(r.stderr[-2000:])
                continue
            for line in code.splitlines():
                cmd = line.split("#")[0].strip()
                if not cmd.startswith("edgesea "):
                    continue
                r = subprocess.run([edgesea, *shlex.split(cmd)[1:]], cwd=tmp,
                                   capture_output=True, text=True)
                print(f"block {i} (sh): {cmd}: {'ok' if r.returncode == 0 else 'FAILED'}")
                if r.returncode:
                    print(r.stderr[-2000:])


if __name__ == "__main__":
    main()
