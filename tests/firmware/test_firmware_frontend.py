"""The generated C front end (:mod:`edgesea.firmware`), compiled with the host C compiler and
called through ctypes, against the Python front end.

- real audio (UrbanSound8K fold 10 from ../shared; skipped without it): the shipped
  students' stream front end, streamed and window by window, in dB and in int8 steps;
- synthetic audio: the other front-end variants the C code covers ("same"/"end"/"center"
  padding, magnitude spectrum, other exponents, fixed dB reference, no floor, no dB, float
  input), each against the PyTorch front end;
- the C API's own rules (window sizes, stream bookkeeping, int16 input) and the errors of the
  code generator.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from edgesea.errors import EdgeSEAError
from edgesea.export import frontend_spec, quantize_input, reference_logmel
from edgesea.firmware import build_host_frontend, frontend_layout, generate_frontend
from edgesea.firmware.check import compare_frontends, real_clips
from edgesea.firmware.codegen import c_float
from edgesea.frontend.logmel import LogMelSpectrogram
from edgesea.frontend.presets import kapre_preset, openl3_v04_preset
from edgesea.packaged.names import PRETRAINED_DIR

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None,
                                reason="no host C compiler")

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
FOLD10 = SHARED / "data" / "urbansound8k_subset" / "audio" / "fold10"


def _spec(fe: LogMelSpectrogram, window: int, int8: bool = True) -> dict:
    q = {"dtype": "int8", "scale": 80.0 / 255.0, "zero_point": 127} if int8 else None
    return frontend_spec(fe, window, model={"name": "variant"}, input_quant=q,
                         output_quant=None, emb_dim=8)


@pytest.fixture(scope="module")
def shipped_spec() -> dict:
    return json.loads((PRETRAINED_DIR / "sea_urban_128.edge.json").read_text())


@pytest.fixture(scope="module")
def shipped(shipped_spec, tmp_path_factory):
    """The shipped 128-d student's C front end, built once, and its Python front end."""
    host = build_host_frontend(shipped_spec, tmp_path_factory.mktemp("fe128"))
    fe = LogMelSpectrogram.from_config(shipped_spec["frontend"]["config"])
    return host, fe


@pytest.fixture(scope="module")
def clips():
    if not FOLD10.is_dir():
        pytest.skip("../shared UrbanSound8K subset not present")
    return real_clips(FOLD10, 12, 16000, min_seconds=2.0)


def test_real_audio_matches_python_frontend(shipped, clips):
    """(a) >= 99.9% of int8 values within 1 LSB of the Python front end (here: all equal),
    and the dB values within float rounding, on real windows every 0.5 s."""
    host, fe = shipped
    r = compare_frontends(host, fe, clips, hop=8000)
    print(f"\nC vs Python on {r['n_windows']} real windows ({r['n_values']:,} values): max "
          f"{r['max_db_diff']:.2e} dB, mean {r['mean_db_diff']:.2e} dB; int8 within 1 LSB "
          f"{r['lsb_within_1']:.6f}, equal {r['lsb_exact']:.6f}, max {r['max_lsb']} LSB")
    assert r["n_windows"] >= 60 and r["n_values"] >= 60 * 3200
    assert r["lsb_within_1"] >= 0.999
    assert r["max_lsb"] <= 1
    assert r["max_db_diff"] < 2e-3
    assert r["stream_vs_compute_max_db"] == 0.0  # the same frames, the same code


def test_real_window_matches_json_reference(shipped, shipped_spec, clips):
    """The C output against :func:`reference_logmel` (NumPy, from the JSON alone)."""
    host, _ = shipped
    lay = host.layout
    pcm = clips[0][1]
    start = 8000
    seg = pcm[start - lay.pad_before:start + lay.window_samples + lay.pad_after]
    x = seg.astype(np.float32) / 32768.0
    logmel, q = host.compute(x)
    ref = reference_logmel(shipped_spec, x)
    assert np.abs(logmel - ref).max() < 5e-3
    q_ref = quantize_input(ref, lay.input_scale, lay.input_zero_point)
    assert np.mean(np.abs(q.astype(int) - q_ref.astype(int)) <= 1) >= 0.999


def test_stream_bookkeeping_and_int16_input(shipped):
    host, fe = shipped
    lay = host.layout
    rng = np.random.default_rng(0)
    pcm = (rng.standard_normal(40000) * 3000).astype(np.int16)
    host.reset()
    with pytest.raises(EdgeSEAError, match="fewer than 50 frames"):
        host.window()
    # first frame once n_fft - pad_before samples are in, then one per hop
    assert host.push(pcm[:lay.n_fft - lay.pad_before - 1]) == 0
    assert host.push(pcm[lay.n_fft - lay.pad_before - 1:lay.n_fft - lay.pad_before]) == 1
    assert host.push(pcm[lay.n_fft - lay.pad_before:20000]) == (20000 - 672) // lay.hop
    host.reset()
    made = sum(host.push(pcm[i:i + 77]) for i in range(0, 30000, 77))  # odd chunk sizes
    assert made == host.frames() == 1 + (30000 - 672) // lay.hop
    logmel, _ = host.window()
    first = host.frames() - lay.n_frames
    start = first * lay.hop
    x = pcm.astype(np.float32) / 32768.0
    ref = next(fe.window_logmels(x, 1, lay.hop, start=start)).numpy()[0]
    assert np.abs(logmel - ref).max() < 1e-3
    # float input gives the same frames as int16 input
    host.reset()
    host.push(x[:30000])
    assert np.array_equal(host.window()[0], logmel)
    # a bare window is the window with zero context
    bare = x[start:start + lay.window_samples]
    padded = np.concatenate([np.zeros(lay.pad_before, np.float32), bare,
                             np.zeros(lay.pad_after, np.float32)])
    assert np.array_equal(host.compute(bare)[0], host.compute(padded)[0])
    with pytest.raises(EdgeSEAError, match="returned -2"):
        host.compute(bare[:-1])
    with pytest.raises(EdgeSEAError, match="multiple of the frame hop"):
        next(host.stream_windows(pcm, 100))


def test_silence_and_full_scale(shipped):
    """All-zero input: every value at the floor (-80 dB, int8 -128 + ...); a full-scale
    square wave: the peak at 0 dB."""
    host, _ = shipped
    lay = host.layout
    logmel, q = host.compute(np.zeros(lay.window_samples, np.float32))
    assert np.all(logmel == 0.0)  # all equal: the peak is the value itself
    t = np.arange(lay.window_samples)
    square = np.where((t // 8) % 2 == 0, 1.0, -1.0).astype(np.float32)
    logmel, q = host.compute(square)
    assert logmel.max() == 0.0 and logmel.min() >= -80.0
    assert q.max() == 127 and q.min() >= -128


VARIANTS = {
    "kapre-same": (kapre_preset(), 8000),
    "openl3-end-magnitude": (openl3_v04_preset(64, 16000, 512, 160), 16000),
    "center-power2-fixedref": (LogMelSpectrogram(16000, 256, 100, 32, padding="center",
                                                 power=2.0, ref=1.0, top_db=None,
                                                 window="hamming"), 4000),
    "valid-pow3-nodb": (LogMelSpectrogram(8000, 128, 64, 16, padding="valid", power=3.0,
                                          db=False), 2000),
    "fixedref-topdb": (LogMelSpectrogram(16000, 512, 256, 40, padding="same", ref=10.0,
                                         top_db=60.0, mel_scale="slaney", fmin=50.0,
                                         fmax=7000.0), 8000),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_frontend_variants_match_pytorch(variant, tmp_path):
    """Each rule the C code implements, against the PyTorch front end on a synthetic
    signal (chirp + noise)."""
    fe, window = VARIANTS[variant]
    spec = _spec(fe, window, int8=fe.db)
    host = build_host_frontend(spec, tmp_path)
    rng = np.random.default_rng(1)
    t = np.arange(window) / fe.sample_rate
    x = (0.3 * np.sin(2 * np.pi * (200 + 900 * t) * t) + 0.01 * rng.standard_normal(window)
         ).astype(np.float32)
    logmel, q = host.compute(x)
    with torch.no_grad():
        ref = fe(torch.from_numpy(x)[None])[0].numpy()
    assert logmel.shape == ref.shape
    scale = np.abs(ref).max() if not fe.db else 1.0
    assert np.abs(logmel - ref).max() / scale < (1e-3 if fe.db else 1e-5), variant
    if fe.db:
        q_ref = quantize_input(ref, 80.0 / 255.0, 127)
        assert np.abs(q.astype(int) - q_ref.astype(int)).max() <= 1
    else:
        assert q is None  # float model: no int8 input


def test_quantization_rounds_half_to_even_as_numpy(shipped_spec, tmp_path):
    """With an input scale of 32 dB, the -80 dB floor is exactly -2.5 steps: NumPy's round
    (and the C code's rintf) give -2, rounding half away from zero would give -3."""
    fe = LogMelSpectrogram.from_config(shipped_spec["frontend"]["config"])
    spec = frontend_spec(fe, 16000, model={"name": "tie"}, output_quant=None, emb_dim=8,
                         input_quant={"dtype": "int8", "scale": 32.0, "zero_point": 0})
    host = build_host_frontend(spec, tmp_path)
    t = np.arange(16000) / 16000
    logmel, q = host.compute((0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))
    floored = logmel == -80.0
    assert floored.sum() > 100
    assert np.all(q[floored] == -2)
    assert np.array_equal(q, quantize_input(logmel, 32.0, 0))


def test_codegen_errors_and_literals(shipped_spec):
    bad = json.loads(json.dumps(shipped_spec))
    bad["frontend"]["config"]["n_fft"] = 1000
    with pytest.raises(EdgeSEAError, match="power of two"):
        generate_frontend(bad)
    with pytest.raises(EdgeSEAError, match="not an edgesea edge spec"):
        frontend_layout({"format": "something else"})
    broken = json.loads(json.dumps(shipped_spec))
    del broken["frontend"]["mel_matrix"]
    with pytest.raises(EdgeSEAError, match="incomplete or malformed"):
        frontend_layout(broken)
    short = json.loads(json.dumps(shipped_spec))
    short["frontend"]["window_values"] = short["frontend"]["window_values"][:-1]
    with pytest.raises(EdgeSEAError, match="window values"):
        frontend_layout(short)
    for v in (0.0, 1.0, 1e-10, 0.3137255012989044, -11.5, 80.0):
        assert np.float32(float(c_float(v)[:-1])) == np.float32(v)
    with pytest.raises(EdgeSEAError):
        c_float(float("inf"))
    code = generate_frontend(shipped_spec)
    assert "malloc" not in code.source and "#define EDGESEA_N_FRAMES          50" in code.header
    # negative zero points are parenthesized (the value is the spec's, not a fixed model's)
    negative = json.loads(json.dumps(shipped_spec))
    negative["output"]["zero_point"] = -11
    assert "(-11)" in generate_frontend(negative).header
