"""``edgesea teacher-embed`` and ``edgesea sample``: write a teacher-embedding store
(:func:`edgesea.extract.run.extract`) and pick windows of it (:mod:`edgesea.sampling.samplers`)."""

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
from edgesea.core.fileio import atomic_path, clean_stale_temps
from edgesea.errors import EdgeSEAError
from edgesea.packaged.names import resolve_model
from edgesea.store.arrays import store_column
from edgesea.store.shards import EmbeddingStore
from edgesea.teachers.views import parse_view_spec

__all__ = ["resolve_teacher_spec", "sample_command", "teacher_embed_command"]


def resolve_teacher_spec(spec: str) -> str:
    """``spec`` with the model of ``model:NAME[@VIEW]`` resolved to its file when NAME is a
    packaged model's name (:func:`edgesea.zoo.resolve_model`), e.g. ``model:sea_urban_64``
    -> ``model:.../pretrained/sea_urban_64.safetensors``; other specs are returned as they
    are (:func:`edgesea.extract.run.resolve_teacher` checks them)."""

    base, _, _ = parse_view_spec(spec)
    kind, _, arg = base.partition(":")
    if kind != "model" or not arg:
        return spec
    return f"model:{resolve_model(arg, kind='float')}{spec[len(base):]}"


def teacher_embed_command(
    audio_dir: Annotated[Path, typer.Argument(
        exists=True, file_okay=False, show_default=False, metavar="AUDIO_DIR",
        help="Folder of audio files (sub-folders are walked too).")],
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False, show_default=False,
                                      help="The embedding store folder to write.")],
    teacher: Annotated[str, typer.Option(
        "--teacher", help="aisfx, openl3:PATH.h5, model:PATH.safetensors or model:NAME (a "
        "packaged model, e.g. model:sea_urban_128_mcu1m); add @band:RATE, @norm:RATE or "
        "@full to embed through that view (e.g. aisfx@band:8000).")] = "aisfx",
    window: Annotated[float | None, typer.Option(
        "--window", show_default=False, help="Window in seconds (aisfx; default 1.0).")] = None,
    hop_size: Annotated[float, typer.Option(
        "--hop-size", help="Hop between windows, in seconds. 0.5 s (embed's default is 0.1 s): "
        "these are training windows for a student; 1 s windows at 0.5 s overlap by half, "
        "which covers every sample twice at a fifth of the teacher's cost at 0.1 s.")] = 0.5,
    workers: Annotated[int, typer.Option("--workers", help="Decoding processes.")] = 1,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Windows per forward "
                                            "pass.")] = 64,
    files_per_shard: Annotated[int, typer.Option("--files-per-shard", help="Files per "
                                                 "shard (the unit of resuming).")] = 64,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Recompute every file, and "
                                            "replace a store made with other settings.")
                         ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar (the "
                                        "summary and failures are still printed).")] = False,
    engine: Annotated[str, typer.Option(
        "--engine", help="local (this process and --workers) or ray (Ray Data: decoding in "
        "Ray tasks, the teacher in --num-actors actors; pip install edgesea\\[ray]). Both "
        "write the same store and resume each other's.")] = "local",
    address: RayAddressOption = None,
    num_actors: NumActorsOption = 1,
    num_gpus_per_actor: GpusPerActorOption = 0.0,
) -> None:
    """Embed a folder of audio with a teacher into a resumable embedding store (+ LAeq).

    A rerun resumes: it recomputes only files whose content (sha256) changed. Files are
    streamed in bounded blocks, so memory does not grow with file length. With --engine
    ray the work runs on a Ray cluster (docs/scaling.md).
    """
    # imported on use, not for `edgesea --help` (start-up cost: torch)
    from edgesea.extract.run import extract, resolve_teacher

    try:
        report = extract(audio_dir, out, resolve_teacher(resolve_teacher_spec(teacher), window),
                         hop_size=hop_size,
                         workers=workers, batch_size=batch_size,
                         files_per_shard=files_per_shard, progress=not quiet,
                         overwrite=overwrite, engine=engine,
                         engine_options=None if engine != "ray" else {
                             "address": address, "num_actors": num_actors,
                             "num_gpus_per_actor": num_gpus_per_actor})
    except EdgeSEAError as e:
        fail(str(e))
    except OSError as e:
        fail(f"writing {out} failed: {e} (rerun to resume)", EXIT_FAILED)
    failed = [f for f in report.store.files if f.status == "failed"]
    typer.echo(f"files: {report.n_ok} ok, {report.n_failed} failed (of {report.n_files}); "
               f"windows: {report.n_windows}; shards: {report.shards_computed} computed, "
               f"{report.shards_skipped} already done\nwall time {report.wall_s:.1f} s, "
               f"{report.audio_s:.1f} s of audio, {report.throughput:.1f} s of audio per s")
    for f in failed:
        typer.echo(f"  failed: {f.path}: {f.error}", err=True)
    if failed:
        raise typer.Exit(EXIT_FAILED)


def sample_command(
    store: Annotated[Path, typer.Argument(exists=True, file_okay=False, show_default=False,
                                          metavar="STORE", help="An embedding store folder.")],
    mode: Annotated[str, typer.Option("--mode", help="random, relevance, diversity or "
                                      "diversity+relevance.")] = "diversity+relevance",
    k: Annotated[int, typer.Option("--k", help="Number of windows to pick.")] = 1000,
    group_by: Annotated[str, typer.Option("--group-by", help="Relevance = LAeq percentile "
                                          "within each file, or over all windows (none).")
                        ] = "file",
    seed: Annotated[int | None, typer.Option(
        "--seed", show_default=False, help="Seed of the sampler's random draws, for a "
        "reproducible pick (default: a different pick each run).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", show_default=False, help="Output .npz "
                                      "(window_ids + info JSON) or .json.")] = Path("x.npz"),
) -> None:
    """Pick K windows of an embedding store (ids = store rows) and write them + settings."""
    import numpy as np

    # imported on use, not for `edgesea --help` (start-up cost: torch)
    from edgesea.sampling.samplers import make_sampler, relevance_percentile

    try:
        clean_stale_temps(out.parent)  # leftovers of killed writers (live ones' are kept)
        if group_by not in ("file", "none"):
            raise EdgeSEAError(f"--group-by must be file or none, got {group_by!r}")
        sampler = make_sampler(mode, k, random_state=seed)
        opened = EmbeddingStore.open(store)
        data = opened.load(columns=["laeq_db", "file_index"])
        if "diversity" in mode:  # read chunk by chunk from the shards (out of core)
            data["embedding"] = store_column(opened, "embedding")
        rel = relevance_percentile(data["laeq_db"],
                                   data["file_index"] if group_by == "file" else None)
        ids = sampler.sample(X=data.get("embedding"), relevance=rel)
        info = sampler.info_ | {"store": str(store), "group_by": group_by,
                                "relevance": "laeq_percentile"}
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out, suffix=out.suffix) as tmp, open(tmp, "wb") as f:
            if out.suffix == ".json":
                f.write(json.dumps({"window_ids": ids.tolist(), "info": info}).encode())
            else:
                np.savez(f, window_ids=ids, info=np.array(json.dumps(info)))
    except EdgeSEAError as e:
        fail(str(e))
    except OSError as e:
        fail(f"writing {out} failed: {e}", EXIT_FAILED)
    typer.echo(f"wrote {out}: {len(ids)} window ids ({mode}); {json.dumps(info)}")
