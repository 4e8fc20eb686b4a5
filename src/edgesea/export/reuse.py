"""Reusing an int8 export that is already there: an ``<name>.int8.tflite`` and its
``<name>.edge.json`` are taken as they are when the edge spec says they were made from the
same float model (sha256), the same calibration audio (the sha256 of every audio file under
the calibration folder), the same number of calibration windows and seed, and the int8 file
is the one it recorded (sha256); otherwise the export runs again."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from edgesea.core.safe_json import read_json
from edgesea.errors import EdgeSEAError
from edgesea.export.carray import c_identifier
from edgesea.export.graph import model_name
from edgesea.extract.run import list_audio_files
from edgesea.store.integrity import file_content

__all__ = ["calibration_key", "file_sha256", "reusable_int8"]


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes (read in 1 MB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def calibration_key(calibration_dir: str | os.PathLike, n_calibration: int, seed: int) -> str:
    """A digest of what an int8 calibration reads: every audio file under
    ``calibration_dir`` (relative path and content) and the window count and seed."""
    root = Path(calibration_dir)
    h = hashlib.sha256(f"{int(n_calibration)}:{int(seed)}".encode())
    for rel in list_audio_files(root):
        h.update(f"\0{rel}\0{file_content(root / rel)['sha256']}".encode())
    return h.hexdigest()


def reusable_int8(model_path: str | os.PathLike, out_dir: str | os.PathLike,
                  name: str | None, calibration_dir: str | os.PathLike, n_calibration: int,
                  seed: int) -> dict[str, Any] | None:
    """``{"tflite-int8": path, "spec": path, "model": the spec's model record}`` of the int8
    export :func:`edgesea.export.export_model` would write to ``out_dir`` (named ``name``,
    default the model's) when one made from exactly these inputs is there, else None."""
    out = Path(out_dir)
    name = c_identifier(name if name is not None else model_name(model_path))
    tfl, spec_path = out / f"{name}.int8.tflite", out / f"{name}.edge.json"
    if not (tfl.is_file() and spec_path.is_file()):
        return None
    try:
        record = read_json(spec_path, "edge spec").get("model", {})
    except EdgeSEAError:
        return None
    if not isinstance(record, dict):
        return None
    same = (record.get("source_sha256") == file_sha256(model_path)
            and record.get("tflite_sha256") == file_sha256(tfl)
            and record.get("calibration_key") == calibration_key(calibration_dir,
                                                                 n_calibration, seed))
    return {"tflite-int8": str(tfl), "spec": str(spec_path), "model": record} if same else None
