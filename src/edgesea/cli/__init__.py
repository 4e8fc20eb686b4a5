"""The ``edgesea`` command line (typer): a thin layer over the library, one module per
command group, all sharing :mod:`edgesea.cli.common`.

- ``edgesea embed`` (:mod:`.embed`) embeds files and folders into ``<base>[_<suffix>].npz``
  files holding ``embedding`` (T, D) and ``timestamps`` (T,), as :func:`edgesea.process_file`.
- ``edgesea info`` / ``edgesea convert-edgel3`` (:mod:`.info`) describe a model file and
  convert an original edgel3 Keras ``.h5``.
- ``edgesea teacher-embed`` / ``edgesea sample`` (:mod:`.store`) write a resumable
  teacher-embedding store (:func:`edgesea.extract.run.extract`) and pick windows of it.
- ``edgesea specialize`` / ``edgesea augment`` (:mod:`.specialize`) run the whole SEA
  pipeline (:func:`edgesea.specialize.pipeline.specialize`) and make teacher-labelled
  augmented windows.
- ``edgesea export`` / ``edgesea footprint`` (:mod:`.export`) write int8 TFLite, ONNX and
  C-array models and measure them in TensorFlow Lite Micro (:func:`edgesea.export.export_model`).
- ``edgesea evaluate`` (:mod:`.evaluate`) scores embedders on a labelled dataset's held-out
  fold (:func:`edgesea.evaluate.run.run_evaluation`).
- ``edgesea models`` (:mod:`.models`) lists the packaged models (:func:`edgesea.zoo.catalog`);
  their names are accepted wherever a model file is (:func:`edgesea.zoo.resolve_model`).
- ``edgesea prune`` (:mod:`.prune`) prunes the aisfx teacher to an edgel3 sparsity level and
  retrains it by distillation (:func:`edgesea.sparse.build_sparse_model`).

Every command is a :class:`~.common.Command`: flags show no type placeholder in ``-h`` and
descriptions wrap at the terminal's width.

Exit status: 0 success, 1 some files failed, 2 bad arguments (paths, model, settings).
"""

from typing import Annotated

import typer

from edgesea._version import __version__
from edgesea.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Command, Group, find_audio_files
from edgesea.cli.embed import embed_command
from edgesea.cli.evaluate import evaluate_command
from edgesea.cli.export import export_command, footprint_command
from edgesea.cli.info import convert_edgel3_command, describe_model, info_command
from edgesea.cli.models import models_command
from edgesea.cli.prune import prune_command
from edgesea.cli.specialize import augment_command, specialize_command
from edgesea.cli.store import sample_command, teacher_embed_command

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "app", "describe_model",
           "find_audio_files", "main"]

app = typer.Typer(name="edgesea", cls=Group, no_args_is_help=True, add_completion=False,
                  pretty_exceptions_show_locals=False,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Tiny audio embedding models (SEA students) for microcontrollers.")


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


for _name, _command in [("embed", embed_command), ("info", info_command),
                        ("convert-edgel3", convert_edgel3_command),
                        ("teacher-embed", teacher_embed_command), ("sample", sample_command),
                        ("specialize", specialize_command), ("augment", augment_command),
                        ("evaluate", evaluate_command), ("export", export_command),
                        ("footprint", footprint_command), ("models", models_command),
                        ("prune", prune_command)]:
    app.command(_name, cls=Command)(_command)


#: Packages of the ``train`` extra: a command that needs one says which extra to install.
_TRAIN_PACKAGES = ("torch", "scipy", "sklearn", "matplotlib")


def main() -> None:
    """Entry point of the ``edgesea`` script."""
    try:
        app(prog_name="edgesea")
    except ModuleNotFoundError as e:  # a pipeline command in the light install
        if (e.name or "").split(".")[0] not in _TRAIN_PACKAGES:
            raise
        typer.echo(f"error: this command needs {e.name!r}, which the inference install does "
                   "not have: run `pip install edgesea[train]`", err=True)
        raise SystemExit(2) from None
