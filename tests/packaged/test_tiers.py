"""Tests of device tiers (:mod:`edgesea.packaged.tiers`), MAC counting (:func:`edgesea.models.macs`)
and the ``mcu-1m`` student: hand counts, tier lookup and budgets, the ``--tier`` option of
``edgesea footprint`` / ``edgesea export``, and int8 exports of the 128-d ``mcu`` and
``mcu-1m`` students that must fit their tiers.

The export tests need the ``export`` extra (litert-torch, tflite-micro, ai-edge-litert) and
skip without it; their audio is synthetic.
"""

from __future__ import annotations

import json
import math
from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import typer
from torch import nn
from typer.testing import CliRunner

from edgesea.cli.export import export_command, footprint_command, tier_check
from edgesea.errors import EdgeSEAError
from edgesea.models import (
    MCU1M_BLOCKS,
    footprint,
    macs,
    save_model,
    sea_mcu1m_student,
    sea_mcu_student,
)
from edgesea.models.footprint import frontend_macs
from edgesea.packaged.tiers import TIERS, Tier, check_budget, fits, get_tier, tier_report
from edgesea.specialize.config import SpecializeConfig

app = typer.Typer()
app.command("export")(export_command)
app.command("footprint")(footprint_command)
runner = CliRunner()


# --- MACs -------------------------------------------------------------------------------

def test_macs_of_one_conv_is_the_hand_count():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1))  # 'same' on 8 x 10
    m = macs(net, input_shape=(1, 1, 8, 10))
    assert m["network"] == m["conv"] == 8 * 10 * 4 * 9
    assert m["frontend"] == 0 and m["total"] == m["network"]


def test_macs_of_strided_depthwise_and_linear_layers():
    net = nn.Sequential(
        nn.Conv2d(2, 6, 3, padding=1, stride=2),  # 8 x 10 -> 4 x 5
        nn.Conv2d(6, 6, 3, padding=1, groups=6),  # depthwise
        nn.Conv2d(6, 4, 3, padding=1, groups=2),  # grouped: 3 input channels per output
        nn.Flatten(), nn.Linear(4 * 4 * 5, 7))
    m = macs(net, input_shape=(1, 2, 8, 10))
    assert m["conv"] == 4 * 5 * 6 * 2 * 9 + 4 * 5 * 4 * 3 * 9
    assert m["depthwise"] == 4 * 5 * 6 * 9
    assert m["linear"] == 80 * 7
    assert m["network"] == m["conv"] + m["depthwise"] + m["linear"]
    assert macs(net, input_shape=(3, 2, 8, 10))["network"] == m["network"]  # per window


def test_macs_of_a_tiny_mcu_student_is_the_hand_count():
    model = sea_mcu_student(16, blocks=[[4], [8]])
    m = macs(model)
    stem = 32 * 25 * 4 * 9  # 1 -> 4, 3x3, stride 2: 64 x 50 -> 32 x 25
    dw = 16 * 12 * 4 * 9  # after the 2x2 pool: 16 x 12
    pw = 16 * 12 * 8 * 4
    input_bn = 64 * 50  # a 1x1 conv on export
    assert m["depthwise"] == dw and m["linear"] == 8 * 16
    assert m["conv"] == input_bn + stem + pw
    assert m["network"] == input_bn + stem + dw + pw + 8 * 16
    # front end: 50 frames of n_fft 1024 (window, FFT estimate, |X|^2) + sparse mel matrix
    nnz = int(torch.count_nonzero(model.frontend.mel_basis))
    assert m["stft"] == 50 * (1024 + 1024 * int(math.log2(1024)) + 2 * 513)
    assert m["mel"] == 50 * nnz and m["frontend"] == m["stft"] + m["mel"]
    assert m["total"] == m["network"] + m["frontend"] and "FFT estimate" in m["frontend_method"]
    assert frontend_macs(model.frontend, 8000)["frontend"] == m["frontend"]
    fp = footprint(model)
    assert (fp.macs, fp.frontend_macs) == (m["network"], m["frontend"])
    assert {"macs", "frontend_macs", "params", "largest_layer"} <= set(fp.to_dict())


def test_macs_of_the_shipped_mcu_architecture():
    m = macs(sea_mcu_student(128))
    assert m["network"] == 4_504_192
    big = macs(sea_mcu1m_student(128))
    assert big["network"] > 4 * m["network"] and big["frontend"] == m["frontend"]


# --- tiers ------------------------------------------------------------------------------

def test_tier_lookup():
    assert set(TIERS) == {"mcu", "mcu-1m"}
    t = get_tier("mcu-1m")
    assert isinstance(t, Tier) and (t.arena_bytes, t.flash_bytes) == (256 * 1024, 1024 * 1024)
    assert "paper" in t.description
    assert get_tier("mcu") == Tier("mcu", 64 * 1024, 300 * 1024, TIERS["mcu"].description)
    assert get_tier(t) is t
    with pytest.raises(EdgeSEAError, match=r"unknown tier 'big'.*mcu, mcu-1m"):
        get_tier("big")
    with pytest.raises(FrozenInstanceError):
        t.arena_bytes = 1


def test_check_budget():
    assert check_budget(300 * 1024, 64 * 1024, "mcu") == []  # the limits themselves fit
    assert fits(100_000, 50_000, TIERS["mcu"])
    over = check_budget(300 * 1024 + 1, 10, "mcu")
    assert len(over) == 1 and over[0].startswith("flash 307,201 bytes") and "mcu" in over[0]
    over = check_budget(2_000_000, 300_000, "mcu-1m")
    assert [o.split()[0] for o in over] == ["flash", "arena"]
    assert "262,144" in over[1] and not fits(2_000_000, 300_000, "mcu-1m")
    with pytest.raises(EdgeSEAError, match="unknown tier"):
        check_budget(1, 1, "nope")
    rep = tier_report(200_000, 100_000)
    assert rep["mcu"]["fits"] is False and rep["mcu"]["over"][0].startswith("arena")
    assert rep["mcu-1m"] == {"fits": True, "over": [], "flash_bytes": 1024 * 1024,
                             "arena_bytes": 256 * 1024}
    assert list(tier_report(1, 1, "mcu")) == ["mcu"]


def test_tier_check_lines_and_warnings():
    report, lines, warnings = tier_check(200_000, 100_000)
    assert set(report) == set(TIERS) and warnings == []
    assert lines[0].startswith("fits tiers: mcu-1m; not mcu (arena")
    report, lines, warnings = tier_check(200_000, 100_000, "mcu")
    assert list(report) == ["mcu"] and lines == []
    assert len(warnings) == 1 and warnings[0].startswith("warning: the model exceeds tier mcu")
    _, lines, warnings = tier_check(200_000, 100_000, "mcu-1m")
    assert warnings == [] and lines[0].startswith("fits tier mcu-1m")


# --- the mcu-1m student -----------------------------------------------------------------

def test_specialize_config_builds_the_mcu1m_student():
    torch.manual_seed(0)
    model = SpecializeConfig(arch="mcu-1m", emb_dim=64, sample_rate=16000,
                             level="absolute").build_student()
    assert model.config.family == "sea-mcu-1m" and model.config.blocks == MCU1M_BLOCKS
    assert (model.emb_dim, model.sample_rate, model.config.head) == (64, 16000, "linear")
    assert model.frontend.ref == 1.0
    with pytest.raises(EdgeSEAError, match="'mcu-1m' has a linear head only"):
        SpecializeConfig(arch="mcu-1m", head="paper")
    with pytest.raises(EdgeSEAError, match="'mcu', 'mcu-1m'"):
        SpecializeConfig(arch="mcu2")


def test_mcu1m_forward_shape():
    torch.manual_seed(0)
    model = sea_mcu1m_student(128).eval()
    with torch.no_grad():
        out = model(0.1 * torch.randn(2, model.window_samples))
    assert out.shape == (2, 128) and torch.isfinite(out).all()
    assert sea_mcu_student(128).config.family == "sea-mcu"


# --- int8 exports of both students (need the export extra) ------------------------------

def _write_clips(folder: Path, n: int = 8, seconds: float = 7.0) -> Path:
    """Synthetic clips: gliding tones with noise (``n * seconds`` one-second windows)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        t = np.arange(int(8000 * seconds)) / 8000
        x = 0.3 * np.sin(2 * np.pi * (150.0 + 170.0 * i) * t) + 0.05 * rng.standard_normal(
            t.size)
        sf.write(folder / f"clip{i:02d}.wav", x.astype(np.float32), 8000)
    return folder


@pytest.fixture(scope="module")
def exported_students(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """``{tier: (float model, int8 .tflite)}``: a fresh 128-d mcu student exported through
    ``edgesea export --tier mcu --json`` (its result kept under ``"cli"``), and the shipped
    mcu-1m student with the int8 file shipped beside it (what users get)."""
    for mod in ("litert_torch", "tflite_micro", "ai_edge_litert"):
        pytest.importorskip(mod)
    from edgesea.packaged.names import resolve_model

    root = tmp_path_factory.mktemp("tiers")
    audio = _write_clips(root / "audio")
    torch.manual_seed(0)
    path = Path(save_model(sea_mcu_student(128).eval(), root / "mcu.safetensors"))
    r = runner.invoke(app, ["export", str(path), "-f", "tflite-int8", "--calibration",
                            str(audio), "--calibration-windows", "48", "--out",
                            str(root / "mcu"), "--name", "mcu", "-q", "--tier", "mcu",
                            "--json"])
    return {"cli": r, "mcu": (path, root / "mcu" / "mcu.int8.tflite"),
            "mcu-1m": (Path(resolve_model("sea_urban_128_mcu1m")),
                       Path(resolve_model("sea_urban_128_mcu1m.int8")))}


@pytest.mark.parametrize("tier", ["mcu", "mcu-1m"])
def test_exported_students_fit_their_tiers(exported_students, tier):
    from edgesea.export import tflite_footprint
    from edgesea.models import load_model

    model_path, tflite = exported_students[tier]
    rep = tflite_footprint(tflite)
    assert check_budget(rep.flash_bytes, rep.arena_bytes, tier) == []
    t = get_tier(tier)  # with ~10 % margin
    assert rep.flash_bytes < 0.9 * t.flash_bytes and rep.arena_bytes < 0.9 * t.arena_bytes
    m = macs(load_model(model_path))
    assert rep.macs["network"] == m["network"]  # the int8 graph does the float model's MACs
    assert rep.macs["frontend"] == m["frontend"]  # front end from <name>.edge.json


def test_cli_footprint_tiers(exported_students):
    tflite = str(exported_students["mcu-1m"][1])
    r = runner.invoke(app, ["footprint", tflite, "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["tiers"]["mcu-1m"] == {"fits": True, "over": [], "flash_bytes": 1 << 20,
                                      "arena_bytes": 1 << 18}
    assert rep["tiers"]["mcu"]["fits"] is False and rep["tiers"]["mcu"]["over"]
    assert r.stderr == ""
    r = runner.invoke(app, ["footprint", tflite, "--tier", "mcu", "--json"])
    assert r.exit_code == 0, r.output
    assert list(json.loads(r.stdout)["tiers"]) == ["mcu"]
    assert "warning: the model exceeds tier mcu" in r.stderr
    r = runner.invoke(app, ["footprint", tflite])
    assert r.exit_code == 0 and "MACs per window" in r.stdout
    assert "tier mcu-1m" in r.stdout and "fits" in r.stdout
    r = runner.invoke(app, ["footprint", tflite, "--tier", "mcu9"])
    assert r.exit_code == 2 and "unknown tier 'mcu9'" in r.output


def test_cli_export_checks_the_tier(exported_students, tmp_path):
    r = exported_students["cli"]
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()  # the converter's own progress lines may come first
    rep = json.loads("\n".join(lines[lines.index("{"):]))
    assert list(rep["tiers"]) == ["mcu"] and rep["tiers"]["mcu"]["fits"]
    assert rep["device"]["arena_bytes"] < 64 * 1024
    assert rep["device"]["flash_bytes"] == exported_students["mcu"][1].stat().st_size
    assert rep["device"]["macs"]["network"] == macs(sea_mcu_student(128))["network"]
    assert r.stderr == ""
    model_path = str(exported_students["mcu"][0])
    r = runner.invoke(app, ["export", model_path, "-f", "onnx", "--out", str(tmp_path / "p"),
                            "--tier", "mcu"])
    assert r.exit_code == 2 and "add --format tflite-int8" in r.output
