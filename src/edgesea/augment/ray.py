"""The augmentation bank (:func:`edgesea.augment.bank.make_augmented`) on Ray Data:
``--engine ray``. Each actor renders and embeds one pending shard per call, exactly as the
local engine would (equal within float tolerance); shards are written as they finish.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edgesea.augment.render import shard_columns, source_loader
from edgesea.augment.transforms import Augmenter
from edgesea.distributed.ray_engine import (
    RayOptions,
    connect,
    ray_options,
    resources,
    results,
)

__all__ = ["run_augment"]


class _AugEmbedder:
    """Ray Data actor: the teacher and the source loader, built once; renders and embeds
    whole augmented shards (one input row each)."""

    def __init__(self, teacher: Any, audio_dir: str, sources: list[str],
                 durations: list[float], config: Any, seed: int, student_rate: int,
                 batch_size: int) -> None:
        self.teacher = teacher
        self.aug = Augmenter(durations, config, seed, teacher.window)
        self.load = source_loader(Path(audio_dir), list(sources))
        self.student_rate, self.batch_size = int(student_rate), int(batch_size)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        parts = []
        for k, start, n in zip(batch["shard"], batch["start"], batch["n_rows"], strict=True):
            cols = shard_columns(np.arange(int(start), int(start) + int(n)), self.aug,
                                 self.load, self.teacher, self.student_rate, self.batch_size)
            cols["shard"] = np.full(int(n), int(k), np.int64)
            parts.append(cols)
        return {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}


def run_augment(spans: list[tuple[int, int, int]], audio_dir: Path, sources: list[str],
                durations: list[float], config: Any, seed: int, teacher: Any,
                student_rate: int, batch_size: int, options: RayOptions | None = None
                ) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """``(shard, columns)`` of each ``(shard, first window, rows)`` of ``spans``, in order,
    computed by a pool of Ray actors (:func:`edgesea.augment.bank.make_augmented` writes them)."""
    address, num_actors, gpus = ray_options(options)
    if not spans:
        return
    ray, started = connect(address)
    try:
        actor_cpus, _ = resources(ray, num_actors, gpus)
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = False
        items = [{"shard": k, "start": a, "n_rows": n} for k, a, n in spans]
        ds = ray.data.from_items(items, override_num_blocks=len(items))
        ds = ds.map_batches(_AugEmbedder, batch_size=1, compute=ray.data.ActorPoolStrategy(
            size=num_actors), num_cpus=actor_cpus, num_gpus=gpus or None,
            fn_constructor_args=(teacher, str(audio_dir), sources, durations, config, seed,
                                 student_rate, batch_size))
        want = {k: n for k, _, n in spans}
        got: dict[int, list[dict[str, np.ndarray]]] = {}
        for batch in results(ds):
            for k in np.unique(batch["shard"]):
                sel = batch["shard"] == k
                got.setdefault(int(k), []).append({c: v[sel] for c, v in batch.items()
                                                   if c != "shard"})
                if sum(len(p["index"]) for p in got[int(k)]) == want[int(k)]:
                    parts = got.pop(int(k))
                    cols = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
                    cols["recipe"] = cols["recipe"].astype(str)  # Arrow strings: objects
                    yield int(k), cols
    finally:
        if started:
            ray.shutdown()
