"""What every ``edgesea`` command shares: exit codes, the error exit, finding audio files
and the files-done progress bar."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn, TypeVar

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

from ..audio import AUDIO_EXTENSIONS

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "fail", "find_audio_files", "track"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

T = TypeVar("T")


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``error: message`` to stderr (no traceback) and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


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
