"""Labelled datasets in the layout :func:`~.classify.read_dataset` reads.

UrbanSound8K (Salamon, Jacoby and Bello, ACM MM 2014; CC BY-NC 3.0) is distributed at
https://urbansounddataset.weebly.com/urbansound8k.html and on Zenodo
(https://doi.org/10.5281/zenodo.1203745) as ``UrbanSound8K/metadata/UrbanSound8K.csv`` and
``UrbanSound8K/audio/fold1..fold10/*.wav``. :func:`prepare_urbansound8k` writes the
``metadata.csv`` that ``edgesea evaluate --dataset`` and :func:`~.classify.read_dataset`
need next to those folders, so the download is used as it is (nothing copied or resampled).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from edgesea.core.fileio import atomic_path
from edgesea.errors import EdgeSEAError

__all__ = ["URBANSOUND8K_COLUMNS", "prepare_urbansound8k"]

#: Columns of the official ``UrbanSound8K.csv``.
URBANSOUND8K_COLUMNS = ("slice_file_name", "fsID", "start", "end", "salience", "fold",
                        "classID", "class")


def prepare_urbansound8k(root: str | os.PathLike, folds: list[int] | None = None,
                         overwrite: bool = False) -> Path:
    """Write ``root/metadata.csv`` for an UrbanSound8K download.

    Parameters
    ----------
    root : path
        The ``UrbanSound8K`` folder (holding ``metadata/UrbanSound8K.csv`` and
        ``audio/fold<k>/``).
    folds : list of int, optional
        Keep only these folds (e.g. ``[1, 2, 10]``); default all ten.
    overwrite : bool
        Replace an existing ``metadata.csv`` (otherwise it is refused).

    Returns
    -------
    Path
        The ``metadata.csv`` written: columns ``filename`` (relative to ``root``), ``label``
        (the class name), ``fold``, ``class_id`` and ``freesound_id`` (the source recording,
        so slices of one recording are kept together when folds are split).

    Raises
    ------
    EdgeSEAError
        When the official CSV is missing or malformed, a listed clip is missing, a requested
        fold has no clips, or ``metadata.csv`` exists and ``overwrite`` is false.

    Examples
    --------
    >>> prepare_urbansound8k("UrbanSound8K", folds=[1, 2, 10])  # doctest: +SKIP
    PosixPath('UrbanSound8K/metadata.csv')
    """
    root = Path(root)
    source = root / "metadata" / "UrbanSound8K.csv"
    if not source.is_file():
        raise EdgeSEAError(f"{source} not found: pass the UrbanSound8K folder of the official "
                           "download (it holds metadata/UrbanSound8K.csv and audio/fold1..10)")
    out = root / "metadata.csv"
    if out.exists() and not overwrite:
        raise EdgeSEAError(f"{out} exists: pass overwrite=True to replace it")
    if folds is not None:
        bad = [f for f in folds if not (isinstance(f, int) and 1 <= f <= 10)]
        if bad or not folds:
            raise EdgeSEAError(f"invalid folds {folds!r}: expected a non-empty list of "
                               "integers 1..10")
    with open(source, newline="") as f:
        reader = csv.DictReader(f)
        missing = set(URBANSOUND8K_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise EdgeSEAError(f"{source} lacks the columns {sorted(missing)} of the official "
                               f"UrbanSound8K.csv ({', '.join(URBANSOUND8K_COLUMNS)})")
        rows = []
        for line, r in enumerate(reader, start=2):
            try:
                fold = int(r["fold"])
            except ValueError as e:
                raise EdgeSEAError(f"{source} line {line}: fold {r['fold']!r} is not an "
                                   "integer") from e
            if folds is not None and fold not in folds:
                continue
            rows.append((f"audio/fold{fold}/{r['slice_file_name']}", r["class"], fold,
                         r["classID"], r["fsID"]))
    if not rows:
        raise EdgeSEAError(f"{source} lists no clips" + ("" if folds is None else
                                                        f" in folds {folds}"))
    if folds is not None:
        empty = sorted(set(folds) - {r[2] for r in rows})
        if empty:
            raise EdgeSEAError(f"{source} lists no clips in fold(s) {empty}")
    absent = [r[0] for r in rows if not (root / r[0]).is_file()]
    if absent:
        raise EdgeSEAError(f"{len(absent)} of {len(rows)} clips listed in {source} are "
                           f"missing under {root}, e.g. {absent[:3]}")
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["filename", "label", "fold", "class_id", "freesound_id"])
    writer.writerows(rows)
    with atomic_path(out) as tmp, open(tmp, "w", newline="") as f:
        f.write(text.getvalue())
    return out
