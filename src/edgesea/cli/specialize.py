"""``edgesea specialize``: the whole SEA pipeline from the command line
(:func:`edgesea.specialize.pipeline.specialize`); registered on the app of :mod:`edgesea.cli`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from edgesea.cli.common import (
    EXIT_FAILED,
    GpusPerActorOption,
    NumActorsOption,
    RayAddressOption,
    fail,
)
from edgesea.errors import EdgeSEAError

__all__ = ["augment_command", "specialize_command"]

#: ``--exclude DIR`` (repeatable), shared by ``specialize`` and ``augment``.
ExcludeOption = Annotated[list[Path] | None, typer.Option(
    "--exclude", show_default=False, help="A folder (or file) that must never be used, "
    "e.g. an evaluation test fold (repeatable): files inside it and byte-identical copies "
    "elsewhere are refused (re-encoded copies are not detected).")]


def _json_object(text: str, flag: str) -> dict:
    """Parse a JSON-object option value, or raise an EdgeSEAError naming ``flag``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise EdgeSEAError(f"{flag} is not valid JSON: {e}") from e
    if not isinstance(value, dict):
        raise EdgeSEAError(f"{flag} must be a JSON object")
    return value


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
        "--reduction-options", help='JSON options, e.g. \'{"n_neighbors": 30}\' (umap); '
        'pca targets are rotated unless \'{"rotate": false}\'.')] = "{}",
    arch: Annotated[str, typer.Option(
        "--arch", help="mcu (the microcontroller student of the shipped models: int8 fits "
        "tier mcu, 64 KB arena / 300 KB flash), mcu-1m (the larger student for tier mcu-1m, "
        "256 KB / 1 MB), sea (the paper's filters: about 633 KB flash and a 216 KB arena at "
        "128-d, too large for tier mcu) or sea:W1,W2,W3,W4.")] = "mcu",
    head: Annotated[str, typer.Option("--head", help="linear or paper.")] = "linear",
    sample_rate: Annotated[int, typer.Option(
        "--sample-rate", help="The student's rate: 8000 (the paper; hears 0-4 kHz) or 16000 "
        "(64 mel bands up to 8 kHz, same cost; the default, chosen by the view ablation in "
        "docs/results.md).")] = 16000,
    level: Annotated[str, typer.Option(
        "--level", help="The student front end's level rule: window (each window's maximum "
        "at 0 dB: level-blind) or absolute (fixed 0 dB reference: sees the level, as the "
        "teacher does).")] = "window",
    view: Annotated[str, typer.Option(
        "--view", help="What the teacher labels: full (the audio as it is), band (through "
        "the student's band) or norm (band, each window level-normalised: the default, "
        "chosen by the view ablation in docs/results.md).")] = "norm",
    stream: Annotated[bool, typer.Option(
        "--stream/--no-stream", help="A streamable front end: frames computed on the "
        "continuous signal, so overlapping windows share them.")] = True,
    epochs: Annotated[int, typer.Option("--epochs", help="Maximum epochs (the shipped "
                                        "recipe: 40).")] = 40,
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate at the start (the "
                                      "shipped recipe: 1e-3; the paper's: 1e-4).")] = 1e-3,
    schedule: Annotated[str, typer.Option("--schedule", help="cosine (decay to 0 over "
                                          "--epochs; the shipped recipe) or plateau (x0.1 "
                                          "after 5 flat epochs).")] = "cosine",
    loss: Annotated[str, typer.Option("--loss", help="mse or mse+cosine.")] = "mse",
    weight_decay: Annotated[float, typer.Option("--weight-decay", help="Adam L2 penalty on "
                                                "the weights (0: none).")] = 0.0,
    spec_mask: Annotated[int, typer.Option("--spec-mask", help="SpecAugment band width "
                                           "(0: off).")] = 0,
    ema: Annotated[float, typer.Option("--ema", help="Decay of an exponential moving "
                                       "average of the weights, updated every step and "
                                       "validated and kept instead of them (0: off; e.g. "
                                       "0.999).")] = 0.0,
    patience: Annotated[int, typer.Option("--patience", help="Stop after this many epochs "
                                          "without a validation improvement (0: never stop "
                                          "early, the shipped recipe).")] = 0,
    val_fraction: Annotated[float, typer.Option("--val-fraction", help="Recordings held "
                                                "out for validation.")] = 0.1,
    group_by: Annotated[str, typer.Option("--group-by", help="auto, file or urbansound8k "
                                          "(what one recording is).")] = "auto",
    seed: Annotated[int, typer.Option("--seed", help="Seeds the split, the sample, the "
                                      "reducer, the initial weights, the batch order and "
                                      "the augmentation.")] = 0,
    train_seed: Annotated[int | None, typer.Option(
        "--train-seed", show_default=False,
        help="Seeds only the student (initial weights, batch order) instead of --seed: "
        "another training seed of the same split, sample, bank and targets. Default: "
        "--seed.")] = None,
    augment_factor: Annotated[float, typer.Option(
        "--augment-factor", help="Teacher-labelled augmented windows PER TRAINING WINDOW: "
        "5 adds 5 new windows for each window the student trains on (the shipped recipe; 0: "
        "no augmentation). Not per second, as in `edgesea augment`.")] = 5.0,
    augment: Annotated[str, typer.Option("--augment-options", help="JSON AugmentConfig "
                                         "settings.")] = "{}",
    exclude: ExcludeOption = None,
    store: Annotated[Path | None, typer.Option(
        "--store", file_okay=False, show_default=False,
        help="A folder of teacher-embedding stores shared between runs: the embeddings go to "
        "STORE/embed-<key> (key: teacher, hop and audio content), so another run on the same "
        "audio and teacher reuses them. Default: OUT/store.")] = None,
    workers: Annotated[int, typer.Option("--workers", help="Decoding processes of the "
                                         "teacher stage.")] = 1,
    engine: Annotated[str, typer.Option(
        "--engine", help="The teacher stage's engine: local, or ray (Ray Data; pip install "
        "edgesea\\[ray]; docs/scaling.md).")] = "local",
    address: RayAddressOption = None,
    num_actors: NumActorsOption = 1,
    num_gpus_per_actor: GpusPerActorOption = 0.0,
    nproc: Annotated[int, typer.Option(
        "--nproc", help="Processes of the distill stage: N > 1 trains with PyTorch "
        "DistributedDataParallel (gloo; the global batch of 64 windows is split between the "
        "processes).")] = 1,
    distill_job_only: Annotated[bool, typer.Option(
        "--distill-job-only", help="Stop before training, after writing RUN/distill/"
        "job.json: train it with torchrun on several nodes (docs/scaling.md), then rerun "
        "with --resume to finish.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted "
                                         "distillation.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Accept a run directory with other "
                                        "settings; recompute what they change.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Specialize a student on a folder of in-domain audio.

    Teacher-embed -> sample -> reduce -> augment -> distill, each stage cached in the run
    directory. With no options this is the recipe of the shipped students: a microcontroller
    student (--arch mcu) at 16 kHz, 5 augmented windows per training window, 40 epochs of
    Adam at lr 1e-3 with a cosine decay. At the end it says what a weak result means and
    what to try."""
    # imported on use, not for `edgesea --help` (start-up cost: torch)
    from edgesea.specialize.pipeline import SpecializeConfig, specialize, training_advice

    try:
        options = _json_object(reduction_options, "--reduction-options")
        aug_options = _json_object(augment, "--augment-options")
        train = {"epochs": epochs, "lr": lr, "schedule": schedule, "loss": loss,
                 "weight_decay": weight_decay, "spec_mask": spec_mask, "patience": patience,
                 "ema": ema}
        config = SpecializeConfig(
            teacher=teacher, hop_size=hop_size, emb_dim=emb_dim, sampling=sampling,
            sample_size=sample_size, train_on=train_on, reduction=reduction,
            reduction_options=options, arch=arch, head=head, sample_rate=sample_rate,
            level=level, view=view, stream=stream, val_fraction=val_fraction,
            group_by=group_by, seed=seed, train_seed=train_seed, train=train,
            augment_factor=augment_factor, augment=aug_options,
            exclude_audio=[str(p) for p in exclude or []])
        result = specialize(audio_dir, out, config, resume=resume, force=force,
                            workers=workers, progress=not quiet, nproc=nproc, store=store,
                            distill_job_only=distill_job_only, engine=engine,
                            engine_options=None if engine != "ray" else {
                                "address": address, "num_actors": num_actors,
                                "num_gpus_per_actor": num_gpus_per_actor})
    except EdgeSEAError as e:
        fail(str(e))
    except OSError as e:
        fail(f"writing {out} failed: {e} (rerun to resume)", EXIT_FAILED)
    if result is None:
        typer.echo(f"distill job: {out / 'distill' / 'job.json'} (torchrun ... -m "
                   "edgesea.specialize.ddp_job JOB, then rerun with --resume)")
        return
    d = result.stages["distill"]
    typer.echo(f"student: {result.student_path}\nreport: {result.report_path}\n"
               f"best epoch {d['best_epoch']} of {d['epochs_run']}: val R2 {d['val_r2']:.4f}, "
               f"val cosine {d['val_cosine']:.4f}, val MSE {d['val_mse']:.4f}")
    try:
        advice = training_advice(d, config)
    except EdgeSEAError:  # a stage table without the summary (should not happen): no advice
        advice = []
    for line in advice:
        typer.echo(line if line.startswith("warning: ") else f"note: {line}", err=True)


def augment_command(
    audio_dir: Annotated[Path, typer.Argument(
        exists=True, file_okay=False, show_default=False, metavar="AUDIO_DIR",
        help="Source audio (walked recursively); only these files are read.")],
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False, show_default=False,
                                      help="The augmented store folder (resumable).")],
    n: Annotated[int | None, typer.Option("--n", show_default=False,
                                          help="Number of augmented windows.")] = None,
    factor: Annotated[float | None, typer.Option(
        "--augment-factor", show_default=False, help="Augmented windows PER SECOND OF SOURCE "
        "AUDIO: 5 makes 5 windows for each second of the files (instead of --n). Not per "
        "training window, as in `edgesea specialize`.")] = None,
    teacher: Annotated[str, typer.Option(
        "--teacher", help="aisfx, openl3:PATH.h5 or model:PATH.safetensors.")] = "aisfx",
    seed: Annotated[int, typer.Option("--seed", help="Seeds the augmentation: window i "
                                      "depends on (seed, i) alone.")] = 0,
    options: Annotated[str, typer.Option("--options", help="JSON AugmentConfig settings, "
                                         "e.g. '{\"mix_prob\": 0.5}'.")] = "{}",
    exclude: ExcludeOption = None,
    student_rate: Annotated[int, typer.Option("--student-rate", help="Rate of the kept "
                                              "student audio.")] = 8000,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    engine: Annotated[str, typer.Option(
        "--engine", help="local, or ray (shards rendered and embedded by Ray actors; pip "
        "install edgesea\\[ray]): the same store.")] = "local",
    address: RayAddressOption = None,
    num_actors: NumActorsOption = 1,
    num_gpus_per_actor: GpusPerActorOption = 0.0,
) -> None:
    """Make teacher-labelled augmented windows from a folder of audio.

    Crops, speed, EQ, gain, backgrounds and event mixtures at random SNRs, each labelled by
    the teacher and stored with its provenance (the recipe that rebuilds it). The budget is
    --n windows, or --augment-factor windows per second of source audio."""
    import soundfile as sf

    # imported on use, not for `edgesea --help` (start-up cost: torch)
    from edgesea.augment.bank import make_augmented
    from edgesea.augment.transforms import AugmentConfig
    from edgesea.extract.run import list_audio_files, resolve_teacher

    try:
        if (n is None) == (factor is None):
            raise EdgeSEAError("give exactly one of --n and --augment-factor")
        if engine == "ray":  # before any work
            from edgesea.distributed.ray_engine import import_ray  # Ray (optional extra)
            import_ray()
        cfg = AugmentConfig.from_dict(_json_object(options, "--options"))
        files = list_audio_files(audio_dir)
        if not files:
            raise EdgeSEAError(f"no audio files found under {audio_dir}")
        durations = []
        for f in files:
            try:
                durations.append(sf.info(str(audio_dir / f)).duration)
            except RuntimeError as e:
                raise EdgeSEAError(f"cannot read {f}: {e}") from e
        count = n if n is not None else int(round(factor * sum(durations)))
        manifest = make_augmented(audio_dir, files, durations, out, resolve_teacher(teacher),
                                  count, seed=seed, config=cfg, student_rate=student_rate,
                                  progress=not quiet, forbidden=list(exclude or []),
                                  engine=engine, engine_options=None if engine != "ray" else {
                                      "address": address, "num_actors": num_actors,
                                      "num_gpus_per_actor": num_gpus_per_actor})
    except EdgeSEAError as e:
        fail(str(e))
    except OSError as e:
        fail(f"writing {out} failed: {e} (rerun to resume)", EXIT_FAILED)
    typer.echo(f"wrote {out}: {manifest['n_windows']} augmented windows from {len(files)} "
               f"files (teacher {manifest['teacher']['name']}, seed {seed})")
