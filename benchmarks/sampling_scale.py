"""Wall time and peak memory of each sampling mode at scale (issue 4).

N synthetic 512-d float32 embeddings (a seeded mixture of clustered Gaussians), k samples.
Each mode runs in its own subprocess, so its peak RSS (``ru_maxrss``) is its own; the table
shows the sampler's wall time, the process's peak RSS and the peak minus the RSS after the
data were generated (the sampler's own memory).

    python benchmarks/sampling_scale.py [--n 1000000] [--k 50000] [--dim 512]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

MODES = ("random", "relevance", "diversity", "diversity+relevance", "diversity-greedy")


def make_data(n: int, dim: int, seed: int = 0, clusters: int = 64) -> np.ndarray:
    """Mixture of ``clusters`` Gaussians with random scales, float32, built in blocks."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(clusters, dim)).astype(np.float32) * 3
    scales = rng.uniform(0.3, 2.0, size=clusters).astype(np.float32)
    X = np.empty((n, dim), np.float32)
    for a in range(0, n, 100_000):
        b = min(n, a + 100_000)
        lab = rng.integers(clusters, size=b - a)
        X[a:b] = rng.standard_normal((b - a, dim), dtype=np.float32) * scales[lab, None]
        X[a:b] += centers[lab]
    return X


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(mode: str, n: int, k: int, dim: int) -> dict:
    from edgesea.sampling.samplers import DPPSampler, make_sampler

    X = make_data(n, dim)
    rel = np.random.default_rng(1).uniform(0.05, 1.0, size=n)
    base = _rss_mb()
    if mode == "diversity-greedy":
        sampler = DPPSampler(k, mode="greedy", random_state=0)
    else:
        sampler = make_sampler(mode, k, random_state=0)
    t = time.perf_counter()
    out = sampler.sample(X=X, relevance=rel)
    wall = time.perf_counter() - t
    assert len(np.unique(out)) == k
    info = sampler.info_
    return {"mode": mode, "wall_s": wall, "peak_rss_mb": _rss_mb(), "data_rss_mb": base,
            "chunk_size": info.get("chunk_size"), "n_chunks": info.get("n_chunks")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--k", type=int, default=50_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--one", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(run_one(a.one, a.n, a.k, a.dim)))
        return
    print(f"N={a.n:,} D={a.dim} k={a.k:,}")
    print(f"{'mode':<22}{'wall s':>9}{'peak RSS MB':>13}{'sampler MB':>12}{'chunk':>8}"
          f"{'chunks':>8}")
    for mode in a.modes.split(","):
        cmd = [sys.executable, __file__, "--one", mode, "--n", str(a.n), "--k", str(a.k),
               "--dim", str(a.dim)]
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if res.returncode:
            print(f"{mode:<22} failed: {res.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(res.stdout.strip().splitlines()[-1])
        print(f"{mode:<22}{r['wall_s']:>9.1f}{r['peak_rss_mb']:>13.0f}"
              f"{r['peak_rss_mb'] - r['data_rss_mb']:>12.0f}{r['chunk_size'] or '-':>8}"
              f"{r['n_chunks'] or '-':>8}", flush=True)


if __name__ == "__main__":
    main()
