"""Fault injection: a full disk while ``specialize`` writes its caches (a real, tiny tmpfs in
a subprocess, and a simulated ENOSPC), and the leftovers of killed writers."""

from __future__ import annotations

import builtins
import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import edgesea.core.fileio as fileio
import edgesea.specialize.stages as stages
from edgesea.errors import EdgeSEAError
from edgesea.extract.run import extract, resolve_teacher
from edgesea.models import save_model, sea_student
from edgesea.specialize.config import SpecializeConfig
from edgesea.store.shards import EmbeddingStore

N_FILES, SR = 4, 16000


def dead_pid() -> int:
    """The id of a process that has just exited."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict:
    """Audio, a tiny teacher, its store (hop 0.1 s: 21 windows a file) and a tiny student."""
    root = tmp_path_factory.mktemp("faults")
    audio = root / "audio"
    audio.mkdir()
    rng = np.random.default_rng(0)
    for i in range(N_FILES):
        sf.write(audio / f"{100 + i}-0-0-{i}.wav",
                 (0.1 * rng.standard_normal(2 * SR)).astype(np.float32), SR)
    torch.manual_seed(0)
    teacher_path = root / "teacher.safetensors"
    save_model(sea_student(16, head="linear", filters=(4, 4, 8, 8)).eval(), teacher_path)
    teacher = f"model:{teacher_path}"
    extract(audio, root / "store", resolve_teacher(teacher), hop_size=0.1, progress=False)
    student_path = root / "student.safetensors"
    save_model(sea_student(8, head="linear", filters=(4, 4, 8, 8)).eval(), student_path)
    return {"root": root, "audio": audio, "store": root / "store", "teacher": teacher,
            "student": student_path}


def student():
    torch.manual_seed(0)
    return sea_student(8, head="linear", filters=(4, 4, 8, 8)).eval()


def cache_bytes(setup: dict) -> int:
    return len(EmbeddingStore.open(setup["store"])) * 64 * 50 * 2


class _FullFile:
    """A binary file whose writes fail with ENOSPC once ``room`` bytes were written."""

    def __init__(self, f, room: int) -> None:
        self._f, self._room = f, room

    def write(self, data) -> int:
        n = memoryview(data).nbytes
        if n > self._room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= n
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


def _full_disk_open(room: int):
    def fake_open(file, mode="r", *args, **kw):
        f = builtins.open(file, mode, *args, **kw)
        return _FullFile(f, room) if ("w" in mode or "+" in mode) and "b" in mode else f
    return fake_open


def _no_temps(folder: Path) -> list[Path]:
    return sorted(folder.rglob(".tmp-*"))


def _inputs_on_a_full_disk(setup: dict, tmp_path: Path, monkeypatch) -> tuple:
    """Write the student inputs onto a disk with 20 kB of room: (the error, the out path)."""
    store = EmbeddingStore.open(setup["store"])
    out = tmp_path / "inputs" / "logmel.npy"
    out.parent.mkdir()
    monkeypatch.setattr(fileio, "open", _full_disk_open(20_000), raising=False)
    with pytest.raises(EdgeSEAError, match="no space left") as e:
        stages.student_inputs(store, setup["audio"], student(), out, progress=False)
    return e, out


def test_student_inputs_disk_full_is_a_clear_error(setup: dict, tmp_path: Path,
                                                   monkeypatch) -> None:
    e, out = _inputs_on_a_full_disk(setup, tmp_path, monkeypatch)
    assert f"needs {cache_bytes(setup) + 128:,} bytes" in str(e.value)  # + the .npy header
    assert str(out.parent) in str(e.value)
    assert not out.exists() and not _no_temps(tmp_path)


def test_preallocation_reports_disk_full_up_front(setup: dict, tmp_path: Path,
                                                  monkeypatch) -> None:
    def no_room(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", no_room, raising=False)
    out = tmp_path / "logmel.npy"
    with pytest.raises(EdgeSEAError, match="no space left"):
        stages.student_inputs(EmbeddingStore.open(setup["store"]), setup["audio"], student(),
                              out, progress=False)
    assert not out.exists() and not _no_temps(tmp_path)


def test_student_inputs_match_the_frontend(setup: dict, tmp_path: Path) -> None:
    """The block-written cache is a plain .npy equal to the front end's output."""
    store = EmbeddingStore.open(setup["store"])
    out = tmp_path / "logmel.npy"
    x = stages.student_inputs(store, setup["audio"], student(), out, progress=False)
    assert x.dtype == np.float16 and x.shape == (len(store), 64, 50)
    assert np.array_equal(np.load(out, mmap_mode="r"), x)
    f = store.files[0]
    from edgesea.audio.io import load_audio, resample, to_float_mono
    a, sr = load_audio(setup["audio"] / f.path)
    from edgesea.audio.windows import frame_windows
    frames = frame_windows(resample(to_float_mono(a), sr, 8000), 8000, f.n_windows,
                           store.manifest["hop_size"], 1.0, store.manifest["center"])
    with torch.no_grad():
        ref = student().frontend(torch.from_numpy(np.array(frames, np.float32))).numpy()
    assert np.array_equal(x[:f.n_windows], ref.astype(np.float16))
    assert not _no_temps(tmp_path)


def test_stale_temps_are_cleaned_before_writing(setup: dict, tmp_path: Path) -> None:
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = tmp_path / f".tmp-{dead_pid()}-abc.npy"
        kept = tmp_path / f".tmp-{live.pid}-abc.npy"
        for p in (dead, kept):
            p.write_bytes(b"x" * 100)
        stages.student_inputs(EmbeddingStore.open(setup["store"]), setup["audio"], student(),
                              tmp_path / "logmel.npy", progress=False)
        assert not dead.exists() and kept.exists()
    finally:
        live.kill()
        live.wait()


def test_augmented_logmels_disk_full(setup: dict, tmp_path: Path, monkeypatch) -> None:
    store = EmbeddingStore.open(setup["store"])
    n = len(store)
    split = {"train_all": np.arange(n // 2), "sample": np.arange(8), "val": np.arange(n // 2, n)}
    cfg = SpecializeConfig(teacher=setup["teacher"], emb_dim=8, arch="sea:4,4,8,8",
                           sample_size="8", augment_factor=0.5, train_on="sample")
    teacher = resolve_teacher(setup["teacher"])
    out = tmp_path / "augment"
    monkeypatch.setattr(fileio, "open", _full_disk_open(1000), raising=False)
    with pytest.raises(EdgeSEAError, match="no space left"):
        stages.augment_windows(store, setup["audio"], split, cfg, teacher, student(), out,
                               progress=False)
    assert not (out / "logmel.npy").exists() and not _no_temps(tmp_path)
    monkeypatch.undo()
    stages.augment_windows(store, setup["audio"], split, cfg, teacher, student(), out,
                           progress=False)
    assert np.load(out / "logmel.npy").shape == (4, 64, 50)


_CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from edgesea.errors import EdgeSEAError
    from edgesea.models import load_model
    from edgesea.specialize.stages import student_inputs
    from edgesea.store.shards import EmbeddingStore
    store, audio, model, out = sys.argv[1:]
    try:
        student_inputs(EmbeddingStore.open(store), Path(audio), load_model(model), Path(out),
                       progress=False)
    except EdgeSEAError as e:
        print(f"EdgeSEAError: {e}", file=sys.stderr)
        sys.exit(3)
    print("wrote", out)
""")


def test_full_tmpfs_in_a_subprocess(setup: dict, tmp_path: Path) -> None:
    """A real full filesystem: a clear error and no leftover (the memmap writer got SIGBUS)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
                           capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip(f"cannot mount a tmpfs here: {e}")
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        need = cache_bytes(setup)
        # leave less room than the cache needs (but room for the header)
        (disk / "filler").write_bytes(b"\0" * (2 * 1024 * 1024 - need // 2))
        out = disk / "inputs" / "logmel.npy"
        out.parent.mkdir()
        p = subprocess.run([sys.executable, "-c", _CHILD, str(setup["store"]),
                            str(setup["audio"]), str(setup["student"]), str(out)],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 3, (p.returncode, p.stderr[-2000:])
        assert "EdgeSEAError" in p.stderr and "no space left" in p.stderr
        assert not out.exists() and not _no_temps(disk)
        # with room again, the same call works
        (disk / "filler").unlink()
        p = subprocess.run([sys.executable, "-c", _CHILD, str(setup["store"]),
                            str(setup["audio"]), str(setup["student"]), str(out)],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr[-2000:]
        assert np.load(out).shape == (len(EmbeddingStore.open(setup["store"])), 64, 50)
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


# -- every atomic writer reports a full disk as an EdgeSEAError -----------------------------

def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _write_json(tmp: Path) -> Path:
    from edgesea.core.fileio import write_json

    write_json(tmp / "x.json", {"a": 1})
    return tmp / "x.json"


def _write_shard(tmp: Path) -> Path:
    from edgesea.store.shards import COLUMNS, write_shard

    cols = {k: np.zeros((2, 4) if k == "embedding" else (2,), dt) for k, dt in COLUMNS.items()}
    return write_shard(tmp, 0, cols)


def _save_model(tmp: Path) -> Path:
    save_model(sea_student(64), tmp / "m.safetensors")
    return tmp / "m.safetensors"


def _save_checkpoint(tmp: Path) -> Path:
    from edgesea.distill.checkpoint import save_atomic

    save_atomic({"x": torch.zeros(3)}, tmp / "latest.pt")
    return tmp / "latest.pt"


@pytest.mark.parametrize("writer,target", [
    (_write_json, ("json", "dump")),
    (_write_shard, ("numpy", "savez")),
    (_save_model, ("edgesea.models.io", "save_file")),
    (_save_checkpoint, ("torch", "save")),
])
def test_atomic_writers_report_a_full_disk(tmp_path, monkeypatch, writer, target):
    """Store shards, manifests, model files and checkpoints: ENOSPC mid-write is an
    EdgeSEAError naming the file, and neither the file nor a temp file is left."""
    import importlib

    monkeypatch.setattr(importlib.import_module(target[0]), target[1], _enospc)
    with pytest.raises(EdgeSEAError, match="no space left on the device writing") as e:
        writer(tmp_path)
    assert str(tmp_path) in str(e.value)
    left = [p.name for p in tmp_path.rglob("*") if p.is_file()]
    assert left == []


def test_embed_output_full_disk(tmp_path, monkeypatch, tiny_model_path):
    """``process_file`` on a full disk: an EdgeSEAError naming the output, no temp left."""
    import edgesea.inference.outputs as outputs
    from edgesea import process_file

    sf.write(tmp_path / "a.wav", 0.1 * np.ones(16000, np.float32), 16000)

    def full(path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"partial")
        _enospc()

    monkeypatch.setattr(outputs, "write_npz", full)
    with pytest.raises(EdgeSEAError, match="no space left on the device writing"):
        process_file(tmp_path / "a.wav", output_dir=tmp_path / "out", model=tiny_model_path)
    assert [p.name for p in (tmp_path / "out").iterdir()] == []


def test_a_failed_stage_leaves_gradients_on(setup: dict, tmp_path: Path, monkeypatch) -> None:
    """A stage that fails mid-way (disk full) while its input generator is suspended must
    not leave torch's grad mode off: the generators used to yield inside ``torch.no_grad()``,
    and the kept traceback kept them suspended, so a later training step in the same
    process failed with "element 0 of tensors does not require grad"."""
    import torch

    e, _ = _inputs_on_a_full_disk(setup, tmp_path, monkeypatch)
    assert e.value is not None  # the traceback (and the generator's frame) is still held
    assert torch.is_grad_enabled()
    assert not torch.is_inference_mode_enabled()
