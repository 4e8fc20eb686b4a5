"""The zoo diagnosis of ``docs/results.md`` (issue: a zoo without weak sizes).

Two measurements, each one command:

``downstream``: the downstream score against the number of leading components kept, for the
teacher and each student, by the logistic-regression protocol's fold cross-check (train on
fold 1, score fold 2 and back; ``C`` chosen on the reverse pair, so the scored fold never
picks its own ``C``; :func:`edgesea.evaluate.protocols.cross_fold`). A student's outputs are
already ordered like its PCA targets (component 1 first); the teacher is put in the same
basis: a PCA of its standardised window embeddings on the training folds. It also scores
each embedding after a fixed orthogonal rotation (a normalised Hadamard matrix), which keeps
all of the embedding's information and changes only how the variance is spread over the
coordinates: what a classifier that standardises each coordinate sees.
Window embeddings are read from an ``edgesea evaluate`` folder's cache (run that first)::

    python benchmarks/zoo_diagnosis.py downstream --eval runs/eval_old --teacher aisfx \\
        --model src/edgesea/pretrained/sea_urban_512.safetensors ... --out runs/diag

``components``: each student's R² per target component on the validation windows (the
recordings every zoo run held out), against its PCA targets::

    python benchmarks/zoo_diagnosis.py components --run runs/z/base \
        --model 512=src/edgesea/pretrained/sea_urban_512.safetensors ... --out runs/diag

``plot`` draws both (``docs/img/zoo_components.png``, ``docs/img/zoo_leading.png``) from the
JSON files the two commands write (kept in ``benchmarks/zoo_diagnosis_record.json``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from edgesea.reduce import spread_rotation

HERE = Path(__file__).resolve().parent
RECORD = HERE / "zoo_diagnosis_record.json"
DATA = HERE.parent.parent / "shared" / "data" / "urbansound8k_subset"
KS = (8, 16, 32, 64, 128, 256, 512)


def _embedders(models: list[str], teachers: list[str]) -> list[tuple[str, Any]]:
    from edgesea.extract.run import resolve_teacher
    from edgesea.models import load_model
    from edgesea.teachers.model import ModelTeacher

    out = [(f"teacher:{t}", resolve_teacher(t)) for t in teachers]
    out += [(Path(m).stem, ModelTeacher(load_model(m))) for m in models]
    return out


def _pca_basis(windows: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """Windows of every clip in the PCA basis of the standardised windows of clips ``rows``
    (fitted on the training folds only)."""
    train = np.concatenate([windows[i] for i in rows]).astype(np.float64)
    mean, std = train.mean(0), train.std(0)
    std = np.where(std > 0, std, 1.0)
    _, _, vt = np.linalg.svd((train - mean) / std, full_matrices=False)
    return [((w - mean) / std) @ vt.T for w in windows]


def downstream(eval_dir: Path, models: list[str], teachers: list[str], out: Path,
               hop: float = 0.5) -> dict:
    """Leading-k and rotated cross-fold scores (see the module docstring)."""
    from edgesea.evaluate.classify import embed_dataset, read_dataset
    from edgesea.evaluate.protocols import cross_fold

    ds = read_dataset(DATA)
    train = np.flatnonzero(np.isin(ds.folds, [1, 2]))
    rec: dict[str, Any] = {"protocol": "LR cross-fold 1<->2 (C chosen on the reverse pair), "
                           "clip = [mean, max] of hop-0.5 windows", "embedders": {}}
    for name, emb in _embedders(models, teachers):
        windows = embed_dataset(ds, emb, eval_dir / "cache", hop, progress=False)
        d = windows[0].shape[1]
        row: dict[str, Any] = {"dim": d}
        if name.startswith("teacher:"):
            row["raw"] = cross_fold(ds, windows, [1, 2], protocol="lr")["mean"]
            windows = _pca_basis(windows, train)
        for k in [k for k in KS if k <= d]:
            row[f"k{k}"] = cross_fold(ds, [w[:, :k] for w in windows], [1, 2],
                                      protocol="lr")["mean"]
            print(name, k, row[f"k{k}"]["micro_auprc"], flush=True)
        if d & (d - 1) == 0:  # the zoo's sizes: spread_rotation is the Hadamard matrix
            h = spread_rotation(d)
            row["rotated"] = cross_fold(ds, [w @ h.T for w in windows], [1, 2],
                                        protocol="lr")["mean"]
            print(name, "rotated", row["rotated"]["micro_auprc"], flush=True)
        rec["embedders"][name] = row
        out.mkdir(parents=True, exist_ok=True)
        (out / "downstream.json").write_text(json.dumps(rec, indent=1))
    return rec


def components(base: Path, models: list[str], out: Path) -> dict:
    """Per-component validation R² of each student against its PCA targets.

    ``models``: ``NAME=PATH``. A run directory is scored against its own reducer and
    targets; a model file against the first ``d`` components of ``base``'s (unrotated) PCA,
    which are a ``d``-component run's targets (the full SVD of the same sample). The
    validation windows are ``base``'s (the recordings every run of the zoo held out)."""
    from edgesea.distill.forward import predict
    from edgesea.models import load_model
    from edgesea.reduce import reducer_from_arrays
    from edgesea.specialize.layout import RunLayout
    from edgesea.store import EmbeddingStore

    lay = RunLayout.of(base)
    with np.load(lay.sample) as z:
        val = np.asarray(z["val"])
    emb = EmbeddingStore.open(lay.store).load(["embedding"])["embedding"][val]
    x = np.load(lay.inputs, mmap_mode="r")[val]

    def reducer(run: RunLayout) -> object:
        with np.load(run.reduce / run.REDUCER) as z:
            return reducer_from_arrays(dict(z), json.loads(str(z["settings"])))

    base_targets = reducer(lay).transform(emb)
    rec: dict[str, Any] = {}
    for spec in models:
        name, path = spec.split("=", 1)
        if Path(path).is_dir():
            run = RunLayout.of(path)
            target, model = reducer(run).transform(emb), load_model(run.student)
        else:
            model = load_model(path)
            target = None
        pred = predict(model, x)
        target = base_targets[:, :pred.shape[1]] if target is None else target
        sst = ((target - target.mean(0)) ** 2).sum(0)
        r2 = 1 - ((pred - target) ** 2).sum(0) / sst
        rec[name] = {"r2": r2.tolist(), "variance": (sst / len(val)).tolist(),
                     "total_r2": float(1 - ((pred - target) ** 2).sum() / sst.sum())}
        print(name, "total R2", round(rec[name]["total_r2"], 4), flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "components.json").write_text(json.dumps(rec, indent=1))
    return rec


def plot(diag: Path, docs: Path) -> None:
    """``docs/img/zoo_components.png`` (R² against component index, each student) and
    ``docs/img/zoo_leading.png`` (cross-fold micro-AUPRC against leading components kept);
    the figures are also kept in :data:`RECORD`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rec = {k: json.loads((diag / f"{k}.json").read_text()) for k in ("components",
                                                                     "downstream")
           if (diag / f"{k}.json").is_file()}
    old = json.loads(RECORD.read_text()) if RECORD.is_file() else {}
    rec = {**old, **rec}
    RECORD.write_text(json.dumps(rec, indent=1) + "\n")
    (docs / "img").mkdir(parents=True, exist_ok=True)
    if "components" in rec:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
        for name, r in rec["components"].items():
            ax = axes[1 if "mcu1m" in name else 0]
            r2 = np.asarray(r["r2"])
            ax.plot(np.arange(1, len(r2) + 1), np.convolve(r2, np.ones(5) / 5, "same"),
                    label=f"{name} (total {r['total_r2']:.2f})")
        for ax, tier in zip(axes, ("mcu", "mcu-1m"), strict=True):
            ax.set(xscale="log", xlabel="target component (PCA order)", title=f"tier {tier}")
            ax.axhline(0, color="grey", lw=0.5)
            ax.legend(fontsize=7)
        axes[0].set_ylabel("validation R² (5-component running mean)")
        fig.tight_layout()
        fig.savefig(docs / "img" / "zoo_components.png", dpi=120)
        plt.close(fig)
    if "downstream" in rec:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for name, r in rec["downstream"]["embedders"].items():
            ks = [k for k in KS if f"k{k}" in r]
            ys = [r[f"k{k}"]["micro_auprc"] for k in ks]
            style = "k-" if name.startswith("teacher") else ("--" if "mcu1m" in name else "-")
            line, = ax.plot(ks, ys, style, marker="o", ms=3, label=name)
            if "rotated" in r:  # the same embedding, all components, turned
                ax.plot([r["dim"]], [r["rotated"]["micro_auprc"]], "*", ms=11,
                        color=line.get_color(), mec="k", mew=0.5)
            if "raw" in r:
                ax.axhline(r["raw"]["micro_auprc"], color="k", ls=":", lw=1,
                           label="teacher as it is (its own 512 coordinates)")
        ax.set(xscale="log", xlabel="leading components kept (PCA order); "
               "stars: all components, turned (rotated basis)",
               ylabel="cross-fold micro-AUPRC (LR, 1<->2)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(docs / "img" / "zoo_leading.png", dpi=120)
        plt.close(fig)


def zoo_table(eval_dirs: list[Path], pretrained: Path) -> list[str]:
    """The zoo table of docs/results.md: each packaged student's fold-10 micro-AUPRC (float
    and int8, ``edgesea evaluate``), its share of the teacher's by the three protocols, its
    budget and validation R²; also stored in :data:`RECORD` under ``zoo``."""
    from edgesea.inference.int8 import TFLiteEmbedder
    from edgesea.models import load_model
    from edgesea.teachers.model import ModelTeacher

    models: dict[str, Any] = {}
    for d in eval_dirs:
        models.update(json.loads((d / "results.json").read_text())["models"])
    by_id = {r["identity"]: r for r in models.values()}
    rows, rec = [], {}
    for recipe in sorted(pretrained.glob("sea_urban_*.recipe.json"),
                         key=lambda p: ("mcu1m" in p.name, int(p.name.split("_")[2].split(
                             ".")[0]))):
        name = recipe.name.removesuffix(".recipe.json")
        r = json.loads(recipe.read_text())
        model = load_model(pretrained / f"{name}.safetensors")
        f = by_id.get(ModelTeacher(model).identity)
        q = by_id.get(TFLiteEmbedder(pretrained / f"{name}.int8.tflite").identity)
        if f is None or q is None or "relative" not in f:
            print(f"warning: {name} not evaluated (float and int8, with a teacher)")
            continue
        tr, rel = r["training"], f["relative"]
        how = "turned" if model.metadata.get("turned") else "retrained"
        if r["config"].get("train_seed") is not None:
            how += f", train seed {r['config']['train_seed']}"
        fm, qm = f["metrics"]["micro_auprc"], q["metrics"]["micro_auprc"]
        rec[name] = {"float": fm, "int8": qm, "relative": rel, "how": how,
                     "cross_fold": f["cross_fold"], "lr": f["lr"]["metrics"],
                     "epochs": tr["epochs_run"], "val_r2": tr["val_r2"]}
        rows.append(
            f"| `{name}` | {r['tier']} | {tr['epochs_run']} ({how}) | {tr['val_r2']:.3f} | "
            f"{fm['mean']:.3f} ± {fm['std']:.3f} / {qm['mean']:.3f} ± {qm['std']:.3f} | "
            f"{qm['mean'] - fm['mean']:+.4f} | {100 * rel['test']['micro_auprc']:.1f} | "
            f"{f['cross_fold']['mean']['micro_auprc']:.3f}, "
            f"{100 * rel['cross_fold']['micro_auprc']:.1f} | "
            f"{f['lr']['metrics']['micro_auprc']['mean']:.3f}, "
            f"{100 * rel['lr']['micro_auprc']:.1f} |")
    record = json.loads(RECORD.read_text()) if RECORD.is_file() else {}
    record["zoo"] = rec
    RECORD.write_text(json.dumps(record, indent=1) + "\n")
    return ["| model | tier | epochs (how) | val R² | fold-10 micro-AUPRC float / int8 "
            "| int8 - float | share of the teacher (%), fold 10 | cross-check 1<->2 (score, "
            "share %) | LR on fold 10 (score, share %) |", "|---|---|---|---|---|---|---|---|---|",
            *rows]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("downstream")
    d.add_argument("--eval", type=Path, required=True)
    d.add_argument("--model", action="append", default=[])
    d.add_argument("--teacher", action="append", default=[])
    d.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("components")
    c.add_argument("--run", type=Path, required=True)
    c.add_argument("--model", action="append", default=[])
    c.add_argument("--out", type=Path, required=True)
    g = sub.add_parser("plot")
    g.add_argument("--diag", type=Path, required=True)
    g.add_argument("--docs", type=Path, default=HERE.parent / "docs")
    t = sub.add_parser("table")
    t.add_argument("--eval", type=Path, action="append", required=True)
    t.add_argument("--pretrained", type=Path, required=True)
    a = p.parse_args()
    if a.cmd == "table":
        print("\n".join(zoo_table(a.eval, a.pretrained)))
    elif a.cmd == "downstream":
        downstream(a.eval, a.model, a.teacher, a.out)
    elif a.cmd == "components":
        components(a.run, a.model, a.out)
    else:
        plot(a.diag, a.docs)


if __name__ == "__main__":
    main()
