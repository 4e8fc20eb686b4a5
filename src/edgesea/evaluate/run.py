"""Downstream evaluation of several embedders on one dataset, written to a folder: the Python
function behind ``edgesea evaluate`` (classifiers and metrics: :mod:`edgesea.evaluate.classify`;
report: :mod:`edgesea.evaluate.report`)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from edgesea.core.fileio import NPZ_READ_ERRORS, atomic_path, write_json
from edgesea.errors import EdgeSEAError
from edgesea.evaluate.classify import (
    chance_levels,
    clip_features,
    embed_dataset,
    evaluate_embedder,
    read_dataset,
    small_fold_warnings,
)
from edgesea.evaluate.protocols import cross_fold, lr_protocol, relative_to
from edgesea.evaluate.report import write_eval_report
from edgesea.extract.run import resolve_teacher
from edgesea.inference.int8 import TFLiteEmbedder
from edgesea.light.onnx_models import OnnxEmbedder
from edgesea.models import footprint, load_model
from edgesea.packaged.names import resolve_model
from edgesea.sparse.model import SparseModel
from edgesea.sparse.storage import is_sparse_file
from edgesea.store.integrity import file_content
from edgesea.teachers.model import ModelTeacher

__all__ = ["run_evaluation"]


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


def _cached_result(path: Path) -> dict[str, Any] | None:
    """A stored result, or None when there is none or it cannot be read back (truncated,
    pickled, corrupt: it is recomputed and written again)."""
    import numpy as np

    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            res = json.loads(str(z["result"]))
            res["test_scores_seed0"] = np.asarray(z["scores"], dtype=np.float64)
    except NPZ_READ_ERRORS:  # truncated, pickled, damaged: recomputed
        return None
    if not isinstance(res, dict) or "metrics" not in res:
        return None
    return res


def _embedders(models: list[Path], teachers: list[str]) -> list[tuple[str, Any, dict[str, Any]]]:
    """(label, embedder, facts) for every teacher spec and model file, teachers first."""
    embedders: list[tuple[str, Any, dict[str, Any]]] = []
    for spec in teachers:
        embedders.append((f"teacher:{spec}", resolve_teacher(spec), {}))
    for path, name in zip(models, _labels(models), strict=True):
        if path.suffix == ".tflite":  # the int8 model that ships, run by LiteRT

            emb = TFLiteEmbedder(path)
            embedders.append((name, emb, {"path": str(path), "format": "tflite-int8",
                                          "flash_bytes": len(emb.data)}))
            continue
        if path.suffix == ".onnx":  # an exported float model, run by ONNX Runtime
            onnx = OnnxEmbedder(path)
            embedders.append((name, onnx, {"path": str(path), "format": "onnx",
                                           "file_bytes": path.stat().st_size}))
            continue
        if is_sparse_file(path):  # a pruned aisfx (edgesea.sparse)
            sparse = SparseModel.load(path)
            sfp = sparse.footprint()
            embedders.append((name, sparse, {
                "path": str(path), "format": "sparse", "sparsity": sfp.sparsity,
                "retrain": sparse.metadata.get("retrain"), "params": sfp.params,
                "nonzero_weights": sfp.nonzero_weights, "size_mb": sfp.dense_size_mb,
                "file_bytes": sfp.file_bytes, "activation_mb": sfp.activation_mb}))
            continue
        model = load_model(path)
        fp = footprint(model)
        embedders.append((name, ModelTeacher(model),
                          {"path": str(path), "params": fp.params, "size_mb": fp.size_mb,
                           "activation_mb": fp.activation_mb}))
    return embedders


def _add_relative(models: dict[str, Any], teachers: list[str]) -> None:
    """``relative`` of every model that is not the reference: its metrics as fractions of the
    first teacher's, by the same protocol (test fold, cross-check mean, LR protocol)."""
    if not teachers:
        return
    ref = models[teachers[0]]
    for name, r in models.items():
        if name == teachers[0]:
            continue
        rel = {"teacher": teachers[0], "test": relative_to(r["metrics"], ref["metrics"])}
        if "cross_fold" in r:
            rel["cross_fold"] = relative_to(r["cross_fold"]["mean"], ref["cross_fold"]["mean"])
        if "lr" in r:
            rel["lr"] = relative_to(r["lr"]["metrics"], ref["lr"]["metrics"])
        r["relative"] = rel


def run_evaluation(dataset: Path, models: list[Path], teachers: list[str],
                   train_folds: list[int], test_fold: int, seeds: int, hop_size: float,
                   out: Path, progress: bool = True, cross_check: bool = False,
                   lr: bool = False) -> dict[str, Any]:
    """Evaluate model files and teachers on a dataset's test fold (``edgesea evaluate``).

    Parameters
    ----------
    dataset : Path
        A folder with ``metadata.csv`` (:func:`edgesea.evaluate.classify.read_dataset`).
    models : list of Path
        Model files (``.safetensors``, an int8 ``.tflite`` run by LiteRT, an ``.onnx`` run by
        ONNX Runtime, or a sparse
        model file) or packaged model names (``sea_urban_64``, ``sea_urban_64.int8``,
        ``sparse_aisfx_95.45_kd``).
    teachers : list of str
        Teacher specs (``aisfx``, ``openl3:PATH.h5``, ``model:PATH``, ``sparse:PATH``).
    train_folds : list of int
        Folds the classifier is trained and selected on.
    test_fold : int
        The held-out fold it is scored on (refused when it is also a training fold).
    seeds : int
        Classifier seeds (mean and sd are reported).
    hop_size : float
        Seconds between window embeddings.
    out : Path
        Folder for ``results.json``, ``test_scores.npz``, the report (``report.md``,
        ``pr_curves.png``, ``per_class_ap.png``: :mod:`edgesea.evaluate.report`) and the
        embedding cache.
    progress : bool
        Progress bars on stderr.
    cross_check : bool
        Also the fold cross-check: for every ordered pair of training folds, the classifier
        is selected and trained on one and scored on the other
        (:func:`edgesea.evaluate.protocols.cross_fold`); needs two or more training folds.
    lr : bool
        Also the logistic-regression protocol on the test fold
        (:func:`edgesea.evaluate.protocols.lr_protocol`): ``C`` chosen on the first training
        fold -> the second, refitted on all of them.

    Returns
    -------
    dict
        What ``results.json`` holds, plus ``report`` (the report's path). When a teacher is
        given, every model also has ``relative`` (each metric as a fraction of the first
        teacher's, for the test fold and for each extra protocol asked for).
    """

    models = [Path(resolve_model(m)) for m in models]
    import numpy as np

    if test_fold in train_folds:  # refuse before any work
        raise EdgeSEAError(f"the test fold {test_fold} is also a training fold: refusing to "
                           "train or tune on the test fold")
    if (cross_check or lr) and len(train_folds) < 2:
        raise EdgeSEAError(f"--cross-check and --lr need two or more training folds, got "
                           f"{train_folds}")
    ds = read_dataset(dataset)
    embedders = _embedders(models, teachers)
    if not embedders:
        raise EdgeSEAError("nothing to evaluate: give --model and/or --teacher")
    results: dict[str, Any] = {"protocol": {
        "dataset": str(dataset), "train_folds": train_folds, "test_fold": test_fold,
        "seeds": seeds, "hop_size": hop_size, "clip": "mean+max of window embeddings",
        "selection": "leave-one-training-fold-out micro-AUPRC over hidden x alpha"
        if len(train_folds) > 1 else "micro-AUPRC of 3-fold cross-validation grouped by "
        "recording within the training fold, over hidden x alpha",
        "cross_check": cross_check, "lr": lr},
        "classes": ds.classes, "models": {}}
    scores = {}
    # the result cache is keyed on the audio's content too (sha256 of every file), not only
    # on its names: audio replaced under the same names is evaluated again
    content = [file_content(ds.root / f)["sha256"] for f in ds.filenames]
    proto_key = hashlib.sha256(json.dumps(
        [results["protocol"], ds.filenames, ds.labels.tolist(), ds.folds.tolist(), content],
        sort_keys=True).encode()).hexdigest()[:12]
    for name, emb, info in embedders:
        done = out / "cache" / f"{emb.identity}-hop{hop_size:g}-{proto_key}.npz"
        res = _cached_result(done)  # same embedder, data and protocol: reuse its result
        if res is None:
            if progress:
                print(f"[{name}] embedding and classifying", file=sys.stderr)
            windows = embed_dataset(ds, emb, out / "cache", hop_size,
                                    progress and f"embedding {name}")
            res = evaluate_embedder(ds, windows, train_folds, test_fold, seeds)
            if cross_check:
                res["cross_fold"] = cross_fold(ds, windows, train_folds, seeds)
            if lr:
                res["lr"] = lr_protocol(clip_features(windows), ds.labels, ds.folds,
                                        train_folds, test_fold, ds.multilabel)
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
    _add_relative(results["models"], [f"teacher:{t}" for t in teachers])
    test = ds.folds == test_fold
    results["chance"] = chance_levels(ds.labels[test], ds.multilabel)
    results["warnings"] = small_fold_warnings(ds.labels[test], ds.classes)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", results)
    np.savez(out / "test_scores.npz", labels=ds.labels[test],
             **{k: v for k, v in scores.items()})
    results["report"] = str(write_eval_report(out, results, ds.labels[test], scores))
    return results
