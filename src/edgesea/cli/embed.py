"""``edgesea embed``: embed audio files with one model into ``.npz`` files
(:func:`edgesea.process_file` for many files, float or int8 ``.tflite`` models)."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from edgesea.audio.io import AUDIO_EXTENSIONS
from edgesea.audio.windows import n_windows
from edgesea.cli.common import EXIT_FAILED, EXIT_USAGE, fail, find_audio_files, track
from edgesea.core.checks import check_hop_size
from edgesea.errors import EdgeSEAError
from edgesea.packaged.names import resolve_model

if TYPE_CHECKING:
    from edgesea.inference.int8 import TFLiteEmbedder
    from edgesea.inference.outputs import FileResult
    from edgesea.models.network import EmbeddingModel

# The inference modules (torch) are imported inside the command, not for `edgesea --help`
# (start-up: `edgesea --help` 2.8 s with torch, under 1 s without).

__all__ = ["embed_command"]


def _resolve_model(model: Path | str | None, model_type: str, emb_dim: int | None,
                   tier: str | None = None, sparsity: float = 95.45,
                   retrain_type: str = "kd") -> EmbeddingModel | TFLiteEmbedder:
    """Load the model once, checking ``--emb-dim`` against a model file if both are given
    (``--tier`` only selects a packaged model: refused with ``--model``). ``model`` is a
    path or a packaged name (:func:`edgesea.zoo.resolve_model`); an int8 ``.tflite`` gives
    a :class:`~edgesea.inference.int8.TFLiteEmbedder`, an ``.onnx`` an
    :class:`~edgesea.light.onnx_models.OnnxEmbedder`. ``--model-type sparse`` selects the
    packaged sparse model of ``sparsity`` and ``retrain_type`` (512-d)."""
    # on use (start-up cost)
    from edgesea.inference.api import get_embedder, get_model

    if model is None and model_type == "sparse":
        if emb_dim not in (None, 512) or tier is not None:
            raise EdgeSEAError("--model-type sparse gives the 512-d sparse aisfx model of "
                               "--sparsity: drop --emb-dim and --tier")
        return get_model(None, "sparse", sparsity=sparsity, retrain_type=retrain_type)
    if model is None:
        return get_model(None, model_type, 128 if emb_dim is None else emb_dim,
                         tier="mcu" if tier is None else tier)
    if tier is not None:
        raise EdgeSEAError(f"--tier {tier} selects a packaged model: drop it when --model is "
                           "given")
    net = get_embedder(resolve_model(str(model)))  # a .tflite or .onnx runs without torch
    if emb_dim is not None and emb_dim != net.emb_dim:
        raise EdgeSEAError(f"--emb-dim {emb_dim} does not match the model file {model}, whose "
                           f"embeddings have {net.emb_dim} dimensions: drop --emb-dim or pass "
                           "another model")
    return net


def _destination(files: Sequence[Path], output_dir: Path | None, suffix: str | None) -> bool:
    """Check where the outputs go; True for one Parquet table (``-o FILE.parquet``)."""
    table = output_dir is not None and output_dir.suffix == ".parquet"
    if table and suffix:
        raise EdgeSEAError("--suffix names .npz files: drop it with -o FILE.parquet")
    if not table and output_dir is not None and output_dir.is_file():
        raise EdgeSEAError(f"--output-dir {output_dir} is a file: expected a folder, or a "
                           "FILE.parquet table")
    if not table:
        _check_outputs(files, output_dir, suffix)
    return table


def _embed_table(files: Sequence[Path], out: Path, net: Any, center: bool, hop: float,
                 batch_size: int, overwrite: bool, pool: str | None, quiet: bool) -> None:
    """``edgesea embed ... -o FILE.parquet`` (:func:`edgesea.inference.table.embed_to_parquet`)."""
    from edgesea.inference.table import embed_to_parquet  # torch, pyarrow: on use (start-up)

    try:
        res = embed_to_parquet(files, out, model=net, center=center, hop_size=hop,
                               batch_size=batch_size, overwrite=overwrite, pool=pool)
    except EdgeSEAError as e:
        fail(str(e), EXIT_FAILED if "could not be embedded" in str(e) else EXIT_USAGE)
    if not quiet:
        typer.echo(f"table {res['table']}: {res['written']} rows written, {res['kept']} kept")


def _grouped(caught: list, files: Sequence[Path]) -> dict[str, list[str]]:
    """Warnings by message, each with the files it was given for (a warning about a file
    starts with the file's path)."""
    prefixes = sorted({f"{f}: " for f in files}, key=len, reverse=True)
    out: dict[str, list[str]] = {}
    for w in caught:
        text = str(w.message)
        prefix = next((p for p in prefixes if text.startswith(p)), "")
        out.setdefault(text[len(prefix):], []).append(prefix[:-2])
    return out


def _check_outputs(files: Sequence[Path], output_dir: Path | None, suffix: str | None) -> None:
    """Refuse runs where two inputs would write the same output file."""
    from edgesea.inference.process import output_path  # torch: on use (start-up cost)

    seen: dict[str, Path] = {}
    for f in files:
        out = output_path(f, output_dir, suffix)
        if out in seen:
            raise EdgeSEAError(f"{seen[out]} and {f} would both be written to {out}: embed them "
                               "in separate runs, or with different --output-dir/--suffix")
        seen[out] = f


def embed_command(
    inputs: Annotated[list[Path], typer.Argument(
        exists=True, show_default=False, metavar="INPUTS",
        help="Audio files and/or folders of audio files.")],
    output_dir: Annotated[Path | None, typer.Option(
        "--output-dir", "-o",
        help="Folder for the .npz files (default: next to each audio file), or FILE.parquet: "
        "one table for all the files (a row each; resumable; pip install "
        "edgesea[parquet]).")] = None,
    suffix: Annotated[str | None, typer.Option(
        "--suffix", "-x", help="Output names become <base>_<suffix>.npz.")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", show_default=False, metavar="MODEL",
        help="An edgesea model file (.safetensors), an int8 .tflite written by `edgesea "
        "export` (run by LiteRT), a sparse model file (`edgesea prune`), or a packaged "
        "model's name: sea_urban_64, sea_urban_128_mcu1m, sparse_aisfx_95.45_kd, ... "
        "(`edgesea models`), NAME.int8 for its int8 .tflite.")
    ] = None,
    model_type: Annotated[str, typer.Option(
        "--model-type", help="Packaged model family, used when --model is not given: sea "
        "(the students) or sparse (the pruned aisfx teacher, 44.1 kHz, 512-d; see "
        "--sparsity).")] = "sea",
    sparsity: Annotated[float, typer.Option(
        "--sparsity", help="--model-type sparse: edgel3's sparsity level (53.5, 63.5, 72.3, "
        "87.0, 95.45; packaged: see `edgesea models`).")] = 95.45,
    retrain_type: Annotated[str, typer.Option(
        "--retrain-type", help="--model-type sparse: kd (distilled from the dense teacher, "
        "the packaged models) or oneshot; edgel3's ft needs video and is refused.")] = "kd",
    emb_dim: Annotated[int | None, typer.Option(
        "--emb-dim", show_default=False,
        help="Embedding size of the packaged model (512, 256, 128 or 64; default 128).")] = None,
    tier: Annotated[str | None, typer.Option(
        "--tier", show_default=False,
        help="Capacity tier of the packaged model: mcu (default; 64 KB TFLM arena, 300 KB "
        "flash) or mcu-1m (256 KB arena, 1 MB flash: a larger student).")] = None,
    hop_size: Annotated[float, typer.Option(
        "--hop-size", help="Hop between windows, in seconds. 0.1 s, as edgel3's default: fine "
        "time resolution for the embeddings you use (teacher-embed and specialize use 0.5 s "
        "for training windows).")] = 0.1,
    centering: Annotated[bool, typer.Option(
        "--centering/--no-centering",
        help="Pad half a window before the audio so window t is centred at t * hop.")] = True,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Windows per forward "
                                            "pass.")] = 64,
    pool: Annotated[str | None, typer.Option(
        "--pool", show_default=False, help="Also store a clip embedding (clip_embedding): "
        "these statistics of the windows over time, concatenated, e.g. mean,max (mean, max, "
        "min, std).")] = None,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Re-embed files whose .npz was made by other settings (another "
        "model, hop, centering or a changed audio file; default: such files fail). Outputs "
        "made by the same settings are always skipped.")] = False,
    recursive: Annotated[bool, typer.Option(
        "--recursive/--no-recursive", "-r/-R",
        help="Walk the sub-folders of folders given (default, as teacher-embed, specialize "
        "and augment do), or take only their top level.")] = True,
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
        net = _resolve_model(model, model_type, emb_dim, tier, sparsity, retrain_type)
        n_windows(1, net.sample_rate, net.window, hop, centering)  # hop below one sample
        files = find_audio_files(inputs, recursive)
        if not files:
            hint = ("; sub-folders included" if recursive
                    else "; only the top level searched: drop --no-recursive for sub-folders")
            raise EdgeSEAError(f"no audio files found in {', '.join(map(str, inputs))} "
                               f"(extensions {' '.join(AUDIO_EXTENSIONS)}{hint})")
        table = _destination(files, output_dir, suffix)
    except EdgeSEAError as e:
        fail(str(e))
    if table:
        _embed_table(files, output_dir, net, centering, hop, batch_size, overwrite, pool, quiet)
        return

    from edgesea.inference.process import iter_process_files  # torch: on use (start-up cost)

    counts: Counter[str] = Counter()
    failures: list[FileResult] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:  # checks settings and output folders before any work (exit 2)
            # a float model, or an int8 .tflite whose network LiteRT runs
            results = iter_process_files(files, output_dir, suffix, model=net,
                                         center=centering, hop_size=hop,
                                         batch_size=batch_size, overwrite=overwrite,
                                         pool=pool)
        except EdgeSEAError as e:
            fail(str(e))
        try:
            for result in track(results, len(files), quiet):
                counts[result.status] += 1
                if result.status == "failed":
                    failures.append(result)
        except (EdgeSEAError, OSError) as e:
            fail(f"stopped after {sum(counts.values())} of {len(files)} files: {e}",
                  EXIT_FAILED)
    if not quiet:
        for message, sources in _grouped(caught, files).items():
            n = len(sources)
            where = (f" ({n} files): {', '.join(sources[:5])}{', ...' if n > 5 else ''}"
                     if n > 1 else f" ({sources[0]})" if sources[0] else "")
            typer.echo(f"warning: {message}{where}", err=True)
        typer.echo(f"written {counts['written']}, skipped {counts['skipped']}, "
                   f"failed {counts['failed']}")
    if failures:
        typer.echo(f"{len(failures)} of {len(files)} files failed:", err=True)
        for r in failures:
            typer.echo(f"  {r.path}: {r.error}", err=True)
        raise typer.Exit(EXIT_FAILED)
