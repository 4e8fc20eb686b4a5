"""Start-up cost of the light entry points, this tree against another (e.g. the commit before
the layout redesign), measured in one run.

For each entry point (``import edgesea``, ``import edgesea.zoo``, ``edgesea --help``,
``edgesea models``) and each source tree, runs a fresh interpreter ``--repeat`` times
(alternating the trees) and prints the median wall time, whether torch was imported, and
the ratio baseline / this tree.

    git worktree add /tmp/edgesea-before 1950ff2
    python benchmarks/startup.py --baseline /tmp/edgesea-before/src
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "src"

_CLI = ("import sys; sys.argv = ['edgesea', '{}']\nfrom edgesea.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass")
ENTRIES = {
    "import edgesea": "import edgesea",
    "import edgesea.zoo": "import edgesea.zoo",
    "edgesea --help": _CLI.format("--help"),
    "edgesea models": _CLI.format("models"),
}
PROBE = "\nimport sys as _s\nprint('TORCH' if 'torch' in _s.modules else 'NOTORCH', file=_s.stderr)"


def run_once(src: Path, code: str) -> tuple[float, bool]:
    """Wall seconds of a fresh interpreter running ``code`` with ``src`` first on the path,
    and whether torch ended up imported."""
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code + PROBE], env=env, capture_output=True,
                         text=True, cwd="/")
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"failed ({src}): {res.stderr[-1500:]}")
    return wall, res.stderr.splitlines()[-1] == "TORCH"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", type=Path, required=True, help="the other tree's src/")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    trees = {"baseline": args.baseline.resolve(), "this tree": HERE}
    print(f"{'entry point':<20} {'baseline s':>10} {'torch':>6} {'this s':>8} {'torch':>6} "
          f"{'ratio':>6}")
    for name, code in ENTRIES.items():
        times: dict[str, list[float]] = {k: [] for k in trees}
        torch: dict[str, bool] = {}
        for _ in range(args.repeat):
            for key, src in trees.items():
                wall, imported = run_once(src, code)
                times[key].append(wall)
                torch[key] = imported
        base, now = (statistics.median(times[k]) for k in trees)
        print(f"{name:<20} {base:>10.2f} {torch['baseline']!s:>6} {now:>8.2f} "
              f"{torch['this tree']!s:>6} {base / now:>5.1f}x")


if __name__ == "__main__":
    main()
