"""Regenerate ``docs/results.md`` (and its PNG figures) from evaluation and specialize runs.

Usage::

    python benchmarks/results.py --spec benchmarks/results_spec.json --out docs/results.md

The spec (JSON) names ``eval``, the output folder of one ``edgesea evaluate`` run
(``results.json``, ``test_scores.npz`` and the embedding cache) that evaluated every model
below; ``table_a``, the evaluated models of Table A (all when absent); ``tables``, the
ablation tables, each a list of ``edgesea specialize`` run directories (rows) or, for
``"kind": "int8"``, float/int8 model pairs with their ``edgesea footprint --json`` files; and
``curves``, the runs whose training curves are shown. Every number printed comes from those
files.
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
            aug = meta.get("augment", {}).get("factor") or 0
            arch += f"{aug:g}x augmented, " if aug else ""
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


def _model_for(results: dict, path: Path) -> tuple[str, dict] | None:
    want = path.resolve()
    for name, r in results["models"].items():
        if "path" in r and Path(r["path"]).resolve() == want:
            return name, r
    return None


def _metric_cells(r: dict | None) -> str:
    if r is None:
        return "not evaluated | - | -"
    return f"{_m(r, 'micro_auprc')} | {_m(r, 'macro_auprc')} | {_m(r, 'accuracy')}"


def run_table(results: dict, rows: list[dict]) -> list[str]:
    """One row per specialize run: its data, training and fold-10 metrics."""
    lines = ["| arm | arch | train windows (sample + augmented) | epochs (best) | val R² | "
             "val cosine | distill wall s | micro-AUPRC | macro-AUPRC | accuracy |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        run = Path(row["run"])
        st = json.loads((run / "stages.json").read_text())
        cfg = json.loads((run / "config.json").read_text())
        d = st["distill"]
        n_train = d.get("n_train", st["sample"]["n_sample"])
        n_aug = st.get("augment", {}).get("n_augmented", 0) if cfg["augment_factor"] else 0
        arch = f"{cfg['arch']}/{cfg['head']}"
        found = _model_for(results, run / "student.safetensors")
        lines.append(f"| {row['label']} | {arch} | {n_train - n_aug:,} + {n_aug:,} | "
                     f"{d['epochs_run']} ({d['best_epoch']}) | {d['val_r2']:.3f} | "
                     f"{d['val_cosine']:.3f} | {d['wall_s']:.0f} | "
                     f"{_metric_cells(found[1] if found else None)} |")
    return lines


def curve_figure(results: dict, table: dict, out: Path) -> bool:
    """Validation R² and fold-10 micro-AUPRC against the rows' ``x`` (e.g. augmentation
    factor); False when no row has an ``x``."""
    pts = []
    for row in table["rows"]:
        if "x" not in row:
            continue
        run = Path(row["run"])
        d = json.loads((run / "stages.json").read_text())["distill"]
        found = _model_for(results, run / "student.safetensors")
        micro = found[1]["metrics"]["micro_auprc"]["mean"] if found else np.nan
        pts.append((row["x"], d["val_r2"], micro))
    if not pts:
        return False
    x, r2, micro = map(np.array, zip(*sorted(pts), strict=True))
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.plot(x, r2, "o-", label="val R² (held-out recordings, folds 1-2)")
    ax.set_xlabel(table.get("x_label", "x"))
    ax.set_ylabel("val R²")
    ax2 = ax.twinx()
    ax2.plot(x, micro, "s--", color="C1", label="fold-10 micro-AUPRC")
    ax2.set_ylabel("fold-10 micro-AUPRC")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax2.legend(h1 + h2, l1 + l2, fontsize=8, loc="lower right")
    ax.set_title(table.get("plot_title", ""), fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return True


def int8_table(results: dict, rows: list[dict]) -> list[str]:
    """Float vs int8 (LiteRT) downstream metrics with the TFLM footprint."""
    lines = ["| student | flash B | TFLM arena B | cosine int8 vs float (mean/min) | LiteRT "
             "int8 ms/window | float micro-AUPRC | int8 micro-AUPRC | int8 macro-AUPRC |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        fl = _model_for(results, Path(row["float"]))
        q = _model_for(results, Path(row["int8"]))
        fp = json.loads(Path(row["footprint"]).read_text())
        fp = fp[0] if isinstance(fp, list) else fp
        c = fp.get("int8_vs_float", {})
        cos = f"{c['cosine_mean']:.4f} / {c['cosine_min']:.4f}" if c else "-"
        lines.append(f"| {row['label']} | {fp['flash_bytes']:,} | {fp['arena_bytes']:,} | "
                     f"{cos} | {fp['latency_ms']:.2f} | "
                     f"{_m(fl[1], 'micro_auprc') if fl else '-'} | "
                     f"{_m(q[1], 'micro_auprc') if q else '-'} | "
                     f"{_m(q[1], 'macro_auprc') if q else '-'} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spec", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("docs/results.md"))
    args = ap.parse_args()
    spec = json.loads(args.spec.read_text())
    eval_dir = Path(spec["eval"])
    results = json.loads((eval_dir / "results.json").read_text())
    img = args.out.parent / "img"
    img.mkdir(parents=True, exist_ok=True)
    proto = results["protocol"]
    lines = ["# Results", "",
             f"Produced by `python benchmarks/results.py --spec {args.spec} --out {args.out}` "
             f"from `edgesea evaluate` output ({eval_dir}) and `edgesea specialize` run "
             "directories. All figures were measured on a 2-core CPU machine.", "",
             f"**Protocol.** Dataset `{proto['dataset']}` (UrbanSound8K folds 1, 2, 10; 10 "
             f"classes). Classifier trained on folds {proto['train_folds']}, scored on fold "
             f"{proto['test_fold']} (never used to train, select or tune). Window hop "
             f"{proto['hop_size']} s; clip = {proto['clip']}; classifier: logistic regression "
             "or a 1-hidden-layer MLP (0/128/256 units x L2 1e-4..1e-1) chosen by "
             "leave-one-training-fold-out micro-AUPRC, then refitted on folds 1+2 with "
             f"{proto['seeds']} seeds (mean ± sd). Students were distilled on folds 1+2 only "
             "(labels unused); their validation split (10% of the recordings, by Freesound "
             "id) is the only thing training choices were judged on.", "",
             "## Table A: evaluation", ""]
    sub = {"protocol": proto, "models": {k: results["models"][k]
                                         for k in spec.get("table_a", results["models"])}}
    lines += table_a(sub)
    pr_figure(eval_dir, sub, img / "pr_curves.png")
    lines += [""] + ([spec["table_a_after"], ""] if spec.get("table_a_after") else [])
    lines += ["![precision-recall curves](img/pr_curves.png)", ""]
    for t in spec.get("tables", []):
        lines += [f"## Table {t['id']}: {t['title']}", ""]
        if t.get("note"):
            lines += [t["note"], ""]
        lines += (int8_table if t.get("kind") == "int8" else run_table)(results, t["rows"])
        lines.append("")
        if t.get("kind") != "int8" and curve_figure(results, t, img / f"table_{t['id']}.png"):
            lines += [f"![Table {t['id']}](img/table_{t['id']}.png)", ""]
        if t.get("after"):
            lines += [t["after"], ""]
    students = [n for n, r in sub["models"].items() if "path" in r
                and load_model(r["path"]).metadata.get("kind") == "sea-student"]
    teachers = [n for n in sub["models"] if n.startswith("teacher:")]
    shown = spec.get("map", students[:1])
    if teachers and shown:
        map_figure(eval_dir, results, [teachers[0], *shown], img / "fold10_map.png")
        lines += ["## Fold-10 clips in 2-D (t-SNE of standardised clip embeddings)", "",
                  "![t-SNE map](img/fold10_map.png)", ""]
    runs = [Path(r) for r in spec.get("curves", [])]
    if runs:
        lines += ["## Training curves", ""]
        for run in runs:
            shutil.copy(run / "distill" / "curves.png", img / f"curves_{run.name}.png")
            lines.append(f"![{run.name}](img/curves_{run.name}.png)")
        lines.append("")
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
