"""Clip embeddings: the window embeddings of one file pooled into one vector (mean, max,
min, std over time, concatenated in the order asked), as HEAR's scene embeddings and the
downstream protocol of docs/results.md ([mean, max]) do. Computed in one pass over row
chunks, so a long file is pooled without holding its embeddings."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from edgesea.errors import ParameterError

__all__ = ["POOLS", "PoolAccumulator", "check_pool", "pool_embeddings"]

#: The statistics a clip embedding can hold.
POOLS = ("mean", "max", "min", "std")


def check_pool(pool: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"mean,max"`` or ``["mean", "max"]`` -> ``("mean", "max")``; None or ``""`` -> ``()``.

    Raises
    ------
    ParameterError
        An unknown or repeated statistic.
    """
    if pool is None:
        return ()
    names = [p.strip() if isinstance(p, str) else p
             for p in (pool.split(",") if isinstance(pool, str) else pool)]
    names = [n for n in names if n != ""]
    bad = [n for n in names if not isinstance(n, str) or n not in POOLS]
    if bad or len(set(names)) != len(names):
        raise ParameterError(f"invalid pool={pool!r}: expected statistics among "
                             f"{', '.join(POOLS)}, each once (e.g. 'mean,max')")
    return tuple(names)


class PoolAccumulator:
    """Pooled statistics of rows seen chunk by chunk (float64 sums)."""

    def __init__(self, pool: Sequence[str], width: int) -> None:
        self.pool, self.n = check_pool(pool), 0
        self.sum = np.zeros(width)
        self.sq = np.zeros(width)
        self.max = np.full(width, -np.inf)
        self.min = np.full(width, np.inf)

    def update(self, rows: np.ndarray) -> None:
        """Add rows ``(k, width)``."""
        if len(rows):
            r = np.asarray(rows, dtype=np.float64)
            self.n += r.shape[0]
            self.sum += r.sum(0)
            self.sq += (r * r).sum(0)
            self.max = np.maximum(self.max, r.max(0))
            self.min = np.minimum(self.min, r.min(0))

    def passing(self, chunks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """``chunks`` unchanged, each added on the way."""
        for c in chunks:
            self.update(c)
            yield c

    def result(self) -> np.ndarray:
        """The clip vector, float32, ``len(pool) * width`` values."""
        if self.n == 0:
            raise ParameterError("no rows to pool")
        mean = self.sum / self.n
        stats = {"mean": mean, "max": self.max, "min": self.min,
                 "std": np.sqrt(np.maximum(self.sq / self.n - mean * mean, 0.0))}
        return np.concatenate([stats[p] for p in self.pool]).astype(np.float32)


def pool_embeddings(embedding: np.ndarray, pool: str | Sequence[str] = ("mean", "max")
                    ) -> np.ndarray:
    """One clip vector from window embeddings ``(T, D)``: the statistics of ``pool`` over
    time, concatenated (``("mean", "max")``: ``2 * D`` values)."""
    emb = np.asarray(embedding)
    if emb.ndim != 2 or emb.shape[0] < 1:
        raise ParameterError(f"embedding has shape {emb.shape}: expected (T >= 1, D)")
    acc = PoolAccumulator(pool, emb.shape[1])
    acc.update(emb)
    return acc.result()
