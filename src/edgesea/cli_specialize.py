"""``edgesea specialize``: the whole SEA pipeline from the command line
(:func:`edgesea.pipeline.specialize`); registered on the app of :mod:`edgesea.cli`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .errors import EdgeSEAError

__all__ = ["specialize_command"]


def specialize_command(
    audio_dir: Annotated[Path, typer.Argument(
        exists=True, file_okay=False, show_default=False, metavar="AUDIO_DIR",
        help="Unlabelled in-domain audio (walked recursively, links followed).")],
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False, show_default=False,
                                      help="The run directory (created).")],
    teacher: Annotated[str, typer.Option(
        "--teacher", help="aisfx, openl3:PATH.h5 or model:PATH.safetensors.")] = "aisfx",
    hop_size: Annotated[float, typer.Option("--hop-size", help="Seconds between upstream "
                                            "windows.")] = 0.5,
    emb_dim: Annotated[int, typer.Option("--emb-dim", help="Student embedding size.")] = 128,
    sampling: Annotated[str, typer.Option("--sampling", help="random, relevance, diversity "
                                          "or diversity+relevance.")] = "diversity+relevance",
    sample_size: Annotated[str, typer.Option("--sample-size", help="Windows in the sample: "
                                             "N or P%.")] = "50%",
    train_on: Annotated[str, typer.Option("--train-on", help="sample (the paper) or all "
                                          "(every training window).")] = "sample",
    reduction: Annotated[str, typer.Option("--reduction", help="pca, umap or identity.")
                         ] = "pca",
    reduction_options: Annotated[str, typer.Option(
        "--reduction-options", help='JSON options, e.g. \'{"n_neighbors": 30}\'.')] = "{}",
    arch: Annotated[str, typer.Option("--arch", help="sea (paper filters) or "
                                      "sea:W1,W2,W3,W4.")] = "sea",
    head: Annotated[str, typer.Option("--head", help="linear or paper.")] = "linear",
    epochs: Annotated[int, typer.Option("--epochs", help="Maximum epochs.")] = 100,
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate.")] = 1e-4,
    schedule: Annotated[str, typer.Option("--schedule", help="plateau (x0.1 after 5 flat "
                                          "epochs) or cosine.")] = "plateau",
    loss: Annotated[str, typer.Option("--loss", help="mse or mse+cosine.")] = "mse",
    weight_decay: Annotated[float, typer.Option("--weight-decay")] = 0.0,
    spec_mask: Annotated[int, typer.Option("--spec-mask", help="SpecAugment band width "
                                           "(0: off).")] = 0,
    patience: Annotated[int, typer.Option("--patience", help="Early-stopping patience "
                                          "(0: off).")] = 10,
    val_fraction: Annotated[float, typer.Option("--val-fraction", help="Recordings held "
                                                "out for validation.")] = 0.1,
    group_by: Annotated[str, typer.Option("--group-by", help="auto, file or urbansound8k "
                                          "(what one recording is).")] = "auto",
    seed: Annotated[int, typer.Option("--seed")] = 0,
    workers: Annotated[int, typer.Option("--workers", help="Decoding processes of the "
                                         "teacher stage.")] = 1,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted "
                                         "distillation.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Accept a run directory with other "
                                        "settings; recompute what they change.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Specialize a student on a folder of in-domain audio: teacher-embed -> sample ->
    reduce -> distill, each stage cached in the run directory."""
    from .cli import EXIT_FAILED, _fail
    from .pipeline import SpecializeConfig, specialize

    try:
        try:
            options = json.loads(reduction_options)
        except json.JSONDecodeError as e:
            raise EdgeSEAError(f"--reduction-options is not valid JSON: {e}") from e
        if not isinstance(options, dict):
            raise EdgeSEAError("--reduction-options must be a JSON object")
        train = {"epochs": epochs, "lr": lr, "schedule": schedule, "loss": loss,
                 "weight_decay": weight_decay, "spec_mask": spec_mask, "patience": patience}
        config = SpecializeConfig(
            teacher=teacher, hop_size=hop_size, emb_dim=emb_dim, sampling=sampling,
            sample_size=sample_size, train_on=train_on, reduction=reduction,
            reduction_options=options, arch=arch, head=head, val_fraction=val_fraction,
            group_by=group_by, seed=seed, train=train)
        result = specialize(audio_dir, out, config, resume=resume, force=force,
                            workers=workers, progress=not quiet)
    except EdgeSEAError as e:
        _fail(str(e))
    except OSError as e:
        _fail(f"writing {out} failed: {e} (rerun to resume)", EXIT_FAILED)
    d = result.stages["distill"]
    typer.echo(f"student: {result.student_path}\nreport: {result.report_path}\n"
               f"best epoch {d['best_epoch']} of {d['epochs_run']}: val R2 {d['val_r2']:.4f}, "
               f"val cosine {d['val_cosine']:.4f}, val MSE {d['val_mse']:.4f}")
