"""Build and score edgel3-style sparse aisfx models: prune, ``kd``-retrain, evaluate on fold 10.

The recorded recipe of the packaged sparse models (``edgesea/pretrained/sparse_aisfx_*``):

1. the dense aisfx teacher embeds every 1 s window (hop 0.5 s) of UrbanSound8K folds 1-2
   (the upstream audio; fold 10 is never seen) -> targets and log-mel inputs
   (:func:`edgesea.sparse.retrain.kd_data`);
2. one-shot layer-wise magnitude pruning at edgel3's profile (:mod:`edgesea.sparse.prune`);
3. ``kd``: Adam on the MSE to the dense embeddings, masks fixed, 10 % of the recordings held
   out for validation (:func:`edgesea.sparse.retrain.retrain_kd`);
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
import time
from pathlib import Path

import torch

from edgesea.distill import TrainConfig
from edgesea.sparse.prune import apply_masks, magnitude_masks, sparsity_report
from edgesea.sparse.retrain import kd_data, retrain_kd
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
    from edgesea.evaluate import embed_dataset, evaluate_embedder, read_dataset

    torch.set_num_threads(args.threads)
    work = Path(args.work)
    ds = read_dataset(args.data)
    rows = {}
    arms: list[tuple[str, object]] = [("dense", AisfxTeacher())]
    for s in args.sparsity:
        for kind in ("oneshot", "kd"):
            f = work / f"s{s:g}" / f"{kind}.pt"
            if f.is_file():
                arms.append((f"{s:g}-{kind}", _Pruned(torch.load(f, weights_only=True),
                                                      f"{s:g}-{kind}")))
    for name, emb in arms:
        t0 = time.perf_counter()
        windows = embed_dataset(ds, emb, work / "eval_cache", 0.5, f"embedding {name}")
        res = evaluate_embedder(ds, windows, [1, 2], 10, args.seeds)
        res.pop("test_scores_seed0", None)
        rep = sparsity_report(emb.net)
        rows[name] = {"nonzero": rep["nonzero"], "sparsity": rep["sparsity"], **res}
        m = res["micro_auprc"] if "micro_auprc" in res else res
        print(name, json.dumps(m), f"({time.perf_counter() - t0:.0f} s)", flush=True)
        (work / "eval.json").write_text(json.dumps(rows, indent=1, default=str))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("step", choices=["train", "evaluate"])
    p.add_argument("--data", default="../shared/data/urbansound8k_subset")
    p.add_argument("--work", default="runs/sparse")
    p.add_argument("--sparsity", type=float, nargs="+", default=[95.45, 87.0])
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-windows", type=int, default=None)
    p.add_argument("--seeds", type=int, default=5, help="classifier seeds (evaluate)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--resume", action="store_true")
    args = p.parse_args()
    train(args) if args.step == "train" else evaluate(args)


if __name__ == "__main__":
    main()
