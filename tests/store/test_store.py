"""Tests of the embedding store format (:mod:`edgesea.store.shards`): round trip, plain-numpy
readability, atomic writes and clear errors for damaged stores."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from edgesea.errors import EdgeSEAError
from edgesea.store.shards import (
    COLUMNS,
    EmbeddingStore,
    clean_temp_files,
    new_manifest,
    read_manifest,
    settings_differences,
    shard_rows,
    write_manifest,
    write_shard,
)

D = 6
SETTINGS = {"teacher": {"name": "fake", "identity": "abc123", "sample_rate": 8000,
                        "window": 1.0, "emb_dim": D},
            "hop_size": 0.5, "center": True, "files_per_shard": 2}
FILES = ["a.wav", "b.wav", "sub/c.flac"]


def _rows(file_index: int, n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = np.arange(n) * 0.5
    return {"file_index": np.full(n, file_index), "timestamp_s": ts, "start_s": ts - 0.5,
            "embedding": rng.standard_normal((n, D)), "laeq_db": rng.uniform(-60, 0, n)}


def _concat(*parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def make_store(root: Path, complete: tuple[int, ...] = (0, 1)) -> dict[int, dict]:
    """A store of FILES: file 0 has 3 windows, file 1 failed, file 2 has 4 windows."""
    manifest = new_manifest(SETTINGS, FILES, audio_dir="/data")
    shards = {0: _rows(0, 3, 0), 1: _rows(2, 4, 1)}
    for k in complete:
        write_shard(root, k, shards[k])
        manifest["shards"][k].update(status="complete", n_rows=len(shards[k]["file_index"]))
    manifest["files"][0].update(status="ok", duration_s=1.2, n_windows=3)
    manifest["files"][1].update(status="failed", error="could not decode")
    manifest["files"][2].update(status="ok", duration_s=1.7, n_windows=4)
    write_manifest(root, manifest)
    return shards


def test_round_trip(tmp_path: Path) -> None:
    shards = make_store(tmp_path)
    store = EmbeddingStore.open(tmp_path)
    assert store.complete and len(store) == 7
    assert (store.sample_rate, store.window, store.emb_dim) == (8000, 1.0, D)
    assert store.hop_size == 0.5 and store.center is True
    assert [f.path for f in store.files] == FILES
    assert [f.shard for f in store.files] == [0, 0, 1]
    assert [f.status for f in store.files] == ["ok", "failed", "ok"]
    assert store.files[1].error == "could not decode" and store.files[1].n_windows == 0
    data = store.load()
    expected = _concat(shards[0], shards[1])
    assert set(data) == set(COLUMNS)
    for k, dtype in COLUMNS.items():
        assert data[k].dtype == dtype
        np.testing.assert_array_equal(data[k], expected[k].astype(dtype))
    np.testing.assert_array_equal(store.window_ids, np.arange(7))
    sub = store.load(columns=["embedding"])
    assert list(sub) == ["embedding"] and sub["embedding"].shape == (7, D)
    per_shard = list(store.iter_shards(columns=["file_index"]))
    assert [len(s["file_index"]) for s in per_shard] == [3, 4]


def test_readable_with_plain_numpy_and_json(tmp_path: Path) -> None:
    make_store(tmp_path)
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert m["format"] == "edgesea-embedding-store" and m["format_version"] == 1
    rows = []
    for s in m["shards"]:
        assert s["status"] == "complete"
        with np.load(tmp_path / s["file"]) as z:
            assert set(z.files) == set(COLUMNS)
            rows += [m["files"][i]["path"] for i in z["file_index"]]
            assert z["embedding"].dtype == np.float32 and z["start_s"].dtype == np.float64
    assert rows == ["a.wav"] * 3 + ["sub/c.flac"] * 4


def test_pending_shards_are_ignored(tmp_path: Path) -> None:
    make_store(tmp_path, complete=(0,))
    (tmp_path / "shards" / "shard-00001.npz").write_bytes(b"stale junk")  # never read
    store = EmbeddingStore.open(tmp_path)
    assert not store.complete and len(store) == 3
    assert store.load()["embedding"].shape == (3, D)
    make_store(tmp_path / "empty", complete=())
    empty = EmbeddingStore.open(tmp_path / "empty").load()
    assert empty["embedding"].shape == (0, D) and empty["file_index"].dtype == np.int32


def test_missing_and_corrupt_manifest(tmp_path: Path) -> None:
    with pytest.raises(EdgeSEAError, match="not an embedding store"):
        EmbeddingStore.open(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(EdgeSEAError, match="corrupt"):
        EmbeddingStore.open(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(EdgeSEAError, match="not an edgesea embedding store"):
        EmbeddingStore.open(tmp_path)
    make_store(tmp_path)
    m = read_manifest(tmp_path)
    write_manifest(tmp_path, {**m, "format_version": 99})
    with pytest.raises(EdgeSEAError, match=r"version 99.*Upgrade"):
        EmbeddingStore.open(tmp_path)
    del m["shards"]
    write_manifest(tmp_path, m)
    with pytest.raises(EdgeSEAError, match="'shards'"):
        EmbeddingStore.open(tmp_path)


def test_missing_or_corrupt_shard(tmp_path: Path) -> None:
    make_store(tmp_path)
    shard = tmp_path / "shards" / "shard-00001.npz"
    good = shard.read_bytes()
    shard.write_bytes(good[: len(good) // 2])  # truncated
    store = EmbeddingStore.open(tmp_path)
    assert shard_rows(shard) is None
    with pytest.raises(EdgeSEAError, match=r"shard-00001\.npz is corrupt"):
        store.load()
    shard.unlink()
    with pytest.raises(EdgeSEAError, match="missing"):
        store.load()
    write_shard(tmp_path, 1, _rows(2, 5, 1))  # 5 rows, manifest says 4
    with pytest.raises(EdgeSEAError, match="shape"):
        store.load()
    with pytest.raises(EdgeSEAError, match="unknown store column"):
        store.load(columns=["embedding", "nope"])


def test_writes_are_atomic_with_normal_permissions(tmp_path: Path, monkeypatch) -> None:
    make_store(tmp_path)
    shard = tmp_path / "shards" / "shard-00000.npz"
    umask = os.umask(0)
    os.umask(umask)
    for p in (shard, tmp_path / "manifest.json"):
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask
    before = shard.read_bytes()

    def broken_savez(fh, **arrays):
        fh.write(b"PK\x03\x04 half a zip")
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(EdgeSEAError, match="no space left on the device"):
        write_shard(tmp_path, 0, _rows(0, 9, 5))
    assert shard.read_bytes() == before  # the old shard is untouched
    assert not list(tmp_path.rglob(".tmp-*"))  # and no temp file is left
    with pytest.raises(EdgeSEAError, match="lacks columns"):
        write_shard(tmp_path, 0, {"embedding": np.zeros((1, D))})


def test_clean_temp_files_and_settings_differences(tmp_path: Path) -> None:
    make_store(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / f".tmp-{dead}-abc.json").write_text("{")  # a killed writer's
    (tmp_path / "shards" / f".tmp-{dead}-xyz.npz").write_bytes(b"PK")
    old = tmp_path / "shards" / ".tmp-k3j2h1.npz"  # the older naming, two hours old
    old.write_bytes(b"PK")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    live = tmp_path / "shards" / f".tmp-{os.getppid()}-live.npz"  # a running writer's
    live.write_bytes(b"PK")
    assert clean_temp_files(tmp_path) == 3
    assert list(tmp_path.rglob(".tmp-*")) == [live]
    m = read_manifest(tmp_path)
    assert settings_differences(m, SETTINGS, FILES) == []
    diffs = settings_differences(m, {**SETTINGS, "hop_size": 0.25}, [*FILES, "z.wav"])
    assert any("hop_size" in d for d in diffs) and any("1 added" in d for d in diffs)
