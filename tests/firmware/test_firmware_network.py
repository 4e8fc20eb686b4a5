"""The int8 network generated as C (:mod:`edgesea.firmware.netgen`), built for this host,
against the ``tflite_micro`` interpreter (TFLM's reference kernels).

- every shipped ``mcu`` student: 100% of int8 outputs equal on 1,000 real windows of folds
  1-2, for the plain C kernels and for the DSP-extension path (its intrinsics emulated in C);
  the ``mcu-1m`` students are in ``test_firmware_network_mcu1m.py``;
- a student with full 3x3 convolutions (SAME padding, a fused pool, a strided stem with a
  depth multiplier) and the paper's head, converted here with random weights;
- refusals: an operator outside the supported set (a MEAN pooling student, and a shipped model
  whose MAX_POOL_2D is relabelled AVERAGE_POOL_2D), an unsupported fused activation, a
  corrupt file; through ``export_firmware`` before anything is written;
- the arithmetic helpers (TFLite's QuantizeMultiplier and activation ranges) and the memory
  plan (no two buffers live at one step share a byte; smaller than TFLM's arena).
"""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

from edgesea.errors import EdgeSEAError
from edgesea.firmware.netgen import plan_network
from edgesea.firmware.netplan import activation_range, quantize_multiplier
from edgesea.firmware.tflite_graph import SUPPORTED_OPS, read_graph
from edgesea.packaged.names import PRETRAINED_DIR
from firmware_net_helpers import (
    check_against_tflm,
    real_inputs,
    report_and_check,
    tflm_outputs,
)

pytestmark = [
    pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None,
                       reason="no host C compiler"),
]
pytest.importorskip("tflite")
pytest.importorskip("tflite_micro")


@pytest.mark.parametrize("name", ["sea_urban_64", "sea_urban_128", "sea_urban_256",
                                  "sea_urban_512"])
def test_generated_network_equals_tflm_on_real_windows(name, tmp_path):
    spec = json.loads((PRETRAINED_DIR / f"{name}.edge.json").read_text())
    inputs = real_inputs(spec, 1000)
    r = check_against_tflm(PRETRAINED_DIR / f"{name}.int8.tflite", inputs, tmp_path)
    report_and_check(name, r)


def _convert(cfg, path):
    from edgesea.export.tflite import convert_tflite_int8
    from edgesea.models.network import EmbeddingModel

    rng = np.random.default_rng(0)
    calibration = rng.normal(-40, 15, size=(8, 64, 50)).astype(np.float32)
    convert_tflite_int8(EmbeddingModel(cfg).eval(), calibration, path, progress=False)
    return path


@pytest.fixture(scope="module")
def conv_config():
    pytest.importorskip("litert_torch")
    from edgesea.models.network import ModelConfig, student_frontend

    return ModelConfig(family="test", emb_dim=16, sample_rate=8000, window=1.0,
                       frontend=student_frontend(8000).config(), blocks=[[8, 8], [16]],
                       pool_after=[True, False], head="paper", stem_stride=2, separable=False)


def test_full_convolutions_and_paper_head(conv_config, tmp_path):
    """3x3 CONV_2D with SAME padding, a fused 2x2 pool, a dense head with ReLU: the generic
    convolution path, on random and on real inputs."""
    tfl = _convert(conv_config, tmp_path / "conv.int8.tflite")
    kinds = [op.kind for op in read_graph(tfl).ops]
    assert "CONV_2D" in kinds and "MAX_POOL_2D" in kinds
    geo = [op.options for op in read_graph(tfl).ops if op.kind == "CONV_2D"]
    assert any(o["Padding"] == "SAME" for o in geo)
    rng = np.random.default_rng(1)
    inputs = rng.integers(-128, 128, size=(200, 64, 50), dtype=np.int8)
    r = check_against_tflm(tfl, inputs, tmp_path / "build")
    assert r["plain_equal"] == 1.0 and r["dsp_equal_plain"] == 1.0


def test_unsupported_operator_is_refused(conv_config, tmp_path):
    tfl = _convert(dataclasses.replace(conv_config, global_pool="mean", head="linear"),
                   tmp_path / "mean.int8.tflite")
    with pytest.raises(EdgeSEAError, match=r"does not support operator \d+: MEAN\. "
                                           r"Supported builtin operators: CONV_2D"):
        read_graph(tfl)


def _relabel(data: bytes, old: int, new: int) -> bytes:
    """The model with operator code ``old`` relabelled ``new`` (both code fields)."""
    import tflite

    buf = bytearray(data)
    model = tflite.Model.GetRootAsModel(buf, 0)
    for i in range(model.OperatorCodesLength()):
        oc = model.OperatorCodes(i)
        if max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode()) != old:
            continue
        for field, width in ((4, 1), (10, 4)):  # deprecated_builtin_code, builtin_code
            off = oc._tab.Offset(field)
            if off:
                pos = oc._tab.Pos + off
                buf[pos:pos + width] = int(new).to_bytes(width, "little", signed=True)
    return bytes(buf)


def _fused_activation(data: bytes, kind: str, code: int) -> bytes:
    """The model with the fused activation of its first ``kind`` operator set to ``code``."""
    import tflite
    from tflite.BuiltinOperator import BuiltinOperator

    buf = bytearray(data)
    model = tflite.Model.GetRootAsModel(buf, 0)
    sub = model.Subgraphs(0)
    want = getattr(BuiltinOperator, kind)
    for i in range(sub.OperatorsLength()):
        op = sub.Operators(i)
        oc = model.OperatorCodes(op.OpcodeIndex())
        if max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode()) != want:
            continue
        table = op.BuiltinOptions()
        opt = tflite.Conv2DOptions()
        opt.Init(table.Bytes, table.Pos)
        off = opt._tab.Offset(10)  # fused_activation_function (4th field)
        assert off, "the option is stored"
        buf[opt._tab.Pos + off] = code
        return bytes(buf)
    raise AssertionError(f"no {kind}")


def test_relabelled_operator_and_activation_are_refused(tmp_path):
    data = (PRETRAINED_DIR / "sea_urban_64.int8.tflite").read_bytes()
    bad = _relabel(data, 17, 1)  # MAX_POOL_2D -> AVERAGE_POOL_2D
    with pytest.raises(EdgeSEAError, match=r"AVERAGE_POOL_2D.*Supported builtin operators"):
        read_graph(bad)
    tanh = _fused_activation(data, "CONV_2D", 4)
    with pytest.raises(EdgeSEAError, match="fused activation TANH: supported are NONE, RELU"):
        read_graph(tanh)
    for corrupt in (data[:200], b"TFL3" * 10, b"not a model at all"):
        with pytest.raises(EdgeSEAError):
            read_graph(corrupt)


def test_export_refuses_before_writing(tmp_path):
    """``export_firmware`` refuses a graph the generator cannot compile before any file."""
    pytest.importorskip("ai_edge_litert")
    from edgesea.firmware import export_firmware

    src = tmp_path / "src"
    src.mkdir()
    data = (PRETRAINED_DIR / "sea_urban_64.int8.tflite").read_bytes()
    (src / "bad.int8.tflite").write_bytes(_relabel(data, 17, 1))
    shutil.copyfile(PRETRAINED_DIR / "sea_urban_64.edge.json", src / "bad.edge.json")
    out = tmp_path / "out"
    with pytest.raises(EdgeSEAError, match="AVERAGE_POOL_2D"):
        export_firmware(src / "bad.int8.tflite", out, arena_bytes=60_000)
    assert not out.exists()


def test_quantize_multiplier_and_activation_range():
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    q, s = quantize_multiplier(0.0279785 / 0.03950153)
    assert abs(q * 2.0 ** (s - 31) - 0.0279785 / 0.03950153) < 1e-9 and (1 << 30) <= q < 1 << 31
    # rounding half away from zero at the Q31 boundary: 1 - 2^-33 rounds up to 2^31, halved
    assert quantize_multiplier(1 - 2.0 ** -33) == (1 << 30, 1)
    assert activation_range("NONE", 0.1, 3) == (-128, 127)
    assert activation_range("RELU", 0.1, -128) == (-128, 127)
    assert activation_range("RELU", 0.1, 5) == (5, 127)
    assert activation_range("RELU6", 0.1, -100) == (-100, -40)
    assert activation_range("RELU_N1_TO_1", 0.01, 0) == (-100, 100)


@pytest.mark.parametrize("name", ["sea_urban_128", "sea_urban_128_mcu1m"])
def test_memory_plan_is_sound_and_smaller_than_tflm(name):
    from edgesea.export.footprint import find_min_arena

    graph = read_graph(PRETRAINED_DIR / f"{name}.int8.tflite")
    assert {op.kind for op in graph.ops} <= set(SUPPORTED_OPS)
    plan = plan_network(graph)
    bufs = [b for b in plan.memory.buffers if b.size > 0]
    for i, a in enumerate(bufs):
        assert a.offset >= 0 and a.offset + a.size <= plan.memory.arena_bytes
        for b in bufs[i + 1:]:
            live_together = not (a.last < b.first or b.last < a.first)
            apart = a.offset + a.size <= b.offset or b.offset + b.size <= a.offset
            assert apart or not live_together, (a, b)
    assert plan.memory.arena_bytes >= plan.memory.peak_live_bytes()
    search = find_min_arena(PRETRAINED_DIR / f"{name}.int8.tflite")
    tflm = search.reported or search.smallest_ok
    print(f"\n{name}: arena {plan.memory.arena_bytes:,} B (peak live "
          f"{plan.memory.peak_live_bytes():,}) vs TFLM {tflm:,} B")
    assert plan.memory.arena_bytes < 0.6 * tflm


def test_tflm_helper_matches_litert_reference():
    """The reference the tests use is TFLM itself: its outputs on a window are int8 of the
    model's output shape, and a second run gives the same (no state between windows)."""
    spec = json.loads((PRETRAINED_DIR / "sea_urban_64.edge.json").read_text())
    x = real_inputs(spec, 1000)[:3]
    a = tflm_outputs(PRETRAINED_DIR / "sea_urban_64.int8.tflite", x)
    b = tflm_outputs(PRETRAINED_DIR / "sea_urban_64.int8.tflite", x[::-1])
    assert a.shape == (3, 64) and a.dtype == np.int8
    assert np.array_equal(a, b[::-1])
