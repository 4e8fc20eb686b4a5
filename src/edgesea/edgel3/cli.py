"""edgel3's command line (``edgel3.cli``): :func:`main`, :func:`run`, :func:`parse_args`,
:func:`positive_float`, :func:`positive_int` and :func:`get_file_list`; ``python -m
edgesea.edgel3`` is the ``edgel3`` script."""

from __future__ import annotations

import os
import sys
from argparse import ArgumentParser, ArgumentTypeError, Namespace
from collections.abc import Iterable, Sequence

from edgesea.audio.io import AUDIO_EXTENSIONS
from edgesea.core.checks import check_flag, check_hop_size
from edgesea.edgel3.core import _check_suffix
from edgesea.edgel3.edgel3_exceptions import EdgeL3Error
from edgesea.edgel3.models import (
    EMB_DIMS,
    MODEL_TYPES,
    RETRAIN_TYPES,
    SPARSITIES,
    load_embedding_model,
)
from edgesea.errors import EdgeSEAError
from edgesea.inference import process

__all__ = ["get_file_list", "main", "parse_args", "positive_float", "positive_int", "run"]


class _ArgumentError(EdgeSEAError, ArgumentTypeError):
    """A bad command-line value: argparse's type error (a usage message) and an
    :class:`EdgeL3Error`."""


def positive_float(value: object) -> float:
    """An argparse type accepting only positive floats (edgel3's ``cli.positive_float``)."""
    try:
        fvalue = float(value)  # type: ignore[arg-type]
    except (ValueError, TypeError) as e:
        raise _ArgumentError(f"Expected a positive float, error message: {e}") from e
    if not fvalue > 0 or fvalue == float("inf"):
        raise _ArgumentError("Expected a positive float")
    return fvalue


def positive_int(value: object) -> int:
    """An argparse type accepting only positive integers (edgel3's ``cli.positive_int``):
    ``int(value)`` (5.0 -> 5, '7' -> 7; 1.9 -> 1, as ``int`` truncates), refused when that
    fails ('128.0', None, 'x') or is not > 0."""
    try:
        ivalue = int(value)  # type: ignore[call-overload]
    except (ValueError, TypeError) as e:
        raise _ArgumentError(f"Expected a positive int, error message: {e}") from e
    if ivalue <= 0:
        raise _ArgumentError("Expected a positive int")
    return ivalue


def get_file_list(input_list: Iterable[str | os.PathLike]) -> list[str]:
    """The files named by a list of files and folders (edgel3's ``cli.get_file_list``).

    Files are taken as given (absolute paths); a folder contributes the audio files
    (:data:`edgesea.audio.io.AUDIO_EXTENSIONS`) directly inside it, sorted, not its sub-folders.

    Raises
    ------
    EdgeL3Error
        ``input_list`` is a string or not iterable (also an ``argparse.ArgumentTypeError``,
        as in edgel3), or a path does not exist.
    """
    if isinstance(input_list, str | bytes | os.PathLike) or not isinstance(input_list,
                                                                            Iterable):
        raise _ArgumentError("input_list must be iterable (and not string)")
    files: list[str] = []
    for item in input_list:
        if not isinstance(item, str | os.PathLike):
            raise EdgeL3Error(f"Invalid input: {item!r}: expected a file or folder path")
        if os.path.isfile(item):
            files.append(os.path.abspath(item))
        elif os.path.isdir(item):
            for name in sorted(os.listdir(item)):
                path = os.path.join(item, name)
                if os.path.isfile(path) and name.lower().endswith(AUDIO_EXTENSIONS):
                    files.append(path)
        else:
            raise EdgeL3Error(f"Could not find {os.fspath(item)}")
    return files


def run(inputs: str | os.PathLike | Sequence[str | os.PathLike],
        output_dir: str | os.PathLike | None = None, suffix: str | None = None,
        model_type: str = "sparse", emb_dim: int = 128, retrain_type: str = "ft",
        sparsity: float = 95.45, center: bool = True, hop_size: float = 0.1,
        verbose: bool = False) -> None:
    """Embed files and folders to ``.npz`` files (edgel3's ``cli.run``).

    Parameters
    ----------
    inputs : path or list of paths
        Audio files, or folders of audio files (not walked recursively).
    output_dir, suffix, model_type, emb_dim, retrain_type, sparsity, center, hop_size
        As in :func:`process_file`.
    verbose : bool
        Print each file and ``Edgel3: Done!``.

    Raises
    ------
    SystemExit
        With status -1 when no file is found (edgel3's behaviour, after printing why).
    EdgeL3Error
        Invalid inputs or arguments (before any work); after all the other files, the files
        that could not be embedded.
    """
    if isinstance(inputs, str | os.PathLike):
        files = get_file_list([inputs])
    elif isinstance(inputs, Iterable):
        files = get_file_list(inputs)
    else:
        raise EdgeL3Error(f"Invalid input: {inputs!s}")
    if not files:
        print(f"Edgel3: No WAV files found in {inputs!s}. Aborting.")
        sys.exit(-1)
    verbose = check_flag(verbose, "verbose")
    try:
        model = load_embedding_model(model_type, emb_dim, retrain_type, sparsity)
    except EdgeL3Error as e:
        if retrain_type != "ft" or model_type != "sparse":
            raise
        raise EdgeL3Error(f"{e}; on the command line: --retrain-type kd (-retrain kd)") from e
    center = check_flag(center, "center")
    results = process.iter_process_files(files, output_dir or None, _check_suffix(suffix),
                                     model=model, center=center,
                                     hop_size=check_hop_size(hop_size), overwrite=True)
    failures = []
    for r in results:
        if verbose:
            print(f"Edgel3: Processing: {r.path}")
        if r.status == "failed":
            failures.append(f"{r.path}: {r.error}")
    if failures:
        raise EdgeL3Error(f"{len(failures)} of {len(files)} files failed:\n" +
                          "\n".join(failures))
    if verbose:
        print("Edgel3: Done!")


def _parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="edgel3", description="Extracts audio embeddings from smaller versions of Look, "
        "Listen, and Learn models (edgel3 0.2.1's command line, run by edgesea).")
    parser.add_argument("inputs", nargs="+", help="Path or paths to files to process, or "
                        "path to a directory of files to process.")
    parser.add_argument("--output-dir", "-o", default=None,
                        help="Directory to save the output file(s); if not given, the output "
                        "will be saved to the same directory as the input file(s).")
    parser.add_argument("--suffix", "-x", default=None,
                        help="String to append to the output filenames. If not provided, no "
                        "suffix is added.")
    parser.add_argument("--model-type", "-m", "-mtype", type=str, default="sparse",
                        choices=list(MODEL_TYPES),
                        help="Type of smaller L3 model: 'sea' (the specialized students) or "
                        "'sparse' (edgel3's default: the pruned aisfx teacher in edgesea; "
                        "needs --retrain-type kd).")
    parser.add_argument("--emb-dim", "-e", "-emb", type=positive_int, default=128,
                        choices=list(EMB_DIMS),
                        help="Embedding dimension of the 'sea' model.")
    parser.add_argument("--retrain-type", "-retrain", type=str, default="ft",
                        choices=list(RETRAIN_TYPES),
                        help="The type of retraining after L3 audio is sparsified: 'kd' "
                        "(edgesea's sparse models); edgel3's default 'ft' needs video and "
                        "raises.")
    parser.add_argument("--model-sparsity", "-sp", type=positive_float, default=95.45,
                        choices=list(SPARSITIES), help="Overall model sparsity desired in L3.")
    parser.add_argument("--no-centering", "-n", action="store_true", default=False,
                        help="Do not pad signal; timestamps will correspond to the beginning "
                        "of each analysis window.")
    parser.add_argument("--hop-size", "-t", type=positive_float, default=0.1,
                        help="Hop size in seconds for processing audio files.")
    parser.add_argument("--quiet", "-q", action="store_true", default=False,
                        help="Suppress all non-error messages to stdout.")
    return parser


def parse_args(args: Sequence[str]) -> Namespace:
    """Parse edgel3's command line (edgel3's ``cli.parse_args``).

    Returns
    -------
    argparse.Namespace
        ``inputs``, ``output_dir``, ``suffix``, ``model_type``, ``emb_dim``,
        ``retrain_type``, ``model_sparsity``, ``no_centering``, ``hop_size``, ``quiet``.
    """
    return _parser().parse_args(list(args))


def main() -> None:
    """The ``edgel3`` script (edgel3's ``cli.main``): parse ``sys.argv`` and :func:`run`.

    Returns None on success; bad arguments exit through argparse (status 2), and
    processing errors raise :class:`EdgeL3Error`, as in edgel3.
    """
    args = parse_args(sys.argv[1:])
    run(args.inputs, output_dir=args.output_dir, suffix=args.suffix,
        model_type=args.model_type, emb_dim=args.emb_dim, retrain_type=args.retrain_type,
        sparsity=args.model_sparsity, center=not args.no_centering, hop_size=args.hop_size,
        verbose=not args.quiet)
