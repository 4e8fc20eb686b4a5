"""Export the 128-d SEA students to full-int8 TFLite and measure their device footprint.

For each student (paper head, linear head): ``edgesea export --format tflite-int8 --format
c-array`` calibrated on 256 windows of UrbanSound8K fold 1, then ``edgesea footprint`` on
held-out fold-10 audio with the float model: flash (model bytes), TFLM arena (printed total and
binary search), int8-vs-float cosine / relative error (TFLM outputs), TFLM-vs-LiteRT LSBs and
LiteRT int8 ms per window (batch 1, 1 thread).

A model argument is ``paper=PATH`` / ``linear=PATH`` (an edgesea model file, or a training
checkpoint ``best.pt`` / ``latest.pt`` of ``edgesea specialize`` for a student still
training), or ``paper=random`` for ``sea_student(128)`` with random weights (the flash and
arena figures depend only on the architecture). Defaults: the trained students under
``runs/spec_paper`` and ``runs/spec_linear``, else random weights. Run::

    python benchmarks/export_footprint.py [paper=...] [linear=...] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from edgesea.export import export_model, tflite_footprint
from edgesea.models import save_model, sea_student

ROOT = Path(__file__).resolve().parents[1]
US8K = ROOT.parent / "shared" / "data" / "urbansound8k_subset" / "audio"
DEFAULTS = {"paper": ROOT / "runs" / "spec_paper" / "student.safetensors",
            "linear": ROOT / "runs" / "spec_linear" / "student.safetensors"}


def _resolve(head: str, spec: str | None, workdir: Path) -> tuple[Path, str]:
    """An edgesea model file for ``head`` and a note on where its weights come from."""
    path = Path(spec) if spec not in (None, "random") else DEFAULTS[head]
    if spec == "random" or not path.is_file():
        torch.manual_seed(0)
        out = workdir / f"random_{head}.safetensors"
        return Path(save_model(sea_student(128, head=head).eval(), out)), "random weights"
    if path.suffix == ".pt":  # a checkpoint of `edgesea specialize` (state dict + epoch)
        ckpt = torch.load(path, weights_only=True)
        model = sea_student(128, head=head)
        model.load_state_dict(ckpt["model"])
        out = workdir / f"{head}_epoch{ckpt.get('epoch')}.safetensors"
        return (Path(save_model(model.eval(), out)),
                f"checkpoint {path} (epoch {ckpt.get('epoch')})")
    return path, f"trained ({path})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="*", help="paper=PATH|random, linear=PATH|random")
    parser.add_argument("--calibration", default=str(US8K / "fold1"))
    parser.add_argument("--audio", default=str(US8K / "fold10"),
                        help="held-out audio for agreement and latency (never fold 1)")
    parser.add_argument("--windows", type=int, default=64)
    parser.add_argument("--out", default=None, help="keep the exported files here")
    args = parser.parse_args()
    specs: dict[str, str | None] = {"paper": None, "linear": None}
    for item in args.models:
        head, _, value = item.partition("=")
        if head not in specs or not value:
            sys.exit(f"bad model argument {item!r}: expected paper=PATH|random or "
                     "linear=PATH|random")
        specs[head] = value
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.out) if args.out else Path(tmp)
        rows = []
        for head, spec in specs.items():
            model_path, note = _resolve(head, spec, work)
            t0 = time.perf_counter()
            result = export_model(model_path, ["tflite-int8", "c-array"], work / head,
                                  calibration_dir=args.calibration, n_calibration=256,
                                  name=f"sea128_{head}", progress=False)
            export_s = time.perf_counter() - t0
            rep = tflite_footprint(result.files["tflite-int8"], audio_dir=args.audio,
                                   float_model=model_path, n_windows=args.windows, repeats=5)
            rows.append({"head": head, "weights": note, "export_s": round(export_s, 1),
                         "calibration_check": result.check["tflite-int8"],
                         **rep.to_dict()})
    print(json.dumps(rows, indent=1))
    print()
    print("| student | weights | flash (B) | TFLM arena (B) | cosine int8 vs float (mean/min) "
          "| rel. error | TFLM vs LiteRT | LiteRT int8 ms/window (XNNPACK / builtin) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        a = r["int8_vs_float"]
        print(f"| 128-d {r['head']} head | {r['weights']} | {r['flash_bytes']:,} | "
              f"{r['arena_bytes']:,} | {a['cosine_mean']:.4f} / {a['cosine_min']:.4f} | "
              f"{a['relative_error']:.4f} | {r['tflm_vs_litert_max_lsb']} LSB | "
              f"{r['latency_ms']:.3f} / {r['latency_builtin_ms']:.3f} |")


if __name__ == "__main__":
    main()
