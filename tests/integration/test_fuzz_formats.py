"""Fuzz every file format edgesea reads back, within a fixed budget (issue 35).

Runs ``fuzz_formats.py`` (beside it) in a child process (its peak memory is its own): for each
of twelve readers (float and sparse model files, the ``.tflite`` graph reader and file check,
edge specs, embedding-store and augmented-store manifests, wav and flac audio, the evaluate
cache, embedding outputs' provenance, distillation checkpoints), a fixed number of inputs
mutated by Hypothesis from a
valid file (fixed seed: the same inputs every run). Every input must be accepted or refused
with an ``EdgeSEAError``, and the peak RSS may grow by less than 512 MB over the child's RSS
after its imports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("hypothesis")
pytest.importorskip("tflite")
pytest.importorskip("ai_edge_litert")

EXAMPLES = 250


def test_every_format_refuses_damage_cleanly_within_memory() -> None:
    script = Path(__file__).with_name("fuzz_formats.py")
    proc = subprocess.run([sys.executable, str(script), str(EXAMPLES)], capture_output=True,
                          text=True, timeout=900, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    grew = report["peak_rss_mb"] - report["start_rss_mb"]
    print(f"\n{EXAMPLES} inputs per format, peak RSS {report['peak_rss_mb']:.0f} MB "
          f"(+{grew:.0f} MB over {report['start_rss_mb']:.0f} MB after the imports):")
    for name, r in report["formats"].items():
        print(f"  {name}: {r['tried']} tried, {r['accepted']} accepted, {r['refused']} "
              "refused with EdgeSEAError")
        assert r["tried"] == EXAMPLES
    assert len(report["formats"]) == 12
    assert grew < 512
