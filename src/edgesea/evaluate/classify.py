"""Downstream evaluation: a small classifier on clip embeddings, AUPRC on a held-out fold.

A dataset is a folder with ``metadata.csv`` (columns ``filename``, ``label``, ``fold``;
labels joined by ``;`` make it multi-label, as SONYC-UST; an optional ``freesound_id`` or
``source_id`` column names the source recording). For each embedder (a model file or a
teacher) the window embeddings of every file are computed once into an embedding store
cached under ``(embedder identity, hop)``. A clip is the mean and the max of its window
embeddings, standardised on the training folds. The classifier (logistic regression or an
MLP; hidden size and L2 strength chosen by cross-validation over the training folds only,
each fold held out in turn, or grouped by recording when there is one training fold) is
refitted on all training folds with several seeds and scored on the test fold: accuracy
(single-label), micro- and macro-AUPRC and per-class average precision, beside their chance
levels (:func:`chance_levels`) and warnings about a small test fold
(:func:`small_fold_warnings`). The test fold is never used to train, select or tune anything.
A logistic regression is deterministic: when it is chosen, the seeds change nothing (sd 0).
"""

from __future__ import annotations

import csv
import itertools
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import GroupKFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from edgesea.core.checks import check_int
from edgesea.errors import EdgeSEAError
from edgesea.extract.run import extract

__all__ = ["Dataset", "auprc_metrics", "chance_levels", "check_folds", "clip_features",
           "embed_dataset", "evaluate_embedder", "fit_and_score", "read_dataset",
           "select_classifier", "small_fold_warnings"]

#: Classifier search space: hidden units (0 = logistic regression) x L2 strength.
HIDDEN = (0, 128, 256)
ALPHAS = (1e-4, 1e-3, 1e-2, 1e-1)


@dataclass
class Dataset:
    """A labelled dataset read by :func:`read_dataset`."""

    root: Path
    filenames: list[str]
    labels: np.ndarray  # (N, C) 0/1
    classes: list[str]
    folds: np.ndarray  # (N,) int
    groups: np.ndarray  # (N,) source recording id
    multilabel: bool


def read_dataset(root: str | os.PathLike) -> Dataset:
    """Read ``root/metadata.csv`` (see the module docstring)."""
    root = Path(root)
    path = root / "metadata.csv"
    if not path.is_file():
        raise EdgeSEAError(f"no metadata.csv in {root}: a dataset folder needs one with "
                           "columns filename, label, fold")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    need = {"filename", "label", "fold"}
    if not rows or not need <= set(rows[0]):
        raise EdgeSEAError(f"{path} must have columns {sorted(need)} and at least one row")
    names, labels, folds, groups = [], [], [], []
    for i, r in enumerate(rows, start=2):
        try:
            folds.append(int(r["fold"]))
        except ValueError as e:
            raise EdgeSEAError(f"{path} line {i}: fold {r['fold']!r} is not an integer") from e
        labs = [s.strip() for s in r["label"].split(";") if s.strip()]
        if not labs:
            raise EdgeSEAError(f"{path} line {i}: empty label")
        names.append(r["filename"])
        labels.append(labs)
        groups.append(r.get("freesound_id") or r.get("source_id") or r["filename"])
    classes = sorted({c for labs in labels for c in labs})
    y = np.zeros((len(rows), len(classes)), dtype=np.int64)
    col = {c: j for j, c in enumerate(classes)}
    for i, labs in enumerate(labels):
        y[i, [col[c] for c in labs]] = 1
    missing = [n for n in names if not (root / n).is_file()]
    if missing:
        raise EdgeSEAError(f"{len(missing)} files of {path} are missing, e.g. {missing[:3]}")
    _, gid = np.unique(np.array(groups), return_inverse=True)
    return Dataset(root=root, filenames=names, labels=y, classes=classes,
                   folds=np.array(folds), groups=gid, multilabel=bool((y.sum(1) > 1).any()))


def auprc_metrics(y: np.ndarray, scores: np.ndarray, multilabel: bool | None = None
                  ) -> dict[str, Any]:
    """Micro- and macro-AUPRC, per-class AP and (single-label) accuracy.

    ``y`` is the (N, C) 0/1 label matrix, ``scores`` the (N, C) class scores. Classes absent
    from ``y`` are left out of the macro average (their AP is undefined)."""
    y, scores = np.asarray(y), np.asarray(scores, dtype=np.float64)
    if y.shape != scores.shape or y.ndim != 2:
        raise EdgeSEAError(f"labels and scores must be equal (N, C) arrays, got {y.shape} and "
                           f"{scores.shape}")
    present = y.sum(0) > 0
    ap = np.full(y.shape[1], np.nan)
    for j in np.flatnonzero(present):
        ap[j] = average_precision_score(y[:, j], scores[:, j])
    out = {"micro_auprc": float(average_precision_score(y, scores, average="micro")),
           "macro_auprc": float(np.nanmean(ap)), "per_class_ap": ap.tolist()}
    if not (multilabel if multilabel is not None else (y.sum(1) > 1).any()):
        out["accuracy"] = float((scores.argmax(1) == y.argmax(1)).mean())
    return out


def chance_levels(y: np.ndarray, multilabel: bool | None = None) -> dict[str, float]:
    """What the metrics of :func:`auprc_metrics` are for scores that carry no information.

    Parameters
    ----------
    y : ndarray
        The (N, C) 0/1 test labels.
    multilabel : bool, optional
        Whether a clip can have several labels (default: inferred from ``y``).

    Returns
    -------
    dict
        ``micro_auprc``: the positive rate of ``y`` (the AP of constant scores);
        ``macro_auprc``: the mean positive rate of the classes present; single-label only,
        ``accuracy``: the share of the majority class (always guessing it).
    """
    y = np.asarray(y)
    if y.ndim != 2 or not len(y):
        raise EdgeSEAError(f"labels must be a non-empty (N, C) array, got shape {y.shape}")
    rate = y.mean(0)
    out = {"micro_auprc": float(y.mean()), "macro_auprc": float(rate[rate > 0].mean())}
    if not (multilabel if multilabel is not None else (y.sum(1) > 1).any()):
        out["accuracy"] = float(rate.max())
    return out


def small_fold_warnings(y: np.ndarray, classes: list[str], min_clips: int = 100,
                       min_per_class: int = 10) -> list[str]:
    """Why the test-fold metrics of labels ``y`` (N, C) may be too noisy to compare: fewer
    than ``min_clips`` clips, or classes with fewer than ``min_per_class`` clips."""
    y = np.asarray(y)
    out = []
    if len(y) < min_clips:
        out.append(f"the test fold has only {len(y)} clips (< {min_clips}): its metrics "
                   "are noisy; differences of a few hundredths may be chance")
    per = y.sum(0)
    absent = [c for c, n in zip(classes, per, strict=True) if n == 0]
    few = [f"{c} ({int(n)})" for c, n in zip(classes, per, strict=True) if 0 < n < min_per_class]
    if few:
        out.append(f"{len(few)} {'class has' if len(few) == 1 else 'classes have'} fewer "
                   f"than {min_per_class} test clips: "
                   + ", ".join(few) + "; their AP (and the macro-AUPRC) is noisy")
    if absent:
        out.append(f"{len(absent)} {'class has' if len(absent) == 1 else 'classes have'} no "
                   f"test clip ({', '.join(absent)}): AP undefined, left out of the "
                   "macro-AUPRC")
    return out


def embed_dataset(ds: Dataset, teacher: Any, cache_dir: str | os.PathLike, hop_size: float,
                  progress: bool | str = True) -> list[np.ndarray]:
    """Window embeddings of every file of ``ds`` (cached in an embedding store named by the
    embedder's identity and the hop, so a second evaluation reads them back); a string
    ``progress`` labels the progress bar."""

    out = Path(cache_dir) / f"{teacher.identity}-hop{hop_size:g}"
    rep = extract(ds.root, out, teacher, hop_size=hop_size, progress=progress)
    store = rep.store
    data = store.load(["file_index", "embedding"])
    index = {f.path: f.index for f in store.files}
    failed = [n for n in ds.filenames if n not in index
              or store.files[index[n]].status != "ok"]
    if failed:
        raise EdgeSEAError(f"{len(failed)} dataset files could not be embedded, e.g. "
                           f"{failed[:3]}")
    order = np.argsort(data["file_index"], kind="stable")
    fi, emb = data["file_index"][order], data["embedding"][order]
    starts = np.searchsorted(fi, [index[n] for n in ds.filenames])
    ends = np.searchsorted(fi, [index[n] for n in ds.filenames], side="right")
    return [emb[s:e] for s, e in zip(starts, ends, strict=True)]


def clip_features(windows: list[np.ndarray]) -> np.ndarray:
    """Clip embedding = [mean, max] of its window embeddings -> (N, 2 D)."""
    return np.stack([np.concatenate([w.mean(0), w.max(0)]) for w in windows]).astype(
        np.float64)


def _classifier(hidden: int, alpha: float, seed: int, multilabel: bool) -> Any:
    if hidden == 0:
        lr = LogisticRegression(C=1.0 / (alpha * 100), max_iter=2000)
        return OneVsRestClassifier(lr) if multilabel else lr
    return MLPClassifier(hidden_layer_sizes=(hidden,), alpha=alpha, max_iter=300,
                         random_state=seed, early_stopping=False)


def _scores(clf: Any, x: np.ndarray, n_classes: int, fitted_classes: np.ndarray | None
            ) -> np.ndarray:
    p = clf.predict_proba(x)
    if fitted_classes is None:  # multi-label: one column per class already
        return np.asarray(p)
    out = np.zeros((len(x), n_classes))
    out[:, fitted_classes] = p  # a class missing from a CV split scores 0
    return out


def fit_and_score(x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, y_te: np.ndarray,
                  hidden: int, alpha: float, seed: int, multilabel: bool) -> dict[str, Any]:
    """Standardise on the training rows, fit one classifier, score the other rows."""
    scaler = StandardScaler().fit(x_tr)
    clf = _classifier(hidden, alpha, seed, multilabel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if multilabel:
            clf.fit(scaler.transform(x_tr), y_tr)
            s = _scores(clf, scaler.transform(x_te), y_te.shape[1], None)
        else:
            clf.fit(scaler.transform(x_tr), y_tr.argmax(1))
            s = _scores(clf, scaler.transform(x_te), y_te.shape[1], clf.classes_)
    return auprc_metrics(y_te, s, multilabel) | {"scores": s}


def select_classifier(x: np.ndarray, y: np.ndarray, folds: np.ndarray, groups: np.ndarray,
                      multilabel: bool, seed: int = 0) -> tuple[dict[str, Any], list[dict]]:
    """Pick (hidden, alpha) by mean validation micro-AUPRC over the training data only:
    leave-one-fold-out when there are several folds, else 3 splits grouped by recording."""
    if len(np.unique(folds)) > 1:
        splits = [(np.flatnonzero(folds != f), np.flatnonzero(folds == f))
                  for f in np.unique(folds)]
    else:
        splits = list(GroupKFold(n_splits=min(3, len(np.unique(groups)))).split(
            x, groups=groups))
    table = []
    for hidden, alpha in itertools.product(HIDDEN, ALPHAS):
        vals = [fit_and_score(x[a], y[a], x[b], y[b], hidden, alpha, seed,
                              multilabel)["micro_auprc"] for a, b in splits]
        table.append({"hidden": hidden, "alpha": alpha, "val_micro_auprc": float(np.mean(vals))})
    best = max(table, key=lambda r: r["val_micro_auprc"])
    return {"hidden": best["hidden"], "alpha": best["alpha"]}, table


def check_folds(folds: np.ndarray, train_folds: list[int], test_fold: int | None) -> None:
    """Refuse a test fold that is also a training fold, and any fold (training or test; no
    test fold when ``test_fold`` is None) that no clip of ``folds`` belongs to."""
    if test_fold is not None and test_fold in train_folds:
        raise EdgeSEAError(f"the test fold {test_fold} is also a training fold: refusing to "
                           "train or tune on the test fold")
    known = set(np.unique(folds).tolist())
    for f in [*train_folds, *([] if test_fold is None else [test_fold])]:
        if f not in known:
            raise EdgeSEAError(f"fold {f} is not in the dataset (folds {sorted(known)})")


def evaluate_embedder(ds: Dataset, windows: list[np.ndarray], train_folds: list[int],
                      test_fold: int, seeds: int = 5) -> dict[str, Any]:
    """Select the classifier on ``train_folds``, then fit with ``seeds`` seeds and score on
    ``test_fold``; mean and standard deviation of each metric over seeds."""
    check_folds(ds.folds, train_folds, test_fold)
    check_int(seeds, "seeds")
    x = clip_features(windows)
    tr = np.flatnonzero(np.isin(ds.folds, train_folds))
    te = np.flatnonzero(ds.folds == test_fold)
    best, table = select_classifier(x[tr], ds.labels[tr], ds.folds[tr], ds.groups[tr],
                                    ds.multilabel)
    # logistic regression (hidden 0) is fitted by lbfgs from zeros: deterministic, the seed
    # changes nothing (sd 0), so it is fitted once; an MLP's seed sets its initial weights
    deterministic = best["hidden"] == 0
    runs = [fit_and_score(x[tr], ds.labels[tr], x[te], ds.labels[te], best["hidden"],
                          best["alpha"], s, ds.multilabel)
            for s in range(1 if deterministic else seeds)]
    runs = runs * seeds if deterministic else runs
    keys = ["micro_auprc", "macro_auprc"] + ([] if ds.multilabel else ["accuracy"])
    summary = {k: {"mean": float(np.mean([r[k] for r in runs])),
                   "std": float(np.std([r[k] for r in runs])),
                   "values": [r[k] for r in runs]} for k in keys}
    per_class = np.nanmean([r["per_class_ap"] for r in runs], axis=0)
    return {"metrics": summary, "per_class_ap": dict(zip(ds.classes, per_class.tolist(),
                                                         strict=True)),
            "classifier": best, "deterministic": deterministic, "search": table,
            "n_train": int(len(tr)),
            "n_test": int(len(te)), "emb_dim": int(windows[0].shape[1]),
            "test_scores_seed0": runs[0]["scores"]}
