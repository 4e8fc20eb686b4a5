"""A new user's first hour with ``edgesea specialize`` / ``export`` / ``footprint``: the
defaults are the shipped recipe, a weak student comes with advice, and a model too large for
every device tier gets a warning."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

import edgesea.export
import edgesea.specialize.pipeline
from edgesea.cli import app
from edgesea.cli.export import tier_check
from edgesea.distill.train import TrainConfig
from edgesea.errors import EdgeSEAError
from edgesea.packaged.names import PRETRAINED_DIR
from edgesea.specialize.pipeline import SpecializeConfig, SpecializeResult, training_advice

ROOT = Path(__file__).resolve().parents[2]
RECIPE = PRETRAINED_DIR / "sea_urban_128.recipe.json"
runner = CliRunner()


def _shipped_config() -> dict:
    """The settings the shipped 128-d student was made with (without its data paths)."""
    cfg = json.loads(RECIPE.read_text())["config"]
    return {k: v for k, v in cfg.items() if k not in ("exclude_audio", "edgesea_version")}


def _jsonable(value):
    return json.loads(json.dumps(value))


# -- defaults: the shipped recipe ---------------------------------------------------------

def test_specialize_config_defaults_are_the_shipped_recipe() -> None:
    assert _jsonable({k: v for k, v in SpecializeConfig().to_dict().items()
                      if k != "exclude_audio"}) == _shipped_config()
    t = TrainConfig()
    assert (t.epochs, t.lr, t.schedule, t.patience) == (40, 1e-3, "cosine", 0)


def _fake_result(run: Path, **distill) -> SpecializeResult:
    d = {"best_epoch": 17, "epochs_run": 20, "stopped_early": False, "val_r2": 0.68,
         "train_r2": 0.74, "val_cosine": 0.85, "val_mse": 0.1, **distill}
    return SpecializeResult(run_dir=run, student_path=run / "student.safetensors",
                            report_path=run / "report.md", stages={"distill": d}, ran={})


def _invoke_specialize(tmp_path: Path, monkeypatch, args=(), **distill):
    seen = {}

    def fake_specialize(audio_dir, run_dir, config, **kw):
        seen["config"] = config
        return _fake_result(Path(run_dir), **distill)

    monkeypatch.setattr(edgesea.specialize.pipeline, "specialize", fake_specialize)
    (tmp_path / "audio").mkdir(exist_ok=True)
    r = runner.invoke(app, ["specialize", str(tmp_path / "audio"), "--out",
                            str(tmp_path / "run"), *args])
    assert r.exit_code == 0, r.output
    return r, seen["config"]


def test_cli_specialize_without_options_is_the_shipped_recipe(tmp_path, monkeypatch) -> None:
    r, config = _invoke_specialize(tmp_path, monkeypatch)
    assert _jsonable({k: v for k, v in config.to_dict().items()
                      if k != "exclude_audio"}) == _shipped_config()
    # a healthy microcontroller run: the summary line and nothing to warn about
    assert "best epoch 17 of 20: val R2 0.6800" in r.stdout
    assert r.stderr == ""


def test_cli_specialize_explains_a_bad_student(tmp_path, monkeypatch) -> None:
    r, _ = _invoke_specialize(tmp_path, monkeypatch, ["--epochs", "8", "--augment-factor", "0",
                                                      "--arch", "sea"],
                              best_epoch=8, epochs_run=8, val_r2=-0.2406, train_r2=0.1)
    assert "best epoch 8 of 8: val R2 -0.2406" in r.stdout
    err = r.stderr
    assert "note: val R2 -0.2406 is below 0" in err and "mean target" in err
    assert "note: the best epoch is the last one (8 of 8)" in err and "still improving" in err
    assert "more in-domain audio" in err and "--augment-factor 5" in err
    assert "--epochs 16" in err
    assert "warning: arch 'sea' is not sized for a microcontroller" in err
    assert "--arch mcu" in err


# -- training_advice ----------------------------------------------------------------------

def _summary(history: list[float], patience_stopped: bool = False, train_r2: float | None = None
             ) -> dict:
    """The distill summary of a synthetic history of validation R^2 (best = highest)."""
    best = int(np.argmax(history)) + 1
    s = {"best_epoch": best, "epochs_run": len(history), "stopped_early": patience_stopped,
         "val_r2": history[best - 1]}
    if train_r2 is not None:
        s["train_r2"] = train_r2
    return s


def test_advice_for_a_healthy_run_is_empty() -> None:
    s = _summary([0.2, 0.5, 0.66, 0.68, 0.67], train_r2=0.74)
    assert training_advice(s, SpecializeConfig()) == []
    assert training_advice(s) == []


def test_advice_for_a_negative_r2_that_is_still_improving() -> None:
    s = _summary([-0.9, -0.6, -0.4, -0.3, -0.28, -0.26, -0.25, -0.2406])
    cfg = SpecializeConfig(augment_factor=0.0, train={"epochs": 8})
    advice = training_advice(s, cfg)
    assert advice[0].startswith("val R2 -0.2406 is below 0")
    assert "worse than always predicting the mean target" in advice[0]
    assert advice[1].startswith("the best epoch is the last one (8 of 8)")
    assert advice[-1].startswith("try: more in-domain audio")
    assert "--augment-factor 5" in advice[-1] and "this run used 0" in advice[-1]
    assert "--epochs 16 (this run's limit: 8)" in advice[-1]
    assert len(advice) == 3  # arch mcu (the default): no size warning


def test_advice_for_a_weak_run_that_stopped_early_and_overfits() -> None:
    s = _summary([0.1, 0.2, 0.15, 0.12], patience_stopped=True, train_r2=0.8)
    advice = training_advice(s, SpecializeConfig())
    assert advice[0].startswith("val R2 0.2000 is low: the student explains 20 %")
    assert not any("last one" in a for a in advice)
    assert any("overfitting" in a for a in advice)
    assert "a larger --augment-factor than 5" in advice[-1] and "--epochs" not in advice[-1]


def test_advice_warns_about_a_student_too_large_for_a_microcontroller() -> None:
    s = _summary([0.5, 0.7, 0.6])
    sea = training_advice(s, SpecializeConfig(arch="sea"))
    assert len(sea) == 1 and sea[0].startswith("warning: arch 'sea' is not sized")
    assert "633 KB" in sea[0] and "--arch mcu" in sea[0]
    custom = training_advice(s, SpecializeConfig(arch="sea:4,4,8,8", emb_dim=8))
    assert len(custom) == 1 and "not one of the microcontroller-sized" in custom[0]
    assert training_advice(s, SpecializeConfig(arch="mcu-1m")) == []


@pytest.mark.parametrize("bad", [None, [], {}, {"best_epoch": 3, "epochs_run": 3},
                                 {"best_epoch": 3, "epochs_run": 3, "val_r2": "0.5"},
                                 {"best_epoch": True, "epochs_run": 3, "val_r2": 0.5}])
def test_advice_refuses_what_is_not_a_summary(bad) -> None:
    with pytest.raises(EdgeSEAError, match="needs the distill stage's summary"):
        training_advice(bad)


# -- export / footprint: a model that fits no tier ----------------------------------------

def test_tier_check_warns_when_the_model_fits_no_tier() -> None:
    report, lines, warnings = tier_check(633_024, 300_000)
    assert not any(r["fits"] for r in report.values())
    assert lines[0].startswith("fits tiers: none; not mcu (")
    assert len(warnings) == 1
    w = warnings[0]
    assert w.startswith("warning: the model exceeds every device tier: mcu (64 KB arena / "
                        "300 KB flash: flash 633,024 bytes")
    assert "mcu-1m (256 KB arena / 1024 KB flash: arena 300,000 bytes" in w
    assert w.endswith("train with --arch mcu (or --arch mcu-1m)")
    # the paper's 128-d student fits tier mcu-1m: no warning unless --tier mcu is named
    assert tier_check(633_024, 215_712)[2] == []
    _, _, warnings = tier_check(633_024, 215_712, "mcu")
    assert len(warnings) == 2 and all(w.startswith("warning: the model exceeds tier mcu: ")
                                      for w in warnings)
    assert "flash 633,024 bytes" in warnings[0] and "arena 215,712 bytes" in warnings[1]


def test_cli_footprint_warns_when_the_model_fits_no_tier(tmp_path, monkeypatch) -> None:
    def fake_footprint(model, **kw):
        return SimpleNamespace(to_dict=lambda: {"model": str(model), "flash_bytes": 2_000_000,
                                                "arena_bytes": 400_000})

    monkeypatch.setattr(edgesea.export, "tflite_footprint", fake_footprint)
    model = tmp_path / "big.int8.tflite"
    model.write_bytes(b"\0")
    r = runner.invoke(app, ["footprint", str(model), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["tiers"]["mcu-1m"]["fits"] is False
    assert "warning: the model exceeds every device tier" in r.stderr
    assert "--arch mcu" in r.stderr


def test_export_device_check_warns_when_the_model_fits_no_tier(monkeypatch) -> None:
    from edgesea.cli.export import _export_device_check

    fp = SimpleNamespace(flash_bytes=2_000_000, arena_bytes=400_000, macs={"network": 1})
    monkeypatch.setattr(edgesea.export, "tflite_footprint", lambda path: fp)
    device, _, warnings = _export_device_check("m.int8.tflite", None)
    assert device["device"]["flash_bytes"] == 2_000_000
    assert len(warnings) == 1 and "exceeds every device tier" in warnings[0]


# -- benchmarks/build_zoo.py: configs made with the old defaults ---------------------------

def test_rebuild_command_of_a_config_made_with_the_old_defaults(tmp_path) -> None:
    import shlex

    import typer.main

    spec = importlib.util.spec_from_file_location("build_zoo_first_hour",
                                                  ROOT / "benchmarks" / "build_zoo.py")
    build_zoo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_zoo)
    # a config.json written when the defaults were arch sea, no augmentation and the
    # paper's training: the keys it lacks take those values, not today's defaults
    old = {"teacher": "aisfx", "hop_size": 0.5, "emb_dim": 128, "sampling": "random",
           "sample_size": "50%", "train_on": "sample", "reduction": "pca", "head": "linear",
           "val_fraction": 0.1, "group_by": "auto", "seed": 0,
           "train": {"batch_size": 64, "loss": "mse"}}
    command = build_zoo.rebuild_command(old, "runs/old")
    args = shlex.split(command)
    cmd = typer.main.get_command(app).commands["specialize"]
    p = cmd.make_context("specialize", [str(tmp_path), *args[3:]]).params
    assert (p["arch"], p["augment_factor"]) == ("sea", 0.0)
    assert (p["epochs"], p["lr"], p["schedule"], p["patience"]) == (100, 1e-4, "plateau", 10)
    # a config that states them keeps them
    new = SpecializeConfig().to_dict()
    p = cmd.make_context("specialize", [str(tmp_path), *shlex.split(
        build_zoo.rebuild_command(new, "runs/new"))[3:]]).params
    assert (p["arch"], p["augment_factor"], p["epochs"], p["schedule"]) == ("mcu", 5.0, 40,
                                                                            "cosine")
    # a second training seed is part of the command; without one, none is stated
    assert "--train-seed" not in build_zoo.rebuild_command(new, "runs/new")
    p = cmd.make_context("specialize", [str(tmp_path), *shlex.split(build_zoo.rebuild_command(
        SpecializeConfig(train_seed=3).to_dict(), "runs/seed3"))[3:]]).params
    assert (p["seed"], p["train_seed"]) == (0, 3)
