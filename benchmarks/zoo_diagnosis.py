"""The zoo diagnosis of ``docs/results.md`` (issue: a zoo without weak sizes).

Two measurements, each one command:

``downstream``: the downstream score against the number of leading components kept, for the
teacher and each student, by the logistic-regression protocol's fold cross-check (train on
fold 1, score fold 2 and back; ``C`` chosen on the reverse pair, so the scored fold never
picks its own ``C``; :func:`edgesea.evaluate.protocols.cross_fold`). A student's outputs are
already ordered like its PCA targets (component 1 first); the teacher is put in the same
basis: a PCA of its standardised window embeddings on the training folds. It also scores
each embedding after a fixed orthogonal rotation (a normalised Hadamard matrix), which keeps
all of the embedding's information and changes only how the variance is spread over the
coordinates: what a classifier that standardises each coordinate sees.
Window embeddings are read from an ``edgesea evaluate`` folder's cache (run that first)::

    python benchmarks/zoo_diagnosis.py downstream --eval runs/eval_old --teacher aisfx \\
        --model src/edgesea/pretrained/sea_urban_512.safetensors ... --out runs/diag

``components``: each student's R² per target component on its run's validation windows
(the recordings the run held out), against the PCA targets of that run::

    python benchmarks/zoo_diagnosis.py components --run 512=runs/z/m512 ... --out runs/diag

``plot`` draws both (``docs/img/zoo_components.png``, ``docs/img/zoo_leading.png``) from the
JSON files the two commands write (kept in ``benchmarks/zoo_diagnosis_record.json``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
RECORD = HERE / "zoo_diagnosis_record.json"
DATA = HERE.parent.parent / "shared" / "data" / "urbansound8k_subset"
KS = (8, 16, 32, 64, 128, 256, 512)


def hadamard(d: int) -> np.ndarray:
    """The normalised Sylvester-Hadamard matrix of order ``d`` (a power of two): orthogonal,
    every entry +-1/sqrt(d)."""
    if d < 1 or d & (d - 1):
        raise ValueError(f"Hadamard order must be a power of two, got {d}")
    h = np.ones((1, 1))
    while h.shape[0] < d:
        h = np.block([[h, h], [h, -h]])
    return h / np.sqrt(d)


def _embedders(models: list[str], teachers: list[str]) -> list[tuple[str, Any]]:
    from edgesea.extract.run import resolve_teacher
    from edgesea.models import load_model
    from edgesea.teachers.model import ModelTeacher

    out = [(f"teacher:{t}", resolve_teacher(t)) for t in teachers]
    out += [(Path(m).stem, ModelTeacher(load_model(m))) for m in models]
    return out


def _pca_basis(windows: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """Windows of every clip in the PCA basis of the standardised windows of clips ``rows``
    (fitted on the training folds only)."""
    train = np.concatenate([windows[i] for i in rows]).astype(np.float64)
    mean, std = train.mean(0), train.std(0)
    std = np.where(std > 0, std, 1.0)
    _, _, vt = np.linalg.svd((train - mean) / std, full_matrices=False)
    return [((w - mean) / std) @ vt.T for w in windows]


def downstream(eval_dir: Path, models: list[str], teachers: list[str], out: Path,
               hop: float = 0.5) -> dict:
    """Leading-k and rotated cross-fold scores (see the module docstring)."""
    from edgesea.evaluate.classify import embed_dataset, read_dataset
    from edgesea.evaluate.protocols import cross_fold

    ds = read_dataset(DATA)
    train = np.flatnonzero(np.isin(ds.folds, [1, 2]))
    rec: dict[str, Any] = {"protocol": "LR cross-fold 1<->2 (C chosen on the reverse pair), "
                           "clip = [mean, max] of hop-0.5 windows", "embedders": {}}
    for name, emb in _embedders(models, teachers):
        windows = embed_dataset(ds, emb, eval_dir / "cache", hop, progress=False)
        d = windows[0].shape[1]
        row: dict[str, Any] = {"dim": d}
        if name.startswith("teacher:"):
            row["raw"] = cross_fold(ds, windows, [1, 2], protocol="lr")["mean"]
            windows = _pca_basis(windows, train)
        for k in [k for k in KS if k <= d]:
            row[f"k{k}"] = cross_fold(ds, [w[:, :k] for w in windows], [1, 2],
                                      protocol="lr")["mean"]
            print(name, k, row[f"k{k}"]["micro_auprc"], flush=True)
        if d & (d - 1) == 0:
            h = hadamard(d)
            row["rotated"] = cross_fold(ds, [w @ h.T for w in windows], [1, 2],
                                        protocol="lr")["mean"]
            print(name, "rotated", row["rotated"]["micro_auprc"], flush=True)
        rec["embedders"][name] = row
        out.mkdir(parents=True, exist_ok=True)
        (out / "downstream.json").write_text(json.dumps(rec, indent=1))
    return rec


def components(runs: list[str], out: Path) -> dict:
    """Per-component validation R² of each run's student against its own targets."""
    import torch

    from edgesea.models import load_model
    from edgesea.reduce import reducer_from_arrays
    from edgesea.specialize.layout import RunLayout
    from edgesea.store import EmbeddingStore

    rec: dict[str, Any] = {}
    for spec in runs:
        name, run = spec.split("=", 1)
        lay = RunLayout.of(run)
        with np.load(lay.sample) as z:
            val = np.asarray(z["val"])
        with np.load(lay.reduce / lay.REDUCER) as z:
            reducer = reducer_from_arrays(dict(z))
        emb = EmbeddingStore(lay.store).load(["embedding"])["embedding"]
        target = reducer.transform(emb[val])
        x = np.load(lay.inputs, mmap_mode="r")[val].astype(np.float32)
        model = load_model(lay.student).eval()
        with torch.no_grad():
            pred = np.concatenate([model(torch.from_numpy(x[i:i + 256])).numpy()
                                   for i in range(0, len(x), 256)])
        sst = ((target - target.mean(0)) ** 2).sum(0)
        r2 = 1 - ((pred - target) ** 2).sum(0) / sst
        rec[name] = {"r2": r2.tolist(), "variance": (sst / len(val)).tolist(),
                     "total_r2": float(1 - ((pred - target) ** 2).sum() / sst.sum())}
        print(name, "total R2", rec[name]["total_r2"], flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "components.json").write_text(json.dumps(rec, indent=1))
    return rec


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("downstream")
    d.add_argument("--eval", type=Path, required=True)
    d.add_argument("--model", action="append", default=[])
    d.add_argument("--teacher", action="append", default=[])
    d.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("components")
    c.add_argument("--run", action="append", default=[])
    c.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    if a.cmd == "downstream":
        downstream(a.eval, a.model, a.teacher, a.out)
    else:
        components(a.run, a.out)


if __name__ == "__main__":
    main()
