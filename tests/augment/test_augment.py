"""Tests of :mod:`edgesea.augment.transforms` (transforms, recipes) and :mod:`edgesea.augment.bank`
(teacher-labelled augmented windows: provenance, determinism, resume, forbidden sources)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import edgesea.augment.bank as augstore
from edgesea.audio.io import load_audio, resample, to_float_mono
from edgesea.augment.bank import load_augmented, make_augmented
from edgesea.augment.transforms import (
    AugmentConfig,
    Augmenter,
    apply_gain,
    change_speed,
    equalize,
    mix_at_snr,
    power_db,
)
from edgesea.errors import EdgeSEAError
from edgesea.models import sea_student
from edgesea.teachers.model import ModelTeacher

SR = 16000


def tone(f: float, seconds: float = 1.0, sr: int = SR) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * f * np.arange(int(seconds * sr)) / sr)).astype(np.float32)


def peak_hz(x: np.ndarray, sr: int = SR) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * sr / len(x))


@pytest.mark.parametrize("snr", [-5.0, 0.0, 7.5, 20.0])
def test_mix_at_snr(snr: float) -> None:
    rng = np.random.default_rng(0)
    fg, bg = tone(440), (0.05 * rng.standard_normal(SR)).astype(np.float32)
    mix = mix_at_snr(fg, bg, snr)
    assert mix.shape == fg.shape and mix.dtype == np.float32
    assert power_db(fg) - power_db(mix - fg) == pytest.approx(snr, abs=0.5)
    np.testing.assert_array_equal(mix_at_snr(fg, np.zeros_like(bg), snr), fg)
    with pytest.raises(EdgeSEAError):
        mix_at_snr(fg, bg[:100], snr)


def test_gain_eq_speed() -> None:
    x = tone(1000)
    assert power_db(apply_gain(x, 6.0)) - power_db(x) == pytest.approx(6.0, abs=1e-3)
    boosted = equalize(x, SR, "peak", 1000.0, 6.0, q=1.0)
    assert boosted.shape == x.shape
    assert power_db(boosted[SR // 2:]) - power_db(x[SR // 2:]) == pytest.approx(6.0, abs=0.2)
    low = tone(100)
    assert power_db(equalize(low, SR, "lowshelf", 500.0, -9.0)[SR // 2:]) == pytest.approx(
        power_db(low) - 9.0, abs=0.5)
    assert power_db(equalize(low, SR, "highshelf", 3000.0, 9.0)[SR // 2:]) == pytest.approx(
        power_db(low), abs=0.3)
    fast = change_speed(tone(440), SR, 1.05)
    assert fast.shape == (SR,) and peak_hz(fast[: int(SR * 0.9)]) == pytest.approx(462, abs=3)
    with pytest.raises(EdgeSEAError):
        equalize(x, SR, "notch", 1000.0, 3.0)
    with pytest.raises(EdgeSEAError):
        change_speed(x, SR, 3.0)


def test_config_validation() -> None:
    with pytest.raises(EdgeSEAError):
        AugmentConfig(eq_prob=1.5)
    with pytest.raises(EdgeSEAError):
        AugmentConfig(speed=(1.1, 0.9))
    with pytest.raises(EdgeSEAError):
        AugmentConfig(speed=(0.1, 1.0))


def test_recipes_are_deterministic_and_rendered_at_any_rate() -> None:
    durations = [4.0, 2.5, 1.0, 0.6]
    aug = Augmenter(durations, AugmentConfig(mix_prob=0.8, background_prob=0.8,
                                             speed_prob=0.8), seed=3)
    recipes = [aug.recipe(i) for i in range(40)]
    assert recipes == [Augmenter(durations, aug.config, seed=3).recipe(i) for i in range(40)]
    assert recipes[7] == aug.recipe(7)  # independent of the order of requests
    assert recipes != [Augmenter(durations, aug.config, seed=4).recipe(i) for i in range(40)]
    assert any("events" in r for r in recipes) and any("background" in r for r in recipes)
    assert all(r["main"]["offset_s"] <= max(0.0, durations[r["main"]["source"]] - 1.0)
               for r in recipes)
    only = {aug.recipe(i, sources=np.array([1]))["main"]["source"] for i in range(20)}
    assert only == {1}
    rng = np.random.default_rng(0)
    files = [(0.1 * rng.standard_normal(int(d * 22050))).astype(np.float32) for d in durations]
    for r in recipes[:10]:
        for sr in (22050, 8000):
            def load(k: int, sr: int = sr) -> np.ndarray:
                return files[k] if sr == 22050 else files[k][: int(durations[k] * sr)]

            a = aug.render(r, load, sr)
            assert a.shape == (sr,) and a.dtype == np.float32
            np.testing.assert_array_equal(a, aug.render(json.loads(Augmenter.dumps(r)), load,
                                                        sr))


@pytest.fixture(scope="module")
def teacher() -> ModelTeacher:
    torch.manual_seed(0)
    return ModelTeacher(sea_student(16, head="linear", filters=(4, 4, 8, 8)).eval())


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> tuple[Path, list[str], list[float]]:
    root = tmp_path_factory.mktemp("src")
    rng = np.random.default_rng(1)
    names, durs = [], []
    for i, d in enumerate([2.0, 1.5, 3.0]):
        x = tone(300 * (i + 1), d) + (0.02 * rng.standard_normal(int(d * SR))).astype(
            np.float32)
        sf.write(root / f"s{i}.wav", x, SR)
        names.append(f"s{i}.wav")
        durs.append(d)
    (root / "test_fold").mkdir()
    sf.write(root / "test_fold" / "t.wav", tone(500), SR)
    return root, names, durs


def test_make_augmented_provenance_and_resume(sources, teacher, tmp_path: Path,
                                              monkeypatch) -> None:
    root, names, durs = sources
    full = make_augmented(root, names, durs, tmp_path / "full", teacher, 10, seed=1,
                          shard_size=4, progress=False)
    assert [s["n_rows"] for s in full["shards"]] == [4, 4, 2]
    data = load_augmented(tmp_path / "full")
    assert data["embedding"].shape == (10, 16) and data["student_audio"].shape == (10, 8000)
    np.testing.assert_array_equal(data["index"], np.arange(10))
    aug = Augmenter(durs, AugmentConfig(), seed=1)
    for i, text in enumerate(data["recipe"]):
        r = json.loads(text)
        assert r == aug.recipe(i) and data["source"][i] == r["main"]["source"]
    # the targets are the teacher's embeddings of the augmented audio
    wave = aug.render(aug.recipe(3), lambda k: resample(
        to_float_mono(load_audio(root / names[k])[0]), SR, 8000), 8000)
    np.testing.assert_allclose(data["embedding"][3], teacher.embed(wave[None])[0], rtol=1e-4,
                               atol=1e-5)
    # a crash after the first shard, then a rerun: the same bytes as an uninterrupted run
    real = augstore.write_json
    calls = {"n": 0}

    def crash(path, obj):
        real(path, obj)
        calls["n"] += 1
        if calls["n"] == 2:  # manifest written after shard 0
            raise KeyboardInterrupt

    monkeypatch.setattr(augstore, "write_json", crash)
    with pytest.raises(KeyboardInterrupt):
        make_augmented(root, names, durs, tmp_path / "cut", teacher, 10, seed=1,
                       shard_size=4, progress=False)
    monkeypatch.setattr(augstore, "write_json", real)
    m = json.loads((tmp_path / "cut" / "manifest.json").read_text())
    assert [s["status"] for s in m["shards"]] == ["complete", "pending", "pending"]
    with pytest.raises(EdgeSEAError, match="incomplete"):
        load_augmented(tmp_path / "cut")
    kept = (tmp_path / "cut" / "shards" / "aug-00000.npz").stat().st_mtime_ns
    make_augmented(root, names, durs, tmp_path / "cut", teacher, 10, seed=1, shard_size=4,
                   progress=False)
    assert (tmp_path / "cut" / "shards" / "aug-00000.npz").stat().st_mtime_ns == kept
    again = load_augmented(tmp_path / "cut")
    for k in data:
        np.testing.assert_array_equal(again[k], data[k])


def test_budget_grows_and_shrinks_reusing_shards(sources, teacher, tmp_path: Path,
                                                monkeypatch) -> None:
    root, names, durs = sources
    make_augmented(root, names, durs, tmp_path / "ref", teacher, 10, seed=2, shard_size=4,
                   progress=False)
    ref = load_augmented(tmp_path / "ref")
    make_augmented(root, names, durs, tmp_path / "grow", teacher, 6, seed=2, shard_size=4,
                   progress=False)
    first = (tmp_path / "grow" / "shards" / "aug-00000.npz").stat().st_mtime_ns
    rendered = []
    real = augstore.Augmenter.render

    def spy(self, recipe, load, sr):
        rendered.append(recipe["index"] if "index" in recipe else id(recipe))
        return real(self, recipe, load, sr)

    monkeypatch.setattr(augstore.Augmenter, "render", spy)
    m = make_augmented(root, names, durs, tmp_path / "grow", teacher, 10, seed=2,
                       shard_size=4, progress=False)
    # shard 0 (4 rows, unchanged) is kept; shard 1 (2 -> 4 rows) and shard 2 are rendered
    assert (tmp_path / "grow" / "shards" / "aug-00000.npz").stat().st_mtime_ns == first
    assert len(rendered) == 2 * 6 and m["n_windows"] == 10
    grown = load_augmented(tmp_path / "grow")
    for k in ref:
        np.testing.assert_array_equal(grown[k], ref[k])
    rendered.clear()
    make_augmented(root, names, durs, tmp_path / "grow", teacher, 8, seed=2, shard_size=4,
                   progress=False)
    assert rendered == [] and len(list((tmp_path / "grow" / "shards").glob("*.npz"))) == 2
    np.testing.assert_array_equal(load_augmented(tmp_path / "grow")["embedding"],
                                  ref["embedding"][:8])
    # another seed starts again
    make_augmented(root, names, durs, tmp_path / "grow", teacher, 8, seed=3, shard_size=4,
                   progress=False)
    assert len(rendered) == 2 * 8


def test_forbidden_sources_are_refused(sources, teacher, tmp_path: Path) -> None:
    root, names, durs = sources
    with pytest.raises(EdgeSEAError, match="forbidden"):
        make_augmented(root, [*names, "test_fold/t.wav"], [*durs, 1.0], tmp_path / "a",
                       teacher, 4, forbidden=[root / "test_fold"], progress=False)
    assert not (tmp_path / "a").exists()
    make_augmented(root, names, durs, tmp_path / "b", teacher, 2,
                   forbidden=[root / "test_fold"], progress=False)
    with pytest.raises(EdgeSEAError):
        make_augmented(root, names, durs, tmp_path / "c", teacher, 0, progress=False)


def test_cli_augment(sources, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from edgesea.cli import app
    from edgesea.models import save_model

    root = sources[0]
    torch.manual_seed(0)
    model = save_model(sea_student(16, head="linear", filters=(4, 4, 8, 8)).eval(),
                       tmp_path / "t.safetensors")
    runner = CliRunner()
    base = ["augment", str(root), "--out", str(tmp_path / "aug"), "--teacher", f"model:{model}",
            "-q"]
    res = runner.invoke(app, [*base, "--n", "3", "--exclude", str(root / "test_fold")])
    assert res.exit_code == 2 and "forbidden" in res.output  # root holds test_fold/t.wav
    assert not (tmp_path / "aug").exists()
    res = runner.invoke(app, [*base, "--n", "3", "--options", '{"mix_prob": 1.0}'])
    assert res.exit_code == 0, res.output
    data = load_augmented(tmp_path / "aug")
    assert len(data["index"]) == 3 and all("events" in json.loads(r) for r in data["recipe"])
    assert runner.invoke(app, [*base]).exit_code == 2  # neither --n nor --augment-factor
    assert runner.invoke(app, [*base, "--n", "2", "--options", "[]"]).exit_code == 2
