"""float16 values in sparse model files: how much smaller, how close.

For each sparse model file given, writes a float16 copy (``save_sparse(...,
values_dtype="float16")``) and embeds the same windows with both: 1 s windows at hop 0.5 s of
the first ``--files`` recordings of UrbanSound8K folds 1-2 (the training audio; fold 10 is not
used). Prints the file sizes and the per-window cosine (mean, min) and the largest difference
relative to the largest embedding value. Usage::

    python benchmarks/sparse_float16.py src/edgesea/pretrained/sparse_aisfx_87.0_kd.safetensors \\
        --data ../shared/data/urbansound8k_subset --files 40
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from edgesea.audio.io import load_audio, preprocess_audio
from edgesea.sparse.model import SparseModel
from edgesea.sparse.storage import load_sparse, save_sparse


def windows(data: Path, n_files: int) -> np.ndarray:
    files = sorted((data / "audio" / "fold1").glob("*.flac"))[: n_files // 2] + sorted(
        (data / "audio" / "fold2").glob("*.flac"))[: n_files - n_files // 2]
    out = []
    for f in files:
        audio, sr = load_audio(f)
        frames, _ = preprocess_audio(audio, sr, 44100, 1.0, 0.5, True)
        out.append(frames)
    return np.concatenate(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", type=Path)
    p.add_argument("--data", type=Path, default=Path("../shared/data/urbansound8k_subset"))
    p.add_argument("--files", type=int, default=40)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    x = windows(args.data, args.files)
    print(f"{len(x)} windows of {args.files} recordings of folds 1-2")
    print(f"{'model':<34} {'float32 MB':>10} {'float16 MB':>10} {'cos mean':>9} "
          f"{'cos min':>8} {'max rel':>8}")
    for path in args.models:
        f = load_sparse(path)
        with tempfile.TemporaryDirectory() as tmp:
            half = save_sparse(f.net, Path(tmp) / "h.safetensors", sparsity=f.header["sparsity"],
                               retrain=f.header["retrain"], masks=f.masks,
                               values_dtype="float16")
            size16 = Path(half).stat().st_size
            a = SparseModel.load(path).embed(x)
            b = SparseModel.load(half).embed(x)
        cos = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1),
                                          1e-12)
        rel = float(np.abs(a - b).max() / np.abs(a).max())
        print(f"{path.name:<34} {path.stat().st_size / 1e6:>10.2f} {size16 / 1e6:>10.2f} "
              f"{cos.mean():>9.6f} {cos.min():>8.6f} {rel:>8.1e}")


if __name__ == "__main__":
    main()
