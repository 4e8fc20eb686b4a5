"""The packaged sparse models: names, paths, the ``retrain_type`` rules and catalog rows.

A packaged sparse model is ``edgesea/pretrained/sparse_aisfx_<level>_<retrain>.safetensors``
(a sparse model file, :mod:`edgesea.sparse.storage`) with its model card ``<name>.md``;
``<level>`` is the edgel3 level as Python writes the float (``95.45``, ``87.0``) and
``<retrain>`` is ``kd`` (the packaged ones) or ``oneshot``. :func:`packaged_path` maps
``(sparsity, retrain_type)`` to the file, with edgel3's errors: an invalid level lists the
valid ones; ``'ft'`` (edgel3's default) is refused because it needs L3-Net's audio-visual
task; a valid level that is not packaged names the packaged ones and ``edgesea prune``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import edgesea.packaged.names as names  # PRETRAINED_DIR read at call time (tests move it)
from edgesea.errors import EdgeSEAError
from edgesea.packaged.names import packaged_levels
from edgesea.packaged.sparse_names import (
    FT_UNAVAILABLE,
    RETRAIN_CHOICES,
    check_retrain,
    check_sparsity,
    packaged_name,
    parse_packaged_name,
)
from edgesea.sparse.file_checks import document, raw_header

__all__ = ["FT_UNAVAILABLE", "RETRAIN_CHOICES", "check_retrain", "packaged_levels",
           "packaged_name", "packaged_path", "parse_packaged_name", "sparse_catalog"]

_CARD_AUPRC = re.compile(r"fold 10 micro-AUPRC \| ([\d.]+)(?: ± ([\d.]+))?")


def _dir() -> Path:
    return Path(names.PRETRAINED_DIR)


def _installed_text() -> str:
    found = packaged_levels()
    return ", ".join(f"{s!r} ({r})" for s, r in found) if found else "none installed"


def packaged_path(sparsity: object = 95.45, retrain_type: object = "kd") -> str:
    """The packaged sparse model file of ``(sparsity, retrain_type)``.

    Parameters
    ----------
    sparsity : float
        One of edgel3's levels, :data:`~edgesea.sparse.prune.SPARSITY_LEVELS`.
    retrain_type : {"kd", "oneshot"}
        ``"ft"`` is refused (:data:`FT_UNAVAILABLE`).

    Returns
    -------
    str

    Raises
    ------
    EdgeSEAError
        Invalid level (edgel3-style, listing the levels), ``'ft'``, a level that is not
        packaged (naming the packaged ones and ``edgesea prune``), or a file whose header
        says another level or retraining than its name.
    """
    name = packaged_name(sparsity, retrain_type)
    path = _dir() / f"{name}.safetensors"
    if not path.is_file():
        raise EdgeSEAError(
            f"no sparse model at sparsity {check_sparsity(sparsity)!r} with retrain_type="
            f"{retrain_type!r} is packaged (packaged sparse models: {_installed_text()}). "
            f"Build one with `edgesea prune --teacher aisfx --sparsity {sparsity} --retrain "
            "kd AUDIO_DIR --out MODEL.safetensors` and pass model=MODEL.safetensors")
    doc = document(*raw_header(str(path))[:1], str(path))
    if (doc.get("sparsity"), doc.get("retrain")) != (check_sparsity(sparsity), retrain_type):
        raise EdgeSEAError(f"{path} holds a {doc.get('sparsity')!r}% {doc.get('retrain')!r} "
                           "model, not what its name says: reinstall edgesea")
    return str(path)


def sparse_catalog() -> list[dict[str, Any]]:
    """One row per installed packaged sparse model, the fields of
    :class:`edgesea.zoo.ZooModel` (read from each file's header and model card; nothing is
    run). ``params`` counts the stored numbers (kept weights + BatchNorm); fold-10
    micro-AUPRC is None until the card records it."""
    rows = []
    for s, r in packaged_levels():
        name = packaged_name(s, r)
        path, card = _dir() / f"{name}.safetensors", _dir() / f"{name}.md"
        table, _ = raw_header(str(path))
        doc = document(table, str(path))
        other = sum(math.prod(entry["shape"]) for key, entry in table.items()  # BatchNorm:
                    if key.startswith("dense/") and entry.get("dtype") == "F32")  # unpruned
        text = card.read_text(encoding="utf-8") if card.is_file() else ""
        auprc = _CARD_AUPRC.search(text)
        rows.append({
            "name": name, "model_type": "sparse", "emb_dim": 512, "tier": "-",
            "params": int(doc["nonzero"]) + other, "flash_bytes": None, "arena_bytes": None,
            "micro_auprc": float(auprc[1]) if auprc else None,
            "micro_auprc_sd": float(auprc[2]) if auprc and auprc[2] else None,
            "micro_auprc_int8": None, "path": str(path), "tflite": None,
            "card": str(card) if card.is_file() else None, "kind": "sparse", "sparsity": s,
            "retrain": r, "nonzero_weights": int(doc["nonzero"]),
            "file_bytes": path.stat().st_size})
    return rows
