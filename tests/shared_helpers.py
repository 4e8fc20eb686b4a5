"""Helpers shared by several test modules (tests/ is on sys.path through its conftest):
audio folders and checks of extraction, a specialize configuration, a labelled dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from edgesea.specialize.config import SpecializeConfig
from edgesea.store.shards import COLUMNS, EmbeddingStore


def make_dataset(root: Path, multilabel: bool = False) -> Path:
    """Two classes (low / high tone) in folds 1, 2 and 3; 2 clips per source recording."""
    rng = np.random.default_rng(0)
    (root / "audio").mkdir(parents=True)
    rows = ["filename,label,fold,freesound_id"]
    sr = 16000
    t = np.arange(int(1.5 * sr)) / sr
    for i in range(36):
        fold, cls = i % 3 + 1, (i // 3) % 2
        f0 = rng.uniform(150, 300) if cls == 0 else rng.uniform(2000, 3000)
        x = 0.3 * np.sin(2 * np.pi * f0 * t) + 0.02 * rng.standard_normal(t.size)
        name = f"audio/c{i}.wav"
        sf.write(root / name, x.astype(np.float32), sr)
        label = ["low", "high"][cls] + (";noise" if multilabel and i % 4 == 0 else "")
        rows.append(f"{name},{label},{fold},{i // 2}")
    (root / "metadata.csv").write_text("\n".join(rows) + "\n")
    return root

def write_audio(root: Path, n_files: int = 12, seed: int = 0) -> Path:
    """UrbanSound8K-style names: 6 recordings of 2 slices, tones + noise, 2 s at 16 kHz."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    sr = 16000
    t = np.arange(2 * sr) / sr
    for i in range(n_files):
        f0 = rng.uniform(100, 3000)
        audio = (rng.uniform(0.05, 0.5) * np.sin(2 * np.pi * f0 * t)
                 + rng.uniform(0.001, 0.2) * rng.standard_normal(t.size)).astype(np.float32)
        sf.write(root / f"{1000 + i // 2}-{i % 10}-0-{i % 2}.wav", audio, sr)
    return root

def config(teacher_spec: str, **kw) -> SpecializeConfig:
    base = dict(teacher=teacher_spec, emb_dim=8, arch="sea:4,4,8,8", sample_size="24",
                val_fraction=0.34, train={"epochs": 2, "lr": 1e-3}, augment_factor=0.0)
    return SpecializeConfig(**(base | kw))

# (relative path, seconds, sample rate, channels): 8 files, sorted order differs from this.
CLIPS = [("b.wav", 1.3, 16000, 1), ("a.wav", 0.4, 16000, 1), ("sub/c.flac", 2.2, 22050, 2),
         ("sub/d.wav", 1.0, 8000, 1), ("e.WAV", 1.6, 16000, 1), ("sub/deeper/f.wav", 0.7, 16000, 1),
         ("g.flac", 2.6, 11025, 1), ("h.wav", 1.1, 16000, 2)]

def write_clips(root: Path) -> list[str]:
    rng = np.random.default_rng(0)
    for rel, seconds, sr, ch in CLIPS:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        n = int(seconds * sr)
        tone = np.sin(2 * np.pi * rng.uniform(200, 2000) * np.arange(n) / sr)
        audio = (0.3 * tone[:, None] + 0.05 * rng.standard_normal((n, ch))).astype(np.float32)
        sf.write(root / rel, audio, sr)
    (root / "notes.txt").write_text("not audio")
    return sorted(rel for rel, *_ in CLIPS)

def assert_same_store(a: EmbeddingStore, b: EmbeddingStore) -> None:
    da, db = a.load(), b.load()
    for k in COLUMNS:
        if k == "embedding":  # another process may pick other float kernels
            np.testing.assert_allclose(da[k], db[k], rtol=1e-5, atol=1e-6)
        else:
            np.testing.assert_array_equal(da[k], db[k])
    assert a.files == b.files
    assert a.manifest["shards"] == b.manifest["shards"]

def slow_teacher_script(delay: float, body: str) -> str:
    """A Python script defining ``Slow`` (a ModelTeacher that sleeps ``delay`` s per batch),
    then ``body`` (which runs an extraction with it)."""
    return f"""
import sys, time
from edgesea.extract.run import extract
from edgesea.models import load_model
from edgesea.teachers.model import ModelTeacher

class Slow:
    def __init__(self, t):
        self.t = t
        for a in ("name", "identity", "sample_rate", "window", "emb_dim"):
            setattr(self, a, getattr(t, a))
    def embed(self, w):
        time.sleep({delay})
        return self.t.embed(w)

""" + body
