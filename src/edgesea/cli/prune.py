"""``edgesea prune``: a sparse aisfx model at one of edgel3's sparsity levels, pruned and
retrained by distillation (:func:`edgesea.sparse.build_sparse_model`); registered on the app
of :mod:`edgesea.cli`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from edgesea.cli.common import EXIT_FAILED, fail
from edgesea.errors import EdgeSEAError

__all__ = ["prune_command"]


def prune_command(
    out: Annotated[Path, typer.Option(
        "--out", "-o", dir_okay=False, show_default=False,
        help="The sparse model file to write (.safetensors).")],
    audio_dir: Annotated[Path | None, typer.Argument(
        show_default=False, metavar="AUDIO_DIR",
        help="In-domain upstream audio (walked recursively): what kd retrains on. Optional "
        "with --retrain oneshot (then the fidelity to the dense teacher is measured on "
        "it).")] = None,
    teacher: Annotated[str, typer.Option(
        "--teacher", help="The dense network to prune: aisfx (the only one here).")
    ] = "aisfx",
    sparsity: Annotated[float, typer.Option(
        "--sparsity", help="Overall sparsity in %: one of edgel3's levels 53.5, 63.5, 72.3, "
        "87.0, 95.45 with --method layer (its per-layer profile); any percentage with "
        "--method global.")] = 95.45,
    retrain: Annotated[str, typer.Option(
        "--retrain", help="kd: retrain the pruned network (masks fixed) to reproduce the "
        "dense teacher's embeddings; oneshot: no retraining. edgel3's ft needs L3-Net's "
        "audio-visual task (video) and is refused.")] = "kd",
    method: Annotated[str, typer.Option(
        "--method", help="layer: edgel3's per-layer percentages; global: one magnitude "
        "threshold over all layers.")] = "layer",
    skip_first: Annotated[bool, typer.Option(
        "--skip-first/--prune-first", help="--method global: keep the first convolution "
        "dense (as edgel3's profiles do) or prune it too.")] = True,
    epochs: Annotated[int, typer.Option("--epochs", help="kd: epochs of Adam (cosine "
                                        "schedule).")] = 4,
    lr: Annotated[float, typer.Option("--lr", help="kd: initial learning rate.")] = 3e-4,
    batch_size: Annotated[int, typer.Option("--batch-size", help="kd: windows per step.")
                          ] = 64,
    max_windows: Annotated[int | None, typer.Option(
        "--max-windows", show_default=False,
        help="kd: train on a seeded random subset of at most this many windows (to fit a "
        "compute budget: a pruned aisfx costs as much per window as the teacher, ~0.84 G "
        "MACs).")] = None,
    hop_size: Annotated[float, typer.Option(
        "--hop-size", help="Seconds between the 1 s windows of the kd data.")] = 0.5,
    val_fraction: Annotated[float, typer.Option(
        "--val-fraction", help="kd: fraction of the recordings held out for validation.")
    ] = 0.1,
    seed: Annotated[int, typer.Option("--seed", help="kd: seed of the batch order, the "
                                      "validation recordings and --max-windows.")] = 0,
    work: Annotated[Path | None, typer.Option(
        "--work", file_okay=False, show_default=False,
        help="Folder for the kd data (teacher store, inputs) and checkpoints (default: "
        "<MODEL without suffix>.work beside MODEL).")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="kd: continue an interrupted run from its checkpoint (same data "
        "and settings; the teacher store and inputs are always reused when they match).")
    ] = False,
    data_license: Annotated[str | None, typer.Option(
        "--data-license", show_default=False,
        help="License of AUDIO_DIR, recorded in the model file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")
                       ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Prune the aisfx teacher to an edgel3 sparsity level and retrain it by distillation.

    One-shot magnitude pruning of the eight 3x3 convolutions (biases and BatchNorm are
    kept), then kd: the pruned network learns the dense teacher's 512-d embeddings of
    AUDIO_DIR's windows with the pruned weights held at zero. The model file stores only
    the non-zero weights; use it with `edgesea embed --model MODEL`, `edgesea evaluate
    --model MODEL` or `edgesea info MODEL`.
    """
    # imported on use, not for `edgesea --help` (start-up cost: torch)
    from edgesea.distill.train import TrainConfig
    from edgesea.prune.build import build_sparse_model

    try:
        cfg = TrainConfig(epochs=epochs, lr=lr, batch_size=batch_size, schedule="cosine",
                          patience=0, seed=seed)
        res = build_sparse_model(audio_dir, out, sparsity, retrain, method=method,
                                 skip_first=skip_first, teacher=teacher, config=cfg,
                                 hop_size=hop_size, val_fraction=val_fraction,
                                 max_windows=max_windows, resume=resume, work_dir=work,
                                 data_license=data_license, progress=not quiet)
    except EdgeSEAError as e:
        fail(str(e))
    except OSError as e:
        fail(f"writing {out} failed: {e}", EXIT_FAILED)
    rep = res.report
    if as_json:
        typer.echo(json.dumps(vars(res), indent=1, default=str))
        return
    how = "edgel3's per-layer profile" if res.method == "layer" else "one global threshold"
    typer.echo(f"pruned aisfx to {rep['sparsity']:.2f}% ({how}, level {res.sparsity:g}): "
               f"{rep['nonzero']:,} non-zero of {rep['weights']:,} conv weights")
    for label, fid in (("before kd", res.fidelity_oneshot), (res.retrain, res.fidelity)):
        if fid:
            typer.echo(f"fidelity to the dense teacher ({label}, {res.n_val} windows): R² "
                       f"{fid['r2']:.4f}, cosine {fid['cosine']:.4f}")
    if res.best_epoch:
        typer.echo(f"kd: best epoch {res.best_epoch} of {len(res.history)} on "
                   f"{res.n_train:,} windows")
    typer.echo(f"wrote {res.path} ({res.file_bytes:,} bytes; {res.wall_s:.0f} s)")
