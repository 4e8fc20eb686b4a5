"""Regenerate ``docs/results.md`` (and its PNG figures) from evaluation and specialize runs.

Usage::

    python benchmarks/results.py --eval runs/eval --runs runs/spec_linear runs/spec_paper \\
        --out docs/results.md

``--eval`` is the output folder of ``edgesea evaluate`` (``results.json``, ``test_scores.npz``
and the embedding cache); ``--runs`` are ``edgesea specialize`` run directories whose
students were evaluated there. Every number printed comes from those files.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.manifold import TSNE
from sklearn.metrics import precision_recall_curve
from sklearn.preprocessing import StandardScaler

from edgesea.evaluate import clip_features, embed_dataset, read_dataset
from edgesea.extract import resolve_teacher
from edgesea.models import load_model
from edgesea.teachers.model import ModelTeacher


def _m(r: dict, key: str) -> str:
    v = r["metrics"].get(key)
    return f"{v['mean']:.3f} ± {v['std']:.3f}" if v else "-"


def _describe(name: str, r: dict) -> str:
    if name.startswith("teacher:"):
        return f"teacher ({name.split(':', 1)[1]})"
    if "path" in r:
        meta = load_model(r["path"]).metadata
        if meta.get("kind") == "sea-student":
            t = meta["training"]
            cfg = load_model(r["path"]).config
            arch = "mcu arch, " if cfg.family == "sea-mcu" else ""
            return (f"edgesea SEA-{r['emb_dim']}, {arch}{cfg.head} head "
                    f"({meta['sampling']['mode']}, {meta['reducer']['name']}; val R² "
                    f"{t['val_r2']:.3f})")
        if "edgel3" in json.dumps(meta).lower() or "edgel3" in r["path"]:
            return "authors' SEA-64 (edgel3 h5)"
    return name


def table_a(results: dict) -> list[str]:
    lines = ["| model | emb dim | params | size MB | act. MB | micro-AUPRC | macro-AUPRC | "
             "accuracy |", "|---|---|---|---|---|---|---|---|"]
    for name, r in results["models"].items():
        params = f"{r['params']:,}" if "params" in r else "-"
        size = f"{r['size_mb']:.2f}" if "size_mb" in r else "-"
        act = f"{r['activation_mb']:.2f}" if "activation_mb" in r else "-"
        lines.append(f"| {_describe(name, r)} | {r['emb_dim']} | {params} | {size} | {act} | "
                     f"{_m(r, 'micro_auprc')} | {_m(r, 'macro_auprc')} | "
                     f"{_m(r, 'accuracy')} |")
    return lines


def pr_figure(eval_dir: Path, results: dict, out: Path) -> None:
    z = np.load(eval_dir / "test_scores.npz")
    y = z["labels"]
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for name, r in results["models"].items():
        p, rec, _ = precision_recall_curve(y.ravel(), z[name].ravel())
        micro = r["metrics"]["micro_auprc"]["mean"]
        ax.plot(rec, p, label=f"{_describe(name, r)[:38]} ({micro:.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("fold 10, micro-averaged (seed 0)")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def map_figure(eval_dir: Path, results: dict, names: list[str], out: Path) -> None:
    proto = results["protocol"]
    ds = read_dataset(proto["dataset"])
    test = ds.folds == proto["test_fold"]
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4.6))
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        r = results["models"][name]
        emb = resolve_teacher(name.split(":", 1)[1]) if name.startswith("teacher:") else \
            ModelTeacher(load_model(r["path"]))
        windows = embed_dataset(ds, emb, eval_dir / "cache", proto["hop_size"], progress=False)
        x = StandardScaler().fit_transform(clip_features([w for w, t in zip(windows, test,
                                                                          strict=True) if t]))
        xy = TSNE(2, random_state=0, init="pca", perplexity=30).fit_transform(x)
        lab = ds.labels[test].argmax(1)
        for c, cname in enumerate(ds.classes):
            ax.scatter(*xy[lab == c].T, s=6, label=cname)
        ax.set_title(_describe(name, r)[:50], fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    np.atleast_1d(axes)[-1].legend(fontsize=7, markerscale=2, loc="best")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--eval", type=Path, required=True)
    ap.add_argument("--runs", type=Path, nargs="*", default=[])
    ap.add_argument("--out", type=Path, default=Path("docs/results.md"))
    args = ap.parse_args()
    results = json.loads((args.eval / "results.json").read_text())
    img = args.out.parent / "img"
    img.mkdir(parents=True, exist_ok=True)
    proto = results["protocol"]
    lines = ["# Results", "",
             "Produced by `python benchmarks/results.py " + " ".join(
                 ["--eval", str(args.eval), "--runs", *map(str, args.runs)]) + "` from "
             "`edgesea evaluate` output.", "",
             f"**Protocol.** Dataset `{proto['dataset']}` (UrbanSound8K folds 1, 2, 10; 10 "
             f"classes). Classifier trained on folds {proto['train_folds']}, scored on fold "
             f"{proto['test_fold']} (never used to train, select or tune). Window hop "
             f"{proto['hop_size']} s; clip = {proto['clip']}; classifier: logistic regression "
             "or a 1-hidden-layer MLP (0/128/256 units x L2 1e-4..1e-1) chosen by "
             "leave-one-training-fold-out micro-AUPRC, then refitted on folds 1+2 with "
             f"{proto['seeds']} seeds (mean ± sd). Students were distilled on folds 1+2 only "
             "(labels unused).", "", "## Table A: evaluation", ""]
    lines += table_a(results)
    pr_figure(args.eval, results, img / "pr_curves.png")
    lines += ["", "![precision-recall curves](img/pr_curves.png)", ""]
    students = [n for n, r in results["models"].items() if "path" in r
                and load_model(r["path"]).metadata.get("kind") == "sea-student"]
    teachers = [n for n in results["models"] if n.startswith("teacher:")]
    if teachers and students:
        map_figure(args.eval, results, [teachers[0], students[0]], img / "fold10_map.png")
        lines += ["## Fold-10 clips in 2-D (t-SNE of standardised clip embeddings)", "",
                  "![t-SNE map](img/fold10_map.png)", ""]
    if args.runs:
        lines += ["## Training", "", "| run | head | sample | epochs (best) | val R² | val "
                  "cosine | distill wall s |", "|---|---|---|---|---|---|---|"]
        for run in args.runs:
            st = json.loads((run / "stages.json").read_text())
            cfg = json.loads((run / "config.json").read_text())
            d = st["distill"]
            lines.append(f"| {run.name} | {cfg['head']} | {st['sample']['n_sample']} | "
                         f"{d['epochs_run']} ({d['best_epoch']}) | {d['val_r2']:.3f} | "
                         f"{d['val_cosine']:.3f} | {d['wall_s']:.0f} |")
            shutil.copy(run / "distill" / "curves.png", img / f"curves_{run.name}.png")
        lines.append("")
        lines += [f"![{run.name}](img/curves_{run.name}.png)" for run in args.runs]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
