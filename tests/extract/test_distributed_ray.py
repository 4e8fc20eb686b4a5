"""Teacher extraction and augmentation on Ray Data (:mod:`edgesea.distributed.ray_engine`)
against the local engine: the same rows and values (float tolerance), the same store
format, resumability across engines, failed files; on a local 2-CPU Ray instance."""

from __future__ import annotations

import copy
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgesea.augment.bank import load_augmented, make_augmented
from edgesea.cli import app
from edgesea.errors import EdgeSEAError
from edgesea.extract.run import extract
from edgesea.store.shards import EmbeddingStore
from edgesea.teachers.model import ModelTeacher
from shared_helpers import assert_same_store, write_clips


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    # idle workers are kept for the whole module (Ray's default kills them after 1 s):
    # each new worker process imports torch and edgesea, seconds on a 2-core machine
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             _system_config={"idle_worker_killing_time_threshold_ms": 600_000})
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("audio")
    write_clips(root)
    (root / "broken.wav").write_bytes(b"RIFF not really a wav")
    return root


@pytest.fixture(scope="module")
def local_store(audio_dir: Path, teacher: ModelTeacher, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "store"
    return extract(audio_dir, out, teacher, files_per_shard=3, batch_size=8,
                   progress=False).store


def test_ray_equals_local_and_resumes(ray_local, audio_dir: Path, model_path: str,
                                      teacher: ModelTeacher, local_store,
                                      tmp_path: Path) -> None:
    """The local store with shards 0 (holding broken.wav) and 2 missing:
    ``teacher-embed --engine ray`` with 2 actors computes only those, equal to the local
    engine's (rows, values, manifest), leaves shard 1 untouched; a local rerun then finds
    nothing to do."""
    out = tmp_path / "store"
    shutil.copytree(local_store.root, out)
    m = json.loads((out / "manifest.json").read_text())
    for k in (0, 2):
        m["shards"][k].update(status="pending", n_rows=0)
        (out / m["shards"][k]["file"]).unlink()
    (out / "manifest.json").write_text(json.dumps(m))
    before = (out / m["shards"][1]["file"]).stat().st_mtime_ns
    res = CliRunner().invoke(app, ["teacher-embed", str(audio_dir), "-o", str(out),
                                   "--teacher", f"model:{model_path}", "--files-per-shard",
                                   "3", "--batch-size", "5", "--engine", "ray",
                                   "--num-actors", "2", "-q"])
    assert res.exit_code == 1, res.output  # broken.wav failed
    assert "files: 8 ok, 1 failed" in res.output and "2 computed, 1 already done" in res.output
    assert (out / m["shards"][1]["file"]).stat().st_mtime_ns == before
    store = EmbeddingStore.open(out)
    assert_same_store(local_store, store)  # rows equal, embeddings within 1e-5
    bad = next(f for f in store.files if f.path == "broken.wav")
    assert bad.status == "failed" and bad.error
    a, b = (json.loads((s.root / "manifest.json").read_text()) for s in (local_store, store))
    assert a["files"] == b["files"] and a["shards"] == b["shards"]
    again = extract(audio_dir, out, teacher, files_per_shard=3, batch_size=8, progress=False)
    assert again.shards_computed == 0


def test_without_ray_says_how_to_install(audio_dir: Path, teacher: ModelTeacher,
                                         tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(EdgeSEAError, match=r"pip install edgesea\[ray\]"):
        extract(audio_dir, tmp_path / "s", teacher, progress=False, engine="ray")
    assert not (tmp_path / "s").exists()  # refused before any work
    res = CliRunner().invoke(app, ["augment", str(audio_dir), "-o", str(tmp_path / "a"),
                                   "--n", "3", "--engine", "ray", "-q", "--teacher",
                                   "model:/nonexistent.safetensors"])
    assert res.exit_code == 2 and "pip install edgesea[ray]" in res.output


def test_actor_failure_is_a_clear_error(ray_local, audio_dir: Path, teacher: ModelTeacher,
                                        tmp_path: Path) -> None:
    broken = copy.copy(teacher)
    broken.window_samples += 1  # its embed refuses the windows it is given
    one = tmp_path / "one"  # one file: the failure is reached after one decoding task
    one.mkdir()
    shutil.copy(audio_dir / "b.wav", one)
    with pytest.raises(EdgeSEAError, match=r"Ray pipeline failed.*rerun to resume"):
        extract(one, tmp_path / "s", broken, files_per_shard=3, progress=False,
                engine="ray")


def test_bad_options(ray_local, audio_dir: Path, teacher: ModelTeacher, tmp_path: Path) -> None:
    with pytest.raises(EdgeSEAError, match="num_actors"):
        extract(audio_dir, tmp_path / "s", teacher, progress=False, engine="ray",
                engine_options={"num_actors": 0})
    with pytest.raises(EdgeSEAError, match="engine"):
        extract(audio_dir, tmp_path / "s", teacher, progress=False, engine="spark")


def test_augment_on_ray_equals_local(ray_local, audio_dir: Path, teacher: ModelTeacher,
                                     tmp_path: Path) -> None:
    sources = ["a.wav", "b.wav", "sub/c.flac"]
    durations = [0.4, 1.3, 2.2]
    kw = {"n": 20, "seed": 4, "student_rate": 8000, "shard_size": 8, "progress": False}
    make_augmented(audio_dir, sources, durations, tmp_path / "l", teacher, **kw)
    make_augmented(audio_dir, sources, durations, tmp_path / "r", teacher, **kw,
                   engine="ray")
    a, b = load_augmented(tmp_path / "l"), load_augmented(tmp_path / "r")
    for c in a:
        if c == "embedding":
            np.testing.assert_allclose(a[c], b[c], rtol=1e-5, atol=1e-6)
        else:
            np.testing.assert_array_equal(a[c], b[c])
