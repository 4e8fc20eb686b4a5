"""``edgesea info`` and ``edgesea convert-edgel3``: describe a model file, and turn an
original edgel3 Keras ``.h5`` into one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import EdgeSEAError
from ..models import EmbeddingModel, footprint, load_model
from .common import fail

__all__ = ["convert_edgel3_command", "describe_model", "info_command"]


def describe_model(model: EmbeddingModel, path: str | Path | None = None) -> dict[str, Any]:
    """A JSON-ready description of a model: path, config, metadata, extras and footprint."""
    return {"path": None if path is None else str(path),
            "config": model.config.to_dict(),
            "metadata": model.metadata,
            "extras": {k: list(v.shape) for k, v in getattr(model, "extras", {}).items()},
            "footprint": footprint(model).to_dict()}


def _format_info(d: dict[str, Any]) -> str:
    cfg, fp = d["config"], d["footprint"]
    fe = cfg["frontend"]
    window_samples = int(round(cfg["window"] * cfg["sample_rate"]))
    blocks = " ".join(f"[{'-'.join(map(str, b))}]{' pool' if p else ''}"
                      for b, p in zip(cfg["blocks"], cfg["pool_after"], strict=True))
    rows = [("model", d["path"]), ("family", cfg["family"]), ("emb_dim", cfg["emb_dim"]),
            ("sample rate", f"{cfg['sample_rate']} Hz"),
            ("window", f"{cfg['window']:g} s ({window_samples} samples)"),
            ("head", f"{cfg['head']} (global {cfg['global_pool']} pool)"),
            ("blocks", f"{blocks} (kernel {cfg['kernel_size']}, input BN "
                       f"{'yes' if cfg['input_bn'] else 'no'})"),
            ("front end", ", ".join(f"{k}={v}" for k, v in fe.items()))]
    if cfg.get("extra"):
        rows.append(("config extra", json.dumps(cfg["extra"])))
    lines = [f"{k + ':':<14}{v}" for k, v in rows]
    lines.append("metadata:" + ("" if d["metadata"] else "     (none)"))
    lines += [f"  {k}: {json.dumps(v, default=str)}" for k, v in d["metadata"].items()]
    if d["extras"]:
        lines.append("extras:       " + ", ".join(f"{k} {tuple(s)}" for k, s in
                                                  d["extras"].items()))
    lines += ["footprint:",
              f"  params:      {fp['params']:,}",
              f"  size:        {fp['size_mb']:.2f} MB (fp32)",
              f"  activation:  {fp['activation_mb']:.2f} MB "
              f"({fp['activation_elements']:,} values, largest layer {fp['largest_layer']})",
              f"  MACs:        {fp['macs']:,} per window (network), front end "
              f"{fp['frontend_macs']:,} (FFT estimate)"]
    return "\n".join(lines)


def info_command(
    model: Annotated[Path, typer.Argument(show_default=False, metavar="MODEL",
                                          help="An edgesea model file (.safetensors).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show a model file's configuration, metadata and footprint."""
    try:
        d = describe_model(load_model(model), model)
    except EdgeSEAError as e:
        fail(str(e))
    typer.echo(json.dumps(d, indent=2, default=str) if as_json else _format_info(d))


def convert_edgel3_command(
    h5_file: Annotated[Path, typer.Argument(show_default=False, metavar="FILE.h5",
                                            help="An original edgel3 Keras model (.h5).")],
    out: Annotated[Path, typer.Argument(show_default=False, metavar="OUT",
                                        help="The edgesea model file to write.")],
) -> None:
    """Convert an original edgel3 Keras .h5 model into an edgesea model file."""
    from ..models import save_model
    from ..models.edgel3 import load_edgel3_h5

    try:
        net = load_edgel3_h5(h5_file)
        save_model(net, out)
        fp = footprint(net)
    except (EdgeSEAError, OSError) as e:
        fail(str(e))
    typer.echo(f"wrote {out} ({net.emb_dim}-d, from {h5_file.name})\n"
               f"footprint: {fp.params:,} params, {fp.size_mb:.2f} MB (fp32), activation "
               f"{fp.activation_mb:.2f} MB (largest layer {fp.largest_layer})")
