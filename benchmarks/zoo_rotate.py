"""Turn a trained student's output by the rotation of rotated PCA targets, as a run folder
that ``build_zoo.py pack`` takes.

A student trained by MSE on PCA targets ``y`` and one trained on rotated targets ``R y``
(:func:`edgesea.reduce.spread_rotation`, ``--reduction-options '{"rotate": true}'``) solve
the same problem: the loss, and so the validation R², are unchanged by an orthogonal
``R``, and a linear head absorbs it (``W -> R W``, ``b -> R b``). Turning a trained
student's head is therefore the rotated recipe's student at the same training budget,
without the training (only the optimiser's path and the initial weights would differ).
Used where the zoo's budget did not allow retraining a student (docs/results.md says which)::

    python benchmarks/zoo_rotate.py --name sea_urban_64_mcu1m --out runs/z/rot64_1m

writes ``OUT/student.safetensors`` (its metadata: ``reducer.rotate`` true and
``turned``: where it came from) and ``OUT/config.json`` / ``OUT/stages.json`` rebuilt from
the packaged recipe, with ``reduction_options: {"rotate": true}``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from edgesea.core.fileio import write_json
from edgesea.models import load_model, save_model
from edgesea.packaged.names import PRETRAINED_DIR
from edgesea.reduce import spread_rotation


def turn_head(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` with its linear head's output turned by :func:`spread_rotation` (in place;
    returned). Refuses a model without a linear projection or one already turned."""
    meta = model.metadata.setdefault("reducer", {})
    if meta.get("rotate"):
        raise SystemExit("this student's targets were already rotated")
    if not isinstance(model.projection, torch.nn.Linear):
        raise SystemExit("only a student with a linear head can be turned exactly")
    r = torch.from_numpy(spread_rotation(model.projection.out_features)).to(torch.float64)
    with torch.no_grad():
        w = model.projection.weight.to(torch.float64)
        model.projection.weight.copy_((r @ w).to(torch.float32))
        if model.projection.bias is not None:
            b = model.projection.bias.to(torch.float64)
            model.projection.bias.copy_((r @ b).to(torch.float32))
    meta["rotate"] = True
    return model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--name", required=True, help="a packaged student, e.g. sea_urban_64")
    p.add_argument("--pretrained", type=Path, default=PRETRAINED_DIR)
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    src = a.pretrained / f"{a.name}.safetensors"
    recipe = json.loads((a.pretrained / f"{a.name}.recipe.json").read_text())
    model = turn_head(load_model(src))
    model.metadata["turned"] = {
        "from": a.name, "sha256_prefix": hashlib.sha256(
            src.read_bytes()).hexdigest()[:16],
        "how": "linear head W -> R W, b -> R b with R = edgesea.reduce.spread_rotation(d): "
               "the same network, its output in the rotated-target basis; not retrained"}
    a.out.mkdir(parents=True, exist_ok=True)
    save_model(model, a.out / "student.safetensors")
    cfg = {**recipe["config"], "reduction_options": {"rotate": True}}
    write_json(a.out / "config.json", cfg)
    write_json(a.out / "stages.json", {
        "embed": {"n_windows": recipe["n_windows"]}, "sample": recipe["sample"],
        "augment": {"n_augmented": recipe["augment"]},
        "distill": {**recipe["training"], "turned_from": a.name}})
    x = torch.from_numpy(np.random.default_rng(0).normal(size=(4, 16000)).astype(np.float32))
    before = load_model(src).eval()
    with torch.no_grad():
        want = before(x).double() @ torch.from_numpy(
            spread_rotation(model.projection.out_features)).T
        got = load_model(a.out / "student.safetensors").eval()(x).double()
    err = float((got - want).abs().max() / want.abs().max())
    print(f"{a.name}: turned -> {a.out} (max |turned - R f| / max |R f| = {err:.1e})")
    if err > 1e-5:
        raise SystemExit("the turned model does not match R times the original")


if __name__ == "__main__":
    main()
