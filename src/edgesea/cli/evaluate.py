"""``edgesea evaluate``: downstream classification of one or more embedders on a labelled
dataset (:mod:`edgesea.evaluate.classify`); registered on the app of :mod:`edgesea.cli`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from edgesea.cli.common import EXIT_FAILED, fail
from edgesea.errors import EdgeSEAError
from edgesea.packaged.names import resolve_model

__all__ = ["evaluate_command"]


def __getattr__(name: str) -> Any:
    # The Python function behind the command, re-exported here; imported on use (torch:
    # start-up cost of `edgesea --help`).
    if name == "run_evaluation":
        # imported on use, not for `edgesea --help` (start-up cost: torch)
        from edgesea.evaluate.run import run_evaluation

        return run_evaluation
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _folds(text: str) -> list[int]:
    try:
        folds = [int(t) for t in text.split(",") if t.strip()]
    except ValueError as e:
        raise EdgeSEAError(f"invalid --train-folds {text!r}: expected e.g. 1,2") from e
    if not folds:
        raise EdgeSEAError("--train-folds is empty")
    return folds


def _echo_relative(res: dict[str, Any], width: int) -> None:
    """The micro-AUPRC table of the extra protocols and of the share of the teacher."""
    models = res["models"]
    cols = [("test fold", lambda r: r["metrics"]["micro_auprc"]["mean"])]
    if res["protocol"].get("cross_check"):
        cols.append(("cross-check", lambda r: r["cross_fold"]["mean"]["micro_auprc"]))
    if res["protocol"].get("lr"):
        cols.append(("LR test fold", lambda r: r["lr"]["metrics"]["micro_auprc"]["mean"]))
    rel = {n: r["relative"] for n, r in models.items() if "relative" in r}
    if len(cols) == 1 and not rel:
        return
    keys = {"test fold": "test", "cross-check": "cross_fold", "LR test fold": "lr"}
    head = [c for c, _ in cols] + ([f"% {c}" for c, _ in cols] if rel else [])
    typer.echo("\nmicro-AUPRC by protocol" + (
        f", and as % of {next(iter(rel.values()))['teacher']}" if rel else "") + ":")
    typer.echo(f"{'model':<{width}} " + " ".join(f"{h:>16}" for h in head))
    for name, r in models.items():
        cells = [f"{get(r):.4f}" for _, get in cols]
        if rel:
            cells += [f"{100 * rel[name][keys[c]]['micro_auprc']:.1f} %" if name in rel
                      else "(reference)" for c, _ in cols]
        typer.echo(f"{name:<{width}} " + " ".join(f"{c:>16}" for c in cells))


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
    cross_check: Annotated[bool, typer.Option(
        "--cross-check", help="Also the fold cross-check: train (and select) the classifier "
        "on one training fold, score another, for every ordered pair (e.g. 1->2 and 2->1); "
        "the test fold is not used.")] = False,
    lr: Annotated[bool, typer.Option(
        "--lr", help="Also a logistic regression on the test fold, its C chosen by training "
        "on the first training fold and scoring the second, then refitted on all of "
        "them.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or stage "
                                        "messages (warnings are still shown).")] = False,
) -> None:
    """Train a small classifier on each embedder's clip embeddings (training folds only)
    and report accuracy, micro/macro-AUPRC on the test fold (mean +- sd over seeds) beside
    their chance levels; writes results.json and report.md with PR curves to --out. With a
    --teacher, every model's micro-AUPRC is also given as a share of the (first) teacher's,
    by each protocol asked for (--cross-check, --lr)."""

    try:
        from edgesea.evaluate.run import run_evaluation  # torch: on use (start-up cost)

        res = run_evaluation(dataset, [Path(resolve_model(m)) for m in model or []],
                             list(teacher or []),
                             _folds(train_folds), test_fold, seeds, hop_size, out,
                             progress=not quiet, cross_check=cross_check, lr=lr)
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
    _echo_relative(res, width)
    for name, r in res["models"].items():
        if r.get("note"):
            typer.echo(f"{name}: {r['note']}")
    for w in res["warnings"]:
        typer.echo(f"warning: {w}", err=True)
    typer.echo(f"results: {out / 'results.json'}\nreport: {res['report']}")
