"""Light path (NumPy front end + ONNX Runtime) against the torch path, in one run.

For the default student (``sea_urban_128``) the same 60 s of audio is embedded by
``get_embedding(..., model="sea_urban_128.onnx")`` (what ``pip install edgesea`` runs) and by
the torch model, at hop 0.1 and 0.5 s, with 1 and 2 threads (``torch.set_num_threads``,
ONNX Runtime's intra-op threads and the NumPy front end's FFT threads), interleaved, best of
``--repeats``. Prints x real time of each, their ratio, and the largest difference of the
embeddings relative to the largest value.
Usage: ``python benchmarks/light_speed.py [--seconds 60] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

import edgesea
from edgesea.inference import api
from edgesea.light.onnx_models import OnnxEmbedder
from edgesea.packaged.names import resolve_model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--model", default="sea_urban_128")
    args = p.parse_args()
    sr = 16000
    audio = (0.1 * np.random.default_rng(0).standard_normal(int(args.seconds * sr))).astype(
        np.float32)
    torch_model = api.get_model(args.model)
    print(f"{args.model}, {args.seconds:g} s of audio, best of {args.repeats}")
    print(f"{'hop':>5} {'threads':>7} {'torch xRT':>10} {'light xRT':>10} {'ratio':>6} "
          f"{'max rel diff':>12}")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        os.environ["OMP_NUM_THREADS"] = str(threads)  # the NumPy front end's FFT threads
        light = OnnxEmbedder(resolve_model(f"{args.model}.onnx"), num_threads=threads)
        for hop in (0.1, 0.5):
            best = {"torch": np.inf, "light": np.inf}
            out = {}
            for _ in range(args.repeats):
                for name, model in (("torch", torch_model), ("light", light)):
                    t0 = time.perf_counter()
                    out[name], _ = edgesea.get_embedding(audio, sr, model=model, hop_size=hop)
                    best[name] = min(best[name], time.perf_counter() - t0)
            rel = float(np.abs(out["light"] - out["torch"]).max() / np.abs(out["torch"]).max())
            xt, xl = args.seconds / best["torch"], args.seconds / best["light"]
            print(f"{hop:>5} {threads:>7} {xt:>10.0f} {xl:>10.0f} {xl / xt:>5.2f}x {rel:>12.1e}")


if __name__ == "__main__":
    main()
