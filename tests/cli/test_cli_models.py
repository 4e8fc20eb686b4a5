"""The packaged models by name: ``edgesea.zoo.resolve_model`` / ``catalog``, the ``edgesea
models`` command, names accepted by every command that takes a model, ``embed`` with an
int8 ``.tflite``, ``embed`` walking sub-folders by default, and clean ``-h`` texts."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import click
import numpy as np
import pytest
import soundfile as sf
import typer
from typer.testing import CliRunner, Result

import edgesea.evaluate.run
import edgesea.export
from edgesea.cli import app
from edgesea.cli.store import resolve_teacher_spec
from edgesea.errors import EdgeSEAError
from edgesea.inference.api import get_model
from edgesea.packaged.names import PRETRAINED_DIR, packaged_names, resolve_model
from edgesea.zoo import ZooModel, catalog

ROOT = Path(__file__).resolve().parents[2]
FOLD1 = ROOT / "examples" / "audio" / "fold1"
CLIPS = [FOLD1 / "103074-7-0-2.flac", FOLD1 / "113205-5-1-3.flac"]

runner = CliRunner()


def invoke(*args: object, code: int = 0, env: dict | None = None) -> Result:
    result = runner.invoke(app, [str(a) for a in args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.output
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


def _need(name: str) -> None:
    if name not in packaged_names():
        pytest.skip(f"{name} is not installed")


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


# -- resolve_model, catalog -------------------------------------------------------------

def test_resolve_model_names_paths_and_errors(tmp_path: Path) -> None:
    _need("sea_urban_64")
    float_file = str(PRETRAINED_DIR / "sea_urban_64.safetensors")
    int8_file = str(PRETRAINED_DIR / "sea_urban_64.int8.tflite")
    assert resolve_model("sea_urban_64") == float_file
    assert resolve_model("sea_urban_64.safetensors") == float_file
    assert resolve_model("sea_urban_64.int8") == int8_file
    assert resolve_model("sea_urban_64.int8.tflite") == int8_file
    assert resolve_model("sea_urban_64", kind="int8") == int8_file
    mine = tmp_path / "m.safetensors"
    mine.write_bytes(b"x")
    assert resolve_model(mine) == str(mine)  # an existing path is itself
    with pytest.raises(EdgeSEAError, match="model file not found") as err:
        resolve_model("sea_urban_65")
    assert "sea_urban_64" in str(err.value) and "sea_urban_128_mcu1m" in str(err.value)
    with pytest.raises(EdgeSEAError, match="not found"):
        resolve_model(tmp_path / "sea_urban_64")  # a path, not a name
    with pytest.raises(EdgeSEAError, match="int8 TFLite"):
        resolve_model("sea_urban_64.int8", kind="float")
    with pytest.raises(EdgeSEAError, match="kind"):
        resolve_model("sea_urban_64", kind="tflite")
    with pytest.raises(EdgeSEAError, match="model reference"):
        resolve_model(64)  # type: ignore[arg-type]


def test_catalog_reads_the_recorded_figures() -> None:
    models = catalog()
    assert [m.name for m in models] == packaged_names() and models
    by_name = {m.name: m for m in models}
    for m in models:
        assert isinstance(m, ZooModel)
        assert Path(m.path).is_file() and Path(m.card).is_file()
        if m.kind == "sparse":  # a pruned aisfx: no int8 file, no TFLM arena
            assert (m.model_type, m.emb_dim, m.tflite, m.arena_bytes) == ("sparse", 512,
                                                                         None, None)
            assert m.file_bytes == Path(m.path).stat().st_size and m.nonzero_weights > 0
            assert m.micro_auprc is None or 0 < m.micro_auprc < 1
            continue
        assert m.flash_bytes == Path(m.tflite).stat().st_size
        assert m.params and m.arena_bytes and 0 < m.micro_auprc < 1
        assert m.to_dict()["name"] == m.name
    if "sea_urban_64" in by_name:  # the card's and README's figures
        m = by_name["sea_urban_64"]
        assert (m.model_type, m.emb_dim, m.tier) == ("sea", 64, "mcu")
        assert (m.params, m.flash_bytes, m.arena_bytes) == (88132, 123120, 56864)
        assert (m.micro_auprc, m.micro_auprc_sd, m.micro_auprc_int8) == (0.794, 0.003, 0.793)
    if "sea_urban_128_mcu1m" in by_name:
        m = by_name["sea_urban_128_mcu1m"]
        assert (m.tier, m.params, m.arena_bytes) == ("mcu-1m", 570980, 146544)


def test_models_command_table_and_json() -> None:
    _need("sea_urban_64")
    text = invoke("models").stdout
    lines = text.splitlines()
    assert "TFLM arena B" in lines[0] and "fold-10 micro-AUPRC" in lines[0]
    row = next(line for line in lines if line.startswith("sea_urban_64 "))
    assert "88,132" in row and "123,120" in row and "56,864" in row and "0.794" in row
    assert "NAME.int8" in text and ".md" in text
    data = json.loads(invoke("models", "--json").stdout)
    assert [d["name"] for d in data] == packaged_names()
    assert {"flash_bytes", "arena_bytes", "micro_auprc", "card", "tier", "params"} <= set(
        data[0])


# -- names wherever a model is taken ----------------------------------------------------

def test_info_accepts_names_and_int8_files() -> None:
    _need("sea_urban_64")
    res = invoke("info", "sea_urban_64", "--json")
    assert json.loads(res.stdout)["config"]["emb_dim"] == 64
    res = invoke("info", "sea_urban_64.int8")
    assert "int8 TFLite" in res.stdout and "123,120 bytes" in res.stdout
    d = json.loads(invoke("info", "sea_urban_64.int8.tflite", "--json").stdout)
    assert d["format"] == "tflite-int8" and d["model"]["emb_dim"] == 64
    res = invoke("info", "sea_urban_0", code=2)
    assert "not found" in res.stderr and "sea_urban_64" in res.stderr


def test_get_model_accepts_a_name() -> None:
    _need("sea_urban_64")
    assert get_model("sea_urban_64").emb_dim == 64
    with pytest.raises(EdgeSEAError, match="int8 TFLite"):
        get_model("sea_urban_64.int8")
    with pytest.raises(EdgeSEAError, match="model file not found"):
        get_model("no_such_model.safetensors")


def test_export_footprint_evaluate_resolve_names(monkeypatch, tmp_path: Path) -> None:
    """The name reaches the loader as the packaged file (the work itself is stubbed)."""
    _need("sea_urban_64")
    seen: dict[str, object] = {}

    def stub(key: str, arg: int = 0):
        def run(*args, **kwargs):
            seen[key] = args[arg]  # the model (the models of run_evaluation)
            raise EdgeSEAError(f"stub {key}")
        return run

    monkeypatch.setattr(edgesea.export, "export_model", stub("export"))
    monkeypatch.setattr(edgesea.export, "tflite_footprint", stub("footprint"))
    monkeypatch.setattr(edgesea.evaluate.run, "run_evaluation", stub("evaluate", 1))
    invoke("export", "sea_urban_64", "-o", tmp_path / "x", "-f", "onnx", code=2)
    assert seen["export"] == str(PRETRAINED_DIR / "sea_urban_64.safetensors")
    invoke("footprint", "sea_urban_64", code=2)
    assert seen["footprint"] == str(PRETRAINED_DIR / "sea_urban_64.int8.tflite")
    invoke("evaluate", "--dataset", tmp_path, "--model", "sea_urban_64", "--model",
           "sea_urban_128.int8", code=2)
    assert [p.name for p in seen["evaluate"]] == ["sea_urban_64.safetensors",
                                                  "sea_urban_128.int8.tflite"]
    res = invoke("evaluate", "--dataset", tmp_path, "--model", "nope_64", code=2)
    assert "not found" in res.stderr and "sea_urban_64" in res.stderr
    res = invoke("export", "sea_urban_64.int8", "-o", tmp_path / "x", "-f", "onnx", code=2)
    assert "int8 TFLite" in res.stderr


def test_teacher_spec_resolves_a_packaged_name() -> None:
    _need("sea_urban_64")
    path = str(PRETRAINED_DIR / "sea_urban_64.safetensors")
    assert resolve_teacher_spec("model:sea_urban_64") == f"model:{path}"
    assert resolve_teacher_spec("model:sea_urban_64@norm:16000") == f"model:{path}@norm:16000"
    assert resolve_teacher_spec("aisfx@band:8000") == "aisfx@band:8000"
    with pytest.raises(EdgeSEAError, match="not found"):
        resolve_teacher_spec("model:sea_urban_0")


# -- embed with an int8 .tflite -----------------------------------------------------------

@pytest.mark.parametrize("name", ["sea_urban_64", "sea_urban_128"])
def test_embed_int8_tflite_agrees_with_the_float_model(tmp_path: Path, name: str) -> None:
    """Two real clips in one run (batches span both files) through LiteRT: the rows of
    each file agree with the float model's (mean cosine > 0.95)."""
    _need(name)
    audio = tmp_path / "audio"
    audio.mkdir()
    for clip in CLIPS:
        shutil.copy(clip, audio / clip.name)
    if name == "sea_urban_64":  # a user's exported file: x.int8.tflite + x.edge.json
        model = tmp_path / "x.int8.tflite"
        shutil.copy(PRETRAINED_DIR / f"{name}.int8.tflite", model)
        shutil.copy(PRETRAINED_DIR / f"{name}.edge.json", tmp_path / "x.edge.json")
    else:
        model = f"{name}.int8"
    res = invoke("embed", audio, "-o", tmp_path / "int8", "--model", model,
                 "--batch-size", "7")
    assert "written 2, skipped 0, failed 0" in res.stdout
    invoke("embed", audio, "-o", tmp_path / "float", "--model", name, "-q")
    for clip in CLIPS:
        q = np.load(tmp_path / "int8" / f"{clip.stem}.npz")
        f = np.load(tmp_path / "float" / f"{clip.stem}.npz")
        assert q["embedding"].shape == f["embedding"].shape
        assert np.array_equal(q["timestamps"], f["timestamps"])
        assert _cosine(q["embedding"], f["embedding"]).mean() > 0.95
        assert json.loads(str(q["provenance"]))["model"] != json.loads(
            str(f["provenance"]))["model"]
    res = invoke("embed", audio, "-o", tmp_path / "int8", "--model", model)
    assert "written 0, skipped 2, failed 0" in res.stdout  # same settings: skipped
    res = invoke("embed", audio, "-o", tmp_path / "int8", "--model", model, "--emb-dim",
                 "512", code=2)
    assert "--emb-dim 512 does not match" in res.stderr


def test_embed_int8_without_litert_names_the_extra(tmp_path: Path, monkeypatch) -> None:
    _need("sea_urban_64")
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)  # not importable
    res = invoke("embed", CLIPS[0], "-o", tmp_path, "--model", "sea_urban_64.int8", code=2)
    assert "pip install edgesea[export]" in res.stderr
    assert not list(tmp_path.iterdir())


# -- embed walks sub-folders ----------------------------------------------------------------

def test_embed_walks_subfolders_by_default(tmp_path: Path, tiny_model_path: str) -> None:
    top = tmp_path / "top"
    (top / "sub" / "deeper").mkdir(parents=True)
    tone = (0.1 * np.sin(np.arange(8000) / 8000 * 2 * np.pi * 440)).astype(np.float32)
    sf.write(top / "a.wav", tone, 8000)
    sf.write(top / "sub" / "deeper" / "b.wav", tone, 8000)
    invoke("embed", top, "--model", tiny_model_path, "-q")
    assert (top / "a.npz").is_file() and (top / "sub" / "deeper" / "b.npz").is_file()
    (top / "sub" / "deeper" / "b.npz").unlink()
    res = invoke("embed", top, "--model", tiny_model_path, "--no-recursive")
    assert "written 0, skipped 1, failed 0" in res.stdout
    assert not (top / "sub" / "deeper" / "b.npz").exists()
    (top / "a.wav").unlink()
    res = invoke("embed", top, "--model", tiny_model_path, "--no-recursive", code=2)
    assert "no audio files found" in res.stderr and "drop --no-recursive" in res.stderr
    res = invoke("embed", top, "--model", tiny_model_path, "-r", "-q")
    assert (top / "sub" / "deeper" / "b.npz").is_file()


# -- help texts -------------------------------------------------------------------------------

MINE = ("embed", "info", "teacher-embed", "sample", "models", "convert-edgel3", "prune")


def test_help_texts_are_complete_and_clean() -> None:
    group = typer.main.get_command(app)
    ctx = click.Context(group)
    for name in MINE:
        cmd = group.commands[name]
        for param in cmd.get_params(ctx):
            assert getattr(param, "help", None), f"{name} {param.name}: no help text"
        # no line break inside a paragraph: the description wraps at the terminal width
        assert all("\n" not in p for p in cmd.help.split("\n\n")), name
    for name in ("", *group.commands):
        out = invoke(*([name] if name else []), "-h", env={"COLUMNS": "100"}).stdout
        assert "<bool>" not in out and "BOOLEAN" not in out, name
    embed_hop = next(p for p in group.commands["embed"].params if p.name == "hop_size")
    assert "edgel3" in embed_hop.help and "0.5 s" in embed_hop.help
    teacher_hop = next(p for p in group.commands["teacher-embed"].params
                       if p.name == "hop_size")
    assert "overlap" in teacher_hop.help and "cost" in teacher_hop.help
    out = invoke("embed", "-h", env={"COLUMNS": "100"}).stdout
    assert "--no-recursive" in out and "sea_urban_64" in out
