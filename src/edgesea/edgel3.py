"""A drop-in for the ``edgel3`` package (version 0.2.1) on edgesea: ``import edgesea.edgel3
as edgel3`` runs edgel3 code unchanged where the models exist.

It offers edgel3's public names with edgel3's signatures and defaults:
:func:`get_embedding`, :func:`process_file`, :func:`get_output_path`,
``models.load_embedding_model`` / ``models.load_embedding_model_path`` (also at the top
level), :class:`EdgeL3Error`, :class:`EdgeL3Warning`, ``__version__`` (``"0.2.1"``, the edgel3
API followed) and the command line of ``edgel3.cli`` (:func:`main`, :func:`run`,
:func:`parse_args`, :func:`positive_float`, :func:`get_file_list`); ``edgel3.models``,
``edgel3.core``, ``edgel3.cli``, ``edgel3.edgel3_exceptions`` and ``edgel3.edgel3_warnings``
exist as submodules. ``python -m edgesea.edgel3 FILE --model-type sea --emb-dim 128 -o DIR``
is the ``edgel3`` script.

Followed: edgel3 0.2.1's documented API (README and tutorial: ``get_embedding(audio, sr,
model=None, model_type='sparse', emb_dim=128, retrain_type='ft', sparsity=95.45,
center=True, hop_size=0.1, verbose=1)``, ``edgel3.models.load_embedding_model(model_type,
emb_dim, retrain_type, sparsity)``, ``process_file(filepath, output_dir=None, suffix=None,
model=None, ...)``, the CLI flags ``-o/--output-dir -x/--suffix --model-type --emb-dim
-retrain/--retrain-type -sp/--model-sparsity -n/--no-centering -t/--hop-size -q/--quiet``),
its ``models.py`` with the ``sea`` models (the model types, sizes and sparsities), and the
source of ``core.py``/``cli.py`` as of edgel3's sparse-only releases (the argument checks
and their messages, ``get_output_path``, ``process_file``, the CLI's ``run``/``main``/
``positive_float``/``get_file_list``), with ``model_type``/``emb_dim`` added as 0.2.1
documents them. The short flags of ``--model-type`` and ``--emb-dim`` could not be checked
against 0.2.1's ``cli.py``: ``-m``/``-mtype`` and ``-e``/``-emb`` are all accepted, and every
spelling edgel3 documents works.

**Defaults are edgel3's, and edgel3's default model is a sparse model fine-tuned on
L3-Net's audio-visual task** (``model_type='sparse'``, 95.45 % sparse, ``retrain_type='ft'``).
edgesea's sparse models are the aisfx teacher pruned at edgel3's levels and retrained by
distillation (``'kd'``, :mod:`edgesea.sparse`); ``'ft'`` needs video and is not available.
A call with the defaults, ``edgel3.get_embedding(audio, sr)``, therefore raises an
:class:`EdgeL3Error` that says why and gives the fix: ``retrain_type='kd'`` (``-retrain
kd``), or ``model_type='sea'`` for the SEA students. It is never mapped silently to another
model. ``retrain_type`` and ``sparsity`` are validated exactly as edgel3 does
(``'ft'``/``'kd'``; 53.5, 63.5, 72.3, 87.0 or 95.45) and otherwise only matter for sparse
models; a valid level that is not packaged is an error naming the packaged levels.

What differs from edgel3 (on purpose):

- ``model_type='sparse'`` gives edgesea's pruned aisfx (44.1 kHz, 512-d), not edgel3's
  pruned L3-Net; ``emb_dim`` is not used for it (as in edgel3).
- ``model_type='sea'`` gives edgesea's packaged students (``sea_urban_<emb_dim>``, trained on
  UrbanSound8K at 16 kHz), not edgel3's SONYC-UST students: same contract and sizes,
  different weights, so the embeddings are not numerically edgel3's.
- ``model`` is an edgesea :class:`~edgesea.models.EmbeddingModel` (what
  :func:`load_embedding_model` returns), a model file or a packaged name, not a Keras model.
  Models are cached: :func:`load_embedding_model` and the ``model=None`` path never reload.
- Timestamps are the windows' true centres (``center=False``: starts),
  ``t * round(hop_size * sr) / sr`` at the model's rate, rather than ``t * hop_size``
  (equal for hops that are a whole number of samples, such as the default 0.1 s).
- :func:`process_file` replaces an existing output, as edgel3 does, but writes it atomically
  and adds a ``provenance`` array beside ``embedding`` and ``timestamps``; a ``suffix``
  starting with ``"."`` is refused (edgel3 would name the output ``<base><suffix>.npz``).
- Every invalid argument raises :class:`EdgeL3Error` (an alias of
  :class:`~edgesea.errors.EdgeSEAError`, so ``except edgel3.EdgeL3Error`` catches every
  edgesea error), including an invalid sample rate, which edgel3 never checked.
- The CLI takes only audio files from a folder, processes every file even when one fails
  (then raises, naming the failures), and does not print its parsed arguments.
"""

from __future__ import annotations

import os
import sys
import types
from argparse import ArgumentParser, ArgumentTypeError, Namespace
from collections.abc import Iterable, Sequence
from numbers import Real
from typing import Any

import numpy as np

from . import api, process, zoo
from .audio import AUDIO_EXTENSIONS, check_flag, check_hop_size
from .errors import EdgeSEAError, EdgeSEAWarning
from .models import EmbeddingModel

__all__ = ["EMB_DIMS", "MODEL_TYPES", "RETRAIN_TYPES", "SPARSITIES", "EdgeL3Error",
           "EdgeL3Warning", "__version__", "get_embedding", "get_file_list",
           "get_output_path", "load_embedding_model", "load_embedding_model_path", "main",
           "parse_args", "positive_float", "process_file", "run"]

#: The edgel3 version whose API this module follows.
__version__ = "0.2.1"

#: edgel3's error type: the same class as :class:`~edgesea.errors.EdgeSEAError`, so
#: ``except edgel3.EdgeL3Error`` catches every error edgesea raises.
EdgeL3Error = EdgeSEAError
#: edgel3's warning type (silent or short audio): :class:`~edgesea.errors.EdgeSEAWarning`.
EdgeL3Warning = EdgeSEAWarning

#: edgel3's model types (``"sparse"``: edgesea's pruned aisfx, :mod:`edgesea.sparse`).
MODEL_TYPES = ("sea", "sparse")
#: edgel3's embedding sizes of the ``"sea"`` models.
EMB_DIMS = (512, 256, 128, 64)
#: edgel3's retraining types of the sparse models: fine-tuning, knowledge distillation.
RETRAIN_TYPES = ("ft", "kd")
#: edgel3's sparsities (percent) of the sparse models.
SPARSITIES = (53.5, 63.5, 72.3, 87.0, 95.45)

ModelArg = EmbeddingModel | str | os.PathLike | None


def _check_args(model_type: object, emb_dim: object, retrain_type: object,
                sparsity: object) -> tuple[str, int]:
    """edgel3's checks of the model arguments (always made, as edgel3 does)."""
    if not isinstance(model_type, str) or model_type not in MODEL_TYPES:
        raise EdgeL3Error(f"Invalid model type {model_type!r}: expected 'sea' or 'sparse'")
    if not isinstance(retrain_type, str) or retrain_type not in RETRAIN_TYPES:
        raise EdgeL3Error(f"Invalid re-training type {retrain_type!r}: expected 'ft' "
                          "(fine-tuned) or 'kd' (knowledge distilled)")
    if isinstance(sparsity, bool | np.bool_) or not isinstance(sparsity, Real) \
            or sparsity <= 0 or float(sparsity) not in SPARSITIES:
        raise EdgeL3Error(f"Invalid sparsity value {sparsity!r}: expected one of "
                          f"{', '.join(f'{s:g}' for s in SPARSITIES)}")
    if isinstance(emb_dim, bool | np.bool_) or not isinstance(emb_dim, int | np.integer) \
            or int(emb_dim) not in EMB_DIMS:
        raise EdgeL3Error(f"Invalid embedding dimension emb_dim={emb_dim!r}: expected an "
                          f"integer, one of {', '.join(map(str, EMB_DIMS))}")
    return model_type, int(emb_dim)


def _net(model: ModelArg, model_type: str, emb_dim: int, retrain_type: str = "kd",
         sparsity: float = 95.45) -> EmbeddingModel:
    """The model to run: ``model`` when given (the model arguments are then ignored, as in
    edgel3), else the packaged ``(model_type, emb_dim)`` student or the packaged
    ``(sparsity, retrain_type)`` sparse model (``'ft'`` raises)."""
    from .sparse.model import SparseModel

    if model is not None and not isinstance(model, EmbeddingModel | SparseModel | str
                                            | os.PathLike):
        raise EdgeL3Error(f"Invalid model provided. Must be an edgesea EmbeddingModel (from "
                          f"edgel3.load_embedding_model), a model file or a packaged model "
                          f"name, or None, but got {type(model)}")
    return api.get_model(model, model_type, emb_dim, sparsity=float(sparsity),
                         retrain_type=retrain_type)


def load_embedding_model(model_type: str = "sparse", emb_dim: int = 128,
                         retrain_type: str = "ft", sparsity: float = 95.45
                         ) -> EmbeddingModel:
    """The packaged model with edgel3's characteristics, loaded once (cached).

    Parameters
    ----------
    model_type : {'sea', 'sparse'}
        ``'sea'``: edgesea's packaged SEA student of size ``emb_dim``. ``'sparse'`` (edgel3's
        default): edgesea's packaged sparse aisfx model of ``sparsity`` (512-d).
    emb_dim : {512, 256, 128, 64}
        Embedding size of the ``'sea'`` model.
    retrain_type : {'ft', 'kd'}
        Retraining of the sparse model (validated always; used for ``'sparse'``). The
        default ``'ft'`` (edgel3's) raises: it needs L3-Net's audio-visual task (video);
        pass ``'kd'``.
    sparsity : {53.5, 63.5, 72.3, 87.0, 95.45}
        Sparsity of the sparse model (validated always; used for ``'sparse'``).

    Returns
    -------
    EmbeddingModel or SparseModel
        Pass it as ``model=`` to :func:`get_embedding` and :func:`process_file`.

    Raises
    ------
    EdgeL3Error
        An invalid argument; ``model_type='sparse'`` with ``retrain_type='ft'``, or at a
        level that is not packaged.
    """
    model_type, emb_dim = _check_args(model_type, emb_dim, retrain_type, sparsity)
    return _net(None, model_type, emb_dim, retrain_type, sparsity)


def load_embedding_model_path(model_type: str = "sparse", emb_dim: int = 128,
                              retrain_type: str = "ft", sparsity: float = 95.45) -> str:
    """The path of the packaged model file :func:`load_embedding_model` loads.

    Parameters and errors are those of :func:`load_embedding_model`; the file is an edgesea
    ``.safetensors`` model (edgel3's were Keras ``.h5`` weights).

    Returns
    -------
    str
        The installed file of the packaged ``'sea'`` model of size ``emb_dim``, or of the
        ``'sparse'`` model of ``(sparsity, retrain_type)`` (a sparse model file).
    """
    model_type, emb_dim = _check_args(model_type, emb_dim, retrain_type, sparsity)
    if model_type == "sparse":
        from .sparse.packaged import packaged_path

        return packaged_path(float(sparsity), retrain_type)
    return zoo.pretrained_path(model_type, emb_dim)


def get_embedding(audio: Any, sr: Any, model: ModelArg = None, model_type: str = "sparse",
                  emb_dim: int = 128, retrain_type: str = "ft", sparsity: float = 95.45,
                  center: bool = True, hop_size: float = 0.1, verbose: int = 1
                  ) -> tuple[np.ndarray, np.ndarray]:
    """edgel3's ``get_embedding``: embeddings of 1 s windows of ``audio``.

    Parameters
    ----------
    audio : np.ndarray [shape=(N,) or (N, C)]
        Audio samples (float or integer PCM); several channels are averaged.
    sr : number
        Its sample rate; resampled to the model's rate.
    model : EmbeddingModel, path or str, optional
        A model from :func:`load_embedding_model`, an edgesea model file or a packaged
        name; when given, ``model_type``, ``emb_dim``, ``retrain_type`` and ``sparsity`` are
        ignored (but still validated, as edgel3 does).
    model_type : {'sea', 'sparse'}
        ``'sparse'`` (edgel3's default) needs ``retrain_type='kd'``; ``'sea'``: the students.
    emb_dim : {512, 256, 128, 64}
        Embedding size of the ``'sea'`` model.
    retrain_type : {'ft', 'kd'}
        As in :func:`load_embedding_model`.
    sparsity : {53.5, 63.5, 72.3, 87.0, 95.45}
        As in :func:`load_embedding_model`.
    center : bool or {0, 1}
        Pad half a window before the audio, so timestamps are window centres.
    hop_size : float
        Hop between windows, in seconds.
    verbose : {0, 1} or bool
        1: show a progress bar (edgel3: Keras' progress bar).

    Returns
    -------
    embedding : np.ndarray [shape=(T, D), dtype=float32]
        One row per window.
    timestamps : np.ndarray [shape=(T,), dtype=float64]
        Window centres (``center=False``: starts) in seconds,
        ``t * round(hop_size * sr_model) / sr_model``.

    Raises
    ------
    EdgeL3Error
        Invalid audio, sample rate, model or argument; ``model_type='sparse'`` without
        ``model`` and with ``retrain_type='ft'`` (the defaults) or a level not packaged.
    """
    model_type, emb_dim = _check_args(model_type, emb_dim, retrain_type, sparsity)
    hop_size = check_hop_size(hop_size)
    verbose = check_flag(verbose, "verbose")
    center = check_flag(center, "center")
    net = _net(model, model_type, emb_dim, retrain_type, sparsity)
    return api.get_embedding(audio, sr, model=net, center=center, hop_size=hop_size,
                             verbose=verbose)


def get_output_path(filepath: str | os.PathLike, suffix: str,
                    output_dir: str | os.PathLike | None = None) -> str:
    """edgel3's output path: ``<output_dir>/<base>_<suffix>`` (``<base><suffix>`` when
    ``suffix`` starts with ``"."``).

    Parameters
    ----------
    filepath : path
        The audio file.
    suffix : str
        Appended to the file's base name, extension included (``".npz"``,
        ``"somesuffix.npz"``).
    output_dir : path, optional
        The output folder; default (None or ``""``): the audio file's folder.

    Returns
    -------
    str
        The output file's path.
    """
    if not isinstance(filepath, str | os.PathLike):
        raise EdgeL3Error(f"invalid filepath={filepath!r}: expected a path")
    if not isinstance(suffix, str) or not suffix:
        raise EdgeL3Error(f"invalid suffix={suffix!r}: expected a non-empty string, "
                          "extension included (e.g. '.npz')")
    filepath = os.fspath(filepath)
    base = os.path.splitext(os.path.basename(filepath))[0]
    folder = os.fspath(output_dir) if output_dir else os.path.dirname(filepath)
    name = base + suffix if suffix[0] == "." else f"{base}_{suffix}"
    return os.path.join(folder, name)


def _check_suffix(suffix: object) -> str | None:
    if suffix is None or suffix == "":
        return None
    if not isinstance(suffix, str):
        raise EdgeL3Error(f"invalid suffix={suffix!r}: expected a string or None")
    if suffix.startswith("."):
        raise EdgeL3Error(f"invalid suffix={suffix!r}: outputs are named <base>_<suffix>.npz; "
                          "pass a suffix that does not start with '.'")
    return suffix


def process_file(filepath: str | os.PathLike, output_dir: str | os.PathLike | None = None,
                 suffix: str | None = None, model: ModelArg = None,
                 model_type: str = "sparse", emb_dim: int = 128, retrain_type: str = "ft",
                 sparsity: float = 95.45, center: bool = True, hop_size: float = 0.1,
                 verbose: bool = True) -> None:
    """edgel3's ``process_file``: embed an audio file into ``<base>[_<suffix>].npz``.

    Parameters
    ----------
    filepath : path
        The audio file (edgesea also takes a list of files).
    output_dir : path, optional
        Output folder (created if needed); default: the file's folder.
    suffix : str, optional
        Output name ``<base>_<suffix>.npz``.
    model, model_type, emb_dim, retrain_type, sparsity, center, hop_size
        As in :func:`get_embedding`.
    verbose : bool or {0, 1}
        Show a progress bar over the files.

    Returns
    -------
    None
        The output (``embedding`` (T, D) float32, ``timestamps`` (T,), and ``provenance``)
        is at ``get_output_path(filepath, (suffix or '') + '.npz', output_dir)``; an
        existing one is replaced, as in edgel3.

    Raises
    ------
    EdgeL3Error
        A missing or undecodable file, or an invalid argument.
    """
    model_type, emb_dim = _check_args(model_type, emb_dim, retrain_type, sparsity)
    hop_size = check_hop_size(hop_size)
    verbose = check_flag(verbose, "verbose")
    center = check_flag(center, "center")
    suffix = _check_suffix(suffix)
    net = _net(model, model_type, emb_dim, retrain_type, sparsity)
    process.process_file(filepath, output_dir or None, suffix, net, center=center,
                     hop_size=hop_size, verbose=verbose, overwrite=True)


# --- the command line (edgel3.cli) ----------------------------------------------------------

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


def get_file_list(input_list: Iterable[str | os.PathLike]) -> list[str]:
    """The files named by a list of files and folders (edgel3's ``cli.get_file_list``).

    Files are taken as given (absolute paths); a folder contributes the audio files
    (:data:`edgesea.audio.AUDIO_EXTENSIONS`) directly inside it, sorted, not its sub-folders.

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
    model = load_embedding_model(model_type, emb_dim, retrain_type, sparsity)
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
    parser.add_argument("--emb-dim", "-e", "-emb", type=int, default=128,
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


def _submodule(name: str, doc: str, **members: Any) -> types.ModuleType:
    """A submodule ``edgesea.edgel3.<name>`` (``edgel3.models`` etc.), importable too."""
    module = types.ModuleType(f"{__name__}.{name}", doc)
    for key, value in members.items():
        setattr(module, key, value)
    module.__all__ = sorted(members)  # type: ignore[attr-defined]
    if __name__ == "edgesea.edgel3":
        sys.modules[module.__name__] = module
    return module


models = _submodule("models", "edgel3.models: loading the embedding models.",
                    load_embedding_model=load_embedding_model,
                    load_embedding_model_path=load_embedding_model_path)
core = _submodule("core", "edgel3.core: embeddings of arrays and files.",
                  get_embedding=get_embedding, process_file=process_file,
                  get_output_path=get_output_path)
cli = _submodule("cli", "edgel3.cli: the edgel3 command line.", main=main, run=run,
                 parse_args=parse_args, positive_float=positive_float,
                 get_file_list=get_file_list)
edgel3_exceptions = _submodule("edgel3_exceptions", "edgel3's exception.",
                               EdgeL3Error=EdgeL3Error)
edgel3_warnings = _submodule("edgel3_warnings", "edgel3's warning.",
                             EdgeL3Warning=EdgeL3Warning)


if __name__ == "__main__":  # python -m edgesea.edgel3 ...
    try:
        main()
    except EdgeSEAError as error:
        sys.exit(f"edgel3: error: {error}")
