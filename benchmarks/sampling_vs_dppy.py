"""edgesea's exact k-DPP against dppy's exact k-DPP sampler (benchmark-only dependency).

N = 5,000 synthetic 512-d embeddings (the mixture of ``sampling_scale.py``), L2-normalised,
k = 500, one kernel (no chunks: ``max_k_per_chunk=512``). Prints the time per draw of each and
how well their inclusion frequencies over R draws agree with each other and with the exact
k-DPP marginals (computed from the dual eigendecomposition and elementary symmetric
polynomials).

    pip install dppy   # not an edgesea dependency
    python benchmarks/sampling_vs_dppy.py [--n 5000] [--k 500] [--draws 30]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sampling_scale import make_data

from edgesea.sampling.samplers import DPPSampler


def kdpp_marginals(phi: np.ndarray, k: int) -> np.ndarray:
    """P(i in S) for the k-DPP with L = phi phi^T (exact, via the dual form)."""
    lam, W = np.linalg.eigh(phi.T @ phi)
    keep = lam > 1e-10 * lam.max()
    lam, W = lam[keep], W[:, keep]
    V = phi @ W / np.sqrt(lam)  # eigenvectors of L, (N, r)
    r = len(lam)
    logx = np.log(lam)
    # log ESPs e_0..e_k of all eigenvalues (row r) and of all but eigenvalue n (row n), in log
    # space: their range exceeds float64 for k in the hundreds.
    logE = np.full((r + 1, k + 1), -np.inf)
    logE[:, 0] = 0.0
    for m in range(r):
        rows = np.arange(r + 1) != m
        logE[rows, 1:] = np.logaddexp(logE[rows, 1:], logx[m] + logE[rows, :-1])
    weights = np.exp(logx + logE[:r, k - 1] - logE[r, k])
    return (V**2) @ weights


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--k", type=int, default=500)
    ap.add_argument("--draws", type=int, default=30)
    args = ap.parse_args()
    from dppy.finite_dpps import FiniteDPP

    X = make_data(args.n, 512).astype(np.float64)
    phi = X / np.linalg.norm(X, axis=1, keepdims=True)
    theory = kdpp_marginals(phi, args.k)
    print(f"N={args.n} k={args.k} draws={args.draws}; sum of exact marginals {theory.sum():.1f}")
    freq, times = {}, {}
    rng = np.random.RandomState(0)
    dpp = FiniteDPP("likelihood", L_gram_factor=phi.T)
    counts = np.zeros(args.n)
    t0 = time.perf_counter()
    for _ in range(args.draws):
        counts[dpp.sample_exact_k_dpp(size=args.k, mode="GS", random_state=rng)] += 1
    times["dppy (exact, GS)"] = (time.perf_counter() - t0) / args.draws
    freq["dppy (exact, GS)"] = counts / args.draws
    counts = np.zeros(args.n)
    t0 = time.perf_counter()
    for seed in range(args.draws):
        counts[DPPSampler(args.k, max_k_per_chunk=512, random_state=seed).sample(X)] += 1
    times["edgesea (exact)"] = (time.perf_counter() - t0) / args.draws
    freq["edgesea (exact)"] = counts / args.draws
    print(f"{'sampler':20s} {'s / draw':>9s} {'corr. w/ exact marginals':>25s} "
          f"{'mean |freq - marginal|':>23s}")
    for name in freq:
        c = np.corrcoef(freq[name], theory)[0, 1]
        print(f"{name:20s} {times[name]:>9.3f} {c:>25.3f} "
              f"{np.abs(freq[name] - theory).mean():>23.4f}")
    a, b = freq.values()
    print(f"correlation of the two samplers' inclusion frequencies: {np.corrcoef(a, b)[0, 1]:.3f};"
          f" time ratio dppy / edgesea: {times['dppy (exact, GS)'] / times['edgesea (exact)']:.1f}")


if __name__ == "__main__":
    main()
