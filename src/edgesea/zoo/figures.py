"""The figures recorded for each packaged model, read from its model card (written by
``benchmarks/build_zoo.py cards``), and the teacher's reference scores
(``pretrained/teacher_reference.json``): the one source every message, README table and doc
that states a shipped model's figure reads from or is checked against
(``tests/integration/test_figures.py``)."""

from __future__ import annotations

import re
from typing import Any

import edgesea.packaged.names as names  # PRETRAINED_DIR read at call time
from edgesea.core.safe_json import read_json
from edgesea.errors import EdgeSEAError

__all__ = ["card_figures", "share_of_teacher", "teacher_reference"]

_ROW = re.compile(r"^\| ([^|]+?) \| (.*) \|\s*$", re.M)
_NUM = r"([\d][\d,]*\.?\d*)"


def _int(text: str | None) -> int | None:
    return int(text.replace(",", "")) if text else None


def _pair(text: str, label: str) -> dict[str, float | None]:
    """``float ± sd / int8 ± sd`` of a card row (the sd parts optional)."""
    m = re.match(r"([\d.]+)(?: ± ([\d.]+))?(?: / ([\d.]+)(?: ± ([\d.]+))?)?", text.strip())
    if m is None:
        raise EdgeSEAError(f"unreadable {label} in a model card: {text!r}")
    vals = [float(v) if v is not None else None for v in m.groups()]
    return {"float": vals[0], "float_sd": vals[1], "int8": vals[2], "int8_sd": vals[3]}


def card_figures(name: str) -> dict[str, Any]:
    """The figures of a packaged student's card.

    Parameters
    ----------
    name : str
        A packaged student (``"sea_urban_128"``).

    Returns
    -------
    dict
        ``params``, ``flash_bytes``, ``arena_bytes`` (int), ``val_r2``, ``val_cosine``,
        ``epochs``, ``best_epoch`` and ``micro_auprc`` / ``macro_auprc`` / ``accuracy``
        (each ``{"float", "float_sd", "int8", "int8_sd"}``), None where the card has none.

    Raises
    ------
    EdgeSEAError
        No card for ``name``.
    """
    card = names.PRETRAINED_DIR / f"{name}.md"
    if not card.is_file():
        raise EdgeSEAError(f"no model card for {name!r} at {card}")
    rows = {k.strip(): v for k, v in _ROW.findall(card.read_text(encoding="utf-8"))}
    out: dict[str, Any] = {}
    student = rows.get("student", "")
    out["params"] = _int(m[1]) if (m := re.search(r"([\d,]+) parameters", student)) else None
    int8 = rows.get("int8", "")
    out["flash_bytes"] = _int(m[1]) if (m := re.search(r"([\d,]+) B flash", int8)) else None
    out["arena_bytes"] = _int(m[1]) if (m := re.search(r"TFLM arena ([\d,]+) B", int8)) \
        else None
    val = next((v for k, v in rows.items() if k.startswith("validation")), "")
    out["val_r2"] = float(m[1]) if (m := re.search(r"R² ([\d.]+)", val)) else None
    out["val_cosine"] = float(m[1]) if (m := re.search(r"cosine ([\d.]+)", val)) else None
    train = rows.get("training", "")
    m = re.search(r"best epoch (\d+) of (\d+)", train)
    out["best_epoch"], out["epochs"] = (int(m[1]), int(m[2])) if m else (None, None)
    for key, label in (("micro_auprc", "fold 10 micro-AUPRC (float / int8)"),
                       ("macro_auprc", "fold 10 macro-AUPRC (float / int8)"),
                       ("accuracy", "fold 10 accuracy (float / int8)")):
        out[key] = _pair(rows[label], label) if label in rows else None
    return out


def teacher_reference() -> dict[str, Any]:
    """The teacher's fold-10 scores the shipped students are compared with (aisfx, the
    protocol of docs/results.md)."""
    doc = read_json(names.PRETRAINED_DIR / "teacher_reference.json", "teacher reference")
    for key in ("fold10_micro_auprc", "fold10_macro_auprc", "fold10_accuracy"):
        if not isinstance(doc.get(key), int | float):
            raise EdgeSEAError(f"teacher_reference.json lacks {key}: reinstall edgesea")
    return doc


def share_of_teacher(name: str, precision: int = 0) -> float:
    """A student's float fold-10 micro-AUPRC as a percentage of the teacher's, rounded."""
    micro = card_figures(name)["micro_auprc"]
    if micro is None:
        raise EdgeSEAError(f"the card of {name!r} records no fold-10 micro-AUPRC")
    return round(100 * micro["float"] / teacher_reference()["fold10_micro_auprc"], precision)

