"""``edgesea export`` and ``edgesea footprint``: deployable files and their measured device
footprint (:mod:`edgesea.export`); registered on the app of :mod:`edgesea.cli`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from edgesea.cli.common import EXIT_FAILED, fail
from edgesea.errors import EdgeSEAError
from edgesea.packaged.names import resolve_model
from edgesea.packaged.tiers import TIERS, get_tier, tier_report

__all__ = ["export_command", "footprint_command", "tier_check"]

_TIER_HELP = ("Device tier to check the int8 model against (mcu: 64 KB arena / 300 KB flash; "
              "mcu-1m: 256 KB / 1 MB); a warning names each budget it exceeds. Default: "
              "report which tiers it fits, with a warning when it fits none.")


def tier_check(flash_bytes: int, arena_bytes: int, tier: str | None = None
               ) -> tuple[dict[str, dict[str, Any]], list[str], list[str]]:
    """Check a measured int8 model against one tier or every tier, for the CLI.

    Parameters
    ----------
    flash_bytes : int
        The model's bytes.
    arena_bytes : int
        The TFLM arena it needs.
    tier : str, optional
        A tier of :data:`edgesea.packaged.tiers.TIERS`; default every tier.

    Returns
    -------
    report : dict
        :func:`edgesea.packaged.tiers.tier_report` (``{name: {"fits", "over", ...}}``).
    lines : list of str
        What to print: which tiers the model fits.
    warnings : list of str
        ``"warning: ..."`` lines: with ``tier``, one per budget of that tier that is
        exceeded (naming the excess); without it, one line when the model fits no tier at
        all (each tier's budgets and excess, and the remedy: ``--arch mcu``).

    Raises
    ------
    EdgeSEAError
        For an unknown tier name.
    """

    report = tier_report(flash_bytes, arena_bytes, tier)
    if tier is not None:
        t = get_tier(tier)
        r = report[t.name]
        if r["fits"]:
            return report, [f"fits tier {t.name} (flash {flash_bytes:,} of {t.flash_bytes:,} "
                            f"bytes, arena {arena_bytes:,} of {t.arena_bytes:,} bytes)"], []
        return report, [], [f"warning: the model exceeds tier {t.name}: {m}" for m in r["over"]]
    fit = [n for n, r in report.items() if r["fits"]]
    line = f"fits tiers: {', '.join(fit) if fit else 'none'}"
    misses = [f"{n} ({'; '.join(r['over'])})" for n, r in report.items() if not r["fits"]]
    if misses:
        line += "; not " + ", ".join(misses)
    if fit:
        return report, [line], []
    budgets = [f"{n} ({_kb(TIERS[n].arena_bytes)} arena / {_kb(TIERS[n].flash_bytes)} flash: "
               f"{'; '.join(r['over'])})" for n, r in report.items()]
    return report, [line], [f"warning: the model exceeds every device tier: "
                            f"{', '.join(budgets)}; train with --arch mcu (or --arch mcu-1m)"]


def _kb(n: int) -> str:
    """``n`` bytes as ``"64 KB"`` (KiB, no decimals when whole)."""
    return f"{n / 1024:g} KB" if n % 1024 == 0 else f"{n / 1024:,.1f} KB"


def export_command(
    model: Annotated[Path, typer.Argument(
        show_default=False, metavar="MODEL",
        help="An edgesea model file (e.g. runs/<name>/student.safetensors).")],
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False, show_default=False,
                                      help="Output folder (created).")],
    formats: Annotated[list[str], typer.Option(
        "--format", "-f", show_default=False,
        help="tflite-int8, onnx, onnx-int8, c-array or firmware (a folder for a TFLM "
        "project: C array, C front end, main_tflm.cc, README; repeat for several).")],
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
    tier: Annotated[str | None, typer.Option("--tier", show_default=False, help=_TIER_HELP)
                    ] = None,
) -> None:
    """Export a model for a device or a server.

    Writes the model's log-mel -> embedding graph as full-int8 TFLite (microcontrollers), a
    C array of it, or float or int8 ONNX (servers), plus <name>.edge.json describing the
    front end the device must compute and the int8 quantization. The int8 .tflite is
    measured (flash, TFLM arena, MACs) and checked against the device tiers (--tier); a
    model that exceeds the named tier, or every tier, gets a warning on stderr."""
    # imported on use, not for `edgesea --help` (start-up cost: torch)
    from edgesea.export import export_model
    from edgesea.packaged.names import resolve_model  # a packaged name (sea_urban_64) or a path

    try:
        if tier is not None:
            get_tier(tier)
            if not {"tflite-int8", "c-array", "firmware"}.intersection(formats):
                raise EdgeSEAError("--tier checks the int8 .tflite: add --format tflite-int8")
        if "firmware" in formats:  # the int8 model beside MODEL, or exported first
            from edgesea.firmware import export_firmware_formats  # on use (start-up cost)

            bundle = export_firmware_formats(
                model, formats, out, calibration_dir=calibration,
                n_calibration=calibration_windows, name=name, seed=seed,
                progress=not quiet, tier=tier)
            typer.echo(json.dumps(bundle.to_dict(), indent=1) if as_json
                       else "\n".join(bundle.summary()))
            for w in bundle.warnings():
                typer.echo(w, err=True)
            return
        result = export_model(resolve_model(model, kind="float"), formats, out,
                              calibration_dir=calibration,
                              n_calibration=calibration_windows, name=name, seed=seed,
                              progress=not quiet)
    except EdgeSEAError as e:
        fail(str(e))
    except OSError as e:
        fail(f"writing {out} failed: {e}", EXIT_FAILED)
    device, lines, warnings = _export_device_check(result.files.get("tflite-int8"), tier)
    if as_json:
        typer.echo(json.dumps(result.to_dict() | device, indent=1))
        for w in warnings:
            typer.echo(w, err=True)
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
    for line in lines:
        typer.echo(line)
    for w in warnings:
        typer.echo(w, err=True)


def _export_device_check(tflite: str | None, tier: str | None
                         ) -> tuple[dict[str, Any], list[str], list[str]]:
    """Measure an exported int8 .tflite and check it against the tiers: ``({"device":
    {...}, "tiers": {...}}, lines, warnings)``; nothing without a .tflite, and a warning
    instead of a failure when the measurement is impossible (e.g. no tflite-micro)."""
    if tflite is None:
        return {}, [], []
    # imported on use, not for `edgesea --help` (start-up cost: torch)
    from edgesea.export import tflite_footprint

    try:
        fp = tflite_footprint(tflite)
    except EdgeSEAError as e:
        return {}, [], [f"warning: device footprint and tier check skipped: {e}"]
    report, lines, warnings = tier_check(fp.flash_bytes, fp.arena_bytes, tier)
    device = {"flash_bytes": fp.flash_bytes, "arena_bytes": fp.arena_bytes, "macs": fp.macs}
    macs = fp.macs.get("network")
    lines = [f"device       flash {fp.flash_bytes:,} bytes, TFLM arena {fp.arena_bytes:,} "
             f"bytes, {macs:,} MACs per window (network)", *lines]
    return {"device": device, "tiers": report}, lines, warnings


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
    macs = report.get("macs") or {}
    if macs.get("network") is not None:
        front = macs.get("frontend")
        rows.append(("MACs per window", f"{macs['network']:,} network (int8 graph)" + (
            f", front end {front:,} (FFT estimate)" if front is not None else "")))
    if report.get("tiers"):
        rows += [(f"tier {n}", "fits" if r["fits"] else "exceeds: " + "; ".join(r["over"]))
                 for n, r in report["tiers"].items()]
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


def _sparse_footprint(model: Path, as_json: bool) -> bool:
    """Print the footprint of a sparse model (:mod:`edgesea.sparse`) and return True, or
    return False for any other model."""
    # imported on use, not for `edgesea --help` (start-up cost: torch)
    from edgesea.sparse.model import SparseModel, describe_sparse, format_sparse
    from edgesea.sparse.storage import is_sparse_file

    path = resolve_model(model)
    if path.endswith(".tflite") or not is_sparse_file(path):
        return False
    d = describe_sparse(SparseModel.load(path))
    typer.echo(json.dumps(d, indent=1, default=str) if as_json else format_sparse(d))
    return True


def footprint_command(
    model: Annotated[Path, typer.Argument(
        show_default=False, metavar="MODEL.tflite",
        help="An int8 .tflite written by `edgesea export`, or a sparse model (file or "
        "packaged name, e.g. sparse_aisfx_95.45_kd): its stored and activation sizes.")],
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
    tier: Annotated[str | None, typer.Option("--tier", show_default=False, help=_TIER_HELP)
                    ] = None,
) -> None:
    """Measure an int8 .tflite model on real runtimes.

    Reports flash (model bytes), the TFLM arena it needs (printed by TFLM, confirmed by
    binary search), MACs per window and which device tiers it fits (--tier; a warning on
    stderr when it exceeds the named tier, or every tier), and with --audio the LiteRT
    latency per window and the int8-vs-float agreement. For a sparse model (no int8
    build): non-zero weights, dense and sparse sizes, the activation memory pruning leaves
    unchanged, MACs, and the tiers it cannot fit."""
    # imported on use, not for `edgesea --help` (start-up cost: torch)
    from edgesea.export import tflite_footprint
    from edgesea.packaged.names import resolve_model  # a packaged name means its .int8.tflite

    try:
        if _sparse_footprint(model, as_json):
            return
        if windows < 1 or repeats < 1:
            raise EdgeSEAError(f"--windows and --repeats must be >= 1, got {windows} and "
                               f"{repeats}")
        if tier is not None:
            get_tier(tier)
        report = tflite_footprint(resolve_model(model, kind="int8"), audio_dir=audio,
                                  float_model=float_model,
                                  n_windows=windows, repeats=repeats).to_dict()
        report["tiers"], _, warnings = tier_check(report["flash_bytes"],
                                                  report["arena_bytes"], tier)
    except EdgeSEAError as e:
        fail(str(e))
    except OSError as e:  # e.g. an unreadable file
        fail(f"reading {model} failed: {e}")
    typer.echo(json.dumps(report, indent=1) if as_json else _table(report))
    for w in warnings:
        typer.echo(w, err=True)
