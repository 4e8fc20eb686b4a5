"""The demo (``make demo``): its shipped audio folder, and its functions with a tiny recipe.

The audio checks always run. The run of ``examples/demo.py``'s functions skips when the
packaged 128-d student or the aisfx teacher weights are not installed (and its export part
when the ``export`` extra is missing).
"""

from __future__ import annotations

import csv
import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edgesea.audio.files import recording_groups
from edgesea.errors import EdgeSEAError
from edgesea.evaluate.classify import read_dataset
from edgesea.extract.run import list_audio_files

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
AUDIO = EXAMPLES / "audio"
SHARED_META = ROOT.parent / "shared" / "data" / "urbansound8k_subset" / "metadata.csv"
CLASSES = ("air_conditioner", "car_horn", "children_playing", "dog_bark", "drilling",
           "engine_idling", "gun_shot", "jackhammer", "siren", "street_music")
US8K = re.compile(r"^(\d+)-(\d)-\d+-\d+$")


def _metadata() -> list[dict[str, str]]:
    with open(AUDIO / "metadata.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_demo_audio_budget_and_license():
    files = list_audio_files(AUDIO)
    assert 10 <= len(files) <= 40
    total = sum(p.stat().st_size for p in AUDIO.rglob("*") if p.is_file())
    assert total <= 4_000_000
    text = (AUDIO / "LICENSE").read_text()
    for needle in ("CC BY-NC 3.0", "Salamon", "A Dataset and Taxonomy for Urban Sound Research",
                   "ACM MM", "resampled", "mono", "FLAC"):
        assert needle in text, needle
    assert (EXAMPLES / "make_demo_audio.py").is_file()


def test_demo_audio_metadata_is_consistent():
    rows = _metadata()
    files = list_audio_files(AUDIO)
    assert sorted(r["filename"] for r in rows) == files
    assert {r["label"] for r in rows} == set(CLASSES)
    assert {int(r["fold"]) for r in rows} <= {1, 2}  # never the evaluation fold 10
    assert not any("fold10" in f for f in files)
    for r in rows:
        stem = Path(r["filename"]).stem
        m = US8K.match(stem)
        assert m, stem  # FSID-CLASS-OCC-SLICE, as recording_groups expects
        assert CLASSES[int(m.group(2))] == r["label"]
        assert m.group(1) == r["freesound_id"]
        assert r["filename"].startswith(f"fold{r['fold']}/")
        info = sf.info(AUDIO / r["filename"])
        assert (info.format, info.channels, info.samplerate) == ("FLAC", 1, 16000)
    ds = read_dataset(AUDIO)
    assert len(ds.filenames) == len(rows) and len(ds.classes) == 10
    groups = recording_groups(files)  # grouped by Freesound recording (auto mode)
    assert len(np.unique(groups)) == len({r["freesound_id"] for r in rows})


def test_demo_audio_comes_from_folds_1_and_2():
    if not SHARED_META.is_file():
        pytest.skip("../shared UrbanSound8K subset not present")
    with open(SHARED_META, newline="") as f:
        fold = {Path(r["filename"]).stem: (int(r["fold"]), r["label"]) for r in csv.DictReader(f)}
    for r in _metadata():
        assert fold[Path(r["filename"]).stem] == (int(r["fold"]), r["label"])


def _demo_module():
    spec = importlib.util.spec_from_file_location("edgesea_demo", EXAMPLES / "demo.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_demo_functions_tiny_recipe(tmp_path):
    from edgesea.packaged.names import pretrained_path
    from edgesea.teachers.aisfx import default_checkpoint_path

    try:
        model_path = pretrained_path("sea", 128)
    except EdgeSEAError:
        pytest.skip("the packaged 128-d student is not installed")
    try:
        default_checkpoint_path()
    except EdgeSEAError:
        pytest.skip("the aisfx teacher weights are not installed")
    demo = _demo_module()

    res = demo.specialize_demo(AUDIO / "fold1", tmp_path / "spec", emb_dim=8, epochs=1,
                               hop_size=1.0, progress=False)
    assert res.student_path.is_file()
    assert res.stages["distill"]["epochs_run"] == 1
    demo.print_specialize(res)

    clip = AUDIO / _metadata()[0]["filename"]
    emb, ts = demo.embed_clip(clip)
    assert emb.shape[1] == 128 and emb.dtype == np.float32 and len(ts) == len(emb)
    assert np.isfinite(emb).all()

    cmp = demo.compare([AUDIO / r["filename"] for r in _metadata()[:3]], progress=False)
    assert cmp.teacher["params"] > 10 * cmp.student["params"]
    assert cmp.teacher["activation_mb"] > cmp.student["activation_mb"]
    assert cmp.student["windows_per_s"] > 0 and cmp.teacher["windows_per_s"] > 0
    assert -1 <= cmp.cosine_min <= cmp.cosine_mean <= 1
    # held out: the demo student (trained on fold 1) on fold-2 clips
    fold2 = [AUDIO / r["filename"] for r in _metadata() if r["fold"] == "2"][:2]
    held = demo.compare(fold2, model=res.student_path, progress=False)
    demo.print_comparison(held, student="demo, fold 1", agreement_note="held out.")
    assert held.student["emb_dim"] == 8 and held.n_clips == 2

    # classification: trained on fold 1, scored on fold 2 (the teacher is left out: slow)
    cls = demo.classify_demo(AUDIO, tmp_path / "evaluate", [model_path, res.student_path],
                             teachers=(), seeds=1, progress=False)
    assert list(cls["models"]) == ["sea_urban_128", "student"]
    assert cls["chance"]["accuracy"] == pytest.approx(0.1)  # 2 fold-2 clips per class
    assert cls["chance"]["micro_auprc"] == pytest.approx(0.1)
    ship = cls["models"]["sea_urban_128"]
    assert ship["n_train"] == 20 and ship["n_test"] == 20
    assert ship["metrics"]["accuracy"]["mean"] > 0.1  # better than chance
    demo.print_classification(cls)
    assert Path(cls["report"]).is_file() and (tmp_path / "evaluate" / "pr_curves.png").is_file()
    written = demo.print_outputs(tmp_path)
    assert res.student_path in written and Path(cls["report"]) in written

    for mod in ("litert_torch", "tflite_micro", "ai_edge_litert"):
        if importlib.util.find_spec(mod) is None:
            demo.print_comparison(cmp)
            pytest.skip(f"the export extra is not installed ({mod})")
    result, report = demo.export_int8(model_path, tmp_path / "export", AUDIO / "fold1",
                                      AUDIO / "fold2", n_calibration=16, n_windows=4,
                                      repeats=1, progress=False)
    assert Path(result.files["tflite-int8"]).stat().st_size == report.flash_bytes
    assert 0 < report.arena_bytes < 1_000_000
    assert report.int8_vs_float["cosine_mean"] > 0.9
    demo.print_export(result, report)
    demo.print_comparison(cmp, report.flash_bytes, report.arena_bytes)


def test_demo_fails_clearly_without_the_packaged_model(tmp_path, monkeypatch, capsys):
    import edgesea.packaged.names

    demo = _demo_module()
    monkeypatch.setattr(edgesea.packaged.names, "PRETRAINED_DIR", tmp_path / "none")
    assert demo.main(["--out", str(tmp_path / "out"), "--quick"]) == 2
    out = capsys.readouterr().out
    assert "no pretrained 'sea' model with emb_dim=128 is installed" in out
    assert not (tmp_path / "out").exists()
