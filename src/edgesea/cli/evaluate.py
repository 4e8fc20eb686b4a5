"""``edgesea evaluate``: downstream classification of one or more embedders on a labelled
dataset (:mod:`edgesea.evaluate`); registered on the app of :mod:`edgesea.cli`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import EdgeSEAError
from ..zoo import resolve_model
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


def _labels(models: list[Path]) -> list[str]:
    """A short, unique, readable label per model: its file stem, or, where stems collide,
    the shortest suffix of its absolute path (without a leading ``/``) that tells it apart;
    a name that is not a file (a packaged model) stays as given."""
    import os

    parts = []
    for p in models:
        full = Path(os.path.abspath(p)) if Path(p).exists() else Path(p)
        parts.append([*full.parent.parts[1 if full.is_absolute() else 0:], full.stem])
    seen: dict[tuple[str, ...], Path] = {}
    for p, pp in zip(models, parts, strict=True):
        if tuple(pp) in seen:
            raise EdgeSEAError(f"--model {p} is given twice (as {seen[tuple(pp)]}): give each "
                               "model once")
        seen[tuple(pp)] = p
    labels = []
    for i, pp in enumerate(parts):
        others = [q for j, q in enumerate(parts) if j != i]
        k = 1
        while k < len(pp) and any(q[-k:] == pp[-k:] for q in others):
            k += 1
        labels.append("/".join(pp[-k:]))
    return labels


def run_evaluation(dataset: Path, models: list[Path], teachers: list[str],
                   train_folds: list[int], test_fold: int, seeds: int, hop_size: float,
                   out: Path, progress: bool = True) -> dict[str, Any]:
    """Evaluate every model file and teacher; write ``out/results.json``, the test scores
    (``test_scores.npz``) and the report (``report.md``, ``pr_curves.png``,
    ``per_class_ap.png``: :mod:`edgesea.eval_report`); return the results."""
    import numpy as np

    from ..eval_report import write_eval_report
    from ..evaluate import (
        chance_levels,
        embed_dataset,
        evaluate_embedder,
        read_dataset,
        small_fold_warnings,
    )
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
    for path, name in zip(models, _labels(models), strict=True):
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
        "selection": "leave-one-training-fold-out micro-AUPRC over hidden x alpha"
        if len(train_folds) > 1 else "micro-AUPRC of 3-fold cross-validation grouped by "
        "recording within the training fold, over hidden x alpha"},
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
            windows = embed_dataset(ds, emb, out / "cache", hop_size,
                                    progress and f"embedding {name}")
            res = evaluate_embedder(ds, windows, train_folds, test_fold, seeds)
            with atomic_path(done, suffix=".npz") as tmp:
                np.savez(tmp, scores=res["test_scores_seed0"], result=np.array(json.dumps(
                    {k: v for k, v in res.items() if k != "test_scores_seed0"})))
        scores[name] = res.pop("test_scores_seed0")
        if seeds == 1:
            res["note"] = "sd 0: one seed (--seeds 1)"
        elif res["classifier"]["hidden"] == 0:
            res["note"] = ("sd 0: the chosen classifier (logistic regression) is "
                           "deterministic; seeds change nothing")
        results["models"][name] = {"identity": emb.identity, **info, **res}
    test = ds.folds == test_fold
    results["chance"] = chance_levels(ds.labels[test], ds.multilabel)
    results["warnings"] = small_fold_warnings(ds.labels[test], ds.classes)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", results)
    np.savez(out / "test_scores.npz", labels=ds.labels[test],
             **{k: v for k, v in scores.items()})
    results["report"] = str(write_eval_report(out, results, ds.labels[test], scores))
    return results


def evaluate_command(
    dataset: Annotated[Path, typer.Option("--dataset", exists=True, file_okay=False,
                                          show_default=False,
                                          help="Folder with metadata.csv and the audio.")],
    model: Annotated[list[Path] | None, typer.Option(
        "--model", dir_okay=False, show_default=False,
        help="An edgesea model file, or an int8 .tflite written by `edgesea export` "
        "(repeatable).")] = None,
    teacher: Annotated[list[str] | None, typer.Option(
        "--teacher", show_default=False, help="A teacher to evaluate too, e.g. aisfx "
        "(repeatable).")] = None,
    train_folds: Annotated[str, typer.Option(
        "--train-folds", help="Comma-separated folds the classifier is trained on; its size "
        "and L2 strength are chosen by cross-validation over these folds only.")] = "1,2",
    test_fold: Annotated[int, typer.Option(
        "--test-fold", help="The held-out fold that is scored; it is never used to train or "
        "tune.")] = 10,
    seeds: Annotated[int, typer.Option(
        "--seeds", help="Classifier seeds (an MLP's initial weights; a logistic regression "
        "is deterministic).")] = 5,
    hop_size: Annotated[float, typer.Option(
        "--hop-size", help="Seconds between embedding windows (a clip is the mean and max "
        "of its windows). 0.5: half-overlapping 1 s windows, every sample seen twice, the "
        "protocol of docs/results.md; a finer hop costs proportionally more time.")] = 0.5,
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False, help="Results, report "
                                      "and embedding cache folder.")] = Path("evaluation"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or stage "
                                        "messages (warnings are still shown).")] = False,
) -> None:
    """Train a small classifier on each embedder's clip embeddings (training folds only)
    and report accuracy, micro/macro-AUPRC on the test fold (mean +- sd over seeds) beside
    their chance levels; writes results.json and report.md with PR curves to --out."""

    try:
        res = run_evaluation(dataset, [Path(resolve_model(m)) for m in model or []],
                             list(teacher or []),
                             _folds(train_folds), test_fold, seeds, hop_size, out,
                             progress=not quiet)
    except EdgeSEAError as e:
        fail(str(e))
    except OSError as e:
        fail(f"writing {out} failed: {e}", EXIT_FAILED)
    keys = ("micro_auprc", "macro_auprc", "accuracy")
    width = max([28, *(len(n) + 1 for n in res["models"])])
    typer.echo(f"{'model':<{width}} {'micro-AUPRC':>16} {'macro-AUPRC':>16} {'accuracy':>16}")
    for name, r in res["models"].items():
        cells = [f"{m['mean']:.4f} +- {m['std']:.4f}" if m else "-" for m in (
            r["metrics"].get(k) for k in keys)]
        typer.echo(f"{name:<{width}} " + " ".join(f"{c:>16}" for c in cells))
    chance = res["chance"]
    typer.echo(f"{'chance level':<{width}} " + " ".join(
        f"{f'{chance[k]:.4f}' if k in chance else '-':>16}" for k in keys))
    typer.echo("(chance: micro-AUPRC = share of positive (clip, class) pairs, accuracy = "
               "majority class share)")
    for name, r in res["models"].items():
        if r.get("note"):
            typer.echo(f"{name}: {r['note']}")
    for w in res["warnings"]:
        typer.echo(f"warning: {w}", err=True)
    typer.echo(f"results: {out / 'results.json'}\nreport: {res['report']}")
