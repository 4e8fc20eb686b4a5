"""Embedding speed: the paper's 128-d SEA student vs L3-Net on the same 60 s of real audio.

Both networks are randomly initialised (speed does not depend on the weights). Timing is end
to end from the array: validation, resampling, windowing, front end and network, as
``edgesea.get_embedding`` does it (file decoding is not counted). Prints seconds of audio per
second of wall time at hop 1.0 and 0.1, and the student / L3-Net ratio.

Usage: python benchmarks/embed_speed.py [--seconds 60] [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

import edgesea
from edgesea.models import footprint, l3net, sea_student

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FOLD1 = SHARED / "data" / "urbansound8k_subset" / "audio" / "fold1"


def real_audio(seconds: float) -> tuple[np.ndarray, int]:
    """Concatenate real UrbanSound8K fold-1 clips (16 kHz) up to ``seconds``."""
    if not FOLD1.is_dir():
        sys.exit(f"needs the shared data at {FOLD1}")
    parts, total, sr = [], 0, 16000
    for f in sorted(FOLD1.glob("*.flac")):
        audio, sr = edgesea.load_audio(f)
        parts.append(audio.mean(axis=1))
        total += audio.shape[0]
        if total >= seconds * sr:
            break
    return np.concatenate(parts)[: int(seconds * sr)], sr


def speed(model, audio, sr, hop, repeats, batch_size) -> float:
    """Best-of-``repeats`` seconds of audio per second of wall time."""
    edgesea.get_embedding(audio[: sr * 2], sr, model=model, hop_size=hop)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        edgesea.get_embedding(audio, sr, model=model, hop_size=hop, batch_size=batch_size)
        best = min(best, time.perf_counter() - t0)
    return len(audio) / sr / best


def setup(ap: argparse.ArgumentParser) -> tuple[argparse.Namespace, np.ndarray, int]:
    """Add the shared options (--seconds, --threads, --batch-size), parse them, set torch's
    threads and seed, and load the real audio. Shared by the speed benchmarks."""
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    audio, sr = real_audio(args.seconds)
    return args, audio, sr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args, audio, sr = setup(ap)
    student, teacher = sea_student(128).eval(), l3net().eval()
    print(f"audio: {len(audio) / sr:.1f} s of real UrbanSound8K fold-1 audio at {sr} Hz; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for name, m in (("student-128", student), ("L3-Net", teacher)):
        fp = footprint(m)
        print(f"{name:12s} params {fp.params:,}  {fp.size_mb:.2f} MB  "
              f"act {fp.activation_mb:.2f} MB")
    print(f"{'hop (s)':>8} {'student x RT':>13} {'L3-Net x RT':>12} {'ratio':>7}")
    for hop in (1.0, 0.1):
        s = speed(student, audio, sr, hop, args.repeats, args.batch_size)
        t = speed(teacher, audio, sr, hop, max(1, args.repeats // 3), args.batch_size)
        print(f"{hop:>8.1f} {s:>13.1f} {t:>12.2f} {s / t:>7.1f}")
    print("targets (2 cores): student >= 500x RT at hop 1.0, >= 60x at hop 0.1, "
          ">= 50x faster than L3-Net")


if __name__ == "__main__":
    main()
