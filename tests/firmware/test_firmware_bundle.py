"""``edgesea export MODEL --format firmware --out DIR`` and
:func:`edgesea.firmware.export_firmware`: the files of the bundle, the op resolver (exactly
the ops of the ``.tflite``, read independently from its flatbuffer), the arena, the budget
and the errors.

Needs the ``export`` extra's runtimes (ai-edge-litert, tflite-micro); skips without. The
shipped students are used, so ../shared is not needed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import typer
from typer.testing import CliRunner

from edgesea.cli.export import export_command
from edgesea.errors import EdgeSEAError
from edgesea.export.footprint import find_min_arena
from edgesea.firmware import export_firmware, model_ops
from edgesea.firmware.templates import resolver_method
from edgesea.packaged.names import PRETRAINED_DIR

app = typer.Typer()
app.command("export")(export_command)
app.command("other")(lambda: None)  # two commands: `export` is a sub-command
runner = CliRunner()


def _flatbuffer_ops(path) -> list[str]:
    """Builtin ops of a .tflite in graph order, read with the TFLite schema (not LiteRT)."""
    schema = pytest.importorskip(
        "tflite_micro.tensorflow.lite.micro.python.schema_py_generated")
    data = path.read_bytes()
    model = schema.Model.GetRootAsModel(data, 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = [max(model.OperatorCodes(i).BuiltinCode(),
                 model.OperatorCodes(i).DeprecatedBuiltinCode())
             for i in range(model.OperatorCodesLength())]
    graph = model.Subgraphs(0)
    ops: list[str] = []
    for i in range(graph.OperatorsLength()):
        name = names[codes[graph.Operators(i).OpcodeIndex()]]
        if name not in ops:
            ops.append(name)
    return ops


@pytest.fixture(scope="module")
def cli_bundle(tmp_path_factory):
    """`edgesea export sea_urban_64 --format firmware --out DIR --json`, run once."""
    pytest.importorskip("ai_edge_litert")
    pytest.importorskip("tflite_micro")
    out = tmp_path_factory.mktemp("fw") / "bundle"
    res = runner.invoke(app, ["export", "sea_urban_64", "--format", "firmware", "--out",
                              str(out), "--json"])
    assert res.exit_code == 0, res.output
    return out, json.loads(res.stdout)


def test_bundle_files(cli_bundle):
    out, info = cli_bundle
    names = {p.name for p in out.iterdir()}
    assert {"sea_urban_64_model_data.cc", "sea_urban_64_model_data.h", "edgesea_frontend.h",
            "edgesea_frontend.c", "main_tflm.cc", "README.md", "firmware.json",
            "sea_urban_64.int8.tflite", "sea_urban_64.edge.json"} <= names
    # the C array is the model, byte for byte
    text = (out / "sea_urban_64_model_data.cc").read_text()
    body = text[text.index("{") + 1:text.index("};")]
    data = bytes(int(b, 16) for b in re.findall(r"0x([0-9a-f]{2})", body))
    assert data == (PRETRAINED_DIR / "sea_urban_64.int8.tflite").read_bytes()
    assert json.loads((out / "firmware.json").read_text())["ops"] == info["ops"]


def test_op_resolver_lists_exactly_the_models_ops(cli_bundle):
    out, info = cli_bundle
    ops = _flatbuffer_ops(PRETRAINED_DIR / "sea_urban_64.int8.tflite")
    assert info["ops"] == ops == model_ops(PRETRAINED_DIR / "sea_urban_64.int8.tflite")
    main = (out / "main_tflm.cc").read_text()
    added = re.findall(r"resolver\.(Add\w+)\(\)", main)
    assert added == [resolver_method(op) for op in ops]
    assert len(set(added)) == len(added)
    assert "MicroMutableOpResolver<kNumOps>" in main
    assert re.search(rf"constexpr int kNumOps = {len(ops)};", main)
    assert "AddConv2D" in added and "AddDepthwiseConv2D" in added and "AddReduceMax" in added


def test_arena_and_budget_are_measured(cli_bundle):
    out, info = cli_bundle
    search = find_min_arena(PRETRAINED_DIR / "sea_urban_64.int8.tflite")
    assert info["arena_bytes"] == (search.reported or search.smallest_ok)
    main = (out / "main_tflm.cc").read_text()
    arena = int(re.search(r"#define EDGESEA_ARENA_BYTES (\d+)", main)[1])
    assert arena >= info["arena_bytes"] and arena - info["arena_bytes"] < 16
    b = info["budget"]
    assert b["ram_bytes"] == info["frontend"]["ram_bytes"] + info["arena_bytes"]
    assert b["model_bytes"] == (PRETRAINED_DIR / "sea_urban_64.int8.tflite").stat().st_size
    assert list(b["tiers"]) == ["mcu"]  # a packaged model is checked against its own tier
    assert b["tiers"]["mcu"]["fits"]
    readme = (out / "README.md").read_text()
    assert "an estimate from MACs" in readme and "not\na measurement" in readme
    assert f"{info['arena_bytes']:,} B" in readme and f"{b['ram_bytes']:,} B" in readme
    assert info["latency"]["kind"] == "estimate" and info["latency"]["network_macs"] > 10**6


@pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("g++") is None,
                    reason="no host C/C++ compiler")
def test_bundle_sources_compile(cli_bundle, tmp_path):
    """The front end compiles as strict C99 and the model array as C++ (TFLM's convention);
    main_tflm.cc needs the TFLM headers, which are not here."""
    out, _ = cli_bundle
    for cmd in (["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-c",
                 str(out / "edgesea_frontend.c"), "-o", str(tmp_path / "fe.o")],
                ["g++", "-std=c++11", "-Wall", "-Werror", "-c",
                 str(out / "sea_urban_64_model_data.cc"), "-o", str(tmp_path / "m.o")]):
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr


def test_api_options_and_tiers(tmp_path):
    pytest.importorskip("ai_edge_litert")
    b = export_firmware("sea_urban_128_mcu1m", tmp_path / "b", arena_bytes=200_000,
                        tiers=["mcu", "mcu-1m"], window_hop_frames=10, name="big")
    assert b.arena_bytes == 200_000 and b.ident == "big"
    assert (tmp_path / "b" / "big_model_data.cc").is_file()
    assert not b.budget["tiers"]["mcu"]["fits"]  # 663 KB of model > 300 KB
    assert b.budget["tiers"]["mcu"]["model_over"]
    assert b.budget["tiers"]["mcu-1m"]["fits"]
    assert any("tier mcu:" in w for w in b.warnings())
    assert "#define EDGESEA_WINDOW_HOP_FRAMES 10" in (tmp_path / "b" / "main_tflm.cc").read_text()
    assert b.latency["frontend_frames_per_window"] == 10


def test_errors(tmp_path):
    pytest.importorskip("ai_edge_litert")
    lone = tmp_path / "lone.safetensors"
    shutil.copyfile(PRETRAINED_DIR / "sea_urban_64.safetensors", lone)
    with pytest.raises(EdgeSEAError, match="--calibration"):
        export_firmware(lone, tmp_path / "x")
    # a stale spec (another quantization) is refused
    spec = json.loads((PRETRAINED_DIR / "sea_urban_64.edge.json").read_text())
    spec["input"]["scale"] = 0.5
    stale = tmp_path / "stale.edge.json"
    stale.write_text(json.dumps(spec))
    with pytest.raises(EdgeSEAError, match="does not describe"):
        export_firmware("sea_urban_64", tmp_path / "y", spec=stale, arena_bytes=1000)
    with pytest.raises(EdgeSEAError, match="arena_bytes"):
        export_firmware("sea_urban_64", tmp_path / "z", arena_bytes=0)
    with pytest.raises(EdgeSEAError, match="unknown tier"):
        export_firmware("sea_urban_64", tmp_path / "t", arena_bytes=1000, tiers=["huge"])
    res = runner.invoke(app, ["export", str(lone), "--format", "firmware", "--out",
                              str(tmp_path / "cli")])
    assert res.exit_code == 2 and "--calibration" in res.output
    assert resolver_method("PADV2") == "AddPadV2"
    assert resolver_method("L2_POOL_2D") == "AddL2Pool2D"
    with pytest.raises(EdgeSEAError, match="builtin"):
        resolver_method("CUSTOM")


def test_readme_names_the_model_as_given(tmp_path):
    """The README said `edgesea export mine_student`, which does not resolve for a model
    that is not packaged: it gives the model as it was exported (issue 34)."""
    pytest.importorskip("ai_edge_litert")
    import shutil

    from edgesea.packaged.names import PRETRAINED_DIR, resolve_model

    own = tmp_path / "my models"
    own.mkdir()
    for ext in (".safetensors", ".int8.tflite", ".edge.json"):
        shutil.copy(PRETRAINED_DIR / f"sea_urban_64{ext}", own / f"mine_student{ext}")
    model = own / "mine_student.safetensors"
    b = export_firmware(model, tmp_path / "fw", arena_bytes=100_000, measure=False)
    readme = (tmp_path / "fw" / "README.md").read_text()
    assert f"`edgesea export '{model}' --format firmware`" in readme
    assert "edgesea export mine_student " not in readme
    assert b.source == str(model) and resolve_model(b.source) == str(model)
    b = export_firmware("sea_urban_64", tmp_path / "fw2", name="other", arena_bytes=100_000,
                        measure=False)
    assert "`edgesea export sea_urban_64 --format firmware`" in (
        tmp_path / "fw2" / "README.md").read_text()
