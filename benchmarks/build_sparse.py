"""Build and score edgel3-style sparse aisfx models: prune, ``kd``-retrain, evaluate on fold 10.

The recorded recipe of the packaged sparse models (``edgesea/pretrained/sparse_aisfx_*``):

1. the dense aisfx teacher embeds every 1 s window (hop 0.5 s) of UrbanSound8K folds 1-2
   (the upstream audio; fold 10 is never seen) -> targets and log-mel inputs
   (:func:`edgesea.prune.retrain.kd_data`);
2. one-shot layer-wise magnitude pruning at edgel3's profile (:mod:`edgesea.sparse.prune`);
3. ``kd``: Adam on the MSE to the dense embeddings, masks fixed, 10 % of the recordings held
   out for validation (:func:`edgesea.prune.retrain.retrain_kd`);
4. ``evaluate``: the edgesea protocol of docs/results.md (clip = mean+max of window
   embeddings, hop 0.5 s, classifier chosen by leave-one-fold-out on folds 1-2, scored on
   fold 10) for the dense teacher, the one-shot and the retrained models.

Usage::

    python benchmarks/build_sparse.py train --data ../shared/data/urbansound8k_subset \\
        --work runs/sparse --sparsity 95.45 --epochs 4
    python benchmarks/build_sparse.py evaluate --data ../shared/data/urbansound8k_subset \\
        --work runs/sparse

Each step resumes: the teacher store and inputs are reused, ``train`` continues from its
checkpoint (``--resume``), and evaluation caches each model's embeddings.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import tempfile
import time
from pathlib import Path

import torch

from edgesea.distill.train import TrainConfig
from edgesea.prune.retrain import kd_data, retrain_kd
from edgesea.sparse.prune import apply_masks, magnitude_masks, sparsity_report
from edgesea.teachers.aisfx import AisfxTeacher

RECIPE = {"teacher": "aisfx", "upstream": "UrbanSound8K folds 1-2", "hop_size": 0.5,
          "window": 1.0, "method": "layer", "val_fraction": 0.1, "batch_size": 64,
          "schedule": "cosine", "loss": "mse"}


def upstream_dir(data: Path, work: Path) -> Path:
    """A folder holding only folds 1 and 2 (links), the upstream audio."""
    up = work / "upstream"
    up.mkdir(parents=True, exist_ok=True)
    for fold in ("fold1", "fold2"):
        link = up / fold
        if not link.exists():
            os.symlink((data / "audio" / fold).resolve(), link)
    return up


def train(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    work = Path(args.work)
    teacher = AisfxTeacher()
    t0 = time.perf_counter()
    data = kd_data(upstream_dir(Path(args.data), work), work / "kd_data", teacher,
                   hop_size=RECIPE["hop_size"])
    print(f"kd data: {len(data.targets)} windows, {len(set(data.groups.tolist()))} "
          f"recordings ({time.perf_counter() - t0:.0f} s)", flush=True)
    for s in args.sparsity:
        net = copy.deepcopy(teacher.net).train()
        masks = magnitude_masks(net, s)
        apply_masks(net, masks)
        out = work / f"s{s:g}"
        out.mkdir(parents=True, exist_ok=True)
        torch.save(net.state_dict(), out / "oneshot.pt")
        rep = sparsity_report(net)
        print(f"{s:g}%: {rep['nonzero']:,} non-zero of {rep['weights']:,} "
              f"({rep['sparsity']:.2f}% sparse)", flush=True)
        cfg = TrainConfig(epochs=args.epochs, lr=args.lr, schedule="cosine", patience=0,
                          batch_size=RECIPE["batch_size"], seed=args.seed)
        res = retrain_kd(net, masks, data, out / "kd", cfg,
                         val_fraction=RECIPE["val_fraction"], max_windows=args.max_windows,
                         resume=args.resume)
        torch.save(net.state_dict(), out / "kd.pt")
        rep = sparsity_report(net)
        best = res.history[res.best_epoch - 1]
        summary = {"sparsity": s, "recipe": RECIPE | {"epochs": args.epochs, "lr": args.lr,
                                                     "seed": args.seed,
                                                     "max_windows": args.max_windows},
                   "nonzero": rep["nonzero"], "weights": rep["weights"],
                   "measured_sparsity": rep["sparsity"], "best_epoch": res.best_epoch,
                   "val_r2": best["val_r2"], "val_cosine": best["val_cosine"],
                   "history": res.history, "wall_s": res.wall_s}
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
        print(f"{s:g}% kd: best epoch {res.best_epoch}, val R2 {best['val_r2']:.4f}, "
              f"cosine {best['val_cosine']:.4f} ({res.wall_s:.0f} s)", flush=True)


class _Pruned(AisfxTeacher):
    """The aisfx teacher with other weights (a pruned / retrained state dict)."""

    def __init__(self, state: dict, tag: str) -> None:
        super().__init__()
        self.net.load_state_dict(state)
        self.net.eval()
        from edgesea.teachers.base import identity_hash
        self.identity = identity_hash(state, {"name": "aisfx-sparse", "tag": tag})


def evaluate(args: argparse.Namespace) -> None:
    from edgesea.evaluate.classify import embed_dataset, evaluate_embedder, read_dataset

    torch.set_num_threads(args.threads)
    work = Path(args.work)
    ds = read_dataset(args.data)
    rows = {}
    arms: list[tuple[str, object]] = ([("dense", AisfxTeacher())]
                                      if not args.arms or "dense" in args.arms else [])
    for s in args.sparsity:
        for kind in ("oneshot", "kd"):
            f = work / f"s{s:g}" / f"{kind}.pt"
            if f.is_file() and (not args.arms or f"{s:g}-{kind}" in args.arms):
                arms.append((f"{s:g}-{kind}", _Pruned(torch.load(f, weights_only=True),
                                                      f"{s:g}-{kind}")))
    for name, emb in arms:
        t0 = time.perf_counter()
        windows = embed_dataset(ds, emb, work / "eval_cache", 0.5, f"embedding {name}")
        res = evaluate_embedder(ds, windows, [1, 2], 10, args.seeds)
        res.pop("test_scores_seed0", None)
        rep = sparsity_report(emb.net)
        rows[name] = {"nonzero": rep["nonzero"], "sparsity": rep["sparsity"], **res}
        print(name, json.dumps(res["metrics"]), f"({time.perf_counter() - t0:.0f} s)",
              flush=True)
        (work / f"eval_{name}.json").write_text(json.dumps(rows[name], indent=1, default=str))


def package(args: argparse.Namespace) -> None:
    """Write the retrained models as packaged sparse files (``--out``, default the package's
    ``pretrained/``), with their recipe and licenses."""
    from edgesea.sparse.packaged import packaged_name
    from edgesea.sparse.storage import save_sparse

    work = Path(args.work)
    teacher = AisfxTeacher()
    out_dir = Path(args.out) if args.out else Path(__file__).resolve().parents[1] / \
        "src" / "edgesea" / "pretrained"
    for s in args.sparsity:
        run = work / f"s{s:g}"
        summary = json.loads((run / "summary.json").read_text())
        net = copy.deepcopy(teacher.net)
        net.load_state_dict(torch.load(run / "kd.pt", weights_only=True))
        masks = magnitude_masks(copy.deepcopy(teacher.net), s)
        recipe = summary["recipe"] | {"best_epoch": summary["best_epoch"],
                                      "val_r2": summary["val_r2"],
                                      "val_cosine": summary["val_cosine"]}
        path = save_sparse(net, out_dir / f"{packaged_name(s, 'kd')}.safetensors",
                           sparsity=s, retrain="kd", recipe=recipe, masks=masks,
                           teacher_identity=teacher.identity,
                           training_data="UrbanSound8K folds 1-2 (audio only, labels unused)",
                           licenses={"training_data": "CC BY-NC 3.0 (UrbanSound8K)"},
                           values_dtype="float16" if args.float16 else "float32")
        print(f"{path}: {Path(path).stat().st_size:,} bytes", flush=True)


_LICENSE = """## License

The weights derive from two sources. The teacher weights (aisfx 0.1.2, by Alison B. Ma and \
Alexander Lerch, ISMIR 2022) are licensed **CC BY 4.0** (the aisfx code is MIT): attribute \
them. The retraining used UrbanSound8K audio (folds 1 and 2; Salamon, Jacoby and Bello, \
2014), licensed **CC BY-NC 3.0**: the labels were not used, but the retrained weights derive \
from that audio, so treat them as CC BY-NC 3.0 as well, i.e. free to share and adapt with \
attribution, **not for commercial use**.
"""


def _metric(r: dict, key: str) -> str:
    m = r["metrics"][key]
    return f"{m['mean']:.3f} ± {m['std']:.3f}"


def card(args: argparse.Namespace) -> None:
    """Write ``<name>.md`` beside each packaged sparse model of ``--sparsity`` from its run
    (``summary.json``, the split), its evaluation (``eval_<s>-kd.json``, ``eval_dense.json``)
    and the packaged file (header, size, footprint)."""
    from edgesea.sparse.model import SparseModel
    from edgesea.sparse.packaged import packaged_name
    from edgesea.sparse.prune import PROFILES

    work = Path(args.work)
    out_dir = Path(args.out) if args.out else Path(__file__).resolve().parents[1] / \
        "src" / "edgesea" / "pretrained"
    dense = json.loads((work / "eval_dense.json").read_text())
    for s in args.sparsity:
        name = packaged_name(s, "kd")
        path = out_dir / f"{name}.safetensors"
        summ = json.loads((work / f"s{s:g}" / "summary.json").read_text())
        split = json.loads((work / f"s{s:g}" / "kd" / "split.json").read_text())
        ev_file = work / f"eval_{s:g}-kd.json"
        ev = json.loads(ev_file.read_text()) if ev_file.is_file() else None
        model = SparseModel.load(path)
        fp = model.footprint().to_dict()
        head = model.metadata
        f16 = head.get("values_dtype") == "float16"
        recipe = summ["recipe"]
        n_train = split["n_train"]
        prof = " ".join(f"{p:g}" for p in PROFILES[s])
        teacher_auprc = dense["metrics"]["micro_auprc"]["mean"]
        share = (f"{100 * ev['metrics']['micro_auprc']['mean'] / teacher_auprc:.1f} %"
                 if ev else "-")
        scores = ([("fold 10 micro-AUPRC", _metric(ev, "micro_auprc")),
                   ("fold 10 macro-AUPRC", _metric(ev, "macro_auprc")),
                   ("fold 10 accuracy", _metric(ev, "accuracy"))] if ev else
                  [("fold 10 micro-AUPRC", "not measured")])
        rows = [
            ("architecture", "aisfx CNN9 (`aisfx-cnn9`: eight 3x3 convolutions 64, 64, 128, "
             "128, 256, 256, 512, 512 channels, BatchNorm, ReLU; mean over mel, max over "
             "time), 512-d, 44.1 kHz, 1 s windows, the aisfx (Essentia) log-mel front end"),
            ("teacher", "aisfx 0.1.2 (`aisfx/models/checkpoint.pth`), dense, 1 s windows"),
            ("pruning", f"one-shot layer-wise magnitude pruning at edgel3's {s:g} % profile, "
             f"conv1..conv8 {prof} % (the first convolution, biases and BatchNorm are not "
             f"pruned): {head['nonzero']:,} non-zero of {head['weights']:,} conv weights "
             f"({head['measured_sparsity']:.2f} % sparse), by construction of the profile"),
            ("retraining", f"`kd`: Adam, MSE to the dense teacher's 512-d embeddings, masks "
             f"fixed (pruned weights get no gradient and stay zero); {recipe['epochs']} "
             f"epoch{'s' if recipe['epochs'] != 1 else ''}, lr {recipe['lr']:g}, "
             f"{recipe['schedule']} schedule, batch "
             f"{recipe['batch_size']}, seed {recipe['seed']}, {n_train:,} training windows"
             + (f" (a random {n_train:,} of them: `--max-windows`)"
                if recipe.get("max_windows") else " (all of them)")
             + f"; {summ['wall_s']:.0f} s on 2 shared CPU cores"),
            ("data", "UrbanSound8K folds 1 and 2 (audio only, labels unused; fold 10 never "
             "seen), 1 s windows at hop 0.5 s; 10 % of the recordings (by Freesound id) held "
             f"out for validation; {n_train:,} training and {split['n_val']:,} validation "
             "windows"),
            ("validation (held-out recordings of folds 1-2)", f"R² {summ['val_r2']:.3f} and "
             f"mean cosine {summ['val_cosine']:.3f} to the dense teacher's embeddings after kd"),
            *scores,
            ("fold 10, beside", f"dense teacher {_metric(dense, 'micro_auprc')} (this model: "
             f"{share})" + ("; scored with the run's float32 weights (`evaluate`), which the "
                            "file's float16 values follow to cosine >= 0.99999" if f16 else "")),
            ("size", f"dense 18.76 MB float32 (4,689,984 numbers); stored sparse: kept "
             f"weights as {'float16 (2 bytes)' if f16 else 'float32 (4 bytes)'}, BatchNorm "
             f"at 4 bytes, 1 mask bit per weight; file {fp['file_bytes']:,} bytes"
             + (" (float16 values: embeddings within cosine 0.99999 of float32 ones, "
                "`benchmarks/sparse_float16.py`)" if f16 else "")),
            ("activation", f"{fp['activation_mb']:.2f} MB ({fp['activation_elements']:,} "
             "values: the first convolution's output for one window), unchanged by pruning: "
             "no microcontroller tier fits (64 KB / 256 KB arena)"),
            ("compute", f"{fp['macs']:,} MACs per window (network, dense, as the teacher); "
             f"{fp['nonzero_macs']:,} of them with a non-zero weight"),
        ]
        lines = [f"# `{name}`: the aisfx teacher pruned to {s:g} % sparsity, retrained by "
                 "distillation (kd)", "",
                 f"`edgesea.get_embedding(audio, sr, model_type='sparse', sparsity={s:g}, "
                 f"retrain_type='kd')`; `edgesea embed FILE --model-type sparse --sparsity "
                 f"{s:g}`; `edgel3.get_embedding(audio, sr, sparsity={s:g}, retrain_type='kd')` "
                 f"with `import edgesea.edgel3 as edgel3`. File: `{name}.safetensors` (an "
                 "edgesea sparse model file: a bitmask and the non-zero values of each "
                 "convolution, BatchNorm dense; docs/sparse.md).", "",
                 "| | |", "|---|---|", *[f"| {k} | {v} |" for k, v in rows], "",
                 "Evaluation protocol: `docs/results.md` (classifier on mean+max clip "
                 "embeddings trained on folds 1+2, chosen by leave-one-fold-out validation; "
                 "fold 10 only scored; 5 seeds).", "", "## Rebuild", "",
                 "The recorded recipe is `benchmarks/build_sparse.py`, with `DATA` = the "
                 "UrbanSound8K subset of docs/data.md:", "", "```bash",
                 f"python benchmarks/build_sparse.py train --data $DATA --work runs/sparse "
                 f"--sparsity {s:g} --epochs {recipe['epochs']}"
                 + (f" --max-windows {recipe['max_windows']}" if recipe.get("max_windows")
                    else ""),
                 f"python benchmarks/build_sparse.py evaluate --data $DATA --work runs/sparse "
                 f"--sparsity {s:g}",
                 f"python benchmarks/build_sparse.py package --work runs/sparse --sparsity {s:g}"
                 + (" --float16" if f16 else ""),
                 f"python benchmarks/build_sparse.py card --work runs/sparse --sparsity {s:g}",
                 "```", "", _LICENSE]
        (out_dir / f"{name}.md").write_text("\n".join(lines), encoding="utf-8")
        print(f"{out_dir / (name + '.md')}")


def report(args: argparse.Namespace) -> None:
    """Markdown table (printed) and figure ``docs/img/sparse_vs_sea.png``: the sparse models
    beside the dense teacher and the packaged SEA students (fold-10 micro-AUPRC)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from edgesea.sparse.storage import save_sparse
    from edgesea.zoo import catalog

    work = Path(args.work)
    rows = {f.stem[len("eval_"):]: json.loads(f.read_text())
            for f in sorted(work.glob("eval_*.json"))}
    rows = dict(sorted(rows.items(), key=lambda kv: (kv[0] != "dense", kv[0])))
    dense = rows["dense"]["metrics"]["micro_auprc"]["mean"]
    lines = ["| model | sparsity % | non-zero weights | file MB | activation MB | val R² (kd) "
             "| micro-AUPRC | macro-AUPRC | accuracy | % of teacher |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    pts = []
    for name, r in rows.items():
        m = r["metrics"]
        s, _, kind = name.partition("-")
        summ = work / f"s{s}" / "summary.json"
        r2 = (f"{json.loads(summ.read_text())['val_r2']:.3f}"
              if kind == "kd" and summ.is_file() else "-")
        size = "18.76 (dense float32)"
        if kind:  # the sparse file this state makes (what save_sparse writes)
            with tempfile.TemporaryDirectory() as tmp:
                f = save_sparse(torch.load(work / f"s{s}" / f"{kind}.pt", weights_only=True),
                                Path(tmp) / "m.safetensors", sparsity=float(s), retrain=kind)
                size = f"{Path(f).stat().st_size / 1e6:.2f}"
        label = "dense teacher (aisfx)" if name == "dense" else f"sparse aisfx {s}% {kind}"
        mi = m["micro_auprc"]
        lines.append(f"| {label} | {r['sparsity']:.2f} | {r['nonzero']:,} | {size} | "
                     f"{args.activation_mb} | {r2} | {mi['mean']:.3f} ± {mi['std']:.3f} | "
                     f"{m['macro_auprc']['mean']:.3f} ± {m['macro_auprc']['std']:.3f} | "
                     f"{m['accuracy']['mean']:.3f} ± {m['accuracy']['std']:.3f} | "
                     f"{100 * mi['mean'] / dense:.1f} |")
        pts.append((r["nonzero"], mi["mean"], label))
    sea = [(z.params, z.micro_auprc, z.name) for z in catalog()
           if z.kind == "sea" and z.micro_auprc]
    print("\n".join(lines))
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.scatter([p[0] for p in pts], [p[1] for p in pts], label="aisfx dense / sparse")
    ax.scatter([p[0] for p in sea], [p[1] for p in sea], marker="s", label="SEA students")
    for x, y, t in pts + sea:
        ax.annotate(t.replace("sparse aisfx ", ""), (x, y), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    ax.axhline(0.97 * dense, ls="--", c="grey", lw=0.8, label="97% of the teacher")
    ax.set_xscale("log")
    ax.set_xlabel("non-zero weights (parameters)")
    ax.set_ylabel("fold-10 micro-AUPRC")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(args.figure)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    print(f"figure: {out}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("step", choices=["train", "evaluate", "package", "card", "report"])
    p.add_argument("--data", default="../shared/data/urbansound8k_subset")
    p.add_argument("--work", default="runs/sparse")
    p.add_argument("--sparsity", type=float, nargs="+", default=[95.45, 87.0])
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-windows", type=int, default=None)
    p.add_argument("--seeds", type=int, default=5, help="classifier seeds (evaluate)")
    p.add_argument("--arms", nargs="*", default=None,
                   help="evaluate only these (dense, 95.45-oneshot, 95.45-kd, ...)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--figure", default="docs/img/sparse_vs_sea.png")
    p.add_argument("--out", default=None, help="package: folder (default: pretrained/)")
    p.add_argument("--activation-mb", default="see docs/sparse.md")
    p.add_argument("--float16", action="store_true",
                   help="package: store the kept weights as float16 (half the bytes)")
    args = p.parse_args()
    {"train": train, "evaluate": evaluate, "package": package, "card": card,
     "report": report}[args.step](args)


if __name__ == "__main__":
    main()
