"""Regenerate ``docs/results.md`` (and its PNG figures) from evaluation and specialize runs.

Usage::

    python benchmarks/results.py --spec benchmarks/results_spec.json --out docs/results.md

The spec (JSON) names ``eval``, the output folder of one ``edgesea evaluate`` run
(``results.json``, ``test_scores.npz`` and the embedding cache); ``table_a``, the evaluated
models of Table A (a name, or ``{"name": ..., "note": ...}`` to qualify its row);
``tables``, the ablation tables, each a list of ``edgesea specialize`` run directories (rows)
or, for ``"kind": "int8"``, float/int8 model pairs with their ``edgesea footprint --json``
files; and ``curves``, the runs whose training curves are shown.

Every number printed comes from those files. What the report reads of them is kept in
``benchmarks/results_record.json`` (and the fold-10 scores of the precision-recall figure in
``benchmarks/results_scores.npz``): an entry is refreshed from its files whenever they exist,
and is read from the record when they do not (run directories are large and are not kept), so
the report can be regenerated, and extended with new runs, after old runs are deleted. Each
entry says where it came from (``source``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.manifold import TSNE
from sklearn.metrics import precision_recall_curve
from sklearn.preprocessing import StandardScaler

from edgesea.core.fileio import atomic_path, write_json
from edgesea.evaluate.classify import clip_features, embed_dataset, read_dataset
from edgesea.extract.run import resolve_teacher
from edgesea.models import load_model
from edgesea.teachers.model import ModelTeacher

HERE = Path(__file__).resolve().parent
_MODEL_KEYS = ("path", "format", "emb_dim", "params", "size_mb", "activation_mb",
               "flash_bytes", "classifier")


def _rel(path: str | os.PathLike) -> str:
    """``path`` relative to the working directory where it lies below it (record keys)."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


class Record:
    """The measured summaries behind the report (see the module docstring).

    Parameters
    ----------
    path : Path
        The JSON record; created when absent.
    scores_path : Path
        The ``.npz`` of fold-10 classifier scores (seed 0) per model, for the PR figure.
    """

    def __init__(self, path: Path, scores_path: Path) -> None:
        self.path, self.scores_path = path, scores_path
        self.data: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
        for key in ("models", "runs", "footprints"):
            self.data.setdefault(key, {})
        self.labels: np.ndarray | None = None
        self.scores: dict[str, np.ndarray] = {}
        if scores_path.is_file():
            with np.load(scores_path) as z:
                self.labels = z["labels"]
                names = json.loads(str(z["names"]))
                self.scores = {n: z[f"s{i}"] for i, n in enumerate(names)}

    def add_evaluation(self, eval_dir: Path) -> list[str]:
        """Take every model of an ``edgesea evaluate`` output folder; its names."""
        results = json.loads((eval_dir / "results.json").read_text())
        self.data["protocol"] = results["protocol"]
        for name, r in results["models"].items():
            entry = {k: r[k] for k in _MODEL_KEYS if k in r}
            if "path" in entry:
                entry["path"] = _rel(entry["path"])
            entry["description"] = _describe(name, r)
            entry["metrics"] = {k: {"mean": v["mean"], "std": v["std"]}
                                for k, v in r["metrics"].items()}
            entry["source"] = f"edgesea evaluate output {_rel(eval_dir)}"
            self.data["models"][name] = entry
        with np.load(eval_dir / "test_scores.npz") as z:
            if self.labels is not None and not np.array_equal(self.labels, z["labels"]):
                raise SystemExit(f"{eval_dir}: test labels differ from {self.scores_path}")
            self.labels = z["labels"]
            self.scores.update({n: z[n].astype(np.float16) for n in results["models"]})
        return list(results["models"])

    def model(self, name: str) -> dict[str, Any]:
        if name not in self.data["models"]:
            raise SystemExit(f"model {name!r} is neither in the evaluation nor in {self.path}")
        return self.data["models"][name]

    def model_at(self, path: str | os.PathLike) -> dict[str, Any] | None:
        want = _rel(path)
        return next((r for r in self.data["models"].values() if r.get("path") == want), None)

    def run(self, run_dir: str) -> dict[str, Any]:
        """A specialize run's data and training summary, refreshed from the run directory."""
        run = Path(run_dir)
        if (run / "stages.json").is_file():
            st = json.loads((run / "stages.json").read_text())
            cfg = json.loads((run / "config.json").read_text())
            d = st["distill"]
            n_aug = st.get("augment", {}).get("n_augmented", 0) if cfg["augment_factor"] else 0
            self.data["runs"][_rel(run)] = {
                "arch": cfg["arch"], "head": cfg["head"],
                "n_sample": d.get("n_train", st["sample"]["n_sample"]) - n_aug,
                "n_augmented": n_aug, "epochs_run": d["epochs_run"],
                "best_epoch": d["best_epoch"], "val_r2": d["val_r2"],
                "val_cosine": d["val_cosine"], "wall_s": d["wall_s"],
                "source": f"{_rel(run)}/stages.json"}
        if _rel(run) not in self.data["runs"]:
            raise SystemExit(f"run {run_dir}: no run directory and no entry in {self.path}")
        return self.data["runs"][_rel(run)]

    def footprint(self, path: str) -> dict[str, Any]:
        """An ``edgesea footprint --json`` report, refreshed from its file."""
        if Path(path).is_file():
            fp = json.loads(Path(path).read_text())
            fp = fp[0] if isinstance(fp, list) else fp
            self.data["footprints"][_rel(path)] = {
                "flash_bytes": fp["flash_bytes"], "arena_bytes": fp["arena_bytes"],
                "int8_vs_float": fp.get("int8_vs_float", {}), "latency_ms": fp["latency_ms"],
                "source": _rel(path)}
        if _rel(path) not in self.data["footprints"]:
            raise SystemExit(f"footprint {path}: no file and no entry in {self.path}")
        return self.data["footprints"][_rel(path)]

    def save(self) -> None:
        write_json(self.path, self.data)
        if self.scores:
            names = list(self.scores)
            with atomic_path(self.scores_path, suffix=".npz") as tmp:
                np.savez_compressed(tmp, labels=self.labels, names=np.array(json.dumps(names)),
                                    **{f"s{i}": self.scores[n] for i, n in enumerate(names)})


def _m(r: dict | None, key: str) -> str:
    v = r["metrics"].get(key) if r else None
    return f"{v['mean']:.3f} ± {v['std']:.3f}" if v else "-"


def _describe(name: str, r: dict) -> str:
    """A row label from the model file's metadata (when the file is at hand)."""
    if name.startswith("teacher:"):
        return f"teacher ({name.split(':', 1)[1]})"
    if "path" in r and Path(r["path"]).suffix == ".safetensors" and Path(r["path"]).is_file():
        model = load_model(r["path"])
        meta = model.metadata
        if meta.get("kind") == "sea-student":
            t = meta["training"]
            arch = "mcu arch, " if model.config.family == "sea-mcu" else ""
            aug = meta.get("augment", {}).get("factor") or 0
            arch += f"{aug:g}x augmented, " if aug else ""
            return (f"edgesea SEA-{r['emb_dim']}, {arch}{model.config.head} head "
                    f"({meta['sampling']['mode']}, {meta['reducer']['name']}; val R² "
                    f"{t['val_r2']:.3f})")
        if "edgel3" in json.dumps(meta).lower() or "edgel3" in r["path"]:
            return "authors' SEA-64 (edgel3 h5)"
    return name


def _table_a_rows(spec: dict) -> list[tuple[str, str]]:
    rows = []
    for item in spec["table_a"]:
        name, note = (item, "") if isinstance(item, str) else (item["name"], item.get("note", ""))
        rows.append((name, note))
    return rows


def table_a(record: Record, rows: list[tuple[str, str]]) -> list[str]:
    lines = ["| model | emb dim | params | size MB | act. MB | micro-AUPRC | macro-AUPRC | "
             "accuracy |", "|---|---|---|---|---|---|---|---|"]
    for name, note in rows:
        r = record.model(name)
        params = f"{r['params']:,}" if "params" in r else "-"
        size = f"{r['size_mb']:.2f}" if "size_mb" in r else "-"
        act = f"{r['activation_mb']:.2f}" if "activation_mb" in r else "-"
        label = r["description"] + (f" ({note})" if note else "")
        lines.append(f"| {label} | {r['emb_dim']} | {params} | {size} | {act} | "
                     f"{_m(r, 'micro_auprc')} | {_m(r, 'macro_auprc')} | "
                     f"{_m(r, 'accuracy')} |")
    return lines


def pr_figure(record: Record, names: list[str], out: Path) -> list[str]:
    """Micro-averaged PR curves of the ``names`` with recorded scores; the names shown."""
    shown = [n for n in names if n in record.scores]
    if not shown:
        return []
    fig, ax = plt.subplots(figsize=(6, 4.8))
    for name in shown:
        r = record.model(name)
        p, rec, _ = precision_recall_curve(record.labels.ravel(),
                                           record.scores[name].astype(np.float32).ravel())
        micro = r["metrics"]["micro_auprc"]["mean"]
        ax.plot(rec, p, label=f"{r['description'][:44]} ({micro:.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("fold 10, micro-averaged (seed 0)")
    ax.legend(fontsize=6.5, loc="lower left")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return shown


def dims_figure(record: Record, plot: dict, out: Path) -> None:
    """Fold-10 micro-AUPRC (mean ± sd) against embedding size for each series of Table A
    models, with the ``lines`` models (e.g. the teacher) as horizontal references."""
    fig, ax = plt.subplots(figsize=(8.5, 3.8))
    for label, names in plot["series"].items():
        rows = sorted((record.model(n)["emb_dim"], record.model(n)["metrics"]["micro_auprc"])
                      for n in names)
        ax.errorbar([d for d, _ in rows], [m["mean"] for _, m in rows],
                    yerr=[m["std"] for _, m in rows], marker="o", capsize=3, label=label)
    for i, name in enumerate(plot.get("lines", [])):
        r = record.model(name)
        ax.axhline(r["metrics"]["micro_auprc"]["mean"], ls="--", color=f"C{i + 4}",
                   label=f"{r['description'][:40]}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("student embedding size")
    ax.set_ylabel("fold-10 micro-AUPRC")
    ax.set_title(plot.get("title", ""), fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def map_figure(eval_dir: Path, record: Record, names: list[str], out: Path) -> None:
    """t-SNE of the test-fold clip embeddings of ``names`` (from the evaluation's cache)."""
    results = json.loads((eval_dir / "results.json").read_text())
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
        ax.set_title(record.model(name)["description"][:50], fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    np.atleast_1d(axes)[-1].legend(fontsize=7, markerscale=2, loc="best")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def _metric_cells(r: dict | None) -> str:
    if r is None:
        return "not evaluated | - | -"
    return f"{_m(r, 'micro_auprc')} | {_m(r, 'macro_auprc')} | {_m(r, 'accuracy')}"


def run_table(record: Record, rows: list[dict]) -> list[str]:
    """One row per specialize run: its data, training and fold-10 metrics."""
    lines = ["| arm | arch | train windows (sample + augmented) | epochs (best) | val R² | "
             "val cosine | distill wall s | micro-AUPRC | macro-AUPRC | accuracy |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        d = record.run(row["run"])
        found = record.model_at(Path(row["run"]) / "student.safetensors")
        lines.append(f"| {row['label']} | {d['arch']}/{d['head']} | {d['n_sample']:,} + "
                     f"{d['n_augmented']:,} | {d['epochs_run']} ({d['best_epoch']}) | "
                     f"{d['val_r2']:.3f} | {d['val_cosine']:.3f} | {d['wall_s']:.0f} | "
                     f"{_metric_cells(found)} |")
    return lines


def curve_figure(record: Record, table: dict, out: Path) -> bool:
    """Validation R² and fold-10 micro-AUPRC against the rows' ``x`` (e.g. augmentation
    factor); False when no row has an ``x``."""
    pts = []
    for row in table["rows"]:
        if "x" not in row:
            continue
        found = record.model_at(Path(row["run"]) / "student.safetensors")
        micro = found["metrics"]["micro_auprc"]["mean"] if found else np.nan
        pts.append((row["x"], record.run(row["run"])["val_r2"], micro))
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


def int8_table(record: Record, rows: list[dict]) -> list[str]:
    """Float vs int8 (LiteRT) downstream metrics with the TFLM footprint."""
    lines = ["| student | flash B | TFLM arena B | cosine int8 vs float (mean/min) | LiteRT "
             "int8 ms/window | float micro-AUPRC | int8 micro-AUPRC | int8 macro-AUPRC |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        fl, q = record.model_at(row["float"]), record.model_at(row["int8"])
        fp = record.footprint(row["footprint"])
        c = fp.get("int8_vs_float", {})
        cos = f"{c['cosine_mean']:.4f} / {c['cosine_min']:.4f}" if c else "-"
        lines.append(f"| {row['label']} | {fp['flash_bytes']:,} | {fp['arena_bytes']:,} | "
                     f"{cos} | {fp['latency_ms']:.2f} | {_m(fl, 'micro_auprc')} | "
                     f"{_m(q, 'micro_auprc')} | {_m(q, 'macro_auprc')} |")
    return lines


def _protocol(proto: dict) -> str:
    return (f"**Protocol.** Dataset `{proto['dataset']}` (UrbanSound8K folds 1, 2, 10; 10 "
            f"classes). Classifier trained on folds {proto['train_folds']}, scored on fold "
            f"{proto['test_fold']} (never used to train, select or tune). Window hop "
            f"{proto['hop_size']} s; clip = {proto['clip']}; classifier: logistic regression "
            "or a 1-hidden-layer MLP (0/128/256 units x L2 1e-4..1e-1) chosen by "
            "leave-one-training-fold-out micro-AUPRC, then refitted on folds 1+2 with "
            f"{proto['seeds']} seeds (mean ± sd). Students were distilled on folds 1+2 only "
            "(labels unused); their validation split (10% of the recordings, by Freesound "
            "id) is the only thing training choices were judged on.")


def build(spec: dict, spec_path: Path, out: Path, record: Record) -> list[str]:
    """The report's lines; figures are written beside ``out`` (``img/``)."""
    eval_dir = Path(spec["eval"])
    evaluated = record.add_evaluation(eval_dir) if (eval_dir / "results.json").is_file() else []
    img = out.parent / "img"
    img.mkdir(parents=True, exist_ok=True)
    lines = ["# Results", "",
             f"Produced by `python benchmarks/results.py --spec {spec_path} --out {out}` "
             f"from `edgesea evaluate` output ({eval_dir}) and `edgesea specialize` run "
             "directories, through the record of their measured summaries "
             "(`benchmarks/results_record.json`; run directories are not kept). All figures "
             "were measured on a 2-core CPU machine.", "", _protocol(record.data["protocol"]),
             "", "## Table A: evaluation", ""]
    rows = _table_a_rows(spec)
    lines += table_a(record, rows)
    lines += [""] + ([spec["table_a_after"], ""] if spec.get("table_a_after") else [])
    if spec.get("table_a_plot"):
        dims_figure(record, spec["table_a_plot"], img / "table_A.png")
        lines += ["![Table A by embedding size](img/table_A.png)", ""]
    shown = pr_figure(record, [n for n, _ in rows], img / "pr_curves.png")
    if shown:
        lines += ["![precision-recall curves](img/pr_curves.png)", ""]
        if len(shown) < len(rows):
            lines += [f"The figure shows the {len(shown)} models whose fold-10 scores are "
                      "recorded (`benchmarks/results_scores.npz`).", ""]
    for t in spec.get("tables", []):
        lines += [f"## Table {t['id']}: {t['title']}", ""]
        if t.get("note"):
            lines += [t["note"], ""]
        lines += (int8_table if t.get("kind") == "int8" else run_table)(record, t["rows"])
        lines.append("")
        if t.get("kind") != "int8" and curve_figure(record, t, img / f"table_{t['id']}.png"):
            lines += [f"![Table {t['id']}](img/table_{t['id']}.png)", ""]
        if t.get("after"):
            lines += [t["after"], ""]
    shown = spec.get("map", [])
    if shown:
        if all(n in evaluated for n in shown):
            map_figure(eval_dir, record, shown, img / "fold10_map.png")
        elif not (img / "fold10_map.png").is_file():
            raise SystemExit(f"the map needs {shown} in {eval_dir}")
        lines += ["## Fold-10 clips in 2-D (t-SNE of standardised clip embeddings)", "",
                  "![t-SNE map](img/fold10_map.png)", ""]
    if spec.get("curves"):
        lines += ["## Training curves", ""]
        for run in map(Path, spec["curves"]):
            png = img / f"curves_{run.name}.png"
            if (run / "distill" / "curves.png").is_file():
                shutil.copy(run / "distill" / "curves.png", png)
            elif not png.is_file():
                raise SystemExit(f"no training curves for {run}")
            lines.append(f"![{run.name}](img/curves_{run.name}.png)")
        lines.append("")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spec", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("docs/results.md"))
    ap.add_argument("--record", type=Path, default=HERE / "results_record.json")
    ap.add_argument("--scores", type=Path, default=HERE / "results_scores.npz")
    args = ap.parse_args()
    spec = json.loads(args.spec.read_text())
    record = Record(args.record, args.scores)
    lines = build(spec, args.spec, args.out, record)
    record.save()
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
