"""Tests of teacher-embedding extraction (:mod:`edgesea.extract.run`), :class:`ModelTeacher`
and the ``edgesea teacher-embed`` command: equality with a direct computation, failed
files, resuming after a SIGKILL or a crash mid-write, settings checks, workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from edgesea.audio.io import load_audio, resample, to_float_mono
from edgesea.audio.windows import frame_audio
from edgesea.cli import app
from edgesea.errors import EdgeSEAError
from edgesea.extract.run import extract, list_audio_files, resolve_teacher
from edgesea.models import sea_student
from edgesea.store.shards import COLUMNS, EmbeddingStore
from edgesea.teachers import Teacher
from edgesea.teachers.model import ModelTeacher
from shared_helpers import CLIPS, assert_same_store, slow_teacher_script, write_clips


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("audio")
    write_clips(root)
    return root


@pytest.fixture(scope="module")
def reference(audio_dir: Path, teacher: ModelTeacher, tmp_path_factory) -> EmbeddingStore:
    """An uninterrupted run with files_per_shard=2 (4 shards)."""
    out = tmp_path_factory.mktemp("ref") / "store"
    return extract(audio_dir, out, teacher, files_per_shard=2, batch_size=8,
                   progress=False).store




def test_model_teacher(teacher: ModelTeacher) -> None:
    assert isinstance(teacher, Teacher)
    assert (teacher.name, teacher.sample_rate, teacher.window, teacher.emb_dim) == \
        ("model:sea", 8000, 1.0, 64)
    x = np.random.default_rng(1).standard_normal((3, 8000)).astype(np.float32) * 0.1
    with torch.no_grad():
        direct = teacher.model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(teacher.embed(x), direct, rtol=1e-4, atol=1e-5)
    assert teacher.embed(x[:0]).shape == (0, 64)
    with pytest.raises(EdgeSEAError, match=r"\(B, 8000\)"):
        teacher.embed(x[:, :100])
    assert ModelTeacher(teacher.model).identity == teacher.identity
    torch.manual_seed(5)
    model = sea_student(64).eval()
    other = ModelTeacher(model)
    assert other.identity != teacher.identity
    with torch.no_grad():
        before = model(torch.from_numpy(x)).numpy()
        model.features[0].weight.mul_(2.0)  # the teacher embeds its construction snapshot
    np.testing.assert_allclose(other.embed(x), before, rtol=1e-4, atol=1e-5)
    assert ModelTeacher(model).identity != other.identity
    with pytest.raises(EdgeSEAError):
        ModelTeacher("not a model")  # type: ignore[arg-type]


def test_matches_direct_computation(reference: EmbeddingStore, audio_dir: Path,
                                    teacher: ModelTeacher) -> None:
    files = sorted(rel for rel, *_ in CLIPS)
    assert list_audio_files(audio_dir) == files
    store = EmbeddingStore.open(reference.root)
    assert store.complete and [f.path for f in store.files] == files
    assert store.manifest["teacher"]["identity"] == teacher.identity
    data = store.load()
    np.testing.assert_array_equal(store.window_ids, np.arange(len(store)))
    assert np.all(np.diff(data["file_index"]) >= 0)  # rows ordered by file
    from edgesea.audio.loudness import laeq
    for entry in store.files:
        audio, sr = load_audio(audio_dir / entry.path)
        mono = to_float_mono(audio)
        frames, stamps = frame_audio(resample(mono, sr, 8000), 8000, 1.0, 0.5, True)
        rows = data["file_index"] == entry.index
        assert entry.status == "ok" and entry.error is None
        assert entry.n_windows == len(stamps) == rows.sum()
        assert entry.duration_s == pytest.approx(mono.shape[0] / sr)
        np.testing.assert_allclose(data["embedding"][rows], teacher.embed(frames),
                                   rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(data["timestamp_s"][rows], stamps)
        np.testing.assert_array_equal(data["start_s"][rows], stamps - 0.5)
        np.testing.assert_allclose(data["laeq_db"][rows], laeq(frames, 8000), atol=1e-4)


def test_failed_files_are_recorded(tmp_path: Path, teacher: ModelTeacher) -> None:
    write_clips(tmp_path / "in")
    (tmp_path / "in" / "broken.wav").write_bytes(b"RIFF\x00\x00garbage")
    report = extract(tmp_path / "in", tmp_path / "out", teacher, files_per_shard=3,
                     progress=False)
    assert (report.n_files, report.n_ok, report.n_failed) == (9, 8, 1)
    bad = next(f for f in report.store.files if f.path == "broken.wav")
    assert bad.status == "failed" and "could not decode" in bad.error
    assert bad.n_windows == 0 and bad.duration_s is None
    data = report.store.load(columns=["file_index"])
    assert bad.index not in data["file_index"]
    assert len(report.store) == sum(f.n_windows for f in report.store.files)
    again = extract(tmp_path / "in", tmp_path / "out", teacher, files_per_shard=3,
                    progress=False)  # a rerun skips everything, keeps the bookkeeping
    assert again.shards_computed == 0 and again.n_failed == 1




_SLOW_RUN = slow_teacher_script(0.5, """
extract(sys.argv[1], sys.argv[2], Slow(ModelTeacher(load_model(sys.argv[3]))),
        files_per_shard=2, batch_size=8, progress=False)
""")


def test_resume_after_sigkill(tmp_path: Path, audio_dir: Path, model_path: str,
                              teacher: ModelTeacher, reference: EmbeddingStore) -> None:
    out = tmp_path / "store"
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_RUN, str(audio_dir), str(out),
                             model_path])
    done: list[int] = []
    deadline = time.monotonic() + 120
    try:
        while not done and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
            try:
                shards = json.loads((out / "manifest.json").read_text())["shards"]
            except (OSError, ValueError):
                continue
            done = [k for k, s in enumerate(shards) if s["status"] == "complete"]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert done, "the subprocess finished or failed before writing a shard"
    killed = EmbeddingStore.open(out)
    done = [k for k, s in enumerate(killed.manifest["shards"]) if s["status"] == "complete"]
    assert 0 < len(done) < 4
    mtimes = {k: (out / killed.manifest["shards"][k]["file"]).stat().st_mtime_ns for k in done}
    # what a kill during a write leaves behind: a temp file (named after the dead writer),
    # and a stale pending shard
    (out / "shards" / f".tmp-{proc.pid}-killed.npz").write_bytes(b"PK\x03\x04 half")
    (out / "shards" / "shard-00003.npz").write_bytes(b"junk")

    report = extract(audio_dir, out, teacher, files_per_shard=2, batch_size=8, progress=False)
    assert report.shards_skipped == len(done) and report.shards_computed == 4 - len(done)
    for k, mtime in mtimes.items():  # completed shards were not recomputed
        assert (out / killed.manifest["shards"][k]["file"]).stat().st_mtime_ns == mtime
    assert not list(out.rglob(".tmp-*"))
    assert_same_store(report.store, reference)
    assert np.unique(np.stack([report.store.load()["file_index"],
                               report.store.load()["timestamp_s"]]), axis=1).shape[1] == \
        len(report.store)  # no duplicated windows


def test_crash_mid_shard_write_leaves_no_partial_shard(tmp_path: Path, audio_dir: Path,
                                                       teacher: ModelTeacher,
                                                       reference: EmbeddingStore,
                                                       monkeypatch) -> None:
    out = tmp_path / "store"
    calls = []
    real_savez = np.savez

    def crashing_savez(fh, **arrays):
        calls.append(1)
        if len(calls) == 2:
            fh.write(b"PK\x03\x04 partial shard")
            raise OSError("simulated crash")
        return real_savez(fh, **arrays)

    monkeypatch.setattr(np, "savez", crashing_savez)
    with pytest.raises(OSError, match="simulated crash"):
        extract(audio_dir, out, teacher, files_per_shard=2, batch_size=8, progress=False)
    monkeypatch.undo()
    assert sorted(p.name for p in (out / "shards").iterdir()) == ["shard-00000.npz"]
    store = EmbeddingStore.open(out)
    assert [s["status"] for s in store.manifest["shards"]] == ["complete"] + ["pending"] * 3
    assert len(store) == store.manifest["shards"][0]["n_rows"] > 0
    report = extract(audio_dir, out, teacher, files_per_shard=2, batch_size=8, progress=False)
    assert (report.shards_skipped, report.shards_computed) == (1, 3)
    assert_same_store(report.store, reference)


def test_settings_mismatch_is_refused(tmp_path: Path, audio_dir: Path, teacher: ModelTeacher,
                                      reference: EmbeddingStore) -> None:
    out = reference.root
    torch.manual_seed(3)
    other = ModelTeacher(sea_student(64))
    for kwargs, what in [({"hop_size": 0.25}, "hop_size"), ({"center": False}, "center"),
                         ({"files_per_shard": 3}, "files_per_shard"),
                         ({"teacher": other}, "identity")]:
        args = {"teacher": teacher, "files_per_shard": 2, **kwargs}
        with pytest.raises(EdgeSEAError, match=what):
            extract(audio_dir, out, progress=False, **args)
    write_clips(tmp_path / "in")
    extract(tmp_path / "in", tmp_path / "out", teacher, files_per_shard=2, progress=False)
    sf.write(tmp_path / "in" / "new.wav", np.zeros(800, np.float32), 8000)
    with pytest.raises(EdgeSEAError, match="1 added"):
        extract(tmp_path / "in", tmp_path / "out", teacher, files_per_shard=2, progress=False)
    report = extract(tmp_path / "in", tmp_path / "out", teacher, files_per_shard=2,
                     hop_size=0.25, progress=False, overwrite=True)
    assert report.store.hop_size == 0.25 and report.n_files == 9
    assert report.shards_computed == 5 and report.store.complete
    (tmp_path / "out" / "manifest.json").write_text("{broken")
    with pytest.raises(EdgeSEAError, match="corrupt"):
        extract(tmp_path / "in", tmp_path / "out", teacher, progress=False)
    with pytest.raises(EdgeSEAError, match="workers"):
        extract(tmp_path / "in", tmp_path / "x", teacher, workers=0, progress=False)
    with pytest.raises(EdgeSEAError, match="no audio files"):
        extract(tmp_path / "out", tmp_path / "x", teacher, progress=False)


def test_two_workers_give_identical_results(tmp_path: Path, audio_dir: Path,
                                            teacher: ModelTeacher,
                                            reference: EmbeddingStore) -> None:
    report = extract(audio_dir, tmp_path / "w2", teacher, files_per_shard=2, batch_size=8,
                     workers=2, progress=False)
    a, b = report.store.load(), reference.load()
    for k in COLUMNS:
        np.testing.assert_array_equal(a[k], b[k])
    assert report.store.files == reference.files


def test_resolve_teacher(model_path: str, teacher: ModelTeacher) -> None:
    t = resolve_teacher(f"model:{model_path}", 1.0)
    assert isinstance(t, ModelTeacher) and t.identity == teacher.identity and t.window == 1.0
    with pytest.raises(EdgeSEAError, match="fixed 1 s window"):
        resolve_teacher(f"model:{model_path}", 2.0)
    with pytest.raises(EdgeSEAError, match=r"aisfx, openl3:PATH\.h5, model:PATH"):
        resolve_teacher("vggish")
    with pytest.raises(EdgeSEAError, match="not found"):
        resolve_teacher("model:/no/such/file.safetensors")


def test_cli_teacher_embed(tmp_path: Path, model_path: str) -> None:
    runner = CliRunner()
    write_clips(tmp_path / "in")
    base = ["teacher-embed", str(tmp_path / "in"), "--teacher", f"model:{model_path}", "-q",
            "--files-per-shard", "3", "--batch-size", "16"]
    result = runner.invoke(app, [*base, "--out", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert "files: 8 ok, 0 failed" in result.output and "of audio per s" in result.output
    store = EmbeddingStore.open(tmp_path / "s")
    assert store.complete and len(store.manifest["shards"]) == 3
    (tmp_path / "in" / "bad.flac").write_bytes(b"fLaC broken")
    for extra in (["--out", str(tmp_path / "s")],  # the file list changed
                  ["--out", str(tmp_path / "s"), "--hop-size", "0.1"],
                  ["--out", str(tmp_path / "s3"), "--teacher", "nope"],
                  ["--out", str(tmp_path / "s3"), "--workers", "0"],
                  ["--out", str(tmp_path / "s3"), "--hop-size", "-1"]):
        result = runner.invoke(app, [*base, *extra])
        assert result.exit_code == 2 and "error:" in result.output, result.output
        assert "Traceback" not in result.output
    result = runner.invoke(app, [*base, "--out", str(tmp_path / "s"), "--hop-size", "0.1",
                                 "--overwrite"])
    assert result.exit_code == 1 and "bad.flac" in result.output
    store = EmbeddingStore.open(tmp_path / "s")
    assert store.hop_size == 0.1 and store.complete and len(store.files) == 9
    assert not os.path.exists(tmp_path / "s3")
