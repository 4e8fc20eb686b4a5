"""prepare_urbansound8k: the official UrbanSound8K layout becomes an evaluate dataset."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from edgesea.errors import EdgeSEAError
from edgesea.evaluate.classify import read_dataset
from edgesea.evaluate.datasets import URBANSOUND8K_COLUMNS, prepare_urbansound8k

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "audio"


def _official_layout(tmp_path: Path, n: int = 6) -> Path:
    """An UrbanSound8K-shaped folder built from the real example clips."""
    with open(EXAMPLES / "metadata.csv", newline="") as f:
        rows = list(csv.DictReader(f))[:n]
    root = tmp_path / "UrbanSound8K"
    (root / "metadata").mkdir(parents=True)
    with open(root / "metadata" / "UrbanSound8K.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(URBANSOUND8K_COLUMNS)
        for i, r in enumerate(rows):
            fold = 1 if i % 2 == 0 else 10
            name = Path(r["filename"]).name
            (root / "audio" / f"fold{fold}").mkdir(parents=True, exist_ok=True)
            shutil.copy(EXAMPLES / r["filename"], root / "audio" / f"fold{fold}" / name)
            w.writerow([name, r["freesound_id"], 0.0, 4.0, 1, fold, r["class_id"], r["label"]])
    return root


def test_prepare_writes_a_readable_dataset(tmp_path: Path) -> None:
    root = _official_layout(tmp_path)
    out = prepare_urbansound8k(root)
    assert out == root / "metadata.csv"
    ds = read_dataset(root)
    assert len(ds.filenames) == 6
    assert sorted(set(ds.folds.tolist())) == [1, 10]
    assert all(name.startswith("audio/fold") for name in ds.filenames)
    # keep only some folds
    prepare_urbansound8k(root, folds=[10], overwrite=True)
    assert set(read_dataset(root).folds.tolist()) == {10}


def test_prepare_refuses_bad_input(tmp_path: Path) -> None:
    with pytest.raises(EdgeSEAError, match=r"UrbanSound8K\.csv"):
        prepare_urbansound8k(tmp_path)
    root = _official_layout(tmp_path)
    prepare_urbansound8k(root)
    with pytest.raises(EdgeSEAError, match="exists"):
        prepare_urbansound8k(root)
    with pytest.raises(EdgeSEAError, match="invalid folds"):
        prepare_urbansound8k(root, folds=[0], overwrite=True)
    with pytest.raises(EdgeSEAError, match=r"no clips in fold\(s\) \[3\]"):
        prepare_urbansound8k(root, folds=[1, 3], overwrite=True)
    next((root / "audio" / "fold1").iterdir()).unlink()
    with pytest.raises(EdgeSEAError, match="missing"):
        prepare_urbansound8k(root, overwrite=True)
    assert not list(root.glob(".*tmp*"))
