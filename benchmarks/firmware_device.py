"""Measure every shipped student's whole program on the emulated Cortex-M4F (QEMU mps2-an386).

For each packaged student: ``export_firmware`` (generated network, front end, ``main.c``),
then :func:`edgesea.firmware.measure_program` builds the program three times (DSP
extension; DSP with the per-step profile; plain C with the profile) and runs each on the
bundle's real clip. It prints and records:

- flash (code + constants + data of the linked program) and RAM (data + bss + stack
  high-water mark), split into front end / network / program, against the tier's budget and
  against the TFLM path (front end + TFLM arena);
- instructions per window of the network (DSP and plain C, from QEMU's SysTick calibrated on
  a loop of known length) and of the front end; per multiply-accumulate; per kernel call;
- latency and duty cycle at one embedding per 0.5 s on a 64 MHz and a 168 MHz Cortex-M4:
  estimates at one instruction per cycle (QEMU does not model cycles).

Writes ``benchmarks/firmware_device_record.json`` and the plot ``docs/img/firmware_device.png``.
Needs ``arm-none-eabi-gcc``, newlib, ``qemu-system-arm`` and ``make`` (``make firmware-check``
installs them). Run::

    python benchmarks/firmware_device.py [--models sea_urban_128 ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from edgesea.firmware import export_firmware, measure_program
from edgesea.firmware.measure import latency_from_instructions
from edgesea.zoo import catalog

ROOT = Path(__file__).resolve().parents[1]
STUDENTS = ["sea_urban_64", "sea_urban_128", "sea_urban_256", "sea_urban_512",
            "sea_urban_64_mcu1m", "sea_urban_128_mcu1m", "sea_urban_256_mcu1m",
            "sea_urban_512_mcu1m"]


def measure(name: str, arena: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        b = export_firmware(name, Path(tmp) / "fw", arena_bytes=arena, measure=False)
        m = measure_program(Path(tmp) / "fw", profile=True, plain=True)
    hop_s = b.window_hop_frames * b.layout["hop"] / b.layout["sample_rate"]
    dsp, plain = m["instructions"]["dsp_profile"], m["instructions"]["plain"]
    macs = b.network["macs"]
    return {
        "name": name, "tier": next(iter(b.budget["tiers"])), "macs": macs,
        "flash": m["flash"], "ram": m["ram"], "stack_used": m["stack_used"],
        "network_arena": b.network["arena_bytes"], "tflm_arena": b.arena_bytes,
        "tflm_ram": b.budget["ram_bytes"], "plain_equal": m["plain_equal"],
        "instructions": {"dsp": dsp["network_per_window"], "plain": plain["network_per_window"],
                         "frontend": dsp["frontend_per_window"],
                         "per_tick": dsp["instructions_per_tick"]},
        "per_mac": {"dsp": dsp["network_per_window"] / macs,
                    "plain": plain["network_per_window"] / macs},
        "dsp_speedup": plain["network_per_window"] / dsp["network_per_window"],
        "steps": [{"label": s["label"], "macs": s["macs"], "dsp": d, "plain": p}
                  for s, d, p in zip(b.network["steps"], dsp["per_step"], plain["per_step"],
                                     strict=True)],
        "latency": latency_from_instructions(dsp["network_per_window"],
                                             dsp["frontend_per_window"], hop_s)}


def plot(records: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    names = [r["name"].replace("sea_urban_", "") for r in records]
    parts = [("frontend", "front end"), ("network", "network"), ("program", "program")]
    from edgesea.packaged.tiers import get_tier

    budget = {r["tier"]: {"ram": get_tier(r["tier"]).arena_bytes,
                          "flash": get_tier(r["tier"]).flash_bytes} for r in records}
    for ax, kind in ((axes[0], "ram"), (axes[1], "flash")):
        bottom = [0.0] * len(records)
        for key, label in parts + ([("stack", "stack")] if kind == "ram" else []):
            vals = [r[kind].get(key, 0) / 1024 for r in records]
            ax.bar(names, vals, bottom=bottom, label=label)
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
        if kind == "ram":
            ax.plot(names, [r["tflm_ram"] / 1024 for r in records], "k_", markersize=18,
                    label="TFLM path: front end + arena")
        ax.plot(names, [budget[r["tier"]][kind] / 1024 for r in records], "r_", markersize=18,
                label="the tier's budget")
        ax.set_ylabel(f"{kind.upper()} (KB)")
        ax.set_title(f"{'RAM: data + bss + stack' if kind == 'ram' else 'flash'}, measured")
        ax.tick_params(axis="x", rotation=45)
        ax.legend(fontsize=7)
    r128 = next((r for r in records if r["name"] == "sea_urban_128"), records[0])
    steps = r128["steps"]
    x = range(len(steps))
    axes[2].bar([i - 0.2 for i in x], [s["plain"] / 1e6 for s in steps], 0.4, label="plain C")
    axes[2].bar([i + 0.2 for i in x], [s["dsp"] / 1e6 for s in steps], 0.4,
                label="DSP extension")
    axes[2].set_xticks(list(x))
    axes[2].set_xticklabels([s["label"].split(" (")[0] for s in steps], rotation=60,
                            fontsize=7)
    axes[2].set_ylabel("million instructions per window")
    axes[2].set_title(f"{r128['name']}: network per kernel call (QEMU)")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=STUDENTS)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "firmware_device_record.json"))
    ap.add_argument("--plot", default=str(ROOT / "docs" / "img" / "firmware_device.png"))
    args = ap.parse_args(argv)
    arenas = {m.name: m.arena_bytes for m in catalog()}
    records = []
    print("| student | tier | flash total (front end / network / program) | RAM total (front "
          "end / network / program / stack) | TFLM path RAM | network instr/window DSP "
          "(plain) | instr/MAC DSP (plain) | DSP speed-up | front end instr/window | 64 MHz "
          "ms, duty | 168 MHz ms, duty |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.models:
        t0 = time.time()
        r = measure(name, arenas[name])
        records.append(r)
        fl, ram, ins, lat = r["flash"], r["ram"], r["instructions"], r["latency"]
        print(f"| `{name}` | {r['tier']} | {fl['total']:,} ({fl['frontend']:,} / "
              f"{fl['network']:,} / {fl['program']:,}) | {ram['total']:,} ({ram['frontend']:,} "
              f"/ {ram['network']:,} / {ram['program']:,} / {ram['stack']:,}) | "
              f"{r['tflm_ram']:,} | {ins['dsp'] / 1e6:.2f} M ({ins['plain'] / 1e6:.2f} M) | "
              f"{r['per_mac']['dsp']:.2f} ({r['per_mac']['plain']:.2f}) | "
              f"{r['dsp_speedup']:.2f}x | {ins['frontend'] / 1e6:.2f} M | "
              f"{lat['64MHz']['total_ms']:.0f}, {100 * lat['64MHz']['duty_cycle']:.0f}% | "
              f"{lat['168MHz']['total_ms']:.0f}, {100 * lat['168MHz']['duty_cycle']:.0f}% |",
              flush=True)
        print(f"  ({time.time() - t0:.0f} s; DSP and plain embeddings identical: "
              f"{r['plain_equal']})", file=sys.stderr)
    r128 = next((r for r in records if r["name"] == "sea_urban_128"), None)
    if r128:
        print(f"\nPer kernel call, {r128['name']} (instructions per window):")
        print("| step | MACs | DSP | plain C | DSP per MAC | plain per MAC |")
        print("|---|---|---|---|---|---|")
        for s in r128["steps"]:
            pm = (f"{s['dsp'] / s['macs']:.2f} | {s['plain'] / s['macs']:.2f}" if s["macs"]
                  else "- | -")
            print(f"| {s['label']} | {s['macs']:,} | {s['dsp']:,.0f} | {s['plain']:,.0f} | "
                  f"{pm} |")
    Path(args.json).write_text(json.dumps(records, indent=1))
    plot(records, Path(args.plot))
    print(f"\nwrote {args.json} and {args.plot}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
