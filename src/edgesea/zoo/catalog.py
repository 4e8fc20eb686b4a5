"""The catalog of packaged models: every installed student and sparse model with the figures
recorded in its model card (``edgesea models``).

Names, tiers and file resolution are :mod:`edgesea.packaged`'s; this module reads the cards
and the sparse files' headers beside them (nothing is run).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import edgesea.packaged.names as names  # PRETRAINED_DIR read at call time
from edgesea.packaged.names import (
    INT8_SUFFIX,
    ZOO_TIERS,
    available,
    parse_zoo_name,
    zoo_name,
)

__all__ = ["ZooModel", "catalog"]


@dataclass(frozen=True)
class ZooModel:
    """One packaged model and the figures recorded for it (:func:`catalog`).

    Attributes
    ----------
    name : str
        Its name (:func:`zoo_name`), accepted wherever a model file is.
    model_type : str
    emb_dim : int
    tier : str
        Capacity tier (:data:`ZOO_TIERS`).
    params : int or None
        Parameters of the student (from its card).
    flash_bytes : int or None
        Flash of the int8 model: the size of its ``.int8.tflite`` (None if not installed).
    arena_bytes : int or None
        TensorFlow Lite Micro tensor arena the int8 model needs, as measured by
        ``edgesea footprint`` and recorded in the card.
    micro_auprc, micro_auprc_sd : float or None
        Fold-10 micro-AUPRC of UrbanSound8K (mean and sd over seeds; docs/results.md), float.
    micro_auprc_int8 : float or None
        The same of the int8 ``.tflite``.
    path, tflite, card : str or None
        The ``.safetensors``, ``.int8.tflite`` and ``.md`` model card files.
    kind : str
        ``"sea"`` (a student) or ``"sparse"`` (a pruned aisfx, :mod:`edgesea.sparse`: tier
        ``"-"``, no int8 file; ``params`` counts its stored numbers).
    sparsity, retrain, nonzero_weights, file_bytes
        Sparse models only: edgel3 level, ``"kd"``/``"oneshot"``, non-zero conv weights and
        the file's size in bytes.
    """

    name: str
    model_type: str
    emb_dim: int
    tier: str
    params: int | None
    flash_bytes: int | None
    arena_bytes: int | None
    micro_auprc: float | None
    micro_auprc_sd: float | None
    micro_auprc_int8: float | None
    path: str
    tflite: str | None
    card: str | None
    kind: str = "sea"
    sparsity: float | None = None
    retrain: str | None = None
    nonzero_weights: int | None = None
    file_bytes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict."""
        return asdict(self)


_CARD_PARAMS = re.compile(r"([\d,]+) parameters")
_CARD_ARENA = re.compile(r"TFLM arena ([\d,]+) B")
_CARD_FLASH = re.compile(r"flash ([\d,]+) B")
_CARD_AUPRC = re.compile(r"fold 10 micro-AUPRC \(float / int8\) \| ([\d.]+)(?: ± ([\d.]+))?"
                         r" / ([\d.]+)")


def _number(pattern: re.Pattern, text: str) -> int | None:
    m = pattern.search(text)
    return int(m[1].replace(",", "")) if m else None


def catalog() -> list[ZooModel]:
    """Every installed packaged model with its recorded figures (``edgesea models``).

    The figures are read from the files beside each model (nothing is run): flash is the size
    of its ``.int8.tflite``; parameters, the TFLM arena and the fold-10 micro-AUPRC come from
    its model card ``<name>.md`` (written by ``python benchmarks/build_zoo.py cards`` from
    ``edgesea footprint`` and ``edgesea evaluate``). A figure that is not recorded is None.
    The sparse models follow (``kind="sparse"``,
    :func:`edgesea.sparse.packaged.sparse_catalog`).

    Returns
    -------
    list of ZooModel
        In the order of :func:`packaged_names`.
    """
    # Imported on use: the sparse rows need torch (the aisfx architecture), which
    # `import edgesea.zoo` and `edgesea models --help` must not pay for.
    from edgesea.sparse.packaged import sparse_catalog

    out = []
    for name in [zoo_name(t, d, tier) for tier in ZOO_TIERS for t, d in available(tier)]:
        model_type, emb_dim, tier = parse_zoo_name(name)
        card = names.PRETRAINED_DIR / f"{name}.md"
        tflite = names.PRETRAINED_DIR / f"{name}{INT8_SUFFIX}"
        text = card.read_text(encoding="utf-8") if card.is_file() else ""
        auprc = _CARD_AUPRC.search(text)
        flash = tflite.stat().st_size if tflite.is_file() else _number(_CARD_FLASH, text)
        out.append(ZooModel(
            name=name, model_type=model_type, emb_dim=emb_dim, tier=tier,
            params=_number(_CARD_PARAMS, text), flash_bytes=flash,
            arena_bytes=_number(_CARD_ARENA, text),
            micro_auprc=float(auprc[1]) if auprc else None,
            micro_auprc_sd=float(auprc[2]) if auprc and auprc[2] else None,
            micro_auprc_int8=float(auprc[3]) if auprc else None,
            path=str(names.PRETRAINED_DIR / f"{name}.safetensors"),
            tflite=str(tflite) if tflite.is_file() else None,
            card=str(card) if card.is_file() else None))
    return out + [ZooModel(**row) for row in sparse_catalog()]
