"""Shared helpers of the generated-network tests (not a test module).

- :func:`real_inputs`: the int8 inputs of real windows of UrbanSound8K folds 1 and 2 (half
  from each), through a model's own front end and input quantization;
- :func:`tflm_outputs`: the ``tflite_micro`` interpreter (TFLM's reference kernels) on them;
- :func:`check_against_tflm`: the host build of the generated C (plain, and the DSP path with
  the intrinsics emulated in C) against TFLM; :func:`report_and_check` prints and asserts it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
AUDIO = SHARED / "data" / "urbansound8k_subset" / "audio"


@lru_cache(maxsize=4)
def _inputs(config_json: str, window_samples: int, scale: float, zero_point: int,
            n: int) -> np.ndarray:
    from edgesea.export.calibration import logmel_windows
    from edgesea.frontend.logmel import LogMelSpectrogram
    from edgesea.runtime.frontend_spec import quantize_input

    fe = LogMelSpectrogram.from_config(json.loads(config_json))
    logmels = np.concatenate([
        logmel_windows(AUDIO / fold, fe, window_samples, n // 2, seed=0, max_per_file=2,
                       progress=False).logmels for fold in ("fold1", "fold2")])
    return np.stack([quantize_input(x, scale, zero_point) for x in logmels])


def real_inputs(spec: dict, n: int = 1000) -> np.ndarray:
    """``n`` real int8 model inputs (folds 1 and 2) for the model of an edge spec."""
    if not (AUDIO / "fold1").is_dir():
        pytest.skip("../shared UrbanSound8K subset not present")
    inp = spec["input"]
    return _inputs(json.dumps(spec["frontend"]["config"], sort_keys=True),
                   int(spec["audio"]["window_samples"]), float(inp["scale"]),
                   int(inp["zero_point"]), n)


def tflm_outputs(tflite: str | Path, inputs: np.ndarray) -> np.ndarray:
    """The ``tflite_micro`` interpreter's int8 outputs, one window at a time."""
    tflm = pytest.importorskip("tflite_micro").runtime
    interp = tflm.Interpreter.from_bytes(Path(tflite).read_bytes(), arena_size=1 << 21)
    out = []
    for x in inputs:
        interp.set_input(x[None], 0)
        interp.invoke()
        out.append(np.asarray(interp.get_output(0)).reshape(-1).copy())
    return np.stack(out).astype(np.int8)


def check_against_tflm(tflite: str | Path, inputs: np.ndarray, build_dir: Path,
                       n_dsp: int | None = None) -> dict:
    """Host builds (plain, DSP emulated) of the generated network against TFLM.

    Returns the fraction of equal values of each and the largest difference."""
    from edgesea.firmware.netgen import generate_network
    from edgesea.firmware.nethost import build_host_network

    code = generate_network(tflite)
    ref = tflm_outputs(tflite, inputs)
    plain = build_host_network(tflite, build_dir, code=code).run(inputs)
    k = len(inputs) if n_dsp is None else n_dsp
    dsp = build_host_network(tflite, build_dir, code=code, dsp=True).run(inputs[:k])
    return {"n": len(inputs), "plain_equal": float((plain == ref).mean()),
            "max_diff": int(np.abs(plain.astype(np.int16) - ref).max()),
            "dsp_equal_plain": float((dsp == plain[:k]).mean()), "n_dsp": k,
            "arena": code.arena_bytes}


def report_and_check(name: str, r: dict) -> None:
    """Print :func:`check_against_tflm`'s figures and require 100% equality."""
    print(f"\n{name}: {r['n']} real windows, plain C == TFLM on {100 * r['plain_equal']:.3f}% "
          f"of values (max diff {r['max_diff']}); DSP path == plain on "
          f"{100 * r['dsp_equal_plain']:.3f}% of {r['n_dsp']} windows; arena {r['arena']:,} B")
    assert r["n"] == 1000
    assert r["plain_equal"] == 1.0 and r["max_diff"] == 0
    assert r["dsp_equal_plain"] == 1.0
