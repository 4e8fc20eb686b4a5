"""File embedding speed: ``edgesea.process_file`` (what ``edgesea embed`` runs) against
``edgesea.get_embedding`` on the same audio already in memory, for the shipped float
``sea_urban_128`` and its int8 ``.tflite``.

The audio (60 s of real UrbanSound8K fold-1 clips, 16 kHz) is written once to a FLAC file in
a temp folder; ``process_file`` decodes it, streams it in bounded blocks and writes the
``.npz`` (``overwrite=True`` each round), so its time includes decoding and writing. Timings
are interleaved, best of ``--repeats`` rounds after a warm-up. Prints x real time per path
and hop, and the ratio files / array.

Usage: python benchmarks/file_embed_speed.py [--seconds 60] [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import soundfile as sf
import torch
from embed_speed import setup
from stream_speed import best

import edgesea


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args, audio, sr = setup(ap)
    seconds = len(audio) / sr
    print(f"audio: {seconds:.1f} s of real UrbanSound8K fold-1 audio at {sr} Hz; torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads")
    models = {"float": "sea_urban_128", "int8": "sea_urban_128.int8"}
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "long.flac"
        sf.write(clip, audio, sr)
        print(f"{'hop (s)':>8} {'model':>6} {'array x RT':>11} {'file x RT':>10} "
              f"{'file / array':>13}")
        for hop in (0.1, 0.5):
            fns = {}
            for name, model in models.items():
                fns[f"{name} array"] = (lambda m=model, h=hop: edgesea.get_embedding(
                    audio, sr, model=m, hop_size=h))
                fns[f"{name} file"] = (lambda m=model, h=hop: edgesea.process_file(
                    str(clip), output_dir=tmp, model=m, hop_size=h, overwrite=True))
            times = best(fns, args.repeats)
            for name in models:
                a, f = seconds / times[f"{name} array"], seconds / times[f"{name} file"]
                print(f"{hop:>8.1f} {name:>6} {a:>11.1f} {f:>10.1f} {f / a:>13.2f}")


if __name__ == "__main__":
    main()
