"""Peak memory of the ``specialize`` stages against the number of windows (docs/scaling.md).

Writes a synthetic store (:func:`edgesea.store.synth.synthetic_store`: 512-d float16
embeddings, 250 windows per file, 64 files per shard) of ``--max-windows`` windows, then
runs each stage on stores of its first shards (``--sizes``), every stage in a fresh
process whose peak resident set (``ru_maxrss``) is reported:

``sample``        split + diversity+relevance k-DPP sample of ``--sample`` of the training
                  windows, on the store (out of core);
``reduce``        PCA to 128-d fitted on that sample, targets of every window written;
``reduce-large``  the same with a random 50 % sample (fitted in two streaming passes);
``in-memory``     the earlier way (store loaded, reducer fitted and applied on arrays),
                  only up to ``--in-memory-max`` windows.

    python benchmarks/out_of_core.py --work runs/ooc --max-windows 5000000 \\
        --plot docs/img/out_of_core_rss.png

The store (about 2.6 GB per million windows) is deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SHARD_ROWS = 250 * 64


def _stage(store_dir: str, stage: str, sample: str, out: str) -> dict:
    from edgesea.specialize.config import SpecializeConfig
    from edgesea.specialize.stages import fit_reduce, split_and_sample
    from edgesea.store.arrays import store_column
    from edgesea.store.shards import EmbeddingStore

    t = time.perf_counter()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    store = EmbeddingStore.open(store_dir)
    outp = Path(out)
    outp.mkdir(parents=True, exist_ok=True)
    cfg = SpecializeConfig(sampling="diversity+relevance", sample_size=sample, emb_dim=128)
    if stage == "sample":
        cols = {**store.load(["file_index", "laeq_db"]),
                "embedding": store_column(store, "embedding")}
        info = split_and_sample(store, cols, cfg, outp / "sample.npz")
    elif stage in ("reduce", "reduce-large"):
        split = np.load(outp / "sample.npz")
        pick = split["sample"]
        if stage == "reduce-large":
            rng = np.random.default_rng(0)
            tr = split["train_all"]
            pick = np.sort(rng.choice(tr, len(tr) // 2, replace=False))
        info = fit_reduce(store_column(store, "embedding"), pick, cfg, outp / stage)
        info["n_fit"] = len(pick)
    else:  # the earlier, in-memory way
        from edgesea.reduce import make_reducer
        cols = store.load(["file_index", "embedding", "laeq_db"])
        info = split_and_sample(store, cols, cfg, outp / "sample-mem.npz")
        pick = np.load(outp / "sample-mem.npz")["sample"]
        red = make_reducer("pca", 128, random_state=0).fit(cols["embedding"][pick])
        np.save(outp / "targets-mem.npy", red.transform(cols["embedding"]).astype(np.float32))
    return {"stage": stage, "n_windows": len(store), "wall_s": time.perf_counter() - t,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "start_rss_mb": rss0 / 1024, **{k: v for k, v in info.items()
                                              if isinstance(v, int | float)}}


def _run_child(store_dir: Path, stage: str, sample: str, out: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", str(store_dir), stage, sample, str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"{stage} on {store_dir} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for stage, style in (("sample", "o-"), ("reduce", "s-"), ("reduce-large", "^-"),
                         ("in-memory", "x--")):
        pts = sorted((r["n_windows"], r["peak_rss_mb"]) for r in rows if r["stage"] == stage)
        if pts:
            ax.plot([p[0] / 1e6 for p in pts], [p[1] / 1024 for p in pts], style,
                    label=stage)
    ax.axhline(4, color="grey", ls=":", lw=1)
    ax.set_xlabel("windows (millions; 512-d float16 store)")
    ax.set_ylabel("peak RSS (GiB)")
    ax.set_title("peak memory per stage vs store size")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("runs/ooc"))
    ap.add_argument("--max-windows", type=int, default=5_000_000)
    ap.add_argument("--sizes", default="250000,1000000,2500000,5000000")
    ap.add_argument("--sample", default="1%", help="sample size of the sample stage")
    ap.add_argument("--in-memory-max", type=int, default=1_000_000)
    ap.add_argument("--plot", type=Path, default=None)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_stage(*args.child)))
        return
    from edgesea.store.synth import store_prefix, synthetic_store

    big = args.work / "store"
    t = time.perf_counter()
    if not (big / "manifest.json").is_file():
        synthetic_store(big, args.max_windows, emb_dim=512, windows_per_file=250,
                        files_per_shard=64, embedding_dtype="float16")
    print(f"synthetic store: {args.max_windows} windows x 512 float16, "
          f"{sum(f.stat().st_size for f in (big / 'shards').iterdir()) / 1e9:.2f} GB, "
          f"{time.perf_counter() - t:.0f} s", flush=True)
    rows = []
    try:
        for n in [int(s) for s in args.sizes.split(",")]:
            n_shards = -(-n // SHARD_ROWS)
            sub = args.work / f"n{n}"
            store_dir = big if n >= args.max_windows else sub / "store"
            if store_dir != big:
                store_prefix(big, store_dir, n_shards)
            stages = ["sample", "reduce", "reduce-large"]
            if n <= args.in_memory_max:
                stages.append("in-memory")
            for stage in stages:
                r = _run_child(store_dir, stage, args.sample, sub)
                rows.append(r)
                print(f"{r['n_windows']:>9} windows  {stage:<13} peak RSS "
                      f"{r['peak_rss_mb']:7.0f} MB  ({r['wall_s']:.0f} s)", flush=True)
    finally:
        (args.work.parent / f"{args.work.name}_results.json").write_text(
            json.dumps(rows, indent=1))
        if args.plot and rows:
            _plot(rows, args.plot)
        if not args.keep:
            shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
