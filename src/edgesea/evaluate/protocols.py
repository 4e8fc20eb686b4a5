"""Evaluation protocols beyond one train/test split: the fold cross-check, the logistic-
regression protocol of the zoo tables, and scores relative to a teacher's.

- :func:`cross_fold`: for every ordered pair ``(a, b)`` of training folds, the classifier of
  :func:`edgesea.evaluate.classify.evaluate_embedder` is selected and trained on fold ``a``
  alone and scored on fold ``b``; the mean over pairs is the check that chooses recipes (the
  test fold is not touched).
- :func:`lr_protocol`: clip = [mean, max] of window embeddings, standardised on the training
  rows; a logistic regression whose inverse L2 strength ``C`` is chosen by training on the
  first training fold and scoring the second (micro-AUPRC), then refitted on all training
  folds and scored on the test fold. A second classifier, so that a finding does not rest on
  the MLP/LR search of :func:`~edgesea.evaluate.classify.select_classifier` alone.
- :func:`relative_to`: each metric's mean as a fraction of a reference (the teacher) scored
  by the same protocol.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from edgesea.errors import EdgeSEAError
from edgesea.evaluate.classify import (
    check_folds,
    clip_features,
    evaluate_embedder,
    fit_and_score,
)

__all__ = ["LR_CS", "cross_fold", "fit_lr", "lr_protocol", "relative_to"]

#: Inverse L2 strengths searched by :func:`lr_protocol`.
LR_CS = (1e-3, 1e-2, 1e-1, 1.0, 10.0)


def fit_lr(x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, y_te: np.ndarray, c: float,
           multilabel: bool) -> dict[str, Any]:
    """Standardise on the training rows, fit a logistic regression with inverse L2 strength
    ``c`` (lbfgs from zeros: deterministic), and score the test rows (:func:`auprc_metrics`
    plus ``scores``): :func:`~edgesea.evaluate.classify.fit_and_score` with no hidden layer
    and ``alpha = 1 / (100 c)``."""
    return fit_and_score(x_tr, y_tr, x_te, y_te, 0, 1.0 / (100.0 * float(c)), 0, multilabel)


def lr_protocol(x: np.ndarray, y: np.ndarray, folds: np.ndarray, train_folds: list[int],
                test_fold: int, multilabel: bool, cs: tuple[float, ...] = LR_CS
                ) -> dict[str, Any]:
    """The logistic-regression protocol on clip features ``x`` (see the module docstring).

    Parameters
    ----------
    x, y : ndarray
        (N, F) clip features and (N, C) 0/1 labels.
    folds : ndarray
        (N,) fold of each clip.
    train_folds : list of int
        At least two folds: ``C`` is chosen by training on the first and scoring the second.
    test_fold : int
        Scored once with the chosen ``C``, after a refit on every training fold.
    multilabel : bool
        One-vs-rest logistic regressions instead of one softmax.
    cs : tuple of float
        The ``C`` values searched.

    Returns
    -------
    dict
        ``metrics`` (micro/macro-AUPRC, accuracy when single-label: ``{"mean", "std": 0}``),
        ``C``, ``search`` (the selection score of every ``C``).
    """
    if len(train_folds) < 2:
        raise EdgeSEAError("the logistic-regression protocol needs two training folds (C is "
                           f"chosen on the first -> second), got {train_folds}")
    check_folds(folds, train_folds, test_fold)
    a, b = folds == train_folds[0], folds == train_folds[1]
    search = [{"C": c, "val_micro_auprc": fit_lr(x[a], y[a], x[b], y[b], c, multilabel)[
        "micro_auprc"]} for c in cs]
    best = max(search, key=lambda r: r["val_micro_auprc"])["C"]
    tr, te = np.isin(folds, train_folds), folds == test_fold
    res = fit_lr(x[tr], y[tr], x[te], y[te], best, multilabel)
    keys = ["micro_auprc", "macro_auprc"] + ([] if multilabel else ["accuracy"])
    return {"metrics": {k: {"mean": res[k], "std": 0.0} for k in keys}, "C": best,
            "search": search}


def cross_fold(ds: Any, windows: list[np.ndarray], train_folds: list[int], seeds: int = 5,
               protocol: str = "search") -> dict[str, Any]:
    """Every ordered pair of ``train_folds``: train (and select) on one, score the other.

    ``protocol`` ``"search"`` runs :func:`~edgesea.evaluate.classify.evaluate_embedder` per
    pair (the harness's classifier search, grouped by recording inside the one training fold);
    ``"lr"`` runs :func:`fit_lr` with ``C`` chosen on the reverse pair (train on ``b``, score
    ``a``), so the fold that is scored never chooses its own ``C``. Returns ``pairs``
    (``"a->b"`` -> metrics) and ``mean`` (each metric's mean over pairs)."""
    if len(train_folds) < 2:
        raise EdgeSEAError(f"a cross-fold check needs two or more training folds, got "
                           f"{train_folds}")
    if protocol not in ("search", "lr"):
        raise EdgeSEAError(f"unknown cross-fold protocol {protocol!r}: 'search' or 'lr'")
    check_folds(ds.folds, train_folds, None)
    pairs: dict[str, dict[str, Any]] = {}
    if protocol == "search":
        for a, b in itertools.permutations(train_folds, 2):
            r = evaluate_embedder(ds, windows, [a], b, seeds)
            pairs[f"{a}->{b}"] = {k: v["mean"] for k, v in r["metrics"].items()}
    else:
        x = clip_features(windows)
        fits = {(a, b, c): fit_lr(x[ds.folds == a], ds.labels[ds.folds == a],
                                  x[ds.folds == b], ds.labels[ds.folds == b], c, ds.multilabel)
                for a, b in itertools.permutations(train_folds, 2) for c in LR_CS}
        for a, b in itertools.permutations(train_folds, 2):
            c = max(LR_CS, key=lambda c: fits[(b, a, c)]["micro_auprc"])
            r = fits[(a, b, c)]
            pairs[f"{a}->{b}"] = {k: r[k] for k in ("micro_auprc", "macro_auprc", "accuracy")
                                  if k in r} | {"C": c}
    keys = [k for k in next(iter(pairs.values())) if k != "C"]
    return {"pairs": pairs, "mean": {k: float(np.mean([p[k] for p in pairs.values()]))
                                     for k in keys}}


def relative_to(metrics: dict[str, Any], reference: dict[str, Any]) -> dict[str, float]:
    """Each metric of ``metrics`` as a fraction of the same metric of ``reference`` (both
    ``{name: {"mean": ...}}`` or ``{name: value}``); metrics the reference lacks, or where it
    is 0, are left out."""
    def _v(m: Any) -> float:
        return float(m["mean"] if isinstance(m, dict) else m)

    return {k: _v(v) / _v(reference[k]) for k, v in metrics.items()
            if k in reference and _v(reference[k]) != 0}
