"""The report of an ``edgesea evaluate`` run, beside its ``results.json``: ``report.md`` (the
protocol, the metrics of every embedder against their chance levels, warnings, per-class AP),
``pr_curves.png`` (the micro-averaged precision-recall curve of each embedder on the test
fold) and ``per_class_ap.png`` (per-class average precision, one bar per embedder).

Everything is read from what :func:`edgesea.evaluate.run.run_evaluation` writes: the results
dict and the test labels and scores (seed 0) of ``test_scores.npz``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from edgesea.core.fileio import atomic_path
from edgesea.errors import EdgeSEAError

__all__ = ["write_eval_report"]

_METRICS = (("micro_auprc", "micro-AUPRC"), ("macro_auprc", "macro-AUPRC"),
            ("accuracy", "accuracy"))


def _cell(m: dict[str, Any] | None) -> str:
    if not m:
        return "-"
    return f"{m['mean']:.4f}" + ("" if len(m.get("values", [])) < 2 else f" ± {m['std']:.4f}")


def _savefig(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)


def plot_pr_curves(labels: np.ndarray, scores: dict[str, np.ndarray], path: Path,
                   chance: float | None = None) -> Path:
    """Micro-averaged precision-recall curve of each embedder's test scores (all classes'
    (clip, class) pairs pooled), its AP in the legend, the chance level dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import average_precision_score, precision_recall_curve

    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    for name, s in scores.items():
        p, r, _ = precision_recall_curve(labels.ravel(), np.asarray(s).ravel())
        ap = average_precision_score(labels.ravel(), np.asarray(s).ravel())
        ax.step(r, p, where="post", label=f"{name} (AP {ap:.3f})")
    if chance is not None:
        ax.axhline(chance, ls="--", c="grey", label=f"chance ({chance:.3f})")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02),
           title="Micro-averaged precision-recall, test fold (seed 0)")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _savefig(fig, path)
    return path


def plot_per_class_ap(classes: list[str], per_class: dict[str, dict[str, float]],
                      path: Path, rates: np.ndarray | None = None) -> Path:
    """Per-class average precision (mean over seeds), one bar per embedder; a class's
    chance level (its test positive rate) as a black tick."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(per_class)
    width = 0.8 / max(1, len(names))
    x = np.arange(len(classes))
    fig, ax = plt.subplots(figsize=(max(6.4, 0.7 * len(classes) + 2), 4.8))
    for k, name in enumerate(names):
        ap = [np.nan if per_class[name].get(c) is None else per_class[name][c]
              for c in classes]
        ax.bar(x - 0.4 + (k + 0.5) * width, ap, width, label=name)
    if rates is not None:
        ax.scatter(x, rates, marker="_", s=300, c="k", zorder=3, label="chance")
    ax.set_xticks(x, classes, rotation=45, ha="right", fontsize=8)
    ax.set(ylabel="average precision", ylim=(0, 1.02), title="Per-class AP, test fold")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    _savefig(fig, path)
    return path


def write_eval_report(out: str | os.PathLike, results: dict[str, Any],
                      labels: np.ndarray | None = None,
                      scores: dict[str, np.ndarray] | None = None) -> Path:
    """Write ``out/report.md``, ``out/pr_curves.png`` and ``out/per_class_ap.png``.

    Parameters
    ----------
    out : path
        The evaluation folder (holding ``results.json``).
    results : dict
        What :func:`edgesea.evaluate.run.run_evaluation` returned.
    labels, scores : ndarray and dict of ndarray, optional
        The (N, C) test labels and each embedder's (N, C) test scores; read from
        ``out/test_scores.npz`` when not given.

    Returns
    -------
    Path
        The report's path.
    """
    out = Path(out)
    if labels is None or scores is None:
        path = out / "test_scores.npz"
        if not path.is_file():
            raise EdgeSEAError(f"no {path}: run `edgesea evaluate --out {out}` first")
        with np.load(path) as z:
            labels = z["labels"]
            scores = {k: z[k] for k in z.files if k != "labels"}
    labels = np.asarray(labels)
    proto, models = results["protocol"], results["models"]
    classes = list(results["classes"])
    chance = results.get("chance", {})
    first = next(iter(models.values()), {})
    lines = ["# edgesea evaluate report", "",
             f"Dataset `{proto['dataset']}`: a classifier trained on folds "
             f"{', '.join(map(str, proto['train_folds']))} ({first.get('n_train', '-')} "
             f"clips), scored on fold {proto['test_fold']} ({first.get('n_test', len(labels))}"
             f" clips, {len(classes)} classes), never used to train or tune. Clip = "
             f"{proto['clip']}; window hop {proto['hop_size']} s; classifier chosen by "
             f"{proto['selection']}; {proto['seeds']} seeds (mean ± sd).", ""]
    if results.get("warnings"):
        lines += ["**Warnings:**", ""] + [f"- {w}" for w in results["warnings"]] + [""]
    keys = [(k, t) for k, t in _METRICS if any(k in r["metrics"] for r in models.values())]
    lines += ["## Results", "",
              "| embedder | emb_dim | classifier | " + " | ".join(t for _, t in keys) + " |",
              "|---|---|---|" + "---|" * len(keys)]
    for name, r in models.items():
        c = r["classifier"]
        clf = "logistic regression" if c["hidden"] == 0 else f"MLP {c['hidden']} hidden"
        lines.append(f"| `{name}` | {r.get('emb_dim', '-')} | {clf}, alpha {c['alpha']:g} | "
                     + " | ".join(_cell(r["metrics"].get(k)) for k, _ in keys) + " |")
    lines.append("| chance (no information) | | | " + " | ".join(
        f"{chance[k]:.4f}" if k in chance else "-" for k, _ in keys) + " |")
    lines += ["", "Chance: micro-AUPRC = the share of positive (clip, class) pairs; macro-AUPRC"
              " = the mean positive rate of the classes; accuracy = the majority class's "
              "share of the test fold."]
    notes = [f"`{n}`: {r['note']}" for n, r in models.items() if r.get("note")]
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    rates = labels.mean(0) if len(labels) else None
    figures = []
    if scores:
        plot_pr_curves(labels, scores, out / "pr_curves.png", chance.get("micro_auprc"))
        figures.append("![micro-averaged precision-recall curves](pr_curves.png)")
    per_class = {n: r.get("per_class_ap", {}) for n, r in models.items()}
    if per_class:
        plot_per_class_ap(classes, per_class, out / "per_class_ap.png", rates)
        figures.append("![per-class average precision](per_class_ap.png)")
    lines += ["", "## Figures", ""] + [f + "\n" for f in figures]
    lines += ["## Per-class AP (mean over seeds)", "",
              "| class | test clips | " + " | ".join(f"`{n}`" for n in per_class) + " |",
              "|---|---|" + "---|" * len(per_class)]
    counts = labels.sum(0) if len(labels) else np.zeros(len(classes))
    for j, c in enumerate(classes):
        cells = []
        for n in per_class:
            v = per_class[n].get(c)
            cells.append("-" if v is None or not np.isfinite(v) else f"{v:.3f}")
        lines.append(f"| {c} | {int(counts[j])} | " + " | ".join(cells) + " |")
    lines += ["", "Files: `results.json` (all numbers, the classifier search), "
              "`test_scores.npz` (test labels and each embedder's scores, seed 0)."]
    path = out / "report.md"
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path
