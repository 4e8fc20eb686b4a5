"""Rendering one shard of the augmentation bank: source files loaded once per process, each
augmented window rendered at the teacher's and the student's rates and embedded by the
teacher (shared by the local engine, :mod:`.bank`, and the Ray engine, :mod:`.ray`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from edgesea.audio.io import load_audio, resample, to_float_mono
from edgesea.audio.loudness import laeq
from edgesea.augment.transforms import Augmenter

__all__ = ["shard_columns", "source_loader"]


def shard_columns(idx: np.ndarray, aug: Augmenter, load: Any, teacher: Any,
                  student_rate: int, batch_size: int) -> dict[str, np.ndarray]:
    """The columns of the augmented windows ``idx`` (one shard): recipes, renders at the
    teacher's and the student's rates, the teacher's embeddings. ``load(k, sr)`` is source
    file ``k`` at rate ``sr``."""
    rate_t = int(teacher.sample_rate)
    recipes = [aug.recipe(int(i)) for i in idx]
    wave_t = np.stack([aug.render(r, lambda s: load(s, rate_t), rate_t) for r in recipes])
    wave_s = np.stack([aug.render(r, lambda s: load(s, student_rate), student_rate)
                       for r in recipes])
    emb = np.concatenate([np.asarray(teacher.embed(wave_t[i:i + batch_size]), np.float32)
                          for i in range(0, len(wave_t), batch_size)])
    return {"index": np.asarray(idx, np.int64),
            "source": np.array([r["main"]["source"] for r in recipes], np.int32),
            "embedding": emb, "laeq_db": np.asarray(laeq(wave_t, rate_t), np.float32),
            "recipe": np.array([Augmenter.dumps(r) for r in recipes]),
            "student_audio": np.round(wave_s * 32767).astype(np.int16)}


def source_loader(audio_dir: Path, sources: list[str]) -> Any:
    """``load(k, sr)``: source file ``k`` decoded, downmixed and resampled (cached)."""

    @lru_cache(maxsize=64)
    def load(k: int, sr: int) -> np.ndarray:
        audio, file_sr = load_audio(audio_dir / sources[k])
        return resample(to_float_mono(audio), file_sr, sr)

    return load
