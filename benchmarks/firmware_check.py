"""Measure the on-device path of every shipped student: C front end, model, arena, tier.

For each packaged student (``sea_urban_{64,128,256,512}``, ``sea_urban_128_mcu1m``):

1. ``edgesea export NAME --format firmware`` into a temporary folder (the measured TFLM
   arena, the op resolver, the budget);
2. the front end cross-compiled for a Cortex-M4F: ``arm-none-eabi-size`` text/data/bss of
   its object, its static buffers (``arm-none-eabi-nm``), stack, and what it adds to a
   linked program (math library included);
3. the host-compiled C front end against the Python front end on real fold-10 windows (dB
   and int8 steps), and end to end through ``tflite_micro`` against the float student
   (cosine);
4. the front end on QEMU's ``mps2-an386`` (Cortex-M4) against the host build, on a real
   window (once: every shipped student has the same front end);
5. the total device budget (front end + arena + model) against the student's tier.

Needs the toolchain for 2 and 4 (``make firmware-check`` installs it; else those figures are
reported as not measured) and ../shared for 3 and 4. Run::

    python benchmarks/firmware_check.py [--clips 12] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from edgesea.firmware import build_host_frontend, export_firmware
from edgesea.firmware.check import compare_frontends, end_to_end, qemu_vs_host, real_clips
from edgesea.firmware.toolchain import have_arm_toolchain, have_qemu
from edgesea.frontend.logmel import LogMelSpectrogram
from edgesea.packaged.names import packaged_names

ROOT = Path(__file__).resolve().parents[1]
FOLD10 = ROOT.parent / "shared" / "data" / "urbansound8k_subset" / "audio" / "fold10"


def _kb(n: int) -> str:
    return f"{n:,} B ({n / 1024:.1f} KB)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=12, help="fold-10 clips (>= 3 s each)")
    parser.add_argument("--audio", default=str(FOLD10))
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    have_audio = Path(args.audio).is_dir()
    print(f"toolchain: arm-none-eabi-gcc {'yes' if have_arm_toolchain() else 'NO'}, "
          f"qemu-system-arm mps2-an386 {'yes' if have_qemu() else 'NO'}; audio "
          f"{args.audio if have_audio else 'NOT FOUND'}")
    clips = real_clips(args.audio, args.clips, 16000, min_seconds=3.0) if have_audio else []
    record: dict = {"models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name in packaged_names():
            t0 = time.perf_counter()
            bundle = export_firmware(name, Path(tmp) / name)
            spec = json.loads(Path(bundle.files["spec"]).read_text())
            row = {"bundle": {k: v for k, v in bundle.to_dict().items() if k != "files"}}
            fe = bundle.frontend
            print(f"\n== {name}: firmware bundle in {time.perf_counter() - t0:.1f} s; ops "
                  f"{', '.join(bundle.ops)}")
            if fe["measured"]:
                o, lk = fe["object"], fe["linked"]
                statics = ", ".join(f"{s['name']} {s['size']:,}" for s in fe["symbols"]
                                    if s["kind"] in "bBdD")
                print(f"front end on Cortex-M4F: object text {o['text']:,} data {o['data']:,}"
                      f" bss {o['bss']:,} B; linked (+libm) text {lk['text']:,} data "
                      f"{lk['data']:,} bss {lk['bss']:,} B")
                print(f"scratch RAM: {o['ram']:,} B static ({statics}) + "
                      f"{fe['stack_bytes']:,} B stack (upper bound) = {_kb(fe['ram_bytes'])}")
            else:
                print(f"front end: {fe['note']}; scratch RAM {_kb(fe['ram_bytes'])} (computed)")
            if clips:
                host = build_host_frontend(spec, Path(tmp) / f"{name}_host")
                ref_fe = LogMelSpectrogram.from_config(spec["frontend"]["config"])
                cmp_ = compare_frontends(host, ref_fe, clips, hop=8000)
                e2e = end_to_end(name, host, clips, hop=8000, arena_bytes=bundle.arena_bytes)
                row.update(c_vs_python=cmp_, end_to_end=e2e)
                print(f"C vs Python on {cmp_['n_windows']} windows ({cmp_['n_values']:,} "
                      f"values): max {cmp_['max_db_diff']:.2e} dB (mean "
                      f"{cmp_['mean_db_diff']:.1e}); int8 within 1 LSB "
                      f"{cmp_['lsb_within_1']:.4%}, equal {cmp_['lsb_exact']:.4%}")
                print(f"end to end (C front end -> TFLM) vs float: cosine mean "
                      f"{e2e['cosine_mean']:.4f} min {e2e['cosine_min']:.4f} on "
                      f"{e2e['n_windows']} windows (Python front end -> TFLM "
                      f"{e2e['python_cosine_mean']:.4f}; outputs within "
                      f"{e2e['max_output_lsb']} LSB)")
                if "qemu" not in record and have_arm_toolchain() and have_qemu():
                    q = qemu_vs_host(spec, host, clips[0][1], Path(tmp) / "qemu")
                    record["qemu"] = {"model": name, "clip": clips[0][0], **q}
                    print(f"QEMU mps2-an386 (Cortex-M4) vs host on {q['windows']} windows of "
                          f"{clips[0][0]}: max {q['max_db_diff']:.2e} dB, int8 equal "
                          f"{q['int8_equal']:.4%} (max {q['max_lsb']} LSB)")
            b, lat = bundle.budget, bundle.latency
            print(f"device budget: RAM {_kb(b['ram_bytes'])} = front end "
                  f"{fe['ram_bytes']:,} + arena {bundle.arena_bytes:,}; flash "
                  f"{_kb(b['flash_bytes'])} = front end {fe.get('flash_bytes') or 0:,} + model "
                  f"{bundle.model_bytes:,} (TFLM runtime code extra)")
            for t, r in b["tiers"].items():
                print(f"tier {t}: {'FITS' if r['fits'] else 'DOES NOT FIT'} (model "
                      f"budgets {r['tier_arena_bytes']:,} arena / "
                      f"{r['tier_model_flash_bytes']:,} flash; device "
                      f"{r['device_ram_bytes']:,} RAM / {r['device_flash_bytes']:,} flash: "
                      f"{r['ram_headroom_bytes']:,} B RAM, {r['flash_headroom_bytes']:,} B "
                      "flash left)" + ("" if r["fits"] else ": " + "; ".join(r["model_over"])))
            print(f"latency ESTIMATE: {lat['total_ms']:.1f} ms per {lat['window_hop_s']:g} s "
                  f"(network {lat['network_macs']:,} MACs, front end {lat['frontend_macs']:,}"
                  f" MACs; {lat['clock_hz'] / 1e6:g} MHz, {lat['cycles_per_int8_mac']:g} / "
                  f"{lat['cycles_per_float_mac']:g} cycles per int8 / float MAC assumed)")
            record["models"][name] = row
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=1))
    if not all(r["bundle"]["budget"]["tiers"][t]["fits"] for r in record["models"].values()
               for t in r["bundle"]["budget"]["tiers"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
