"""The inference install against the full one, measured in one run: installed size,
``import edgesea`` time, and peak RSS and time of embedding a 10-minute file.

Each venv is given by its folder (``--light``: ``pip install .``, no extras; ``--full``: the
install before the split, or ``pip install .[train]``). Every figure comes from fresh
interpreters of that venv (median of ``--repeats`` imports; one embedding run, its peak RSS
from ``resource.getrusage``). Usage::

    python benchmarks/light_install.py --light /tmp/lightvenv --full /tmp/oldvenv
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

EMBED = """
import json, resource, sys, time
t0 = time.perf_counter()
import edgesea
emb = edgesea.process_file(sys.argv[1], sys.argv[2], hop_size=0.1, overwrite=True)
wall = time.perf_counter() - t0
print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "wall_s": wall, "torch": "torch" in sys.modules}))
"""
IMPORT = ("import time; t = time.perf_counter(); import edgesea; "
          "print(time.perf_counter() - t)")


def site_size(venv: Path) -> float:
    """MB of the venv's site-packages."""
    site = next(venv.glob("lib/python*/site-packages"))
    total = sum(f.stat().st_size for f in site.rglob("*") if f.is_file() and not f.is_symlink())
    return total / 1e6


def measure(venv: Path, wav: str, out: str, repeats: int) -> dict:
    py = str(venv / "bin" / "python")
    env = {**os.environ, "OMP_NUM_THREADS": "2", "PYTHONPATH": ""}
    imports = [float(subprocess.run([py, "-c", IMPORT], capture_output=True, text=True,
                                    env=env, check=True).stdout) for _ in range(repeats)]
    has_torch = subprocess.run([py, "-c", "import torch"], capture_output=True,
                               env=env).returncode == 0
    run = subprocess.run([py, "-c", EMBED, wav, out], capture_output=True, text=True, env=env,
                         check=True)
    return {"size_mb": site_size(venv), "import_s": statistics.median(imports),
            "torch_importable": has_torch, **json.loads(run.stdout.strip().splitlines()[-1])}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--light", type=Path, required=True)
    p.add_argument("--full", type=Path, required=True)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "long.wav")
        sr = 16000
        x = 0.1 * np.random.default_rng(0).standard_normal(int(args.minutes * 60 * sr))
        sf.write(wav, x.astype(np.float32), sr)
        rows = {name: measure(venv, wav, os.path.join(tmp, name), args.repeats)
                for name, venv in (("full", args.full), ("light", args.light))}
    print(f"{args.minutes:g}-minute file, 16 kHz, hop 0.1 s, 2 threads")
    print(f"{'install':<8} {'site-packages MB':>16} {'import s':>9} {'torch?':>7} "
          f"{'embed s':>8} {'peak RSS MB':>12}")
    for name, r in rows.items():
        print(f"{name:<8} {r['size_mb']:>16.0f} {r['import_s']:>9.3f} "
              f"{r['torch_importable']!s:>7} {r['wall_s']:>8.1f} {r['rss_mb']:>12.0f}")
    f, light = rows["full"], rows["light"]
    print(f"light / full: size {light['size_mb'] / f['size_mb']:.2f}, import "
          f"{light['import_s'] / f['import_s']:.2f}, peak RSS {light['rss_mb'] / f['rss_mb']:.2f}")


if __name__ == "__main__":
    main()
