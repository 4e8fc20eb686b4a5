"""Long recordings: peak memory of ``edgesea embed`` and ``edgesea teacher-embed`` against
file length (issue 17: memory grew with the file).

Writes synthetic noise recordings (16 kHz mono int16 WAV; 4 h is 460 MB) of each length, then
runs each command in a fresh child process and reports its peak RSS (``os.wait4`` of that
child), its wall time and the ratio of each peak to the shortest file's peak (target: flat,
within 20 %). The teacher is a random 64-d SEA student saved as ``model:PATH.safetensors``.
Nothing is asserted; timings depend on the machine.

Usage: python benchmarks/long_audio.py [--minutes 10 60 240] [--out runs/long_audio] [--keep]
       [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from edgesea.models import save_model, sea_student

SR = 16000


def write_noise(path: Path, minutes: float, seed: int = 0) -> Path:
    """A ``minutes`` long 16 kHz mono int16 WAV of white noise, written in 1-minute chunks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and sf.info(path).frames == int(minutes * 60 * SR):
        return path
    rng = np.random.default_rng(seed)
    total, chunk = int(minutes * 60 * SR), 60 * SR
    with sf.SoundFile(path, "w", SR, 1, subtype="PCM_16") as f:
        for start in range(0, total, chunk):
            n = min(chunk, total - start)
            f.write((rng.standard_normal(n) * 3000).clip(-32768, 32767).astype(np.int16))
    return path


def run_child(args: list[str], threads: int) -> tuple[float, float, int, str]:
    """Run ``python -m edgesea.cli ARGS`` in a fresh process: (peak RSS MB, wall s, rc,
    stderr tail)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "edgesea.cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # read stderr before waiting (a full pipe would block the child), then reap this child
    err = proc.stderr.read() if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak_mb = usage.ru_maxrss / 1024 if sys.platform != "darwin" else usage.ru_maxrss / 2**20
    return peak_mb, wall, proc.returncode, err.strip()[-300:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[10, 60, 240])
    ap.add_argument("--out", type=Path, default=Path("runs/long_audio"))
    ap.add_argument("--keep", action="store_true", help="Keep the audio and outputs.")
    ap.add_argument("--threads", type=int, default=1, help="Torch threads of each child.")
    ap.add_argument("--hop-size", type=float, default=0.5)
    a = ap.parse_args()

    a.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    teacher = save_model(sea_student(64).eval(), a.out / "teacher64.safetensors")
    rows = []
    try:
        for minutes in sorted(a.minutes):
            tag = f"{minutes:g}min"
            t0 = time.perf_counter()
            wav = write_noise(a.out / f"audio_{tag}" / f"noise_{tag}.wav", minutes)
            print(f"{tag}: wrote {wav} ({wav.stat().st_size / 2**20:.0f} MB) in "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)
            emb_out, store = a.out / f"emb_{tag}", a.out / f"store_{tag}"
            for path in (emb_out, store):
                shutil.rmtree(path, ignore_errors=True)
            runs = {
                "embed": ["embed", str(wav), "-o", str(emb_out), "--hop-size",
                          str(a.hop_size), "-q"],
                "teacher-embed": ["teacher-embed", str(wav.parent), "-o", str(store),
                                  "--teacher", f"model:{teacher}", "--hop-size",
                                  str(a.hop_size), "-q"],
            }
            for name, args in runs.items():
                peak, wall, rc, err = run_child(args, a.threads)
                rows.append((name, minutes, peak, wall, rc, err))
                print(f"  {name:<14} peak {peak:8.1f} MB  wall {wall:7.1f} s  rc {rc}"
                      + (f"  stderr: {err}" if rc else ""), flush=True)
            if not a.keep:
                for path in (wav.parent, emb_out, store):
                    shutil.rmtree(path, ignore_errors=True)
    finally:
        if not a.keep:
            (a.out / "teacher64.safetensors").unlink(missing_ok=True)

    base = {name: peak for name, m, peak, *_ in rows if m == min(a.minutes)}
    print(f"\n{'command':<14} {'minutes':>8} {'peak MB':>9} {'wall s':>8} "
          f"{'x shortest':>10} {'rc':>3}")
    for name, minutes, peak, wall, rc, _ in rows:
        ratio = peak / base[name] if base.get(name) else float("nan")
        print(f"{name:<14} {minutes:8g} {peak:9.1f} {wall:8.1f} {ratio:10.2f} {rc:3d}")
    print("target: peak flat within 20 % of the shortest file's (x shortest <= 1.20)")


if __name__ == "__main__":
    main()
