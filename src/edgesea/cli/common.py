"""What every ``edgesea`` command shares: exit codes, the error exit, finding audio files,
the files-done progress bar, and the command classes that keep ``-h`` clean."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import click
import typer
from rich.cells import cell_len
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text
from typer import rich_utils
from typer.core import TyperCommand, TyperGroup

from edgesea.audio.io import AUDIO_EXTENSIONS

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "Command", "GpusPerActorOption", "Group",
           "NumActorsOption", "RayAddressOption", "fail", "find_audio_files", "reflow",
           "track"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# The Ray options of every command with ``--engine ray`` (teacher-embed, augment, specialize)
RayAddressOption = Annotated[str | None, typer.Option(
    "--address", show_default=False, help="Ray cluster address (e.g. ray://HEAD:10001 or "
    "auto); default: RAY_ADDRESS, else a new local Ray.")]
NumActorsOption = Annotated[int, typer.Option(
    "--num-actors", help="Ray actors running the teacher (each loads it once).")]
GpusPerActorOption = Annotated[float, typer.Option(
    "--num-gpus-per-actor", help="GPUs per Ray actor (0: CPU; 0.5: two actors share a GPU).")]

T = TypeVar("T")


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``error: message`` to stderr (no traceback) and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def reflow(text: str) -> str:
    """``text`` with the line breaks inside each paragraph removed (paragraphs are separated
    by blank lines; one starting with ``\\b`` is kept as it is), so that help texts wrap at
    the terminal's width instead of breaking where the docstring did."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split()) for p in paragraphs)


class _WholeNames(Table):
    """typer's options table with option names, flags and types never cut (``--reduction-
    optio…`` at 80 columns): every column but the last (the help text, which wraps) is at
    least as wide as its widest cell and does not wrap; a word of the help text longer than
    its column is folded onto the next line instead of cut."""

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        super().add_row(*renderables, **kwargs)
        for column, cell in zip(self.columns[:-1], renderables, strict=False):
            width = cell.cell_len if isinstance(cell, Text) else cell_len(str(cell or ""))
            column.no_wrap = True
            column.min_width = max(column.min_width or 0, width)
        if self.columns:
            self.columns[-1].overflow = "fold"  # a long word in a help text: folded, not cut


@contextlib.contextmanager
def _whole_option_names() -> Iterator[None]:
    """typer's help panels drawn with :class:`_WholeNames` (typer has no option for it)."""
    real = rich_utils.Table
    rich_utils.Table = _WholeNames
    try:
        yield
    finally:
        rich_utils.Table = real


class _CleanHelp:
    """Help without a type placeholder (``<bool>``) on flags, descriptions reflowed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.help:
            self.help = reflow(self.help)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        for param in self.get_params(ctx):
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""  # flags take no value: show none
        with _whole_option_names():
            super().format_help(ctx, formatter)


class Command(_CleanHelp, TyperCommand):
    """The class of every ``edgesea`` command (``app.command(name, cls=Command)``)."""


class Group(_CleanHelp, TyperGroup):
    """The class of the ``edgesea`` app (``typer.Typer(cls=Group)``)."""


def find_audio_files(inputs: Sequence[Path], recursive: bool = True) -> list[Path]:
    """Audio files named by ``inputs``: files as given, folders walked for audio extensions.

    Parameters
    ----------
    inputs : sequence of Path
        Files (taken whatever their extension) and folders.
    recursive : bool
        Walk sub-folders too (default, as ``teacher-embed`` and ``specialize`` do);
        otherwise only the top level of each folder.

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


def track(items: Iterable[T], total: int, quiet: bool, label: str = "embedding",
          unit: str = "files") -> Iterator[T]:
    """Yield ``items``, showing a done / total progress bar with ETA on stderr."""
    if quiet:
        yield from items
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task(label, total=total)
        for item in items:
            progress.advance(task)
            yield item
