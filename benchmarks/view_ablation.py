"""The view ablation of ``docs/results.md`` (Table G): view x sample rate x level rule.

Each arm is an ``edgesea specialize`` run that differs only in ``--sample-rate``, ``--level``
and ``--view`` (128-d ``--arch mcu --head linear``, diversity+relevance 50%, no augmentation,
Adam 1e-3 plateau, at most 40 epochs, patience 10, seed 0). Each arm's student and the teacher
on each view were evaluated three times by ``edgesea evaluate`` into one folder per group:
``res_f10.json`` (train folds 1+2, score fold 10), ``res_x12.json`` (train 1, score 2) and
``res_x21.json`` (train 2, score 1). The cross-fold mean decides; fold 10 is only reported.

Usage::

    python benchmarks/view_ablation.py --runs runs/abl --students runs/abl/ev_students \\
        --teachers runs/abl/ev_teacher --out docs

Writes ``docs/img/view_ablation.png`` and prints the markdown table; the figures read are
kept in ``benchmarks/view_ablation_record.json`` so the table can be rebuilt without the runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).resolve().parent
RECORD = HERE / "view_ablation_record.json"
#: arm -> (student rate, level rule, view, teacher spec of that view)
ARMS = {
    "f8": (8000, "window", "full", "aisfx"),
    "b8": (8000, "window", "band", "aisfx@band:8000"),
    "a8f": (8000, "absolute", "full", "aisfx"),
    "a8": (8000, "absolute", "band", "aisfx@band:8000"),
    "n8": (8000, "window", "norm", "aisfx@norm:8000"),
    "f16": (16000, "window", "full", "aisfx"),
    "a16": (16000, "absolute", "full", "aisfx"),
    "n16": (16000, "window", "norm", "aisfx@norm:16000"),
}
SPLITS = ("f10", "x12", "x21")


def _scores(folder: Path, split: str) -> dict[str, dict]:
    path = folder / f"res_{split}.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text())["models"]


def collect(runs: Path, students: Path, teachers: Path) -> dict:
    """Read every arm's run summary and the evaluations into one record."""
    rec: dict = {"arms": {}, "teachers": {}}
    for split in SPLITS:
        for name, r in _scores(teachers, split).items():
            spec = name.removeprefix("teacher:")
            rec["teachers"].setdefault(spec, {})[split] = r["metrics"]
    for arm, (sr, level, view, tspec) in ARMS.items():
        stages = json.loads((runs / arm / "stages.json").read_text())
        d = stages["distill"]
        row = {"sample_rate": sr, "level": level, "view": view, "teacher": tspec,
               "val_r2": d["val_r2"], "val_cosine": d["val_cosine"],
               "best_epoch": d["best_epoch"], "epochs_run": d["epochs_run"],
               "n_train": d["n_train"], "wall_s": d["wall_s"]}
        for split in SPLITS:
            m = _scores(students, split).get(f"{arm}/student")
            if m:
                row[split] = m["metrics"]
        rec["arms"][arm] = row
    return rec


def _cell(m: dict | None, key: str = "micro_auprc") -> str:
    return "-" if not m else f"{m[key]['mean']:.3f} ± {m[key]['std']:.3f}"


def _cross(m: dict, key: str = "micro_auprc") -> float | None:
    if "x12" not in m or "x21" not in m:
        return None
    return (m["x12"][key]["mean"] + m["x21"][key]["mean"]) / 2


def table(rec: dict) -> str:
    """The markdown table of the record."""
    lines = ["| arm | student rate | level rule | view (teacher on) | val R² (own targets) | "
             "cross-fold micro-AUPRC, student (1→2, 2→1: mean) | cross-fold, teacher on the "
             "view | fold-10 micro-AUPRC (5 seeds) | fold-10 macro-AUPRC |",
             "|---|---|---|---|---|---|---|---|---|"]
    for arm, r in rec["arms"].items():
        t = rec["teachers"].get(r["teacher"], {})
        cs, ct = _cross(r), _cross(t)
        lines.append(
            f"| {arm} | {r['sample_rate'] // 1000} kHz | {r['level']} | {r['view']} "
            f"(`{r['teacher']}`) | {r['val_r2']:.3f} | "
            f"{'-' if cs is None else f'{cs:.3f}'} "
            f"({_cell(r.get('x12'))}; {_cell(r.get('x21'))}) | "
            f"{'-' if ct is None else f'{ct:.3f}'} | {_cell(r.get('f10'))} | "
            f"{_cell(r.get('f10'), 'macro_auprc')} |")
    lines += ["", "| teacher on the view | cross-fold micro-AUPRC (1→2; 2→1) | fold-10 "
              "micro-AUPRC | fold-10 macro-AUPRC |", "|---|---|---|---|"]
    for spec, t in rec["teachers"].items():
        lines.append(f"| `{spec}` | {_cell(t.get('x12'))}; {_cell(t.get('x21'))} | "
                     f"{_cell(t.get('f10'))} | {_cell(t.get('f10'), 'macro_auprc')} |")
    return "\n".join(lines)


def figure(rec: dict, out: Path) -> None:
    """Validation R² against cross-fold micro-AUPRC, one point per arm."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for arm, r in rec["arms"].items():
        cs = _cross(r)
        if cs is None:
            continue
        marker = "o" if r["sample_rate"] == 8000 else "s"
        color = {"window": "tab:blue", "absolute": "tab:red"}[r["level"]]
        ax.scatter(r["val_r2"], cs, marker=marker, color=color, s=50)
        ax.annotate(f"{arm} ({r['view']})", (r["val_r2"], cs), textcoords="offset points",
                    xytext=(5, 4), fontsize=8)
    ax.set_xlabel("validation R² (against the arm's own targets)")
    ax.set_ylabel("cross-fold micro-AUPRC (folds 1↔2)")
    ax.set_title("View ablation, 128-d mcu student (o 8 kHz, □ 16 kHz; red: absolute level)",
                 fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=Path, default=None, help="folder of the arms' run dirs")
    ap.add_argument("--students", type=Path, default=None)
    ap.add_argument("--teachers", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=Path("docs"))
    a = ap.parse_args()
    if a.runs and (a.runs / "f8" / "stages.json").is_file():
        rec = collect(a.runs, a.students or a.runs / "ev_students",
                      a.teachers or a.runs / "ev_teacher")
        RECORD.write_text(json.dumps(rec, indent=1) + "\n")
    else:
        rec = json.loads(RECORD.read_text())
    figure(rec, a.out / "img" / "view_ablation.png")
    print(table(rec))


if __name__ == "__main__":
    main()
