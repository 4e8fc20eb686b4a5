"""Draw the package layers of ``.importlinter`` as ``docs/img/architecture.png`` (the picture
of docs/architecture.md, read from the contract itself so the two cannot disagree).

    python tools/draw_layers.py
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

ROOT = Path(__file__).resolve().parents[1]


def layers() -> list[tuple[list[str], bool]]:
    """Each layer, top first: its modules and whether they are independent of each other."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / ".importlinter")
    text = cfg["importlinter:contract:layers"]["layers"]
    out = []
    for line in filter(None, (s.strip() for s in text.splitlines())):
        independent = "|" in line
        names = [n.strip().removeprefix("edgesea.") for n in re.split(r"[|:]", line)]
        out.append((names, independent))
    return out


def main() -> None:
    rows = layers()
    fig, ax = plt.subplots(figsize=(10, 0.62 * len(rows) + 0.8))
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.5, len(rows))
    ax.axis("off")
    for i, (names, independent) in enumerate(rows):
        y = len(rows) - 1 - i
        w = 9.4 / len(names)
        for j, name in enumerate(names):
            x = 0.3 + j * w
            ax.add_patch(FancyBboxPatch((x + 0.05, y + 0.1), w - 0.1, 0.62,
                                        boxstyle="round,pad=0.02",
                                        fc="#dbe9f6" if not independent else "#e8f4e2",
                                        ec="#345"))
            ax.text(x + w / 2, y + 0.41, name, ha="center", va="center", fontsize=9)
        if i < len(rows) - 1:
            ax.annotate("", xy=(9.85, y - 0.15), xytext=(9.85, y + 0.1),
                        arrowprops={"arrowstyle": "->", "color": "#888"})
    ax.set_title("edgesea layers: imports point down only (green: independent siblings)",
                 fontsize=10)
    out = ROOT / "docs" / "img" / "architecture.png"
    fig.savefig(out, dpi=110, bbox_inches="tight")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
