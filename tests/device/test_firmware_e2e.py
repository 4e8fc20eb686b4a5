"""End to end on real audio: the host-compiled C front end -> the ``tflite_micro``
interpreter on each shipped int8 student -> embedding, against the float student
(safetensors, through :func:`edgesea.get_embedding`) on the same windows.

Needs ../shared (UrbanSound8K fold 10), tflite-micro and a host C compiler; skips without.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from edgesea.firmware import build_host_frontend
from edgesea.firmware.check import end_to_end, real_clips
from edgesea.packaged.names import PRETRAINED_DIR
from edgesea.zoo import catalog

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
FOLD10 = SHARED / "data" / "urbansound8k_subset" / "audio" / "fold10"

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None,
                                reason="no host C compiler")


@pytest.fixture(scope="module")
def clips():
    pytest.importorskip("tflite_micro")
    pytest.importorskip("ai_edge_litert")
    if not FOLD10.is_dir():
        pytest.skip("../shared UrbanSound8K subset not present")
    return real_clips(FOLD10, 6, 16000, min_seconds=3.0)


@pytest.mark.parametrize("name", ["sea_urban_64", "sea_urban_128", "sea_urban_256",
                                  "sea_urban_512", "sea_urban_128_mcu1m"])
def test_c_frontend_tflm_matches_float_model(name, clips, tmp_path):
    """(b) mean cosine >= 0.99 between the device path and the float model, and the C front
    end gives the int8 model the outputs the Python front end gives it (within 1 LSB)."""
    spec = json.loads((PRETRAINED_DIR / f"{name}.edge.json").read_text())
    host = build_host_frontend(spec, tmp_path)
    arena = {m.name: m.arena_bytes for m in catalog()}.get(name)
    r = end_to_end(name, host, clips, hop=8000, arena_bytes=arena)
    print(f"\n{name}: C front end + TFLM vs float on {r['n_windows']} windows: cosine mean "
          f"{r['cosine_mean']:.4f} min {r['cosine_min']:.4f} (Python front end + TFLM "
          f"{r['python_cosine_mean']:.4f}); outputs differ by <= {r['max_output_lsb']} LSB")
    assert r["n_windows"] >= 30
    assert r["cosine_mean"] >= 0.99
    assert r["cosine_min"] >= 0.95
    assert abs(r["cosine_mean"] - r["python_cosine_mean"]) < 2e-3
    assert r["max_output_lsb"] <= 1
