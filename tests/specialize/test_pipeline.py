"""Tests of ``specialize`` (:mod:`edgesea.specialize.pipeline`, ``edgesea specialize``): the
produced student, stage caching and invalidation, resume, refusals and error cases. A small saved
student stands in as the teacher (``model:PATH``) so no download or ../shared is needed."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import edgesea
from edgesea.audio.files import recording_groups
from edgesea.audio.io import load_audio, resample, to_float_mono
from edgesea.audio.windows import frame_audio, frame_windows
from edgesea.cli import app
from edgesea.errors import EdgeSEAError
from edgesea.inference.api import model_inputs
from edgesea.models import load_model, save_model, sea_student
from edgesea.reduce import reducer_from_arrays
from edgesea.specialize.pipeline import SpecializeConfig, specialize
from edgesea.store.shards import EmbeddingStore
from shared_helpers import config, write_audio


@pytest.fixture(scope="module")
def teacher_spec(tmp_path_factory) -> str:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("teacher") / "teacher.safetensors"
    save_model(sea_student(32, head="linear", filters=(8, 8, 16, 16)).eval(), path)
    return f"model:{path}"




@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory) -> Path:
    return write_audio(tmp_path_factory.mktemp("upstream"))




@pytest.fixture(scope="module")
def finished(audio_dir: Path, teacher_spec: str, tmp_path_factory):
    run = tmp_path_factory.mktemp("run") / "run"
    return specialize(audio_dir, run, config(teacher_spec), progress=False)


def test_run_directory_and_student(finished, audio_dir: Path) -> None:
    run = finished.run_dir
    for name in ("config.json", "stages.json", "report.md", "student.safetensors",
                 "sample.npz", "reduce/reducer.npz", "reduce/targets.npy",
                 "inputs/logmel.npy", "store/manifest.json", "distill/best.pt",
                 "distill/latest.pt", "distill/curves.png"):
        assert (run / name).is_file(), name
    assert finished.ran.pop("augment") == "off"
    assert set(finished.ran.values()) == {"computed"}
    model = load_model(finished.student_path)
    meta = model.metadata
    assert meta["teacher"]["spec"].startswith("model:")
    assert meta["sampling"]["mode"] == "diversity+relevance"
    assert meta["sampling"]["n_sample"] == 24
    assert meta["reducer"]["name"] == "pca" and 0 < meta["reducer"]["explained_variance"] <= 1
    assert {"best_epoch", "val_r2", "val_cosine"} <= set(meta["training"])
    # the stored reducer reproduces the training targets from the teacher embeddings
    red = reducer_from_arrays(model.extras, meta["reducer"])
    emb = EmbeddingStore.open(run / "store").load(["embedding"])["embedding"]
    np.testing.assert_allclose(red.transform(emb), np.load(run / "reduce/targets.npy"),
                               rtol=1e-4, atol=1e-4)
    # loadable by get_embedding and the CLI
    audio, sr = load_audio(audio_dir / "1000-0-0-0.wav")
    emb, ts = edgesea.get_embedding(audio, sr, model=str(finished.student_path), hop_size=0.5)
    assert emb.shape == (len(ts), 8) and np.all(np.isfinite(emb))
    report = (run / "report.md").read_text()
    assert "explained variance" in report and "distill/curves.png" in report


def test_validation_recordings_are_held_out(finished) -> None:
    split = np.load(finished.run_dir / "sample.npz")
    store = EmbeddingStore.open(finished.run_dir / "store")
    fi = store.load(["file_index"])["file_index"]
    rec = recording_groups([f.path for f in store.files])
    val_recs = set(rec[fi[split["val"]]])
    assert val_recs and not val_recs & set(rec[fi[split["train_all"]]])
    assert set(split["sample"]) <= set(split["train_all"])


def test_recording_groups() -> None:
    paths = ["a/100-1-0-0.wav", "100-3-0-1.flac", "200-1-0-0.wav"]
    assert list(recording_groups(paths)) == [0, 0, 1]
    assert list(recording_groups(paths, "file")) == [2, 0, 1]
    assert list(recording_groups(["x.wav", "100-1-0-0.wav"])) == [1, 0]  # auto -> by file
    with pytest.raises(EdgeSEAError):
        recording_groups(["x.wav"], "urbansound8k")


def test_student_inputs_align_with_teacher_windows(finished, audio_dir: Path) -> None:
    store = EmbeddingStore.open(finished.run_dir / "store")
    x = np.load(finished.run_dir / "inputs/logmel.npy")
    model = load_model(finished.student_path)
    f = store.files[3]
    start = sum(g.n_windows for g in store.files[:3])
    audio, sr = load_audio(audio_dir / f.path)
    rate = model.sample_rate  # the default student: 16 kHz, stream front end
    mono = resample(to_float_mono(audio), sr, rate)
    frames, _ = frame_audio(mono, rate, 1.0, 0.5, True)
    np.testing.assert_array_equal(frame_windows(mono, rate, len(frames), 0.5, 1.0, True), frames)
    # the API's inputs of the same windows (a stream front end reads the audio around each)
    want, _ = model_inputs(audio, sr, model=model, center=True, hop_size=0.5)
    np.testing.assert_allclose(x[start:start + f.n_windows], want, atol=0.05)  # float16
    if model.context_samples == (0, 0):
        with torch.no_grad():
            bare = model.frontend(torch.from_numpy(np.ascontiguousarray(frames))).numpy()
        np.testing.assert_allclose(want, bare, atol=1e-4)


def test_rerun_is_cached_and_changes_invalidate(finished, audio_dir: Path, teacher_spec: str,
                                                tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(finished.run_dir, run)
    again = specialize(audio_dir, run, config(teacher_spec), progress=False)
    assert set(again.ran.values()) == {"cached", "off"}
    # a changed setting is refused without force ...
    with pytest.raises(EdgeSEAError, match=r"other settings.*train"):
        specialize(audio_dir, run, config(teacher_spec, train={"epochs": 3, "lr": 1e-3}),
                   progress=False)
    # ... and with it only the affected stages are redone
    r = specialize(audio_dir, run, config(teacher_spec, train={"epochs": 3, "lr": 1e-3}),
                   force=True, progress=False)
    assert r.ran == {"embed": "cached", "inputs": "cached", "sample": "cached",
                     "augment": "off", "reduce": "cached", "distill": "computed"}
    assert load_model(r.student_path).metadata["training"]["epochs_run"] == 3
    r = specialize(audio_dir, run, config(teacher_spec, sampling="random",
                                          train={"epochs": 3, "lr": 1e-3}),
                   force=True, progress=False)
    assert r.ran == {"embed": "cached", "inputs": "cached", "sample": "computed",
                     "augment": "off", "reduce": "computed", "distill": "computed"}
    r = specialize(audio_dir, run, config(teacher_spec, sampling="random", emb_dim=6,
                                          train={"epochs": 3, "lr": 1e-3}),
                   force=True, progress=False)
    assert [r.ran[k] for k in ("sample", "reduce", "distill")] == ["cached", "computed",
                                                                   "computed"]
    assert load_model(r.student_path).emb_dim == 6


def test_changed_audio_recomputes_everything(finished, teacher_spec: str,
                                             tmp_path: Path) -> None:
    audio = write_audio(tmp_path / "audio")
    run = tmp_path / "run"
    specialize(audio, run, config(teacher_spec), progress=False)
    write_audio(tmp_path / "audio", n_files=13, seed=1)  # new content and one more file
    r = specialize(audio, run, config(teacher_spec), progress=False)
    assert set(r.ran.values()) == {"computed", "off"}
    assert r.stages["embed"]["n_files"] == 13


class Interrupt(Exception):
    pass


def test_interrupted_distillation_needs_resume(finished, audio_dir: Path, teacher_spec: str,
                                               tmp_path: Path, monkeypatch) -> None:
    import edgesea.specialize.pipeline as pl

    cfg = config(teacher_spec, train={"epochs": 4, "lr": 1e-3})
    run = tmp_path / "run"
    shutil.copytree(finished.run_dir, run)
    full = specialize(audio_dir, tmp_path / "full", cfg, progress=False)
    real = pl.train_student

    def crash_after_2(*args, **kw):
        inner = kw["on_epoch"]

        def on_epoch(row):
            inner(row)
            if row["epoch"] == 2:
                raise Interrupt

        return real(*args, **(kw | {"on_epoch": on_epoch}))

    monkeypatch.setattr(pl, "train_student", crash_after_2)
    with pytest.raises(Interrupt):
        specialize(audio_dir, run, cfg, force=True, progress=False)
    monkeypatch.setattr(pl, "train_student", real)
    with pytest.raises(EdgeSEAError, match="--resume"):
        specialize(audio_dir, run, cfg, progress=False)
    r = specialize(audio_dir, run, cfg, resume=True, progress=False)
    assert r.stages["distill"]["val_loss"] == full.stages["distill"]["val_loss"]
    a, b = load_model(r.student_path), load_model(full.student_path)
    for va, vb in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb)


@pytest.mark.parametrize("kw, match", [
    ({"sample_size": "500"}, "asks for 500 windows"),
    ({"sample_size": "6", "emb_dim": 8}, "emb_dim=8 needs a sample"),
    ({"reduction": "identity"}, "identity reduction needs emb_dim"),
])
def test_too_few_windows(kw, match, audio_dir: Path, teacher_spec: str,
                         tmp_path: Path) -> None:
    with pytest.raises(EdgeSEAError, match=match):
        specialize(audio_dir, tmp_path / "run", config(teacher_spec, **kw), progress=False)


@pytest.mark.parametrize("kw", [{"sampling": "dpp"}, {"reduction": "tsne"}, {"head": "mlp"},
                                {"sample_size": "lots"}, {"sample_size": "0"},
                                {"emb_dim": 0}, {"arch": "resnet"}, {"val_fraction": 1.0},
                                {"train": {"epochs": 0}}, {"group_by": "folder"},
                                {"head": "paper", "emb_dim": 8}, {"train_on": "val"}])
def test_bad_settings(kw) -> None:
    with pytest.raises(EdgeSEAError):
        SpecializeConfig(**kw)


def test_errors(audio_dir: Path, teacher_spec: str, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(EdgeSEAError, match="no audio files"):
        specialize(tmp_path / "empty", tmp_path / "r1", config(teacher_spec), progress=False)
    with pytest.raises(EdgeSEAError, match="unknown teacher"):
        specialize(audio_dir, tmp_path / "r2", config("vggish"), progress=False)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "thesis.tex").write_text("keep me")
    with pytest.raises(EdgeSEAError, match="not an edgesea run directory"):
        specialize(audio_dir, tmp_path / "busy", config(teacher_spec), progress=False)
    assert (tmp_path / "busy" / "thesis.tex").read_text() == "keep me"


def test_cli_specialize(audio_dir: Path, teacher_spec: str, tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["specialize", str(audio_dir), "--out", str(tmp_path / "run"), "--teacher",
            teacher_spec, "--emb-dim", "8", "--arch", "sea:4,4,8,8", "--sample-size", "50%",
            "--epochs", "1", "--lr", "1e-3", "--val-fraction", "0.34", "--augment-factor",
            "0", "-q"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "val R2" in res.output
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["sample_size"] == "50%" and cfg["train"]["lr"] == 1e-3
    res = runner.invoke(app, [*args[:-1], "--seed", "1", "-q"])
    assert res.exit_code == 2 and "--force" in res.output
    res = runner.invoke(app, [*args, "--reduction-options", "[1]"])
    assert res.exit_code == 2 and "JSON object" in res.output
    res = runner.invoke(app, [*args, "--sampling", "dpp"])
    assert res.exit_code == 2 and "unknown sampling" in res.output


def test_augmentation_stage(finished, audio_dir: Path, teacher_spec: str,
                            tmp_path: Path) -> None:
    from edgesea.augment.bank import load_augmented

    run = tmp_path / "run"
    shutil.copytree(finished.run_dir, run)
    cfg = config(teacher_spec, augment_factor=0.5, augment={"mix_prob": 0.5})
    r = specialize(audio_dir, run, cfg, force=True, progress=False)
    assert r.ran == {"embed": "cached", "inputs": "cached", "sample": "cached",
                     "augment": "computed", "reduce": "computed", "distill": "computed"}
    assert r.stages["augment"]["n_augmented"] == 12  # 0.5 x the 24-window sample
    assert r.stages["distill"]["n_train"] == 24 + 12
    aug = load_augmented(run / "augment" / "store")
    assert aug["embedding"].shape == (12, 32)
    assert np.load(run / "reduce" / "aug_targets.npy").shape == (12, 8)
    # only training recordings are augmented from: never a validation recording
    manifest = json.loads((run / "augment" / "store" / "manifest.json").read_text())
    split = np.load(run / "sample.npz")
    store = EmbeddingStore.open(run / "store")
    fi = store.load(["file_index"])["file_index"]
    val_files = {store.files[i].path for i in np.unique(fi[split["val"]])}
    assert val_files and not val_files & set(manifest["sources"])
    assert load_model(r.student_path).metadata["augment"]["factor"] == 0.5
    assert "augmented windows" in (run / "report.md").read_text()
    again = specialize(audio_dir, run, cfg, progress=False)
    assert again.ran["augment"] == "cached"


def test_excluded_audio_is_refused(audio_dir: Path, teacher_spec: str, tmp_path: Path) -> None:
    with pytest.raises(EdgeSEAError, match="excluded folder"):
        specialize(audio_dir, tmp_path / "run", config(teacher_spec,
                                                       exclude_audio=[str(audio_dir)]),
                   progress=False)
    assert not (tmp_path / "run").exists()
    with pytest.raises(EdgeSEAError, match="augment"):
        SpecializeConfig(augment={"colour": 1})


def test_stale_temps_of_killed_runs_are_cleaned(finished, audio_dir: Path, teacher_spec: str,
                                                tmp_path: Path) -> None:
    """A killed run's leftovers (a cache-sized ``.tmp-<pid>-*``) never outlive the next run,
    even when every stage is cached; a running writer's temp files are kept."""
    import subprocess
    import sys

    run = tmp_path / "run"
    shutil.copytree(finished.run_dir, run)
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = [run / "inputs" / f".tmp-{p.pid}-a.npy", run / "distill" / f".tmp-{p.pid}-b",
                run / f".tmp-{p.pid}-c", run / "store" / f".tmp-{p.pid}-d.json"]
        kept = run / "inputs" / f".tmp-{live.pid}-e.npy"
        for f in [*dead, kept]:
            f.write_bytes(b"\0" * 1000)
        again = specialize(audio_dir, run, config(teacher_spec), progress=False)
        assert set(again.ran.values()) == {"cached", "off"}
        assert [f for f in dead if f.exists()] == [] and kept.exists()
    finally:
        live.kill()
        live.wait()


def test_distill_shows_an_estimate_and_time_left(audio_dir: Path, teacher_spec: str,
                                                 tmp_path: Path, capsys) -> None:
    """specialize on 150 clips ran 15 min with no estimate (issue 34): after the first
    measured epoch it says how long the stage will take, and a bar over the epochs shows
    the time left."""
    specialize(audio_dir, tmp_path / "run", config(teacher_spec, train={"epochs": 3,
                                                                        "lr": 1e-3}),
               progress=True)
    out = capsys.readouterr()
    lines = [line for line in out.out.splitlines() if "[distill] estimate" in line]
    assert len(lines) == 1, out.out
    assert re.search(r"\d+ s per epoch, 2 of 3 epochs left: about \d+ s more", lines[0])
    assert out.out.index("epoch 1:") < out.out.index("[distill] estimate") < \
        out.out.index("epoch 2:")
    assert re.search(r"distill: .*\d/3 \[.*<", out.err)  # tqdm: done/total [elapsed<left]


def test_duration_reads_well() -> None:
    from edgesea.specialize.progress import duration

    assert [duration(s) for s in (4, 89.4, 600, 5399, 7500)] == [
        "4 s", "89 s", "10 min", "90 min", "2 h 05 min"]


def test_shared_store_is_reused_across_run_directories(audio_dir: Path, teacher_spec: str,
                                                       tmp_path: Path) -> None:
    """A new run directory on the same audio recomputed every teacher embedding (issue 34):
    with --store the embeddings live in a content-addressed store folder shared by runs."""
    shared = tmp_path / "stores"
    cfg = config(teacher_spec)
    first = specialize(audio_dir, tmp_path / "run1", cfg, progress=False, store=shared)
    embed1 = first.stages["embed"]
    assert embed1["shards_computed"] > 0 and Path(embed1["store"]).parent == shared
    assert not (tmp_path / "run1" / "store").exists()
    second = specialize(audio_dir, tmp_path / "run2", config(teacher_spec, seed=1),
                        progress=False, store=shared)
    assert second.stages["embed"]["store"] == embed1["store"]
    assert second.stages["embed"]["shards_computed"] == 0  # nothing embedded again
    copy = tmp_path / "copy"  # the same content elsewhere: the same store
    shutil.copytree(audio_dir, copy)
    third = specialize(copy, tmp_path / "run3", cfg, progress=False, store=shared)
    assert third.stages["embed"]["store"] == embed1["store"]
    assert third.stages["embed"]["shards_computed"] == 0
    other = specialize(audio_dir, tmp_path / "run4", config(teacher_spec, hop_size=0.25),
                       progress=False, store=shared)  # another hop: another store
    assert other.stages["embed"]["store"] != embed1["store"]
    assert len(list(shared.iterdir())) == 2
    from edgesea.cli import app

    res = CliRunner().invoke(app, ["specialize", str(audio_dir), "--out",
                                   str(tmp_path / "run5"), "--teacher", teacher_spec,
                                   "--emb-dim", "8", "--arch", "sea:4,4,8,8", "--sample-size",
                                   "24", "--epochs", "1", "--val-fraction", "0.34",
                                   "--augment-factor", "0", "--store", str(shared), "-q"])
    assert res.exit_code == 0, res.output
    stages = json.loads((tmp_path / "run5" / "stages.json").read_text())
    assert stages["embed"]["store"] == embed1["store"] and stages["embed"]["shards_computed"] == 0


def test_train_seed_retrains_only_the_student(finished, audio_dir: Path, teacher_spec: str,
                                              tmp_path: Path) -> None:
    """``train_seed`` seeds only the student (initial weights, batch order): the split, the
    sample and the targets stay those of ``seed``, so a second training seed of one recipe
    costs one distillation; without it, config.json is as before (older runs stay cached)."""
    run = tmp_path / "run"
    shutil.copytree(finished.run_dir, run)
    cfg = config(teacher_spec)
    assert "train_seed" not in cfg.to_dict() and cfg.train["seed"] == cfg.seed
    other = config(teacher_spec, train_seed=cfg.seed + 7)
    assert other.train["seed"] == cfg.seed + 7 and other.to_dict()["train_seed"] == cfg.seed + 7
    r = specialize(audio_dir, run, other, force=True, progress=False)
    assert r.ran == {"embed": "cached", "inputs": "cached", "sample": "cached",
                     "augment": "off", "reduce": "cached", "distill": "computed"}
    a, b = load_model(finished.student_path), load_model(r.student_path)
    assert b.metadata["training"]["config"]["seed"] == cfg.seed + 7
    assert not torch.equal(next(a.parameters()), next(b.parameters()))
    # the same train seed again reproduces it exactly
    again = specialize(audio_dir, tmp_path / "again", other, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(load_model(again.student_path).parameters(),
                                                  b.parameters(), strict=True))


@pytest.mark.parametrize("bad", [-1, 1.5, "1", True])
def test_bad_train_seed(bad) -> None:
    with pytest.raises(EdgeSEAError, match="train_seed"):
        SpecializeConfig(train_seed=bad)
