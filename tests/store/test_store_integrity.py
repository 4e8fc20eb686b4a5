"""Integrity of embedding stores over time (issue 17): content fingerprints (audio replaced
under the same name, size and mtime is recomputed, in ``extract`` and in ``specialize``),
bounded memory on long files, worker processes that exit with a killed parent, and one
writer per store (a second is refused; only dead writers' temp files are cleaned)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from edgesea.audio.io import load_audio, resample, to_float_mono
from edgesea.audio.loudness import laeq
from edgesea.audio.windows import frame_audio
from edgesea.errors import EdgeSEAError
from edgesea.extract.run import extract
from edgesea.models import load_model, save_model, sea_student
from edgesea.store.shards import COLUMNS, EmbeddingStore
from edgesea.teachers.model import ModelTeacher
from shared_helpers import slow_teacher_script

# (name, seconds, sample rate): 5 files -> shards of 2, 2, 1 with files_per_shard=2.
CLIPS = [("a.wav", 1.2, 16000), ("b.wav", 0.8, 16000), ("c.wav", 1.5, 8000),
         ("d.wav", 1.0, 16000), ("e.wav", 2.1, 22050)]


def write_clip(path: Path, seconds: float, sr: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    tone = np.sin(2 * np.pi * rng.uniform(200, 2000) * np.arange(n) / sr)
    sf.write(path, (0.3 * tone + 0.05 * rng.standard_normal(n)).astype(np.float32), sr,
             subtype="PCM_16")


def write_clips(root: Path, seed: int = 0) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i, (name, seconds, sr) in enumerate(CLIPS):
        write_clip(root / name, seconds, sr, seed + i)
    return root


def replace_keeping_stat(path: Path, seconds: float, sr: int, seed: int) -> None:
    """Other audio under the same name, with the same size and the same mtime."""
    st = path.stat()
    write_clip(path, seconds, sr, seed)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


def run(audio: Path, out: Path, teacher: ModelTeacher, **kw):
    return extract(audio, out, teacher, files_per_shard=2, batch_size=8, progress=False, **kw)


def assert_identical(a: EmbeddingStore, b: EmbeddingStore) -> None:
    da, db = a.load(), b.load()
    for k in COLUMNS:
        np.testing.assert_array_equal(da[k], db[k], err_msg=k)
    assert a.files == b.files and a.manifest["shards"] == b.manifest["shards"]


def shard_mtimes(store: Path) -> list[int]:
    return [p.stat().st_mtime_ns for p in sorted((store / "shards").glob("shard-*.npz"))]


# -- content fingerprints ---------------------------------------------------------------

def test_replaced_content_same_size_and_mtime_is_recomputed(tmp_path: Path,
                                                            teacher: ModelTeacher) -> None:
    audio = write_clips(tmp_path / "in")
    first = run(audio, tmp_path / "s", teacher)
    assert first.shards_computed == 3
    entry = json.loads((tmp_path / "s" / "manifest.json").read_text())["files"][2]
    content = entry["content"]
    assert content["size"] == (audio / "c.wav").stat().st_size
    assert content["mtime_ns"] == (audio / "c.wav").stat().st_mtime_ns
    import hashlib
    assert content["sha256"] == hashlib.sha256((audio / "c.wav").read_bytes()).hexdigest()
    before = shard_mtimes(tmp_path / "s")
    replace_keeping_stat(audio / "c.wav", 1.5, 8000, seed=99)  # file 2: shard 1
    again = run(audio, tmp_path / "s", teacher)
    assert (again.shards_computed, again.shards_skipped) == (1, 2)
    after = shard_mtimes(tmp_path / "s")
    assert after[0] == before[0] and after[2] == before[2] and after[1] != before[1]
    fresh = run(audio, tmp_path / "fresh", teacher)
    assert_identical(again.store, fresh.store)
    assert run(audio, tmp_path / "s", teacher).shards_computed == 0  # now up to date


def test_fixed_failed_file_is_recomputed(tmp_path: Path, teacher: ModelTeacher) -> None:
    audio = write_clips(tmp_path / "in")
    (audio / "b.wav").write_bytes(b"RIFF\x00\x00garbage")
    rep = run(audio, tmp_path / "s", teacher)
    bad = rep.store.files[1]
    assert bad.status == "failed" and rep.n_failed == 1
    write_clip(audio / "b.wav", 0.8, 16000, seed=5)  # fixed upstream
    rep = run(audio, tmp_path / "s", teacher)
    assert rep.n_failed == 0 and rep.shards_computed == 1
    fixed = rep.store.files[1]
    assert fixed.status == "ok" and fixed.error is None and fixed.n_windows > 0
    rows = rep.store.load(["file_index"])["file_index"]
    assert (rows == 1).sum() == fixed.n_windows
    assert_identical(rep.store, run(audio, tmp_path / "fresh", teacher).store)


def test_overwrite_recomputes_every_shard(tmp_path: Path, teacher: ModelTeacher) -> None:
    audio = write_clips(tmp_path / "in")
    first = run(audio, tmp_path / "s", teacher)
    rep = run(audio, tmp_path / "s", teacher, overwrite=True)
    assert (rep.shards_computed, rep.shards_skipped) == (3, 0)
    assert_identical(rep.store, first.store)


def test_store_without_fingerprints_is_recomputed(tmp_path: Path,
                                                  teacher: ModelTeacher) -> None:
    audio = write_clips(tmp_path / "in")
    first = run(audio, tmp_path / "s", teacher)
    path = tmp_path / "s" / "manifest.json"
    m = json.loads(path.read_text())
    for f in m["files"]:  # a store written before fingerprints existed
        f.pop("content", None)
    path.write_text(json.dumps(m))
    rep = run(audio, tmp_path / "s", teacher)
    assert rep.shards_computed == 3
    assert all(f["content"]["sha256"] for f in rep.store.manifest["files"])
    assert_identical(rep.store, first.store)


def test_specialize_recomputes_after_replaced_audio(tmp_path: Path) -> None:
    from edgesea.specialize.pipeline import SpecializeConfig, specialize

    torch.manual_seed(0)
    spec = "model:" + save_model(sea_student(32, head="linear", filters=(8, 8, 16, 16)).eval(),
                                 tmp_path / "teacher.safetensors")
    audio = tmp_path / "up"
    audio.mkdir()
    for i in range(12):  # 6 recordings of 2 slices, 2 s at 16 kHz
        write_clip(audio / f"{1000 + i // 2}-{i % 10}-0-{i % 2}.wav", 2.0, 16000, seed=i)
    cfg = SpecializeConfig(teacher=spec, emb_dim=8, arch="sea:4,4,8,8", sample_size="24",
                           val_fraction=0.34, augment_factor=0.0,
                           train={"epochs": 1, "lr": 1e-3})
    specialize(audio, tmp_path / "run", cfg, progress=False)
    name = "1000-0-0-0.wav"
    replace_keeping_stat(audio / name, 2.0, 16000, seed=77)
    r = specialize(audio, tmp_path / "run", cfg, progress=False)
    assert r.ran["embed"] == "computed" and r.ran["inputs"] == "computed"
    store = EmbeddingStore.open(tmp_path / "run" / "store")
    entry = next(f for f in store.files if f.path == name)
    data = store.load()
    rows = data["file_index"] == entry.index
    t = ModelTeacher(load_model(spec.split(":", 1)[1]))
    mono, sr = load_audio(audio / name)
    frames, _ = frame_audio(resample(to_float_mono(mono), sr, t.sample_rate), t.sample_rate,
                            t.window, cfg.hop_size, True)
    np.testing.assert_allclose(data["embedding"][rows], t.embed(frames), rtol=1e-5,
                               atol=1e-5)


# -- bounded memory -----------------------------------------------------------------------

def direct_embeddings(audio: Path, files: list[str], teacher: ModelTeacher, batch_size: int,
                      hop_size: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Whole-file decoding, windows of all files batched in order like one shard."""
    frames = []
    for name in files:
        mono, sr = load_audio(audio / name)
        f, _ = frame_audio(resample(to_float_mono(mono), sr, teacher.sample_rate),
                           teacher.sample_rate, teacher.window, hop_size, True)
        frames.append(f)
    allf = np.concatenate(frames)
    emb = np.concatenate([teacher.embed(allf[i:i + batch_size])
                          for i in range(0, len(allf), batch_size)])
    return emb, np.asarray(laeq(allf, teacher.sample_rate), np.float32)


@pytest.mark.parametrize("workers", [1, 2])
def test_streamed_store_is_bit_identical(tmp_path: Path, teacher: ModelTeacher,
                                         workers: int) -> None:
    audio = write_clips(tmp_path / "in")
    write_clip(audio / "long.wav", 75.0, 16000, seed=3)  # > 60 s: streamed, several blocks
    files = sorted(p.name for p in audio.iterdir())
    rep = extract(audio, tmp_path / "s", teacher, files_per_shard=len(files), batch_size=16,
                  progress=False, workers=workers)
    emb, levels = direct_embeddings(audio, files, teacher, 16)
    data = rep.store.load()
    np.testing.assert_array_equal(data["embedding"], emb)
    np.testing.assert_array_equal(data["laeq_db"], levels)
    long = next(f for f in rep.store.files if f.path == "long.wav")
    assert long.duration_s == 75.0 and long.n_windows == 150


def test_peak_memory_does_not_grow_with_file_length(tmp_path: Path,
                                                    teacher: ModelTeacher) -> None:
    audio = tmp_path / "in"
    audio.mkdir()
    n = 240 * 16000  # 4 minutes: 15 MB as float32, 38 MB of float32 windows at 8 kHz
    rng = np.random.default_rng(0)
    sf.write(audio / "long.wav", (0.1 * rng.standard_normal(n)).astype(np.float32), 16000,
             subtype="PCM_16")
    tracemalloc.start()
    try:
        rep = extract(audio, tmp_path / "s", teacher, batch_size=32, progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rep.n_ok == 1 and rep.n_windows == 480
    assert peak < 24e6, f"peak traced memory {peak / 1e6:.0f} MB"


# -- worker processes die with their parent -----------------------------------------------

_SLOW_WORKERS = slow_teacher_script(1.0, """
if __name__ == "__main__":
    extract(sys.argv[1], sys.argv[2], Slow(ModelTeacher(load_model(sys.argv[3]))),
            files_per_shard=1, batch_size=4, workers=2, progress=False)
""")


def _proc_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (ppid, state, start time) of every process."""
    table = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                fields = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            table[int(d)] = (int(fields[1]), fields[0], fields[19])
    return table


def _descendants(pid: int) -> dict[int, str]:
    table = _proc_table()
    found, todo = {}, [pid]
    while todo:
        parent = todo.pop()
        for p, (ppid, _, start) in table.items():
            if ppid == parent and p not in found:
                found[p] = start
                todo.append(p)
    return found


def _running(procs: dict[int, str]) -> list[int]:
    table = _proc_table()
    return [p for p, start in procs.items()
            if p in table and table[p][2] == start and table[p][1] != "Z"]


def test_workers_exit_when_parent_is_killed(tmp_path: Path, model_path: str) -> None:
    audio = write_clips(tmp_path / "in")
    for i in range(6):
        write_clip(audio / f"x{i}.wav", 1.0, 16000, seed=10 + i)
    script = tmp_path / "slow.py"
    script.write_text(_SLOW_WORKERS)
    proc = subprocess.Popen([sys.executable, str(script), str(audio), str(tmp_path / "s"),
                             model_path])
    try:
        deadline = time.monotonic() + 90
        procs: dict[int, str] = {}
        while time.monotonic() < deadline and proc.poll() is None:
            procs = _descendants(proc.pid)
            # the forkserver, the resource tracker and 2 workers
            if len(procs) >= 4:
                break
            time.sleep(0.1)
        assert len(procs) >= 4, f"workers did not start: {procs}"
        time.sleep(0.5)
        procs = _descendants(proc.pid)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while _running(procs) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _running(procs)
    for p in left:  # do not leave them behind for the rest of the suite
        os.kill(p, signal.SIGKILL)
    assert not left, f"processes left after the parent was killed: {left}"


# -- one writer per store -------------------------------------------------------------------

_HOLDER = """
import fcntl, os, sys, time
from edgesea.core.fileio import make_temp
store = sys.argv[1]
os.makedirs(os.path.join(store, "shards"), exist_ok=True)
if sys.argv[2] == "lock":
    fh = open(os.path.join(store, ".writer.lock"), "a+")
    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    fh.truncate(0); fh.write(str(os.getpid())); fh.flush()
fd, tmp = make_temp(os.path.join(store, "shards"), ".npz")
os.write(fd, b"PK in flight")
print(tmp, flush=True)
time.sleep(120)
"""


def _hold(store: Path, mode: str) -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(store), mode],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line, "the holder process failed"
    return proc, Path(line)


def test_second_writer_is_refused(tmp_path: Path, teacher: ModelTeacher) -> None:
    audio = write_clips(tmp_path / "in")
    store = tmp_path / "s"
    run(audio, store, teacher)
    proc, tmp = _hold(store, "lock")
    try:
        with pytest.raises(EdgeSEAError, match=rf"another process \(pid {proc.pid}\)"):
            run(audio, store, teacher, overwrite=True)
        assert tmp.is_file()  # the other writer's temp shard is untouched
        assert EmbeddingStore.open(store).complete
    finally:
        proc.kill()
        proc.wait()
    rep = run(audio, store, teacher)  # the holder is dead: its lock and temp are gone
    assert not tmp.exists() and rep.store.complete


def test_only_dead_writers_temps_are_cleaned(tmp_path: Path, teacher: ModelTeacher) -> None:
    audio = write_clips(tmp_path / "in")
    store = tmp_path / "s"
    proc, tmp = _hold(store, "nolock")  # a live process's temp (e.g. an older edgesea)
    try:
        rep = run(audio, store, teacher)
        assert rep.store.complete and tmp.is_file()
    finally:
        proc.kill()
        proc.wait()
    run(audio, store, teacher)
    assert not tmp.exists()
    assert not (store / ".writer.lock").exists()  # released and removed after the run


def test_file_failing_mid_stream_leaves_no_rows(tmp_path: Path, teacher: ModelTeacher,
                                                monkeypatch) -> None:
    import edgesea.extract.decode as dec

    audio = write_clips(tmp_path / "in")
    write_clip(audio / "c.wav", 75.0, 16000, seed=3)  # several blocks; fails after one
    real = dec.stream_windows

    def failing(path, *args, **kw):
        for i, block in enumerate(real(path, *args, **kw)):
            if i == 1 and path.endswith("c.wav"):
                raise EdgeSEAError("could not decode audio: damaged after 32 s")
            yield block

    monkeypatch.setattr(dec, "stream_windows", failing)
    rep = extract(audio, tmp_path / "s", teacher, files_per_shard=5, batch_size=8,
                  progress=False)
    bad = rep.store.files[2]
    assert bad.status == "failed" and "damaged after 32 s" in bad.error
    data = rep.store.load()
    assert 2 not in data["file_index"]
    assert len(data["file_index"]) == sum(f.n_windows for f in rep.store.files)
    ok = [CLIPS[i][0] for i in (0, 1, 3, 4)]
    emb, levels = direct_embeddings(audio, ok, teacher, 8)
    assert emb.shape == data["embedding"].shape
    np.testing.assert_allclose(data["embedding"], emb, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(data["laeq_db"], levels)


def test_memoised_content_hash_sees_a_rewrite_with_the_same_size_and_mtime(tmp_path: Path
                                                                          ) -> None:
    """``file_content`` hashes an unchanged file once per process; rewriting it (same size,
    mtime restored) changes its ctime, so the memo never returns the old hash."""
    import edgesea.store.integrity as si

    p = tmp_path / "a.bin"
    p.write_bytes(b"a" * 4096)
    time.sleep(2.1)  # older than the memo's two-second guard
    first = si.file_content(p)
    key = next(k for k in si._DIGESTS if k[1] == p.stat().st_ino)
    assert si._DIGESTS[key] == first["sha256"]
    st = p.stat()
    p.write_bytes(b"b" * 4096)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    second = si.file_content(p)
    assert (second["size"], second["mtime_ns"]) == (first["size"], first["mtime_ns"])
    assert second["sha256"] != first["sha256"]


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    """A lock file left by a killed writer (its pid dead, no flock held) does not block the
    next writer, which removes it on a clean exit."""
    from edgesea.store.integrity import LOCK_FILE, writer_lock

    (tmp_path / LOCK_FILE).write_text("999999999\n")  # a pid that cannot be running
    with writer_lock(tmp_path):
        assert (tmp_path / LOCK_FILE).read_text().strip() == str(os.getpid())
    assert not (tmp_path / LOCK_FILE).exists()
