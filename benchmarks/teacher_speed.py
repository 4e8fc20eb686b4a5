"""Teacher speed: aisfx and L3-Net (random weights) vs the 128-d SEA student, on the same 60 s
of real audio, in one run.

Teachers run as extraction does (``edgesea teacher-embed``): resample to the teacher's rate,
1 s windows at hop 0.5 s, batches of 64. The student runs through ``edgesea.get_embedding``
at the same hop (best of 3). Prints seconds of audio per second of wall time and the ratio of each
teacher to the student. aisfx runs twice: as shipped (its BatchNorm-folded packed trunk) and
with the eager network it ran before (``aisfx eager``), interleaved, best of 3 each.

Usage: python benchmarks/teacher_speed.py [--seconds 60] [--hop-size 0.5] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from embed_speed import setup, speed

from edgesea.audio.io import preprocess_audio
from edgesea.models import l3net, sea_student
from edgesea.teachers import AisfxTeacher, OpenL3Teacher


class EagerAisfx(AisfxTeacher):
    """aisfx with the eager :class:`~edgesea.teachers.aisfx.AisfxNet` (before the packed
    trunk)."""

    def _network(self, logmel: torch.Tensor) -> torch.Tensor:
        return self.net(logmel)


def teacher_speed(teacher, audio: np.ndarray, sr: int, hop: float, batch: int) -> float:
    """Seconds of audio per second for one teacher, end to end from the array."""
    def run() -> None:
        frames, _ = preprocess_audio(audio, sr, teacher.sample_rate, teacher.window, hop, True)
        for i in range(0, len(frames), batch):
            teacher.embed(np.ascontiguousarray(frames[i:i + batch]))

    run()  # warm-up (builds the inference copy)
    t0 = time.perf_counter()
    run()
    return len(audio) / sr / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hop-size", type=float, default=0.5)
    args, audio, sr = setup(ap)
    s = speed(sea_student(128).eval(), audio, sr, args.hop_size, 3, args.batch_size)
    rows = [("student-128 (8 kHz)", s)]
    packed, eager = AisfxTeacher(window=1.0), EagerAisfx(window=1.0)
    fast, slow = 0.0, 0.0
    for _ in range(3):  # interleaved: both see the same machine load
        fast = max(fast, teacher_speed(packed, audio, sr, args.hop_size, args.batch_size))
        slow = max(slow, teacher_speed(eager, audio, sr, args.hop_size, args.batch_size))
    rows += [("aisfx (44.1 kHz)", fast), ("aisfx eager (before)", slow)]
    rows.append(("L3-Net (48 kHz)", teacher_speed(OpenL3Teacher(l3net().eval()), audio, sr,
                                                   args.hop_size, args.batch_size)))
    print(f"{len(audio) / sr:.1f} s of real audio, hop {args.hop_size} s, "
          f"{torch.get_num_threads()} threads")
    print(f"{'model':22s} {'x real time':>12s} {'student / model':>16s}")
    for name, v in rows:
        print(f"{name:22s} {v:>12.1f} {s / v:>16.1f}")
    print(f"aisfx packed / eager: {fast / slow:.2f}x")


if __name__ == "__main__":
    main()
