"""The ``edgesea`` command line (typer): a thin layer over the library.

- ``edgesea embed`` walks files and folders for audio, embeds every file with one model
  (loaded once, windows of several files batched together) and writes
  ``<base>[_<suffix>].npz`` files holding ``embedding`` (T, D) and ``timestamps`` (T,), as
  :func:`edgesea.process_file` does.
- ``edgesea info`` prints a model's configuration, metadata and footprint.
- ``edgesea convert-edgel3`` turns an original edgel3 Keras ``.h5`` into an edgesea model.
- ``edgesea teacher-embed`` writes a resumable teacher-embedding store
  (:func:`edgesea.extract.extract`).
- ``edgesea sample`` picks window ids from a store (:mod:`edgesea.sampling`).
- ``edgesea specialize`` runs the whole SEA pipeline into a run directory
  (:mod:`edgesea.cli_specialize`, :mod:`edgesea.pipeline`).
- ``edgesea augment`` makes teacher-labelled augmented windows (:mod:`edgesea.augstore`).
- ``edgesea export`` / ``edgesea footprint`` write int8 TFLite, ONNX and C-array models and
  measure them in TensorFlow Lite Micro (:mod:`edgesea.cli_export`, :mod:`edgesea.export`).
- ``edgesea evaluate`` scores embedders on a labelled dataset's held-out fold
  (:mod:`edgesea.cli_evaluate`, :mod:`edgesea.evaluate`).

Exit status: 0 success, 1 some files failed, 2 bad arguments (paths, model, settings).
"""

import json
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from . import __version__
from .api import FileResult, get_model, iter_process_files, output_path
from .audio import AUDIO_EXTENSIONS, check_hop_size, n_windows
from .errors import EdgeSEAError
from .models import EmbeddingModel, footprint, load_model

__all__ = ["app", "describe_model", "find_audio_files", "main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

app = typer.Typer(name="edgesea", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_show_locals=False,
                  help="Tiny audio embedding models (SEA students) for microcontrollers.")


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``error: message`` to stderr (no traceback) and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"edgesea {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Tiny audio embedding models (SEA students) for microcontrollers.

    Exit status: 0 ok, 1 some files failed, 2 bad arguments.
    """


def find_audio_files(inputs: Sequence[Path], recursive: bool = False) -> list[Path]:
    """Audio files named by ``inputs``: files as given, folders walked for audio extensions.

    Parameters
    ----------
    inputs : sequence of Path
        Files (taken whatever their extension) and folders.
    recursive : bool
        Walk sub-folders too (otherwise only the top level of each folder).

    Returns
    -------
    list of Path
        Sorted, without duplicates (same file reached twice).
    """
    found: dict[Path, Path] = {}
    for item in inputs:
        if item.is_dir():
            candidates = item.rglob("*") if recursive else item.iterdir()
            files = [p for p in candidates
                     if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file()]
        else:
            files = [item]
        for f in files:
            found.setdefault(f.resolve(), f)
    return sorted(found.values())


def _resolve_model(model: Path | None, model_type: str, emb_dim: int | None,
                   tier: str | None = None) -> EmbeddingModel:
    """Load the model once, checking ``--emb-dim`` against a model file if both are given
    (``--tier`` only selects a packaged model: refused with ``--model``)."""
    if model is None:
        return get_model(None, model_type, 128 if emb_dim is None else emb_dim,
                         tier="mcu" if tier is None else tier)
    if tier is not None:
        raise EdgeSEAError(f"--tier {tier} selects a packaged model: drop it when --model is "
                           "given")
    net = get_model(str(model))
    if emb_dim is not None and emb_dim != net.emb_dim:
        raise EdgeSEAError(f"--emb-dim {emb_dim} does not match the model file {model}, whose "
                           f"embeddings have {net.emb_dim} dimensions: drop --emb-dim or pass "
                           "another model")
    return net


def _check_outputs(files: Sequence[Path], output_dir: Path | None, suffix: str | None) -> None:
    """Refuse runs where two inputs would write the same output file."""
    seen: dict[str, Path] = {}
    for f in files:
        out = output_path(f, output_dir, suffix)
        if out in seen:
            raise EdgeSEAError(f"{seen[out]} and {f} would both be written to {out}: embed them "
                               "in separate runs, or with different --output-dir/--suffix")
        seen[out] = f


def _track(results: Iterable[FileResult], total: int, quiet: bool) -> Iterator[FileResult]:
    """Yield ``results``, showing a files-done / total progress bar with ETA on stderr."""
    if quiet:
        yield from results
        return
    columns = (TextColumn("embedding"), BarColumn(), MofNCompleteColumn(), TextColumn("files"),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task("embedding", total=total)
        for result in results:
            progress.advance(task)
            yield result


@app.command()
def embed(
    inputs: Annotated[list[Path], typer.Argument(
        exists=True, show_default=False, metavar="INPUTS",
        help="Audio files and/or folders of audio files.")],
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", "-o", file_okay=False,
        help="Folder for the .npz files (default: next to each audio file).")] = None,
    suffix: Annotated[str | None, typer.Option(
        "--suffix", "-x", help="Output names become <base>_<suffix>.npz.")] = None,
    model: Annotated[Path | None, typer.Option(
        "--model", help="An edgesea model file (.safetensors).")] = None,
    model_type: Annotated[str, typer.Option(
        "--model-type", help="Packaged model family, used when --model is not given.")] = "sea",
    emb_dim: Annotated[int | None, typer.Option(
        "--emb-dim", show_default=False,
        help="Embedding size of the packaged model (512, 256, 128 or 64; default 128).")] = None,
    tier: Annotated[str | None, typer.Option(
        "--tier", show_default=False,
        help="Capacity tier of the packaged model: mcu (default; 64 KB TFLM arena, 300 KB "
        "flash) or mcu-1m (256 KB arena, 1 MB flash: a larger student).")] = None,
    hop_size: Annotated[float, typer.Option("--hop-size", help="Hop between windows, in "
                                            "seconds.")] = 0.1,
    centering: Annotated[bool, typer.Option(
        "--centering/--no-centering",
        help="Pad half a window before the audio so window t is centred at t * hop.")] = True,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Windows per forward "
                                            "pass.")] = 64,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Re-embed files whose .npz was made by other settings (another "
        "model, hop, centering or a changed audio file; default: such files fail). Outputs "
        "made by the same settings are always skipped.")] = False,
    recursive: Annotated[bool, typer.Option("--recursive", "-r",
                                            help="Walk sub-folders too.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, summary or "
                                        "warnings; failures are still listed.")] = False,
) -> None:
    """Embed audio files and write one .npz (embedding, timestamps, provenance) per file.

    Files are streamed in bounded blocks (memory does not depend on their length).
    """
    try:
        hop = check_hop_size(hop_size)
        if batch_size < 1:
            raise EdgeSEAError(f"invalid --batch-size {batch_size}: expected an integer >= 1")
        net = _resolve_model(model, model_type, emb_dim, tier)
        n_windows(1, net.sample_rate, net.window, hop, centering)  # hop below one sample
        files = find_audio_files(inputs, recursive)
        if not files:
            hint = "" if recursive else "; add --recursive to search sub-folders"
            raise EdgeSEAError(f"no audio files found in {', '.join(map(str, inputs))} "
                               f"(extensions {' '.join(AUDIO_EXTENSIONS)}{hint})")
        _check_outputs(files, output_dir, suffix)
    except EdgeSEAError as e:
        _fail(str(e))

    counts: Counter[str] = Counter()
    failures: list[FileResult] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:  # checks settings and output folders before any work (exit 2)
            results = iter_process_files(files, output_dir, suffix, model=net,
                                         center=centering, hop_size=hop,
                                         batch_size=batch_size, overwrite=overwrite)
        except EdgeSEAError as e:
            _fail(str(e))
        try:
            for result in _track(results, len(files), quiet):
                counts[result.status] += 1
                if result.status == "failed":
                    failures.append(result)
        except (EdgeSEAError, OSError) as e:
            _fail(f"stopped after {sum(counts.values())} of {len(files)} files: {e}",
                  EXIT_FAILED)
    if not quiet:
        for message, n in Counter(str(w.message) for w in caught).items():
            typer.echo(f"warning: {message}" + (f" ({n} files)" if n > 1 else ""), err=True)
        typer.echo(f"written {counts['written']}, skipped {counts['skipped']}, "
                   f"failed {counts['failed']}")
    if failures:
        typer.echo(f"{len(failures)} of {len(files)} files failed:", err=True)
        for r in failures:
            typer.echo(f"  {r.path}: {r.error}", err=True)
        raise typer.Exit(EXIT_FAILED)


def describe_model(model: EmbeddingModel, path: str | Path | None = None) -> dict[str, Any]:
    """A JSON-ready description of a model: path, config, metadata, extras and footprint."""
    return {"path": None if path is None else str(path),
            "config": model.config.to_dict(),
            "metadata": model.metadata,
            "extras": {k: list(v.shape) for k, v in getattr(model, "extras", {}).items()},
            "footprint": footprint(model).to_dict()}


def _format_info(d: dict[str, Any]) -> str:
    cfg, fp = d["config"], d["footprint"]
    fe = cfg["frontend"]
    window_samples = int(round(cfg["window"] * cfg["sample_rate"]))
    blocks = " ".join(f"[{'-'.join(map(str, b))}]{' pool' if p else ''}"
                      for b, p in zip(cfg["blocks"], cfg["pool_after"], strict=True))
    rows = [("model", d["path"]), ("family", cfg["family"]), ("emb_dim", cfg["emb_dim"]),
            ("sample rate", f"{cfg['sample_rate']} Hz"),
            ("window", f"{cfg['window']:g} s ({window_samples} samples)"),
            ("head", f"{cfg['head']} (global {cfg['global_pool']} pool)"),
            ("blocks", f"{blocks} (kernel {cfg['kernel_size']}, input BN "
                       f"{'yes' if cfg['input_bn'] else 'no'})"),
            ("front end", ", ".join(f"{k}={v}" for k, v in fe.items()))]
    if cfg.get("extra"):
        rows.append(("config extra", json.dumps(cfg["extra"])))
    lines = [f"{k + ':':<14}{v}" for k, v in rows]
    lines.append("metadata:" + ("" if d["metadata"] else "     (none)"))
    lines += [f"  {k}: {json.dumps(v, default=str)}" for k, v in d["metadata"].items()]
    if d["extras"]:
        lines.append("extras:       " + ", ".join(f"{k} {tuple(s)}" for k, s in
                                                  d["extras"].items()))
    lines += ["footprint:",
              f"  params:      {fp['params']:,}",
              f"  size:        {fp['size_mb']:.2f} MB (fp32)",
              f"  activation:  {fp['activation_mb']:.2f} MB "
              f"({fp['activation_elements']:,} values, largest layer {fp['largest_layer']})",
              f"  MACs:        {fp['macs']:,} per window (network), front end "
              f"{fp['frontend_macs']:,} (FFT estimate)"]
    return "\n".join(lines)


@app.command()
def info(
    model: Annotated[Path, typer.Argument(show_default=False, metavar="MODEL",
                                          help="An edgesea model file (.safetensors).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show a model file's configuration, metadata and footprint."""
    try:
        d = describe_model(load_model(model), model)
    except EdgeSEAError as e:
        _fail(str(e))
    typer.echo(json.dumps(d, indent=2, default=str) if as_json else _format_info(d))


@app.command("convert-edgel3")
def convert_edgel3(
    h5_file: Annotated[Path, typer.Argument(show_default=False, metavar="FILE.h5",
                                            help="An original edgel3 Keras model (.h5).")],
    out: Annotated[Path, typer.Argument(show_default=False, metavar="OUT",
                                        help="The edgesea model file to write.")],
) -> None:
    """Convert an original edgel3 Keras .h5 model into an edgesea model file."""
    from .models import save_model
    from .models.edgel3 import load_edgel3_h5

    try:
        net = load_edgel3_h5(h5_file)
        save_model(net, out)
        fp = footprint(net)
    except (EdgeSEAError, OSError) as e:
        _fail(str(e))
    typer.echo(f"wrote {out} ({net.emb_dim}-d, from {h5_file.name})\n"
               f"footprint: {fp.params:,} params, {fp.size_mb:.2f} MB (fp32), activation "
               f"{fp.activation_mb:.2f} MB (largest layer {fp.largest_layer})")


@app.command("teacher-embed")
def teacher_embed(
    audio_dir: Annotated[Path, typer.Argument(
        exists=True, file_okay=False, show_default=False, metavar="AUDIO_DIR",
        help="Folder of audio files (walked recursively).")],
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False, show_default=False,
                                      help="The embedding store folder to write.")],
    teacher: Annotated[str, typer.Option(
        "--teacher", help="aisfx, openl3:PATH.h5 or model:PATH.safetensors.")] = "aisfx",
    window: Annotated[float | None, typer.Option(
        "--window", show_default=False, help="Window in seconds (aisfx; default 1.0).")] = None,
    hop_size: Annotated[float, typer.Option("--hop-size", help="Hop between windows, in "
                                            "seconds.")] = 0.5,
    workers: Annotated[int, typer.Option("--workers", help="Decoding processes.")] = 1,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Windows per forward "
                                            "pass.")] = 64,
    files_per_shard: Annotated[int, typer.Option("--files-per-shard", help="Files per "
                                                 "shard (the unit of resuming).")] = 64,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Recompute every file, and "
                                            "replace a store made with other settings.")
                         ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Embed a folder of audio with a teacher into a resumable embedding store (+ LAeq).

    A rerun resumes: it recomputes only files whose content (sha256) changed. Files are
    streamed in bounded blocks, so memory does not grow with file length.
    """
    from .extract import extract, resolve_teacher

    try:
        report = extract(audio_dir, out, resolve_teacher(teacher, window), hop_size=hop_size,
                         workers=workers, batch_size=batch_size,
                         files_per_shard=files_per_shard, progress=not quiet,
                         overwrite=overwrite)
    except EdgeSEAError as e:
        _fail(str(e))
    except OSError as e:
        _fail(f"writing {out} failed: {e} (rerun to resume)", EXIT_FAILED)
    failed = [f for f in report.store.files if f.status == "failed"]
    typer.echo(f"files: {report.n_ok} ok, {report.n_failed} failed (of {report.n_files}); "
               f"windows: {report.n_windows}; shards: {report.shards_computed} computed, "
               f"{report.shards_skipped} already done\nwall time {report.wall_s:.1f} s, "
               f"{report.audio_s:.1f} s of audio, {report.throughput:.1f} s of audio per s")
    for f in failed:
        typer.echo(f"  failed: {f.path}: {f.error}", err=True)
    if failed:
        raise typer.Exit(EXIT_FAILED)


@app.command("sample")
def sample(
    store: Annotated[Path, typer.Argument(exists=True, file_okay=False, show_default=False,
                                          metavar="STORE", help="An embedding store folder.")],
    mode: Annotated[str, typer.Option("--mode", help="random, relevance, diversity or "
                                      "diversity+relevance.")] = "diversity+relevance",
    k: Annotated[int, typer.Option("--k", help="Number of windows to pick.")] = 1000,
    group_by: Annotated[str, typer.Option("--group-by", help="Relevance = LAeq percentile "
                                          "within each file, or over all windows (none).")
                        ] = "file",
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", show_default=False, help="Output .npz "
                                      "(window_ids + info JSON) or .json.")] = Path("x.npz"),
) -> None:
    """Pick K windows of an embedding store (ids = store rows) and write them + settings."""
    import numpy as np

    from .fileio import atomic_path, clean_stale_temps
    from .sampling import make_sampler, relevance_percentile
    from .store import EmbeddingStore

    try:
        clean_stale_temps(out.parent)  # leftovers of killed writers (live ones' are kept)
        if group_by not in ("file", "none"):
            raise EdgeSEAError(f"--group-by must be file or none, got {group_by!r}")
        sampler = make_sampler(mode, k, random_state=seed)
        cols = (["embedding"] if "diversity" in mode else []) + ["laeq_db", "file_index"]
        data = EmbeddingStore.open(store).load(columns=cols)
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
        _fail(str(e))
    except OSError as e:
        _fail(f"writing {out} failed: {e}", EXIT_FAILED)
    typer.echo(f"wrote {out}: {len(ids)} window ids ({mode}); {json.dumps(info)}")


def _register() -> None:
    from .cli_evaluate import evaluate_command
    from .cli_export import export_command, footprint_command
    from .cli_specialize import augment_command, specialize_command

    app.command("specialize")(specialize_command)
    app.command("augment")(augment_command)
    app.command("evaluate")(evaluate_command)
    app.command("export")(export_command)
    app.command("footprint")(footprint_command)


_register()


def main() -> None:
    """Entry point of the ``edgesea`` script."""
    app(prog_name="edgesea")


if __name__ == "__main__":
    main()
