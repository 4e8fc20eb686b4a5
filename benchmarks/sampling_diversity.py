"""Diversity of samples drawn from real teacher embeddings (issue 4 acceptance).

On a store written by ``edgesea teacher-embed`` (e.g. UrbanSound8K fold 1 with the aisfx
teacher), draws k windows with the diversity k-DPP, the greedy MAP mode, diversity+relevance
and 5 random samples of the same size, and prints for each the log-det of the L2-normalised
Gram matrix (``slogdet(Phi_S Phi_S^T + 1e-6 I)``, higher = more diverse) and the mean pairwise
cosine similarity (lower = more diverse).

    python benchmarks/sampling_diversity.py STORE [--k 500]
"""

from __future__ import annotations

import argparse

import numpy as np

from edgesea.sampling.samplers import DPPSampler, RandomSampler, make_sampler, relevance_percentile
from edgesea.store.shards import EmbeddingStore


def diversity(phi: np.ndarray) -> tuple[float, float]:
    """(log-det of the Gram + 1e-6 I, mean off-diagonal cosine) of unit rows ``phi``."""
    gram = phi @ phi.T
    logdet = float(np.linalg.slogdet(gram + 1e-6 * np.eye(len(phi)))[1])
    off = gram[~np.eye(len(phi), dtype=bool)]
    return logdet, float(off.mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("store")
    ap.add_argument("--k", type=int, default=500)
    args = ap.parse_args()
    data = EmbeddingStore.open(args.store).load()
    X = data["embedding"].astype(np.float64)
    phi = X / np.linalg.norm(X, axis=1, keepdims=True)
    rel = relevance_percentile(data["laeq_db"], data["file_index"])
    print(f"{len(X)} windows x {X.shape[1]}, k = {args.k}")
    print(f"{'sample':28s} {'log-det':>10s} {'mean cosine':>12s}")
    for name, s in (("diversity", make_sampler("diversity", args.k, random_state=0)),
                    ("diversity (greedy MAP)", DPPSampler(args.k, mode="greedy")),
                    ("diversity+relevance",
                     make_sampler("diversity+relevance", args.k, random_state=0))):
        idx = s.sample(X, relevance=rel)
        ld, cos = diversity(phi[idx])
        print(f"{name:28s} {ld:>10.1f} {cos:>12.4f}   chunks: {s.info_.get('n_chunks', 1)}")
    rnd = [diversity(phi[RandomSampler(args.k, random_state=s).sample(X)]) for s in range(5)]
    ld, cos = np.array(rnd).T
    print(f"{'random (mean of 5)':28s} {ld.mean():>10.1f} {cos.mean():>12.4f}   "
          f"(sd {ld.std():.1f} / {cos.std():.4f})")


if __name__ == "__main__":
    main()
