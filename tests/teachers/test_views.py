"""Tests of view-consistent targets (:mod:`edgesea.teachers.views`): ``band_limit``,
``normalize_level``, :class:`ViewTeacher`, ``apply_view``, ``parse_view_spec``; teacher specs
with a view (``resolve_teacher("model:PATH@band:8000")``); the students' level rules
(``student_frontend``, ``LEVELS``, ``STUDENT_RATES``); the new :class:`SpecializeConfig`
fields; the view recorded in the produced student; augmented windows labelled through the
view. Tiny random models stand in for the teacher; audio is a few real clips of
``examples/audio`` (16 kHz) or synthetic tones."""

from __future__ import annotations

import json
import shutil
from itertools import product
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from edgesea.audio.io import load_audio, resample, to_float_mono
from edgesea.audio.windows import frame_audio
from edgesea.augment.bank import load_augmented, make_augmented
from edgesea.augment.transforms import AugmentConfig, Augmenter
from edgesea.errors import EdgeSEAError
from edgesea.extract.run import resolve_teacher
from edgesea.models import load_model, save_model, sea_student
from edgesea.models.network import LEVELS, STUDENT_RATES, student_frontend
from edgesea.specialize.pipeline import SpecializeConfig, specialize
from edgesea.store.shards import EmbeddingStore
from edgesea.teachers.model import ModelTeacher
from edgesea.teachers.views import (
    MAX_NORM_GAIN_DB,
    NORM_DBFS,
    VIEWS,
    ViewTeacher,
    apply_view,
    band_limit,
    normalize_level,
    parse_view_spec,
)

SR = 16000
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "audio" / "fold1"
#: Six real 4 s UrbanSound8K clips (16 kHz), six different recordings.
CLIPS = ["103074-7-0-2.flac", "113205-5-1-3.flac", "134717-0-0-18.flac",
         "146186-5-0-5.flac", "151977-0-0-13.flac", "15564-2-0-1.flac"]


def db(x: np.ndarray) -> float:
    """Mean power in dB (float64)."""
    return float(10 * np.log10(np.mean(np.square(np.asarray(x, np.float64))) + 1e-30))


def rms_dbfs(x: np.ndarray) -> np.ndarray:
    """RMS of each row in dBFS."""
    return 20 * np.log10(np.sqrt(np.mean(np.square(np.asarray(x, np.float64)), axis=-1)))


def tone(f: float, amp: float = 0.3, n: int = SR, sr: int = SR) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * f * np.arange(n) / sr)).astype(np.float32)


def tiny_student(sample_rate: int = 8000, level: str = "window", emb_dim: int = 16):
    """A tiny random linear-head SEA student in eval mode (seed 0).

    He-initialised with zero biases: with PyTorch's default init the activations of so small
    a net shrink layer by layer and its output is nearly its projection bias, whatever the
    input (a level change moves it by ~1e-3 of its size), which would make every "the
    embedding changes" check below vacuous."""
    torch.manual_seed(0)
    model = sea_student(emb_dim, head="linear", filters=(4, 4, 8, 8),
                        sample_rate=sample_rate, level=level)
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d | torch.nn.Linear):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            torch.nn.init.zeros_(m.bias)
    return model.eval()


@pytest.fixture(scope="module")
def teacher16_path(tmp_path_factory) -> Path:
    """A tiny 16 kHz, absolute-level (level-sensitive, like aisfx) model file."""
    path = tmp_path_factory.mktemp("t16") / "teacher16.safetensors"
    save_model(tiny_student(16000, "absolute"), path)
    return path


@pytest.fixture(scope="module")
def teacher16(teacher16_path: Path) -> ModelTeacher:
    return ModelTeacher(load_model(teacher16_path))


@pytest.fixture(scope="module")
def windows16() -> np.ndarray:
    """(6, 16000) float32: four 1 s windows of two real clips, a tone + noise with energy
    above 4 kHz, and a quiet noise window."""
    rows = []
    for name in CLIPS[:2]:
        audio, sr = load_audio(EXAMPLES / name)
        mono = resample(to_float_mono(audio), sr, SR)
        rows += [mono[:SR], mono[SR:2 * SR]]
    rng = np.random.default_rng(0)
    rows.append(tone(6000, 0.1) + tone(700, 0.05)
                + (0.01 * rng.standard_normal(SR)).astype(np.float32))
    rows.append((0.01 * rng.standard_normal(SR)).astype(np.float32))
    out = np.stack(rows).astype(np.float32)
    # every window within the norm gain cap even 20 dB down, below full scale 10 dB up
    assert np.all(rms_dbfs(out) > NORM_DBFS - MAX_NORM_GAIN_DB + 21)
    assert np.abs(out).max() < 0.3
    return out


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory) -> Path:
    """The six real clips copied into a fresh folder."""
    root = tmp_path_factory.mktemp("clips")
    for name in CLIPS:
        shutil.copy(EXAMPLES / name, root / name)
    return root


# -- 1. band_limit ------------------------------------------------------------------------

def test_band_limit_removes_what_the_student_cannot_hear() -> None:
    hi, lo = tone(6000), tone(1000)
    x = np.stack([hi, lo, tone(3000)]).astype(np.float64)
    out = band_limit(x, SR, 8000)
    assert out.shape == x.shape and out.dtype == np.float32
    # 6 kHz is above 8000 / 2: gone (over the whole window, edges included)
    assert db(hi) - db(out[0]) > 40
    assert db(hi[2000:-2000]) - db(out[0][2000:-2000]) > 80
    # 1 kHz and 3 kHz are well inside the band: kept, sample by sample away from the edges
    assert abs(db(lo) - db(out[1])) < 0.5 and abs(db(x[2]) - db(out[2])) < 0.5
    np.testing.assert_allclose(out[1][2000:-2000], lo[2000:-2000], atol=2e-3)
    # a rate whose round trip does not give the same length: shape kept
    odd = np.stack([tone(500, n=22050 + 7, sr=22050)] * 2)
    assert band_limit(odd, 22050, 8000).shape == odd.shape
    assert band_limit(np.zeros((0, SR), np.float32), SR, 8000).shape == (0, SR)


@pytest.mark.parametrize("via", [16000, 22050, 48000])
def test_band_limit_at_or_above_the_rate_is_a_copy(via: int) -> None:
    x = np.stack([tone(6000), tone(300)])
    out = band_limit(x, SR, via)
    np.testing.assert_array_equal(out, x)
    assert out.dtype == np.float32 and not np.shares_memory(out, x)
    out[0, 0] = 5.0
    assert x[0, 0] == 0.0


@pytest.mark.parametrize("shape", [(SR,), (2, 3, SR), ()])
def test_band_limit_bad_shapes(shape) -> None:
    with pytest.raises(EdgeSEAError, match="shape"):
        band_limit(np.zeros(shape, np.float32), SR, 8000)


# -- 2. the teacher's targets under each view ----------------------------------------------

def test_band_view_is_the_teacher_on_resampled_audio(teacher16, windows16) -> None:
    vt = ViewTeacher(teacher16, "band", 8000)
    want_audio = np.stack([resample(resample(w, SR, 8000), 8000, SR) for w in windows16])
    np.testing.assert_array_equal(vt.transform(windows16), want_audio)
    got = vt.embed(windows16)
    assert got.shape == (len(windows16), teacher16.emb_dim) and got.dtype == np.float32
    np.testing.assert_allclose(got, teacher16.embed(want_audio), rtol=1e-5, atol=1e-6)
    # the view changes the targets (the windows have energy above 4 kHz) ...
    bare = teacher16.embed(windows16)
    assert np.abs(got - bare).max() > 1e-3 * np.abs(bare).max()
    # ... and at the teacher's own rate it is the teacher itself
    np.testing.assert_array_equal(ViewTeacher(teacher16, "band", 16000).embed(windows16),
                                  bare)


def test_norm_view_is_the_teacher_on_band_limited_normalised_audio(teacher16,
                                                                   windows16) -> None:
    vt = ViewTeacher(teacher16, "norm", 8000)
    band = np.stack([resample(resample(w, SR, 8000), 8000, SR) for w in windows16])
    rms = np.sqrt(np.mean(np.square(band.astype(np.float64)), axis=1, keepdims=True))
    gain = np.minimum(10 ** (NORM_DBFS / 20) / rms, 10 ** (MAX_NORM_GAIN_DB / 20))
    want = (band * gain).astype(np.float32)
    seen = vt.transform(windows16)
    np.testing.assert_allclose(seen, want, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(rms_dbfs(seen), NORM_DBFS, atol=1e-3)
    np.testing.assert_allclose(vt.embed(windows16), teacher16.embed(want), rtol=1e-5,
                               atol=1e-6)
    # at the teacher's rate: only the level normalisation
    np.testing.assert_allclose(ViewTeacher(teacher16, "norm", 16000).transform(windows16),
                               normalize_level(windows16), rtol=1e-6, atol=1e-7)


# -- 3. gain --------------------------------------------------------------------------------

@pytest.mark.parametrize("g", [0.1, 3.0])
def test_normalize_level_ignores_gain(windows16, g: float) -> None:
    x = windows16
    assert np.all(rms_dbfs(x * g) > NORM_DBFS - MAX_NORM_GAIN_DB + 1)  # within the cap
    ref = normalize_level(x)
    out = normalize_level(x * np.float32(g))
    assert out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_allclose(out, ref, atol=1e-5)
    np.testing.assert_allclose(rms_dbfs(out), NORM_DBFS, atol=1e-3)


def test_normalize_level_cap_and_silence() -> None:
    quiet = (1e-5 * np.random.default_rng(0).standard_normal((1, SR))).astype(np.float32)
    out = normalize_level(np.concatenate([quiet, np.zeros((1, SR), np.float32)]))
    # -100 dBFS would need 75 dB: the gain stops at MAX_NORM_GAIN_DB, silence stays silent
    np.testing.assert_allclose(out[0], quiet[0] * 10 ** (MAX_NORM_GAIN_DB / 20), rtol=1e-5)
    assert np.all(out[1] == 0) and np.all(np.isfinite(out))


@pytest.mark.parametrize("g", [0.1, 3.0])
def test_norm_view_embedding_ignores_gain(teacher16, windows16, g: float) -> None:
    x, gx = windows16, windows16 * np.float32(g)
    bare = teacher16.embed(x)
    scale = np.abs(bare).max()
    # the bare (absolute-level) teacher and the band view see the gain
    assert np.abs(teacher16.embed(gx) - bare).max() > 0.05 * scale
    band = ViewTeacher(teacher16, "band", 8000)
    assert np.abs(band.embed(gx) - band.embed(x)).max() > 0.02 * scale
    # the norm view does not: at the teacher's rate (no empty band) up to rounding ...
    n16 = ViewTeacher(teacher16, "norm", 16000)
    np.testing.assert_allclose(n16.embed(gx), n16.embed(x), rtol=1e-4, atol=1e-4 * scale)
    # ... and at 8 kHz the audio it embeds is the same to 1e-5, but its embedding only up to
    # float32 rounding noise in the empty 4-8 kHz band, which this teacher's -100 dB floor
    # resolves (~1% of the scale: see test_band_view_stop_band_is_gain_consistent)
    n8 = ViewTeacher(teacher16, "norm", 8000)
    np.testing.assert_allclose(n8.transform(gx), n8.transform(x), atol=1e-5)
    change = np.abs(n8.embed(gx) - n8.embed(x)).max()
    band_change = np.abs(band.embed(gx) - band.embed(x)).max()
    # that noise depends on the resampler build (soxr): 0.7-1.0 here (3-4 % of the scale) in a
    # fresh environment of 2026-12-02, where it was < 3 % before; the band view moves 3x more
    assert change < 0.5 * band_change and change < 0.06 * scale


@pytest.mark.xfail(strict=True, reason="finding: the band view leaves the teacher's band above "
                   "student_rate / 2 holding float32 rounding noise (~-140 dB), which a "
                   "kapre-style (80 dB range) or absolute-level teacher resolves; it is not "
                   "gain-consistent, so a level-blind teacher's band-view targets move ~1-2% "
                   "of their scale (30-40% of their spread) under a gain change")
@pytest.mark.parametrize("g", [0.1, 3.0])
def test_band_view_stop_band_is_gain_consistent(windows16, g: float) -> None:
    blind = ModelTeacher(tiny_student(16000, "window"))  # exactly gain-invariant by itself
    x, gx = windows16, windows16 * np.float32(g)
    np.testing.assert_allclose(blind.embed(gx), blind.embed(x), rtol=1e-4, atol=1e-4)
    band = ViewTeacher(blind, "band", 8000)
    np.testing.assert_allclose(band.embed(gx), band.embed(x), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("rate", STUDENT_RATES)
@pytest.mark.parametrize("g", [0.1, 3.0])
def test_student_frontend_level_rules(windows16, rate: int, g: float) -> None:
    x = np.stack([resample(w, SR, rate) for w in windows16])
    xt, gt = torch.from_numpy(x), torch.from_numpy(x * np.float32(g))
    win, ab = student_frontend(rate, "window"), student_frontend(rate, "absolute")
    assert win.config()["ref"] == "max" and win.config()["top_db"] == 80.0
    assert ab.config()["ref"] == 1.0 and ab.config()["top_db"] is None
    with torch.no_grad():
        w0, w1 = win(xt).numpy(), win(gt).numpy()
        a0, a1 = ab(xt).numpy(), ab(gt).numpy()
    assert w0.shape == a0.shape == (len(x), 64, 50)
    # window level: each window's maximum is 0 dB; nothing clipped at the -80 dB floor here
    np.testing.assert_allclose(w0.max(axis=(1, 2)), 0.0, atol=1e-6)
    assert w0.min() > -80 and w1.min() > -80
    np.testing.assert_allclose(w1, w0, atol=1e-3)  # float32 rounding of the quietest bins
    # absolute level: power=1.0 (sqrt of the mel power) -> a gain g shifts by 10 log10(g)
    # dB (not 20 log10 g) on every bin above the 1e-10 (-100 dB) floor
    floor = 10 * np.log10(1e-10)
    ok = (a0 > floor + 1e-3) & (a1 > floor + 1e-3)
    assert ok.mean() > 0.99
    np.testing.assert_allclose((a1 - a0)[ok], 10 * np.log10(g), atol=1e-3)


@pytest.mark.parametrize("rate", STUDENT_RATES)
def test_absolute_level_student_sees_gain_window_student_does_not(windows16,
                                                                 rate: int) -> None:
    x = np.stack([resample(w, SR, rate) for w in windows16])
    emb = {}
    for level in LEVELS:
        model = tiny_student(rate, level)
        with torch.no_grad():
            emb[level] = [model(torch.from_numpy(x * np.float32(g))).numpy()
                          for g in (1.0, 0.1, 3.0)]
    ref, quiet, loud = emb["window"]
    np.testing.assert_allclose(quiet, ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(loud, ref, rtol=1e-4, atol=1e-5)
    ref, quiet, loud = emb["absolute"]
    scale = np.abs(ref).max()
    assert np.abs(quiet - ref).max() > 1e-2 * scale
    assert np.abs(loud - ref).max() > 1e-2 * scale


# -- 4. identities, apply_view, specs -------------------------------------------------------

def test_view_teacher_identity_and_attributes(teacher) -> None:
    views = [ViewTeacher(teacher, v, r) for v, r in product(("band", "norm"), STUDENT_RATES)]
    ids = [teacher.identity] + [v.identity for v in views]
    assert len(set(ids)) == len(ids)
    again = ViewTeacher(teacher, "band", 8000)
    assert again.identity == views[0].identity
    # the same weights rebuilt from the file: the same identity
    rebuilt = ViewTeacher(ModelTeacher(teacher.model), "band", 8000)
    assert rebuilt.identity == again.identity
    for v in views:
        assert (v.sample_rate, v.window, v.emb_dim) == (teacher.sample_rate, teacher.window,
                                                       teacher.emb_dim)
        assert v.name == f"{teacher.name}@{v.view}:{v.student_rate}"
        assert v.settings()["view"] == v.view and v.settings()["student_rate"] == v.student_rate
        json.dumps(v.settings())
    assert set(views[2].settings()) == {"view", "student_rate", "norm_dbfs", "max_gain_db"}
    assert "ViewTeacher(" in repr(views[0])


def test_apply_view(teacher) -> None:
    for rate in (0, 8000, 16000):
        assert apply_view(teacher, "full", rate) is teacher
    vt = apply_view(teacher, "band", 8000)
    assert isinstance(vt, ViewTeacher) and vt.teacher is teacher
    assert vt.identity == ViewTeacher(teacher, "band", 8000).identity
    assert apply_view(teacher, "norm", 16000).view == "norm"
    assert set(VIEWS) == {"full", "band", "norm"}
    for bad in ("wide", "", "BAND", None):
        with pytest.raises(EdgeSEAError, match="view"):
            apply_view(teacher, bad, 8000)


@pytest.mark.parametrize("view, rate", [("full", 8000), ("wide", 8000), ("band", 0),
                                        ("band", 500), ("band", True), ("band", 8000.0),
                                        ("norm", "8000"), ("norm", None)])
def test_view_teacher_refuses(teacher, view, rate) -> None:
    with pytest.raises(EdgeSEAError):
        ViewTeacher(teacher, view, rate)


def test_parse_view_spec() -> None:
    assert parse_view_spec("aisfx") == ("aisfx", None, None)
    assert parse_view_spec("aisfx@band:8000") == ("aisfx", "band", 8000)
    assert parse_view_spec("aisfx@norm:16000") == ("aisfx", "norm", 16000)
    assert parse_view_spec("aisfx@full") == ("aisfx", "full", None)
    assert parse_view_spec("model:/m/t.safetensors@band:8000") == (
        "model:/m/t.safetensors", "band", 8000)
    for bad in ("aisfx@wide:8000", "aisfx@band", "aisfx@band:", "aisfx@band:8k",
                "aisfx@norm:-1", "aisfx@", "aisfx@:8000"):
        with pytest.raises(EdgeSEAError, match="invalid teacher view"):
            parse_view_spec(bad)


def test_resolve_teacher_with_a_view(model_path: str, teacher) -> None:
    spec = f"model:{model_path}"
    a = resolve_teacher(f"{spec}@band:8000")
    b = resolve_teacher(f"{spec}@band:8000")
    assert isinstance(a, ViewTeacher) and (a.view, a.student_rate) == ("band", 8000)
    assert a.identity == b.identity == ViewTeacher(teacher, "band", 8000).identity
    assert a.teacher.identity == teacher.identity != a.identity
    n = resolve_teacher(f" {spec}@norm:16000 ")
    assert isinstance(n, ViewTeacher) and n.identity == ViewTeacher(teacher, "norm",
                                                                     16000).identity
    assert n.identity != a.identity
    full = resolve_teacher(f"{spec}@full")
    assert isinstance(full, ModelTeacher) and full.identity == teacher.identity
    w = (0.1 * np.random.default_rng(0).standard_normal((2, teacher.window_samples))).astype(
        np.float32)
    np.testing.assert_allclose(a.embed(w), ViewTeacher(teacher, "band", 8000).embed(w),
                               rtol=1e-5, atol=1e-6)
    for bad in (f"{spec}@band:100", f"{spec}@wide:8000", f"{spec}@band", "vggish@band:8000",
                "model:/no/such/file.safetensors@band:8000"):
        with pytest.raises(EdgeSEAError):
            resolve_teacher(bad)


def test_resolve_teacher_path_with_at_sign(tmp_path: Path, teacher) -> None:
    folder = tmp_path / "user@host"
    folder.mkdir()
    path = save_model(teacher.model, folder / "t.safetensors")
    assert resolve_teacher(f"model:{path}").identity == teacher.identity


# -- 5. SpecializeConfig --------------------------------------------------------------------

def test_specialize_config_new_fields() -> None:
    cfg = SpecializeConfig()
    assert (cfg.sample_rate, cfg.level, cfg.view, cfg.stream) == (16000, "window", "norm", True)
    cfg = SpecializeConfig(sample_rate=16000, level="absolute", view="norm")
    back = SpecializeConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert (back.sample_rate, back.level, back.view) == (16000, "absolute", "norm")


@pytest.mark.parametrize("kw", [{"sample_rate": 22050}, {"sample_rate": 44100},
                                {"sample_rate": True}, {"sample_rate": "8000"},
                                {"sample_rate": None}, {"level": "peak"}, {"level": None},
                                {"level": "Window"}, {"view": "wide"}, {"view": None},
                                {"view": "band:8000"}])
def test_specialize_config_refuses(kw) -> None:
    with pytest.raises(EdgeSEAError):
        SpecializeConfig(**kw)


def test_specialize_config_float_rate_is_refused_up_front() -> None:
    with pytest.raises(EdgeSEAError):
        SpecializeConfig(sample_rate=8000.0, view="band")


@pytest.mark.parametrize("rate, level, arch", list(product(
    STUDENT_RATES, LEVELS, ("sea:4,4,8,8", "mcu"))))
def test_build_student_rate_and_level(rate: int, level: str, arch: str) -> None:
    cfg = SpecializeConfig(emb_dim=8, arch=arch, sample_rate=rate, level=level)
    torch.manual_seed(0)
    model = cfg.build_student().eval()
    assert model.sample_rate == rate and model.window_samples == rate
    fe = model.config.frontend
    assert fe["sample_rate"] == rate and fe["n_mels"] == 64
    assert fe["ref"] == (1.0 if level == "absolute" else "max")
    assert fe["top_db"] == (None if level == "absolute" else 80.0)
    assert model.frontend.n_frames(model.window_samples) == 50
    with torch.no_grad():
        x = 0.1 * torch.randn(2, rate)
        assert model.frontend(x).shape == (2, 64, 50)
        assert model(x).shape == (2, 8)


# -- 6. the view in the run and in the model file -------------------------------------------

def run_config(teacher_spec: str, **kw) -> SpecializeConfig:
    base = dict(teacher=teacher_spec, emb_dim=4, arch="sea:4,4,8,8", sample_size="16",
                val_fraction=0.34, augment_factor=0.0, train={"epochs": 1, "lr": 1e-3})
    return SpecializeConfig(**(base | kw))


@pytest.fixture(scope="module")
def band_run(clip_dir: Path, teacher16_path: Path, tmp_path_factory):
    cfg = run_config(f"model:{teacher16_path}", view="band", sample_rate=8000,
                     level="absolute", augment_factor=0.25)
    return specialize(clip_dir, tmp_path_factory.mktemp("band") / "run", cfg, progress=False)


def test_view_is_recorded_in_the_student(band_run, teacher16, teacher16_path: Path) -> None:
    vt = ViewTeacher(teacher16, "band", 8000)
    model = load_model(band_run.student_path)
    meta = model.metadata
    assert meta["view"] == {"view": "band", "student_rate": 8000, "level": "absolute"}
    assert meta["teacher"]["identity"] == vt.identity
    assert meta["teacher"]["name"] == vt.name and meta["teacher"]["sample_rate"] == SR
    assert meta["teacher"]["spec"] == f"model:{teacher16_path}"
    assert model.sample_rate == 8000
    assert model.config.frontend["ref"] == 1.0 and model.config.frontend["top_db"] is None
    cfg = json.loads((band_run.run_dir / "config.json").read_text())
    assert (cfg["view"], cfg["sample_rate"], cfg["level"]) == ("band", 8000, "absolute")


def test_run_store_is_labelled_through_the_view(band_run, clip_dir: Path, teacher16) -> None:
    vt = ViewTeacher(teacher16, "band", 8000)
    store = EmbeddingStore.open(band_run.run_dir / "store")
    assert store.manifest["teacher"]["identity"] == vt.identity
    emb = store.load(["embedding"])["embedding"]
    f = store.files[1]
    start = store.files[0].n_windows
    audio, sr = load_audio(clip_dir / f.path)
    frames, _ = frame_audio(resample(to_float_mono(audio), sr, SR), SR, 1.0, 0.5, True)
    got = emb[start:start + f.n_windows]
    np.testing.assert_allclose(got, vt.embed(np.array(frames)), rtol=1e-4, atol=1e-5)
    assert not np.allclose(got, teacher16.embed(np.array(frames)), rtol=1e-3, atol=1e-4)
    aug = json.loads((band_run.run_dir / "augment" / "store" / "manifest.json").read_text())
    assert aug["teacher"]["identity"] == vt.identity and aug["student_rate"] == 8000


def test_other_view_gets_another_identity(band_run, clip_dir: Path, teacher16,
                                          teacher16_path: Path, tmp_path: Path) -> None:
    spec = f"model:{teacher16_path}"
    with pytest.raises(EdgeSEAError, match="other settings"):  # same run dir, new view
        specialize(clip_dir, band_run.run_dir, run_config(
            spec, view="full", sample_rate=8000, level="absolute", augment_factor=0.25),
            progress=False)
    r = specialize(clip_dir, tmp_path / "full", run_config(spec, view="full", sample_rate=8000,
                                                           level="absolute"), progress=False)
    full_id = EmbeddingStore.open(r.run_dir / "store").manifest["teacher"]["identity"]
    band_id = EmbeddingStore.open(band_run.run_dir / "store").manifest["teacher"]["identity"]
    assert full_id == teacher16.identity != band_id
    meta = load_model(r.student_path).metadata
    assert meta["view"] == {"view": "full", "student_rate": 8000, "level": "absolute"}
    assert meta["teacher"]["identity"] == teacher16.identity
    a = EmbeddingStore.open(r.run_dir / "store").load(["embedding"])["embedding"]
    b = EmbeddingStore.open(band_run.run_dir / "store").load(["embedding"])["embedding"]
    assert a.shape == b.shape and not np.allclose(a, b, rtol=1e-3, atol=1e-4)


# -- 7. augmented windows through the view --------------------------------------------------

@pytest.mark.parametrize("view", ["band", "norm"])
def test_augmented_windows_are_labelled_through_the_view(clip_dir: Path, teacher16,
                                                         tmp_path: Path, view: str) -> None:
    names = CLIPS[:3]
    durs = [sf.info(clip_dir / n).duration for n in names]
    vt = ViewTeacher(teacher16, view, 8000)
    kw = dict(n=6, seed=1, student_rate=8000, shard_size=4, progress=False)
    m = make_augmented(clip_dir, names, durs, tmp_path / "view", vt, **kw)
    make_augmented(clip_dir, names, durs, tmp_path / "bare", teacher16, **kw)
    assert m["teacher"]["identity"] == vt.identity
    got, bare = load_augmented(tmp_path / "view"), load_augmented(tmp_path / "bare")
    # the same windows (recipes, student audio), other targets
    np.testing.assert_array_equal(got["recipe"], bare["recipe"])
    np.testing.assert_array_equal(got["student_audio"], bare["student_audio"])
    assert not np.allclose(got["embedding"], bare["embedding"], rtol=1e-3, atol=1e-4)
    # re-render the teacher-rate audio from the stored recipes
    aug = Augmenter(durs, AugmentConfig(), seed=1, window=1.0)

    def load(k: int) -> np.ndarray:
        audio, sr = load_audio(clip_dir / names[k])
        return resample(to_float_mono(audio), sr, SR)

    wave = np.stack([aug.render(json.loads(r), load, SR) for r in got["recipe"]])
    np.testing.assert_allclose(got["embedding"], vt.embed(wave), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bare["embedding"], teacher16.embed(wave), rtol=1e-4,
                               atol=1e-5)
