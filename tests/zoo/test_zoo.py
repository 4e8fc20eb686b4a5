"""The packaged students of both capacity tiers: present, documented, within their tier's
budget, and bit-stable on a real clip; the zoo's names, paths and errors; the rebuild
command of ``benchmarks/build_zoo.py``.

Everything is checked against what ``python benchmarks/build_zoo.py cards`` wrote, for
whatever models are installed: a tier with no installed model is skipped. To check a
candidate zoo built elsewhere (``build_zoo.py pack --pretrained DIR/pretrained`` and
``cards --pretrained DIR/pretrained --docs DIR/docs --expected DIR/zoo_expected.npz``), run
``EDGESEA_ZOO_DIR=DIR pytest tests/zoo/test_zoo.py``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import edgesea
import edgesea.packaged.names
from edgesea.audio.io import load_audio
from edgesea.errors import EdgeSEAError
from edgesea.models import load_model
from edgesea.packaged.names import (
    EMB_DIMS,
    PRETRAINED_DIR,
    ZOO_TIERS,
    available,
    parse_zoo_name,
    pretrained_path,
    zoo_name,
)
from edgesea.packaged.tiers import check_budget

ROOT = Path(__file__).resolve().parents[2]
CLIP = ROOT / "examples" / "audio" / "fold1" / "103074-7-0-2.flac"
_ZOO = os.environ.get("EDGESEA_ZOO_DIR")
PRETRAINED = Path(_ZOO) / "pretrained" if _ZOO else PRETRAINED_DIR
DOCS = Path(_ZOO) / "docs" if _ZOO else ROOT / "docs" / "models"
EXPECTED = Path(_ZOO) / "zoo_expected.npz" if _ZOO else ROOT / "tests" / "data" / \
    "zoo_expected.npz"
SUFFIXES = (".safetensors", ".int8.tflite", ".edge.json", ".recipe.json", ".md")


@pytest.fixture
def zoo(monkeypatch) -> Path:
    """The zoo under test (the package, or ``$EDGESEA_ZOO_DIR/pretrained``)."""
    monkeypatch.setattr(edgesea.packaged.names, "PRETRAINED_DIR", PRETRAINED)
    return PRETRAINED


def _installed(tier: str) -> list[int]:
    """Embedding sizes of ``tier`` installed in the zoo under test, or skip the test."""
    dims = [d for _, d in available(tier)]
    if not dims:
        pytest.skip(f"no packaged models of tier {tier}")
    return dims


def _expected_key(dim: int, tier: str) -> str:
    return zoo_name("sea", dim, tier).replace("_urban_", "_", 1)


# -- the shipped models ------------------------------------------------------------------

@pytest.mark.parametrize("tier", ZOO_TIERS)
def test_every_shipped_model_reproduces_its_stored_embedding(zoo, tier: str) -> None:
    dims = _installed(tier)
    if not EXPECTED.is_file():
        pytest.skip("no zoo regression data")
    with np.load(EXPECTED) as z:
        exp = {k: z[k] for k in z.files}
    stored = sorted(d for d in EMB_DIMS if _expected_key(d, tier) in exp)
    assert stored == sorted(dims), "rerun `python benchmarks/build_zoo.py cards`"
    audio, sr = load_audio(ROOT / str(exp["clip"]))
    for d in dims:
        emb, ts = edgesea.get_embedding(audio, sr, model_type="sea", emb_dim=d,
                                        hop_size=0.5, tier=tier)
        want = exp[_expected_key(d, tier)]
        assert emb.shape == want.shape == (len(ts), d)
        np.testing.assert_allclose(emb, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def _tier_row(card: str) -> str:
    rows = [line for line in card.splitlines() if line.startswith("| tier |")]
    assert len(rows) == 1, "the card has no tier row"
    return rows[0]


@pytest.mark.parametrize("tier", ZOO_TIERS)
def test_shipped_files_and_cards(zoo, tier: str) -> None:
    total = 0
    readme = (DOCS / "README.md").read_text()
    for d in _installed(tier):
        name = zoo_name("sea", d, tier)
        for suffix in SUFFIXES:
            f = zoo / f"{name}{suffix}"
            assert f.is_file(), f
            total += f.stat().st_size
        card = (zoo / f"{name}.md").read_text()
        for needed in ("teacher", "fold 10 micro-AUPRC", "TFLM arena", "CC BY-NC 3.0",
                       "edgesea specialize upstream", "MACs per window", "level rule",
                       "teacher view", f"emb_dim={d}"):
            assert needed in card, (name, needed, "a card of an older build_zoo.py? rerun "
                                    "`python benchmarks/build_zoo.py cards`")
        assert "not evaluated" not in card
        assert card.startswith(f"# `{name}`: ") and f"tier `{tier}`" in card.splitlines()[0]
        usage = card.splitlines()[2]
        if tier == "mcu":
            assert "tier=" not in usage and "--tier" not in usage
        else:
            assert f"tier='{tier}'" in usage and f"--tier {tier}" in usage
        # the tier row states the tier, and that the measured int8 model fits its budget
        row = _tier_row(card)
        assert row.startswith(f"| tier | `{tier}`"), row
        m = re.search(r"flash ([\d,]+) B .*TFLM arena ([\d,]+) B", row)
        assert m, row
        flash, arena = (int(g.replace(",", "")) for g in m.groups())
        assert flash == (zoo / f"{name}.int8.tflite").stat().st_size
        assert check_budget(flash, arena, tier) == [], row
        assert f"fits tier `{tier}`" in row and "does not fit" not in row
        recipe = json.loads((zoo / f"{name}.recipe.json").read_text())
        assert recipe["config"]["emb_dim"] == d
        assert recipe.get("tier", "mcu") == tier
        assert (DOCS / f"{name}.md").read_text() == card
        assert f"| [`{name}`]({name}.md) | `{tier}` | {d} |" in readme, name
    assert total < 20e6  # all four sizes of a tier: the package stays small


@pytest.mark.parametrize("tier", ZOO_TIERS)
def test_shipped_float_files_hold_only_the_model_and_its_reducer(zoo, tier: str) -> None:
    """Nothing else rides along in a shipped ``.safetensors`` (no optimiser state, no
    training arrays): its bytes are its float32 weights and buffers plus the PCA it was
    trained against (``extra/reducer_*``, float64), and a header under 64 KB."""
    from safetensors import safe_open

    for d in _installed(tier):
        path = zoo / f"{zoo_name('sea', d, tier)}.safetensors"
        with safe_open(str(path), "pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        extra = {k for k in tensors if k.startswith("extra/")}
        assert extra and all(k.startswith("extra/reducer_") for k in extra), extra
        assert tensors["extra/reducer_components"].shape == (d, 512)
        assert {t.dtype for k, t in tensors.items() if k not in extra} <= {torch.float32,
                                                                            torch.int64}
        data = sum(t.numel() * t.element_size() for t in tensors.values())
        assert data < path.stat().st_size < data + 65_536, path.name


@pytest.mark.parametrize("tier", ZOO_TIERS)
def test_shipped_models_are_format_2_and_their_edge_specs_name_their_hash(zoo, tier) -> None:
    import hashlib
    import warnings

    from edgesea.models import load_model, read_header

    for d in _installed(tier):
        path = zoo / f"{zoo_name('sea', d, tier)}.safetensors"
        assert read_header(path)["format_version"] == 2
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "not integrity-checked" warning
            load_model(path)
        spec = json.loads((zoo / f"{zoo_name('sea', d, tier)}.edge.json").read_text())
        assert spec["model"]["source_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_defaults_work_offline_and_bad_choices_are_refused(zoo) -> None:
    if ("sea", 128) not in available():
        pytest.skip("no packaged 128-d model")
    audio, sr = load_audio(CLIP)
    emb, ts = edgesea.get_embedding(audio, sr)
    assert emb.shape == (len(ts), 128) and np.isfinite(emb).all()
    assert edgesea.get_model().emb_dim == 128
    with pytest.raises(EdgeSEAError, match="emb_dim"):
        edgesea.get_embedding(audio, sr, emb_dim=100)
    with pytest.raises(EdgeSEAError, match="model_type"):
        edgesea.get_embedding(audio, sr, model_type="l3")
    with pytest.raises(EdgeSEAError, match="tier"):
        edgesea.get_embedding(audio, sr, tier="mcu1m")


def test_the_larger_tier_is_another_model(zoo) -> None:
    both = sorted(set(_installed("mcu-1m")) & {d for _, d in available("mcu")})
    if not both:
        pytest.skip("no embedding size packaged in both tiers")
    d = both[0]
    small, large = edgesea.get_model(emb_dim=d), edgesea.get_model(emb_dim=d, tier="mcu-1m")
    assert small is not large and small.emb_dim == large.emb_dim == d
    assert pretrained_path("sea", d, "mcu-1m").endswith(f"sea_urban_{d}_mcu1m.safetensors")


# -- names, paths and errors (no packaged model needed) -----------------------------------

@pytest.mark.parametrize("emb_dim", [128.0, np.float64(128.0), "128", True, 100, None])
def test_emb_dim_must_be_one_of_the_integer_sizes(emb_dim) -> None:
    with pytest.raises(EdgeSEAError, match=r"emb_dim=.*expected an integer, one of \(512, "
                                           r"256, 128, 64\)"):
        pretrained_path("sea", emb_dim)


def test_integer_types_are_accepted(zoo) -> None:
    if ("sea", 128) in available():
        assert pretrained_path("sea", np.int64(128)) == pretrained_path("sea", 128)
    assert zoo_name("sea", np.int64(128)) == "sea_urban_128"


def test_zoo_names() -> None:
    assert zoo_name() == zoo_name("sea", 128, "mcu") == "sea_urban_128"
    assert zoo_name("sea", 64, "mcu-1m") == "sea_urban_64_mcu1m"
    names = {zoo_name("sea", d, t) for d in EMB_DIMS for t in ZOO_TIERS}
    assert len(names) == len(EMB_DIMS) * len(ZOO_TIERS)
    for d in EMB_DIMS:
        for t in ZOO_TIERS:
            assert parse_zoo_name(zoo_name("sea", d, t)) == ("sea", d, t)
    for bad in ("sea_urban_128_mcu", "sea_urban_0128", "sea_128", "sea_urban_128.md", "",
                "sea_urban_128_mcu-1m"):
        with pytest.raises(EdgeSEAError, match="not a packaged model name"):
            parse_zoo_name(bad)
    with pytest.raises(EdgeSEAError, match="tier"):
        zoo_name("sea", 128, "mcu1m")
    with pytest.raises(EdgeSEAError, match="emb_dim"):
        zoo_name("sea", 100, "mcu-1m")


@pytest.mark.parametrize("tier", ["mcu1m", "MCU", "", None, 1, "mcu-1M"])
def test_unknown_tiers_are_refused_with_the_valid_ones(tier) -> None:
    pattern = r"tier=.*expected one of \('mcu', 'mcu-1m'\)"
    with pytest.raises(EdgeSEAError, match=pattern):
        pretrained_path("sea", 128, tier)
    with pytest.raises(EdgeSEAError, match=pattern):
        available(tier)
    with pytest.raises(EdgeSEAError, match="tier"):
        edgesea.get_model(None, tier=tier)
    with pytest.raises(EdgeSEAError, match="tier"):  # validated with a model given, too
        edgesea.get_embedding(np.zeros(8000, np.float32), 8000, model=object(), tier=tier)


def test_paths_and_errors_per_tier(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(edgesea.packaged.names, "PRETRAINED_DIR", tmp_path)
    assert available() == available("mcu") == available("mcu-1m") == []
    (tmp_path / "sea_urban_128.safetensors").write_bytes(b"")
    (tmp_path / "sea_urban_256.safetensors").write_bytes(b"")
    (tmp_path / "sea_urban_64_mcu1m.safetensors").write_bytes(b"")
    (tmp_path / "sea_urban_512_mcu1m.int8.tflite").write_bytes(b"")  # not a float model
    assert available() == [("sea", 256), ("sea", 128)]
    assert available("mcu-1m") == [("sea", 64)]
    assert pretrained_path() == str(tmp_path / "sea_urban_128.safetensors")
    assert pretrained_path("sea", 64, "mcu-1m") == str(tmp_path /
                                                       "sea_urban_64_mcu1m.safetensors")
    assert pretrained_path("sea", 64, tier="mcu-1m") == pretrained_path("sea", 64, "mcu-1m")
    with pytest.raises(EdgeSEAError) as info:
        pretrained_path("sea", 128, "mcu-1m")
    msg = str(info.value)
    assert "emb_dim=128 is installed for tier 'mcu-1m'" in msg
    assert "tier mcu: sea/256, sea/128; tier mcu-1m: sea/64" in msg
    assert "tiers: mcu, mcu-1m" in msg and "model=" in msg
    with pytest.raises(EdgeSEAError, match="tier mcu-1m: sea/64"):
        pretrained_path("sea", 64)


# -- the command line ----------------------------------------------------------------------

def test_embed_tier_option(tmp_path, monkeypatch) -> None:
    from edgesea.cli import app
    from edgesea.models import save_model, sea_student

    runner = CliRunner()
    monkeypatch.setattr(edgesea.packaged.names, "PRETRAINED_DIR", tmp_path / "none")
    out = tmp_path / "out"
    res = runner.invoke(app, ["embed", str(CLIP), "-o", str(out), "--tier", "big"])
    assert res.exit_code == 2 and "tier='big'" in res.stderr and "mcu-1m" in res.stderr
    res = runner.invoke(app, ["embed", str(CLIP), "-o", str(out), "--tier", "mcu-1m",
                              "--emb-dim", "64"])
    assert res.exit_code == 2 and "for tier 'mcu-1m'" in res.stderr
    model = tmp_path / "m.safetensors"
    save_model(sea_student(32, head="linear", filters=(4, 4, 8, 8)).eval(), model)
    res = runner.invoke(app, ["embed", str(CLIP), "-o", str(out), "--model", str(model),
                              "--tier", "mcu-1m"])
    assert res.exit_code == 2 and "--tier mcu-1m selects a packaged model" in res.stderr
    assert not out.exists() or not list(out.iterdir())


# -- benchmarks/build_zoo.py ----------------------------------------------------------------

@pytest.fixture(scope="module")
def build_zoo():
    spec = importlib.util.spec_from_file_location("build_zoo",
                                                  ROOT / "benchmarks" / "build_zoo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _parse_specialize(command: str, audio_dir: Path) -> dict:
    """The option values ``edgesea specialize`` parses from ``command`` (not run)."""
    import typer.main

    from edgesea.cli import app

    args = shlex.split(command)
    assert args[:3] == ["edgesea", "specialize", "upstream"]
    cmd = typer.main.get_command(app).commands["specialize"]
    return cmd.make_context("specialize", [str(audio_dir), *args[3:]]).params


def test_rebuild_command_reproduces_every_setting(build_zoo, tmp_path) -> None:
    from edgesea.specialize.config import SpecializeConfig

    cfg = SpecializeConfig(
        teacher="aisfx", emb_dim=256, arch="mcu-1m", sample_rate=16000, level="absolute",
        view="norm", stream=True, sample_size="40%", reduction="pca", hop_size=0.25,
        reduction_options={"whiten": True}, augment_factor=2.0, augment={"mix_prob": 0.5},
        seed=3, train={"epochs": 7, "lr": 3e-4, "schedule": "cosine", "patience": 0,
                       "spec_mask": 4, "loss": "mse+cosine"}).to_dict()
    p = _parse_specialize(build_zoo.rebuild_command(cfg, "runs/x"), tmp_path)
    assert p["out"] == Path("runs/x")
    for key, flag in build_zoo._FLAGS:
        assert p[key] == cfg[key], (key, flag)
    assert p["stream"] is True
    for key, _ in build_zoo._TRAIN_FLAGS:
        assert p[key] == cfg["train"][key], key
    assert json.loads(p["reduction_options"]) == {"whiten": True, "rotate": True}
    assert json.loads(p["augment"]) == {"mix_prob": 0.5}
    # every setting of a run that the command line takes is in the command
    exposed = {f for f in cfg if f not in ("train", "reduction_options", "augment",
                                           "exclude_audio")}
    assert exposed <= {k for k, _ in build_zoo._FLAGS} | {"stream"}


def test_rebuild_command_of_an_old_config_states_the_defaults(build_zoo, tmp_path) -> None:
    # a config.json written before the front-end settings existed (as the first zoo's)
    old = {"teacher": "aisfx", "hop_size": 0.5, "emb_dim": 128, "sampling": "random",
           "sample_size": "50%", "train_on": "sample", "reduction": "pca", "arch": "mcu",
           "head": "linear", "val_fraction": 0.1, "group_by": "auto", "seed": 0,
           "augment_factor": 5.0, "train": {"epochs": 20, "lr": 0.001}}
    command = build_zoo.rebuild_command(old, "runs/y")
    assert "--sample-rate 8000 --level window --view full" in command
    assert "--no-stream" in command
    p = _parse_specialize(command, tmp_path)
    assert (p["sample_rate"], p["level"], p["view"], p["stream"]) == (8000, "window", "full",
                                                                       False)
    assert p["arch"] == old["arch"] and p["emb_dim"] == old["emb_dim"]


def test_cards_say_when_a_model_does_not_fit_its_tier(build_zoo) -> None:
    from edgesea.packaged.tiers import get_tier

    for flash, arena, fits in ((600_000, 200_000, True), (1_100_000, 200_000, False),
                               (600_000, 300_000, False)):
        info = {"q": {"flash_bytes": flash, "arena_bytes": arena},
                "tier": get_tier("mcu-1m"), "over": check_budget(flash, arena, "mcu-1m")}
        text = build_zoo._fit_text(info)
        assert f"flash {flash:,} B" in text and f"TFLM arena {arena:,} B" in text
        assert ("fits tier `mcu-1m`" in text) == fits
        assert ("does not fit" in text) == (not fits)


def test_pack_model_specs(build_zoo) -> None:
    assert build_zoo.parse_model_spec("128=runs/a") == (128, "mcu", Path("runs/a"))
    assert build_zoo.parse_model_spec("64:mcu-1m=runs/b=c") == (64, "mcu-1m",
                                                                Path("runs/b=c"))
    assert build_zoo.expected_key(zoo_name("sea", 64, "mcu-1m")) == "sea_64_mcu1m"
    assert build_zoo.expected_key(zoo_name("sea", 64)) == "sea_64"
    for bad in ("128", "128:mcu1m=runs/a", "x=runs/a", "128="):
        with pytest.raises(SystemExit, match="invalid --model"):
            build_zoo.parse_model_spec(bad)


def test_turning_a_trained_head_gives_the_rotated_targets_basis(tmp_path) -> None:
    """benchmarks/zoo_rotate.py: a student's head turned by R = spread_rotation(d) outputs
    exactly R times the original output; a second turn is refused."""
    from edgesea.models import save_model, sea_student
    from edgesea.reduce import spread_rotation

    spec = importlib.util.spec_from_file_location("zoo_rotate",
                                                  ROOT / "benchmarks" / "zoo_rotate.py")
    zr = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zr)
    torch.manual_seed(0)
    model = sea_student(16, head="linear", filters=(4, 4, 8, 8)).eval()
    x = torch.randn(3, 16000)
    with torch.no_grad():
        want = model(x).double() @ torch.from_numpy(spread_rotation(16)).T
        turned = zr.turn_head(model)
        torch.testing.assert_close(turned(x).double(), want, rtol=1e-5, atol=1e-6)
    assert turned.metadata["reducer"]["rotate"] is True
    with pytest.raises(SystemExit, match="already rotated"):
        zr.turn_head(turned)
    save_model(turned, tmp_path / "t.safetensors")


@pytest.mark.parametrize("tier", ZOO_TIERS)
def test_shipped_students_have_rotated_targets(zoo, tier: str) -> None:
    """The zoo recipe (docs/results.md, the zoo diagnosis): PCA targets turned by
    spread_rotation, so no output coordinate holds only a weak trailing component."""
    for d in _installed(tier):
        name = zoo_name("sea", d, tier)
        recipe = json.loads((zoo / f"{name}.recipe.json").read_text())
        assert recipe["config"]["reduction_options"] == {"rotate": True}, name
        assert load_model(zoo / f"{name}.safetensors").metadata["reducer"]["rotate"] is True
