"""Peak memory of edgesea.StreamEmbedder over a long stream: an hour of audio pushed in
20 ms chunks (a live-like stream), RSS sampled every simulated minute.

    python benchmarks/stream_memory.py [--minutes 60] [--hop 0.5]

Prints RSS (MB) after each simulated 10 minutes and the growth from minute 1 to the end;
flat memory means the growth stays near zero (no figure is asserted: docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

import edgesea


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--hop", type=float, default=0.5)
    args = ap.parse_args()
    sr, chunk = 16000, 320
    rng = np.random.default_rng(0)
    minute = (0.1 * rng.standard_normal(sr * 60)).astype(np.float32)
    stream = edgesea.StreamEmbedder(sr=sr, hop_size=args.hop)
    n_rows, samples, t0 = 0, [], time.perf_counter()
    for m in range(int(args.minutes)):
        for i in range(0, minute.shape[0], chunk):
            n_rows += len(stream.push(minute[i:i + chunk])[0])
        samples.append(rss_mb())
        if (m + 1) % 10 == 0 or m == 0:
            print(f"minute {m + 1:3d}: {n_rows:6d} rows, RSS {samples[-1]:.1f} MB")
    n_rows += len(stream.flush()[0])
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.minutes:g} min of audio in 20 ms chunks: {n_rows} rows in {wall:.1f} s "
          f"({args.minutes * 60 / wall:.0f}x real time); RSS minute 1 {samples[0]:.1f} MB, "
          f"end {samples[-1]:.1f} MB (growth {samples[-1] - samples[0]:+.1f} MB), peak "
          f"{peak:.1f} MB")


if __name__ == "__main__":
    main()
