"""``edgesea evaluate``: downstream classification of one or more embedders on a labelled
dataset (:mod:`edgesea.evaluate`); registered on the app of :mod:`edgesea.cli`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import EdgeSEAError
from .common import EXIT_FAILED, fail

__all__ = ["evaluate_command", "run_evaluation"]


def _folds(text: str) -> list[int]:
    try:
        folds = [int(t) for t in text.split(",") if t.strip()]
    except ValueError as e:
        raise EdgeSEAError(f"invalid --train-folds {text!r}: expected e.g. 1,2") from e
    if not folds:
        raise EdgeSEAError("--train-folds is empty")
    return folds


def run_evaluation(dataset: Path, models: list[Path], teachers: list[str],
                   train_folds: list[int], test_fold: int, seeds: int, hop_size: float,
                   out: Path, progress: bool = True) -> dict[str, Any]:
    """Evaluate every model file and teacher; write ``out/results.json``; return it."""
    import numpy as np

    from ..evaluate import embed_dataset, evaluate_embedder, read_dataset
    from ..extract import resolve_teacher
    from ..fileio import atomic_path, write_json
    from ..models import footprint, load_model
    from ..teachers.model import ModelTeacher

    if test_fold in train_folds:  # refuse before any work
        raise EdgeSEAError(f"the test fold {test_fold} is also a training fold: refusing to "
                           "train or tune on the test fold")
    ds = read_dataset(dataset)
    embedders: list[tuple[str, Any, dict[str, Any]]] = []
    for spec in teachers:
        embedders.append((f"teacher:{spec}", resolve_teacher(spec), {}))
    stems = [p.stem for p in models]
    for path in models:
        name = path.stem if stems.count(path.stem) == 1 else f"{path.parent.name}/{path.stem}"
        if path.suffix == ".tflite":  # the int8 model that ships, run by LiteRT
            from ..export.embedder import TFLiteEmbedder

            emb = TFLiteEmbedder(path)
            embedders.append((name, emb, {"path": str(path), "format": "tflite-int8",
                                          "flash_bytes": len(emb.data)}))
            continue
        model = load_model(path)
        fp = footprint(model)
        embedders.append((name, ModelTeacher(model),
                          {"path": str(path), "params": fp.params, "size_mb": fp.size_mb,
                           "activation_mb": fp.activation_mb}))
    if not embedders:
        raise EdgeSEAError("nothing to evaluate: give --model and/or --teacher")
    results: dict[str, Any] = {"protocol": {
        "dataset": str(dataset), "train_folds": train_folds, "test_fold": test_fold,
        "seeds": seeds, "hop_size": hop_size, "clip": "mean+max of window embeddings",
        "selection": "leave-one-training-fold-out micro-AUPRC over hidden x alpha"},
        "classes": ds.classes, "models": {}}
    scores = {}
    proto_key = hashlib.sha256(json.dumps(
        [results["protocol"], ds.filenames, ds.labels.tolist(), ds.folds.tolist()],
        sort_keys=True).encode()).hexdigest()[:12]
    for name, emb, info in embedders:
        done = out / "cache" / f"{emb.identity}-hop{hop_size:g}-{proto_key}.npz"
        if done.is_file():  # same embedder, same data and protocol: reuse its result
            with np.load(done) as z:
                res = json.loads(str(z["result"]))
                res["test_scores_seed0"] = z["scores"]
        else:
            if progress:
                typer.echo(f"[{name}] embedding and classifying", err=True)
            windows = embed_dataset(ds, emb, out / "cache", hop_size, progress)
            res = evaluate_embedder(ds, windows, train_folds, test_fold, seeds)
            with atomic_path(done, suffix=".npz") as tmp:
                np.savez(tmp, scores=res["test_scores_seed0"], result=np.array(json.dumps(
                    {k: v for k, v in res.items() if k != "test_scores_seed0"})))
        scores[name] = res.pop("test_scores_seed0")
        results["models"][name] = {"identity": emb.identity, **info, **res}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", results)
    test = ds.folds == test_fold
    np.savez(out / "test_scores.npz", labels=ds.labels[test],
             **{k: v for k, v in scores.items()})
    return results


def evaluate_command(
    dataset: Annotated[Path, typer.Option("--dataset", exists=True, file_okay=False,
                                          show_default=False,
                                          help="Folder with metadata.csv and the audio.")],
    model: Annotated[list[Path] | None, typer.Option(
        "--model", exists=True, dir_okay=False, show_default=False,
        help="An edgesea model file, or an int8 .tflite written by `edgesea export` "
        "(repeatable).")] = None,
    teacher: Annotated[list[str] | None, typer.Option(
        "--teacher", show_default=False, help="A teacher to evaluate too, e.g. aisfx "
        "(repeatable).")] = None,
    train_folds: Annotated[str, typer.Option("--train-folds")] = "1,2",
    test_fold: Annotated[int, typer.Option("--test-fold")] = 10,
    seeds: Annotated[int, typer.Option("--seeds", help="Classifier seeds.")] = 5,
    hop_size: Annotated[float, typer.Option("--hop-size")] = 0.5,
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False, help="Results and "
                                      "embedding cache folder.")] = Path("evaluation"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Train a small classifier on each embedder's clip embeddings (training folds only)
    and report accuracy, micro/macro-AUPRC on the test fold (mean +- sd over seeds)."""

    try:
        res = run_evaluation(dataset, list(model or []), list(teacher or []),
                             _folds(train_folds), test_fold, seeds, hop_size, out,
                             progress=not quiet)
    except EdgeSEAError as e:
        fail(str(e))
    except OSError as e:
        fail(f"writing {out} failed: {e}", EXIT_FAILED)
    typer.echo(f"{'model':<28} {'micro-AUPRC':>16} {'macro-AUPRC':>16} {'accuracy':>16}")
    for name, r in res["models"].items():
        cells = [f"{m['mean']:.4f} +- {m['std']:.4f}" if m else "-" for m in (
            r["metrics"].get(k) for k in ("micro_auprc", "macro_auprc", "accuracy"))]
        typer.echo(f"{name:<28} " + " ".join(f"{c:>16}" for c in cells))
    typer.echo(f"results: {out / 'results.json'}")
