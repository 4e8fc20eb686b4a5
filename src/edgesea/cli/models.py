"""``edgesea models``: list the packaged models (:func:`edgesea.zoo.catalog`) with their
recorded size, device footprint and fold-10 score."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from edgesea.zoo import ZooModel, catalog

__all__ = ["format_models", "models_command"]


def _auprc(m: ZooModel) -> str:
    if m.micro_auprc is None:
        return "-"
    sd = f" ± {m.micro_auprc_sd:.3f}" if m.micro_auprc_sd is not None else ""
    int8 = f" (int8 {m.micro_auprc_int8:.3f})" if m.micro_auprc_int8 is not None else ""
    return f"{m.micro_auprc:.3f}{sd}{int8}"


def _int(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def format_models(models: list[ZooModel]) -> str:
    """The table ``edgesea models`` prints: one row per model, then where the cards are.

    Parameters
    ----------
    models : list of ZooModel
        As :func:`edgesea.zoo.catalog` returns them.

    Returns
    -------
    str
    """
    head = ("name", "type", "emb_dim", "tier", "params", "int8 flash B", "TFLM arena B",
            "fold-10 micro-AUPRC")
    rows = [(m.name, m.model_type, str(m.emb_dim), m.tier, _int(m.params),
             _int(m.flash_bytes), _int(m.arena_bytes), _auprc(m)) for m in models]
    if not rows:
        return "no packaged models are installed"
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    right = {2, 4, 5, 6}  # numbers

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    cards = {str(Path(m.card).parent) for m in models if m.card}
    sparse = [m for m in models if m.kind == "sparse"]
    notes = [f"{m.name}: {m.nonzero_weights:,} non-zero weights, {m.file_bytes:,} B file"
             for m in sparse]
    if sparse:
        notes = ["Type sparse: the aisfx teacher pruned at edgel3's levels (params = stored "
                 "numbers); float", "weights only (no int8 build), about 1.1 MB of activations: "
                 "CPUs, not microcontrollers (docs/sparse.md).", *notes, ""]
    return "\n".join([
        line(head), *(line(r) for r in rows), "", *notes,
        "A name is accepted wherever a model is taken (embed --model, info, export,",
        f"footprint, evaluate --model); NAME.int8 is its int8 .tflite (e.g. {models[0].name}"
        ".int8).",
        "Model cards (recipe, all scores, license): "
        + (", ".join(f"{c}/<name>.md" for c in sorted(cards)) or "-")])


def models_command(
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print a JSON list, one object per model (every field of "
        "edgesea.zoo.ZooModel, file paths included).")] = False,
) -> None:
    """List the packaged models: name, type, embedding size, tier, parameters, int8 flash
    and TFLM arena bytes, and fold-10 micro-AUPRC (UrbanSound8K; docs/results.md); the
    sparse models (type sparse) with their non-zero weights and file size.

    The figures are those recorded in each model's card (nothing is run). Any name
    can be given where a model file is taken; append .int8 for its int8 TFLite file.
    """
    models = catalog()
    if as_json:
        typer.echo(json.dumps([m.to_dict() for m in models], indent=1))
    else:
        typer.echo(format_models(models))
