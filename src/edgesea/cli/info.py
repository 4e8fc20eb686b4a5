"""``edgesea info`` and ``edgesea convert-edgel3``: describe a model file, and turn an
original edgel3 Keras ``.h5`` into one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from edgesea.cli.common import fail
from edgesea.errors import EdgeSEAError
from edgesea.packaged.names import resolve_model

if TYPE_CHECKING:
    from edgesea.models.network import EmbeddingModel

# Models and sparse files (torch) are imported inside the commands, not for `edgesea --help`
# (start-up cost).

__all__ = ["convert_edgel3_command", "describe_model", "describe_tflite", "info_command"]


def describe_model(model: EmbeddingModel, path: str | Path | None = None) -> dict[str, Any]:
    """A JSON-ready description of a model: path, config, metadata, extras and footprint."""
    # imported on use, not for `edgesea --help` (start-up cost: torch)
    from edgesea.models.footprint import footprint
    return {"path": None if path is None else str(path),
            "config": model.config.to_dict(),
            "metadata": model.metadata,
            "extras": {k: list(v.shape) for k, v in getattr(model, "extras", {}).items()},
            "footprint": footprint(model).to_dict()}


def describe_tflite(path: str | Path) -> dict[str, Any]:
    """A JSON-ready description of an int8 ``.tflite`` from its ``.edge.json`` (nothing is
    run): path, size in bytes (its flash), embedding size, audio, front end, quantization.

    Raises
    ------
    EdgeSEAError
        Not a TFLite file, or no ``.edge.json`` beside it.
    """
    # imported on use, not for `edgesea --help` (start-up cost: torch)
    from edgesea.inference.int8 import find_edge_spec
    from edgesea.runtime.litert import check_tflite_file
    from edgesea.runtime.spec_reader import read_edge_spec

    data = check_tflite_file(path)
    spec_path = find_edge_spec(Path(path))
    spec = read_edge_spec(spec_path)
    return {"path": str(path), "format": "tflite-int8", "flash_bytes": len(data),
            "edge_spec": str(spec_path), "model": {k: spec["model"].get(k) for k in
                                                   ("name", "source", "family", "emb_dim")},
            "audio": spec["audio"], "frontend": spec["frontend"]["config"],
            "input": spec["input"], "output": spec["output"]}


def describe_light(path: str) -> dict[str, Any]:
    """What the torch-free install shows of a float model: an ONNX student's configuration
    (its edgesea metadata) or a sparse model file's header, and the file size."""
    # imported on use, not for `edgesea --help`
    from edgesea.light.onnx_models import OnnxEmbedder
    from edgesea.packaged.names import ONNX_SUFFIX, PRETRAINED_DIR
    from edgesea.sparse.file_checks import document, is_sparse_file, raw_header

    if is_sparse_file(path):
        table, size = raw_header(path)
        doc = document(table, path)
        keys = ("sparsity", "retrain", "measured_sparsity", "nonzero", "weights", "teacher")
        return {"format": "light", "path": path, "file_bytes": size, "runtime":
                "ONNX Runtime (sparse aisfx, 44.1 kHz, 512-d)", **{k: doc.get(k) for k in keys}}
    onnx = path
    if not path.endswith(ONNX_SUFFIX):
        onnx = str(Path(path).with_suffix(ONNX_SUFFIX))
        if Path(path).parent.resolve() != PRETRAINED_DIR.resolve() or not Path(onnx).is_file():
            raise EdgeSEAError(f"showing {path} needs torch (pip install edgesea[train]); an "
                               "exported .onnx file or a packaged model can be shown without")
    emb = OnnxEmbedder(onnx)
    return {"format": "light", "path": onnx, "file_bytes": Path(onnx).stat().st_size,
            "runtime": "ONNX Runtime (float32)", "emb_dim": emb.emb_dim,
            "sample_rate": emb.sample_rate, "window": emb.window,
            "family": emb.config.get("family"), "frontend": emb.config.get("frontend"),
            "source_identity": emb.source_identity}


def _format_light(d: dict[str, Any]) -> str:
    return "\n".join(f"{k + ':':<17}{v}" for k, v in d.items() if k != "format")


def _format_tflite(d: dict[str, Any]) -> str:
    m, a, fe = d["model"], d["audio"], d["frontend"]
    rows = [("model", d["path"]), ("format", "int8 TFLite (run by LiteRT or TFLM)"),
            ("flash", f"{d['flash_bytes']:,} bytes"), ("name", m["name"]),
            ("exported from", m["source"]), ("family", m["family"]), ("emb_dim", m["emb_dim"]),
            ("sample rate", f"{a['sample_rate']} Hz"),
            ("window", f"{a['window_seconds']:g} s ({a['window_samples']} samples)"),
            ("front end", ", ".join(f"{k}={v}" for k, v in fe.items())),
            ("input", f"{d['input']['dtype']} {tuple(d['input']['shape'])}, scale "
                      f"{d['input']['scale']:.6g}, zero point {d['input']['zero_point']}"),
            ("output", f"{d['output']['dtype']} {tuple(d['output']['shape'])}, scale "
                       f"{d['output']['scale']:.6g}, zero point {d['output']['zero_point']}"),
            ("edge spec", d["edge_spec"])]
    return "\n".join(f"{k + ':':<15}{v}" for k, v in rows) + (
        "\nTFLM arena: measure it with `edgesea footprint`")


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
    model: Annotated[str, typer.Argument(
        show_default=False, metavar="MODEL",
        help="An edgesea model file (.safetensors), an int8 .tflite written by `edgesea "
        "export`, a sparse model file (`edgesea prune`), or a packaged model's name "
        "(sea_urban_64, sparse_aisfx_95.45_kd, ...; NAME.int8 for its int8 .tflite; see "
        "`edgesea models`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show a model file's configuration, metadata and footprint (for an int8 .tflite: its
    size, front end and quantization, from its .edge.json; for a sparse model: its sparsity,
    dense and sparse sizes, unchanged activation memory and MACs)."""
    # imported on use, not for `edgesea --help`
    from edgesea.core.extras import has_torch
    from edgesea.sparse.file_checks import is_sparse_file

    try:
        path = resolve_model(model)
        if path.endswith(".tflite"):
            d = describe_tflite(path)
        elif path.endswith(".onnx") or not has_torch():  # the light install: no torch
            d = describe_light(path)
        elif is_sparse_file(path):
            # torch: on use (start-up cost)
            from edgesea.sparse.model import SparseModel, describe_sparse

            d = describe_sparse(SparseModel.load(path))
        else:
            from edgesea.models.io import load_model  # torch: on use (start-up cost)

            d = describe_model(load_model(path), path)
    except EdgeSEAError as e:
        fail(str(e))
    except OSError as e:
        fail(f"reading {model} failed: {e}")
    if as_json:
        typer.echo(json.dumps(d, indent=2, default=str))
    else:
        formats = {"tflite-int8": _format_tflite, "light": _format_light}
        if d.get("format") == "edgesea-sparse":
            # a SparseModel was loaded: torch is there
            from edgesea.sparse.model import format_sparse

            formats["edgesea-sparse"] = format_sparse
        typer.echo(formats.get(d.get("format"), _format_info)(d))


def convert_edgel3_command(
    h5_file: Annotated[Path, typer.Argument(show_default=False, metavar="FILE.h5",
                                            help="An original edgel3 Keras model (.h5).")],
    out: Annotated[Path, typer.Argument(show_default=False, metavar="OUT",
                                        help="The edgesea model file to write.")],
) -> None:
    """Convert an original edgel3 Keras .h5 model into an edgesea model file."""
    from edgesea.models.edgel3 import load_edgel3_h5  # torch: on use (start-up cost)
    from edgesea.models.footprint import footprint

    # imported on use, not for `edgesea --help` (start-up cost: torch)
    from edgesea.models.io import save_model

    try:
        net = load_edgel3_h5(h5_file)
        save_model(net, out)
        fp = footprint(net)
    except (EdgeSEAError, OSError) as e:
        fail(str(e))
    typer.echo(f"wrote {out} ({net.emb_dim}-d, from {h5_file.name})\n"
               f"footprint: {fp.params:,} params, {fp.size_mb:.2f} MB (fp32), activation "
               f"{fp.activation_mb:.2f} MB (largest layer {fp.largest_layer})")
