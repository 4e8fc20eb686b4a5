"""``edgesea export`` and ``edgesea footprint``: deployable files and their measured device
footprint (:mod:`edgesea.export`); registered on the app of :mod:`edgesea.cli`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from .errors import EdgeSEAError

__all__ = ["export_command", "footprint_command"]


def export_command(
    model: Annotated[Path, typer.Argument(
        show_default=False, metavar="MODEL",
        help="An edgesea model file (e.g. runs/<name>/student.safetensors).")],
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False, show_default=False,
                                      help="Output folder (created).")],
    formats: Annotated[list[str], typer.Option(
        "--format", "-f", show_default=False,
        help="tflite-int8, onnx, onnx-int8 or c-array (repeat for several).")],
    calibration: Annotated[Path | None, typer.Option(
        "--calibration", show_default=False,
        help="Real in-domain audio for int8 calibration (needed by every int8 format).")
    ] = None,
    calibration_windows: Annotated[int, typer.Option(
        "--calibration-windows", help="Calibration windows (one model window each).")] = 256,
    name: Annotated[str | None, typer.Option(
        "--name", show_default=False, help="Base name of the files and C symbols "
        "(default: from the model path).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the calibration file order.")
                    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")
                       ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Export a model's log-mel -> embedding graph: full-int8 TFLite (microcontrollers),
    a C array of it, float or int8 ONNX (servers), plus <name>.edge.json describing the
    front end the device must compute and the int8 quantization."""
    from .cli import EXIT_FAILED, _fail
    from .export import export_model

    try:
        result = export_model(model, formats, out, calibration_dir=calibration,
                              n_calibration=calibration_windows, name=name, seed=seed,
                              progress=not quiet)
    except EdgeSEAError as e:
        _fail(str(e))
    except OSError as e:
        _fail(f"writing {out} failed: {e}", EXIT_FAILED)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=1))
        return
    for key, path in result.files.items():
        typer.echo(f"{key:12s} {path} ({Path(path).stat().st_size:,} bytes)")
    if result.quantization:
        i, o = result.quantization["input"], result.quantization["output"]
        typer.echo(f"int8 input scale {i['scale']:.6g} zero point {i['zero_point']}; "
                   f"output scale {o['scale']:.6g} zero point {o['zero_point']}")
    for fmt, c in result.check.items():
        typer.echo(f"{fmt} vs float on {c['n_windows']} calibration windows: cosine mean "
                   f"{c['cosine_mean']:.4f} (min {c['cosine_min']:.4f}), relative error "
                   f"{c['relative_error']:.4f}")


def _table(report: dict[str, Any]) -> str:
    search = report["arena_search"]
    rows = [("model", report["model"]),
            ("flash (model bytes)", f"{report['flash_bytes']:,}"),
            ("TFLM arena (bytes)", f"{report['arena_bytes']:,}"),
            ("arena binary search", f"accepts {search['smallest_ok']:,}, refuses "
                                    f"{search['largest_failing']:,} ({search['tries']} tries)"),
            ("input", f"{report['input']['shape']} int8, scale "
                      f"{report['input']['scale']:.6g}, zero point "
                      f"{report['input']['zero_point']}"),
            ("output", f"{report['output']['shape']} int8, scale "
                       f"{report['output']['scale']:.6g}, zero point "
                       f"{report['output']['zero_point']}")]
    if report.get("latency_ms") is not None:
        rows += [("windows", str(report["n_windows"])),
                 ("LiteRT int8 ms/window", f"{report['latency_ms']:.3f} XNNPACK, "
                                           f"{report['latency_builtin_ms']:.3f} builtin "
                                           f"kernels (batch 1, 1 thread, median of "
                                           f"{report['latency_repeats']} passes)"),
                 ("TFLM vs LiteRT", f"max {report['tflm_vs_litert_max_lsb']} LSB (builtin "
                                    f"kernels), {report['tflm_vs_xnnpack_max_lsb']} LSB "
                                    "(XNNPACK)")]
    agree = report.get("int8_vs_float") or {}
    if agree:
        rows += [("int8 vs float cosine", f"mean {agree['cosine_mean']:.4f}, min "
                                          f"{agree['cosine_min']:.4f}"),
                 ("int8 vs float rel. error", f"{agree['relative_error']:.4f}")]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def footprint_command(
    model: Annotated[Path, typer.Argument(
        show_default=False, metavar="MODEL.tflite",
        help="An int8 .tflite written by `edgesea export`.")],
    audio: Annotated[Path | None, typer.Option(
        "--audio", show_default=False,
        help="Real audio (not the calibration audio) for latency and agreement.")] = None,
    float_model: Annotated[Path | None, typer.Option(
        "--float-model", show_default=False,
        help="The edgesea model it was exported from (int8-vs-float agreement).")] = None,
    windows: Annotated[int, typer.Option("--windows", help="Windows taken from --audio.")
                       ] = 64,
    repeats: Annotated[int, typer.Option("--repeats", help="Latency passes (median).")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")
                       ] = False,
) -> None:
    """Measure an int8 model on real runtimes: flash (model bytes), the TFLM arena it needs
    (printed by TFLM, confirmed by binary search), and with --audio the LiteRT latency per
    window and the int8-vs-float agreement."""
    from .cli import _fail
    from .export import tflite_footprint

    try:
        if windows < 1 or repeats < 1:
            raise EdgeSEAError(f"--windows and --repeats must be >= 1, got {windows} and "
                               f"{repeats}")
        report = tflite_footprint(model, audio_dir=audio, float_model=float_model,
                                  n_windows=windows, repeats=repeats).to_dict()
    except EdgeSEAError as e:
        _fail(str(e))
    except OSError as e:  # e.g. an unreadable file
        _fail(f"reading {model} failed: {e}")
    typer.echo(json.dumps(report, indent=1) if as_json else _table(report))
