"""What a short clip costs: ``get_embedding`` of a 4 s clip with the default ``batch_size``
(64) against ``batch_size`` equal to its window count, for the default student and a sparse
model, in one run (best of ``--repeats``, interleaved), and whether clips embedded in one
batched call equal clips embedded one by one (bit for bit).

Usage: ``python benchmarks/short_clips.py [--threads 2] [--repeats 20]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import edgesea
from edgesea.inference import api


def best_pair(fa, fb, repeats: int) -> tuple[float, float]:
    """Best times of ``fa`` and ``fb``, measured alternately (drift hits both alike)."""
    fa(), fb()
    ta, tb = [], []
    for _ in range(repeats):
        for fn, times in ((fa, ta), (fb, tb)):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return min(ta), min(tb)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--seconds", type=float, default=4.0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    sr = 16000
    clip = (0.1 * rng.standard_normal(int(args.seconds * sr))).astype(np.float32)
    clips = [(0.1 * rng.standard_normal(int(s * sr))).astype(np.float32)
             for s in (0.5, 1.3, 2.2, 4.0, 5.7)]
    print(f"{args.seconds:g} s clip, hop 0.5 s, {args.threads} threads, best of {args.repeats}")
    print(f"{'model':<24} {'windows':>7} {'batch 64 ms':>11} {'batch=n ms':>10} {'ratio':>6} "
          f"{'batched == one by one':>22}")
    for label, kw in (("sea_urban_128 (torch)", {}),
                      ("sea_urban_128.onnx", {"model": "sea_urban_128.onnx"}),
                      ("sparse_aisfx_95.45_kd", {"model_type": "sparse"})):
        emb, _ = edgesea.get_embedding(clip, sr, hop_size=0.5, **kw)
        n = emb.shape[0]
        t64, tn = best_pair(
            lambda kw=kw: edgesea.get_embedding(clip, sr, hop_size=0.5, **kw),
            lambda kw=kw, n=n: edgesea.get_embedding(clip, sr, hop_size=0.5, batch_size=n,
                                                     **kw), args.repeats)
        together, _ = edgesea.get_embedding(clips, sr, hop_size=0.5, **kw)
        alone = [edgesea.get_embedding(c, sr, hop_size=0.5, **kw)[0] for c in clips]
        same = all(np.array_equal(a, b) for a, b in zip(together, alone, strict=True))
        print(f"{label:<24} {n:>7} {1e3 * t64:>11.1f} {1e3 * tn:>10.1f} {t64 / tn:>5.2f}x "
              f"{same!s:>22}")
    api._CACHE.clear()


if __name__ == "__main__":
    main()
