"""Tests of :mod:`edgesea.export` and ``edgesea export`` / ``edgesea footprint``: int8 TFLite,
ONNX (float and QDQ int8) and C-array exports of a tiny trained student, the firmware JSON,
TFLM vs LiteRT agreement, the arena measurement and every error case.

Tests that need the ``export`` extra (litert-torch, tflite-micro, onnxruntime) skip when it is
absent; the audio is synthetic, written into a temporary folder, so ../shared is not needed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import typer
from typer.testing import CliRunner

from edgesea.cli.export import export_command, footprint_command
from edgesea.errors import EdgeSEAError
from edgesea.export import (
    c_identifier,
    export_model,
    exportable,
    quantize_input,
    reference_logmel,
    tflite_footprint,
    write_c_array,
)
from edgesea.export.calibration import logmel_windows
from edgesea.models import ModelConfig, load_model, save_model, sea_student
from edgesea.runtime.litert import parse_arena_total, require

N_CAL = 48  # calibration windows in tests (the CLI default is 256); keeps the file fast

app = typer.Typer()
app.command("export")(export_command)
app.command("footprint")(footprint_command)
runner = CliRunner()


def _needs_extra() -> None:
    for mod in ("litert_torch", "tflite_micro", "ai_edge_litert", "onnx", "onnxruntime"):
        pytest.importorskip(mod)


def _write_clips(folder: Path, n: int, seconds: float, seed: int = 0) -> Path:
    """Synthetic 'in-domain' clips: gliding tones with noise and a slow envelope, at three
    sample rates (so resampling is exercised); one stereo file."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        sr = (8000, 16000, 22050)[i % 3]
        t = np.arange(int(sr * seconds)) / sr
        f0 = 150.0 + 170.0 * i
        x = 0.3 * np.sin(2 * np.pi * f0 * t * (1 + 0.2 * np.sin(2 * np.pi * 0.5 * t)))
        x = (x + 0.05 * rng.standard_normal(t.size)) * (0.6 + 0.4 * np.sin(2 * np.pi * t))
        if i == 1:
            x = np.stack([x, 0.5 * x], axis=1)
        sf.write(folder / f"clip{i:02d}.wav", x.astype(np.float32), sr)
    return folder


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory) -> Path:
    """8 clips x 7 s: 56 one-second windows."""
    return _write_clips(tmp_path_factory.mktemp("audio") / "cal", 8, 7.0)


@pytest.fixture(scope="module")
def tiny_student(tmp_path_factory) -> Path:
    """A 16-d linear-head student with filters 4-4-8-8, trained a few Adam steps on random
    targets (so its BatchNorm statistics and weights are not the initial ones)."""
    torch.manual_seed(0)
    model = sea_student(16, head="linear", filters=(4, 4, 8, 8))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(6):
        waves = 0.1 * torch.randn(8, model.window_samples)
        loss = ((model(waves) - torch.randn(8, 16)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    path = tmp_path_factory.mktemp("model") / "student.safetensors"
    return Path(save_model(model.eval(), path))


@pytest.fixture(scope="module")
def exported(tiny_student, audio_dir, tmp_path_factory):
    """All four formats of the tiny student, exported once."""
    _needs_extra()
    out = tmp_path_factory.mktemp("export")
    result = export_model(tiny_student, ["tflite-int8", "c-array", "onnx", "onnx-int8"], out,
                          calibration_dir=audio_dir, n_calibration=N_CAL, name="tiny",
                          progress=False)
    return result


# --- pieces that need no extra ----------------------------------------------------------

@pytest.mark.parametrize("head,pool", [("paper", "max"), ("linear", "max"),
                                       ("linear", "meanmax")])
def test_exportable_graph_equals_embed_logmel(head, pool):
    torch.manual_seed(1)
    model = sea_student(16, head=head, filters=(4, 4, 8, 16 if head == "paper" else 8))
    if pool != "max":
        cfg = model.config.to_dict()
        cfg["global_pool"] = pool
        model = type(model)(ModelConfig.from_dict(cfg))
    with torch.no_grad():  # non-trivial BN statistics
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
        model.input_bn.running_mean.fill_(-40.0)
    model.eval()
    x = torch.rand(3, 64, 50) * -80
    graph = exportable(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in graph.modules())
    torch.testing.assert_close(graph(x), model.embed_logmel(x), rtol=1e-4, atol=1e-5)


def test_c_identifier():
    assert c_identifier("spec-paper student") == "spec_paper_student"
    assert c_identifier("3x") == "m_3x"
    assert c_identifier("int") == "int_model"
    with pytest.raises(EdgeSEAError, match="C identifier"):
        c_identifier("---")


def test_c_array_round_trip(tmp_path):
    data = bytes(range(256)) * 3 + b"\x07"
    files = write_c_array(data, tmp_path, "demo")
    src = Path(files.source).read_text()
    assert "alignas(16) const unsigned char g_demo_model_data[] = {" in src
    assert f"const unsigned int g_demo_model_data_size = {len(data)};" in src
    body = src.split("{", 1)[1].split("}", 1)[0]
    assert bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", body)) == data
    header = Path(files.header).read_text()
    assert "extern const unsigned char g_demo_model_data[];" in header
    with pytest.raises(EdgeSEAError, match="empty"):
        write_c_array(b"", tmp_path, "demo")


def test_require_names_the_extra():
    with pytest.raises(EdgeSEAError, match=re.escape("pip install edgesea[export]")):
        require("edgesea_no_such_module_xyz")


def test_parse_arena_total():
    text = "[RecordingMicroAllocator] Arena allocation total 218304 bytes\nother\n"
    assert parse_arena_total(text) == 218304
    assert parse_arena_total("nothing here") is None


def test_calibration_errors(tmp_path, audio_dir):
    fe = sea_student(16, head="linear", filters=(4, 4, 8, 8)).frontend
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not audio")
    with pytest.raises(EdgeSEAError, match="no audio files found"):
        logmel_windows(empty, fe, 8000, 4, progress=False)
    with pytest.raises(EdgeSEAError, match="not found"):
        logmel_windows(tmp_path / "missing", fe, 8000, 4, progress=False)
    with pytest.raises(EdgeSEAError, match=r"gave only 56 usable 1 s windows.*1000 are needed"):
        logmel_windows(audio_dir, fe, 8000, 1000, progress=False)
    wins = logmel_windows(audio_dir, fe, 8000, 10, progress=False)
    assert wins.logmels.shape == (10, 64, 50) and np.isfinite(wins.logmels).all()
    assert wins.logmels.max() <= 0.0 and wins.logmels.min() >= -80.0 - 1e-3


def test_export_errors(tmp_path, tiny_student, audio_dir):
    with pytest.raises(EdgeSEAError, match=r"unknown export format 'tflite'.*tflite-int8"):
        export_model(tiny_student, "tflite", tmp_path / "o", calibration_dir=audio_dir)
    with pytest.raises(EdgeSEAError, match=r"'firmware' is a folder.*export_firmware"):
        export_model(tiny_student, "firmware", tmp_path / "o", calibration_dir=audio_dir)
    with pytest.raises(EdgeSEAError, match="need calibration audio"):
        export_model(tiny_student, "c-array", tmp_path / "o")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(EdgeSEAError, match=r"not a readable edgesea model.*Accepted"):
        export_model(junk, "onnx", tmp_path / "o")
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(3)}, foreign)
    with pytest.raises(EdgeSEAError, match="not an edgesea model"):
        export_model(foreign, "onnx", tmp_path / "o")
    empty = tmp_path / "silence"
    empty.mkdir()
    with pytest.raises(EdgeSEAError, match="no audio files"):
        export_model(tiny_student, "tflite-int8", tmp_path / "o", calibration_dir=empty)
    with pytest.raises(EdgeSEAError, match=r"gave only 56 usable.*256 are needed"):
        export_model(tiny_student, "tflite-int8", tmp_path / "o", calibration_dir=audio_dir,
                     progress=False)
    assert not (tmp_path / "o").exists()  # nothing is written before the inputs are checked


def test_cli_export_errors(tmp_path, tiny_student, audio_dir):
    r = runner.invoke(app, ["export", str(tiny_student), "--format", "pb", "--out",
                            str(tmp_path / "o"), "--calibration", str(audio_dir)])
    assert r.exit_code == 2 and "unknown export format 'pb'" in r.output
    r = runner.invoke(app, ["export", str(tmp_path / "nope.safetensors"), "-f", "onnx",
                            "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "model file not found" in r.output
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a flatbuffer at all")
    r = runner.invoke(app, ["footprint", str(bad)])
    assert r.exit_code == 2 and "not a TFLite flatbuffer" in r.output


def _invalid_tflite_files(tmp_path: Path) -> dict[str, Path]:
    real = Path(__file__).resolve().parents[2] / "src" / "edgesea" / "pretrained"
    real = next(iter(sorted(real.glob("*.int8.tflite"))), None)
    rng = np.random.default_rng(3)
    contents = {"empty": b"", "random bytes": rng.bytes(5000),
                "random bytes with TFL3": b"\x1c\x00\x00\x00TFL3" + rng.bytes(4000)}
    if real is not None:
        data = real.read_bytes()
        contents["truncated real, half"] = data[:len(data) // 2]
        contents["truncated real, 100 bytes"] = data[:100]
        contents["truncated real, last byte"] = data[:-1]
    files = {}
    for name, content in contents.items():
        files[name] = tmp_path / (name.replace(" ", "_").replace(",", "") + ".tflite")
        files[name].write_bytes(content)
    files["directory"] = tmp_path
    return files


def test_footprint_of_invalid_tflite_files_is_a_clean_error(tmp_path):
    pytest.importorskip("ai_edge_litert")
    for name, path in _invalid_tflite_files(tmp_path).items():
        with pytest.raises(EdgeSEAError, match=r"(not a TFLite|not a valid|directory)"):
            tflite_footprint(path)
        r = runner.invoke(app, ["footprint", str(path)])
        assert r.exit_code == 2, (name, r.output)
        assert "Traceback" not in r.output and "error:" in r.output, (name, r.output)


# --- real exports (need the export extra) -------------------------------------------------

def test_export_files_and_agreement(exported):
    files = exported.files
    for key in ("tflite-int8", "c-source", "c-header", "onnx", "onnx-int8", "spec"):
        assert Path(files[key]).is_file() and Path(files[key]).stat().st_size > 0, key
    assert Path(files["tflite-int8"]).read_bytes()[4:8] == b"TFL3"
    assert exported.calibration["n_windows"] == N_CAL
    assert exported.check["onnx"]["cosine_min"] > 0.99999
    assert exported.check["tflite-int8"]["cosine_mean"] > 0.99
    assert exported.check["onnx-int8"]["cosine_mean"] > 0.95
    assert not list(Path(exported.out_dir).glob(".tmp-*"))


def test_onnx_has_a_dynamic_batch(exported, tiny_student):
    import onnxruntime as ort

    sess = ort.InferenceSession(exported.files["onnx"], providers=["CPUExecutionProvider"])
    x = (torch.rand(3, 64, 50) * -80).numpy()
    (got,) = sess.run(["embedding"], {"logmel": x})
    with torch.inference_mode():
        want = load_model(tiny_student).embed_logmel(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_tflite_is_full_int8_with_builtin_ops(exported):
    from edgesea.runtime.litert import litert_interpreter

    interp = litert_interpreter(exported.files["tflite-int8"])
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    assert inp["dtype"] == np.int8 and out["dtype"] == np.int8
    assert list(inp["shape"]) == [1, 64, 50] and list(out["shape"]) == [1, 16]
    ops = {op["op_name"] for op in interp._get_ops_details()}
    assert ops <= {"CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "REDUCE_MAX", "RESHAPE",
                   "TRANSPOSE", "FULLY_CONNECTED", "QUANTIZE", "DELEGATE"}, ops


def test_spec_json_is_complete(exported, tiny_student, audio_dir):
    spec = json.loads(Path(exported.files["spec"]).read_text())
    assert spec["format"] == "edgesea-edge-spec"
    assert spec["input"]["dtype"] == "int8" and spec["input"]["shape"] == [1, 64, 50]
    assert spec["input"]["scale"] == pytest.approx(exported.quantization["input"]["scale"])
    assert spec["output"]["zero_point"] == exported.quantization["output"]["zero_point"]
    assert spec["model"]["files"]["tflite-int8"] == "tiny.int8.tflite"
    model = load_model(tiny_student)
    assert spec["frontend"]["config"] == model.frontend.config()
    audio, sr = sf.read(audio_dir / "clip00.wav", dtype="float32")
    assert sr == 8000
    window = audio[:8000]
    ref = reference_logmel(spec, window)
    with torch.inference_mode():
        want = model.frontend(torch.from_numpy(window)[None])[0].numpy()
    np.testing.assert_allclose(ref, want, atol=2e-3)
    q = quantize_input(ref, spec["input"]["scale"], spec["input"]["zero_point"])
    q_want = quantize_input(want, spec["input"]["scale"], spec["input"]["zero_point"])
    assert np.abs(q.astype(int) - q_want.astype(int)).max() <= 1


def test_c_array_compiles_and_matches_tflite(exported, tmp_path):
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc not installed")
    data = Path(exported.files["tflite-int8"]).read_bytes()
    obj = tmp_path / "model.o"
    subprocess.run([gcc, "-c", "-std=c++17", "-Wall", "-Werror", exported.files["c-source"],
                    "-o", str(obj)], check=True, capture_output=True)
    nm = shutil.which("nm")
    if nm is not None:
        syms = subprocess.run([nm, "-S", "-C", str(obj)], check=True, capture_output=True,
                              text=True).stdout
        sizes = {line.split()[-1]: int(line.split()[1], 16) for line in syms.splitlines()
                 if len(line.split()) == 4}
        assert sizes["g_tiny_model_data"] == len(data)
        assert sizes["g_tiny_model_data_size"] == 4
    src = Path(exported.files["c-source"]).read_text()
    body = src.split("= {", 1)[1].split("}", 1)[0]
    assert bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", body)) == data
    assert f"g_tiny_model_data_size = {len(data)};" in src


def test_tflm_matches_litert(exported, audio_dir):
    from edgesea.runtime.litert import run_litert, run_tflm

    model = sea_student(16, head="linear", filters=(4, 4, 8, 8))
    wins = logmel_windows(audio_dir, model.frontend, 8000, 24, seed=5, progress=False)
    q_lite, deq = run_litert(exported.files["tflite-int8"], wins.logmels)
    q_micro, deq_micro = run_tflm(exported.files["tflite-int8"], wins.logmels,
                                  arena_size=200_000)
    assert q_lite.dtype == np.int8 and q_lite.shape == (24, 16)
    assert np.abs(q_lite.astype(int) - q_micro.astype(int)).max() <= 1
    assert np.abs(deq - deq_micro).max() <= exported.quantization["output"]["scale"] * 1.01


def test_footprint_report(exported, tiny_student, audio_dir):
    rep = tflite_footprint(exported.files["tflite-int8"], audio_dir=audio_dir,
                           float_model=tiny_student, n_windows=16, repeats=2)
    path = Path(exported.files["tflite-int8"])
    assert rep.flash_bytes == path.stat().st_size
    s = rep.arena_search
    assert s["reported"] is not None and s["reported"] > 0
    assert s["smallest_ok"] - s["largest_failing"] <= 16
    assert s["largest_failing"] < s["reported"] <= s["smallest_ok"]
    assert rep.arena_bytes == s["reported"]
    assert rep.latency_ms is not None and 0 < rep.latency_ms < 1000
    assert rep.tflm_vs_litert_max_lsb is not None and rep.tflm_vs_litert_max_lsb <= 1
    assert rep.int8_vs_float["cosine_mean"] > 0.99
    assert rep.int8_vs_float["n_windows"] == 16
    with pytest.raises(EdgeSEAError, match="pass --audio"):
        tflite_footprint(path, float_model=tiny_student)


def test_cli_export_and_footprint(tiny_student, audio_dir, tmp_path, exported):
    out = tmp_path / "cli"
    r = runner.invoke(app, ["export", str(tiny_student), "-f", "onnx", "--out", str(out),
                            "--name", "cli model", "-q"])
    assert r.exit_code == 0, r.output
    assert (out / "cli_model.onnx").is_file() and (out / "cli_model.edge.json").is_file()
    assert "onnx" in r.output
    # the .edge.json beside the .tflite supplies the front end when no float model is given
    r = runner.invoke(app, ["footprint", exported.files["tflite-int8"], "--audio",
                            str(audio_dir), "--windows", "8", "--repeats", "1", "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["flash_bytes"] == Path(exported.files["tflite-int8"]).stat().st_size
    assert rep["n_windows"] == 8 and rep["int8_vs_float"] == {}
    r = runner.invoke(app, ["footprint", exported.files["tflite-int8"]])
    assert r.exit_code == 0, r.output
    assert "TFLM arena (bytes)" in r.output and "flash (model bytes)" in r.output


def test_tflite_embedder_matches_the_float_model(exported, tiny_student, audio_dir):
    from edgesea.inference.int8 import TFLiteEmbedder

    emb = TFLiteEmbedder(exported.files["tflite-int8"])
    model = load_model(tiny_student).eval()
    assert (emb.sample_rate, emb.window, emb.emb_dim) == (8000, 1.0, model.emb_dim)
    audio, _ = sf.read(audio_dir / "clip00.wav", dtype="float32")
    windows = np.stack([audio[i * 8000:(i + 1) * 8000] for i in range(4)])
    with torch.no_grad():
        ref = model(torch.from_numpy(windows)).numpy()
    got = emb.embed(windows)
    cos = (got * ref).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(ref, axis=1)
    assert got.shape == ref.shape and cos.min() > 0.98
    assert emb.embed(windows[:0]).shape == (0, model.emb_dim)
    assert TFLiteEmbedder(exported.files["tflite-int8"]).identity == emb.identity
    with pytest.raises(EdgeSEAError):
        emb.embed(windows[:, :100])
    lonely = Path(exported.files["tflite-int8"]).parent / "copy" / "x.int8.tflite"
    lonely.parent.mkdir(exist_ok=True)
    lonely.write_bytes(Path(exported.files["tflite-int8"]).read_bytes())
    with pytest.raises(EdgeSEAError, match=r"edge\.json"):
        TFLiteEmbedder(lonely)


def test_firmware_export_reuses_an_identical_int8_export(tmp_path, audio_dir, monkeypatch):
    """`export --format firmware --calibration DIR` recalibrated although the same int8 file
    was there (issue 34): it is reused when the model, the calibration audio (content), the
    window count and the seed are the same, and made again when one changes."""
    _needs_extra()
    pytest.importorskip("tflite")
    import edgesea.export.exporter as exporter
    from edgesea.firmware.bundle import export_firmware_formats

    torch.manual_seed(0)
    tiny_student = tmp_path / "streamer.safetensors"  # the firmware program streams
    save_model(sea_student(16, head="linear", filters=(4, 4, 8, 8), stream=True).eval(),
               tiny_student)
    out = tmp_path / "fw"
    calls = []
    real = exporter.convert_tflite_int8
    monkeypatch.setattr(exporter, "convert_tflite_int8",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    kw = {"calibration_dir": audio_dir, "n_calibration": 32, "progress": False}
    first = export_firmware_formats(tiny_student, ["firmware"], out, **kw)
    assert len(calls) == 1 and "reused" not in first.export
    tfl = out / f"{first.name}.int8.tflite"
    stamp = tfl.stat().st_mtime_ns
    again = export_firmware_formats(tiny_student, ["firmware"], out, **kw)
    assert len(calls) == 1 and again.export["reused"] is True
    assert tfl.stat().st_mtime_ns == stamp
    export_firmware_formats(tiny_student, ["firmware"], out, **{**kw, "n_calibration": 33})
    assert len(calls) == 2  # another window count: calibrated again
    export_firmware_formats(tiny_student, ["firmware"], out, **kw)
    assert len(calls) == 3  # back to 32 windows: the files on disk are the 33-window ones
    cal = tmp_path / "cal"
    shutil.copytree(audio_dir, cal)
    export_firmware_formats(tiny_student, ["firmware"], out, **{**kw, "calibration_dir": cal})
    assert len(calls) == 3  # the same audio content in another folder: reused
    victim = sorted(p for p in cal.rglob("*") if p.is_file())[0]
    data, sr = sf.read(victim)
    sf.write(victim, data * 0.5, sr)
    export_firmware_formats(tiny_student, ["firmware"], out, **{**kw, "calibration_dir": cal})
    assert len(calls) == 4  # a calibration file changed: calibrated again
