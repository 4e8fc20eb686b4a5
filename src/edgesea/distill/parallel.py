"""The ``torch.distributed`` side of :func:`edgesea.distill.train.train_student`: DDP
wrapping, per-rank batches and rows, reductions and gathered predictions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from edgesea.distill.forward import predict
from edgesea.store.arrays import RowView

__all__ = ["Parallel"]


class _Forward(torch.nn.Module):
    """``forward(model, x)`` as a module, so that DDP's forward runs it."""

    def __init__(self, model: torch.nn.Module, forward: Any) -> None:
        super().__init__()
        self.model, self.fn = model, forward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(self.model, x)


class Parallel:
    """The ``torch.distributed`` side of :func:`edgesea.distill.train.train_student`."""

    def __init__(self) -> None:
        self.rank, self.world = dist.get_rank(), dist.get_world_size()

    def seed(self, seed: int) -> int:
        """The spec-mask generator seed of this rank (rank 0: ``seed`` itself)."""
        return int(seed) + 1_000_003 * self.rank

    def wrap(self, model: torch.nn.Module, forward: Any) -> torch.nn.Module:
        """``model`` behind DistributedDataParallel (parameters broadcast from rank 0)."""
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(_Forward(model, forward))

    def batch(self, batch_size: int) -> int:
        """Per-rank batch size of a global ``batch_size``."""
        return max(1, math.ceil(batch_size / self.world))

    def order(self, n: int, seed: int, epoch: int) -> np.ndarray:
        """This rank's training rows of ``epoch`` (a reshuffled distributed sampler)."""
        from torch.utils.data import DistributedSampler

        sampler = DistributedSampler(range(n), num_replicas=self.world, rank=self.rank,
                                     shuffle=True, seed=int(seed))
        sampler.set_epoch(int(epoch))
        return np.fromiter(iter(sampler), dtype=np.int64)

    def sum(self, values: np.ndarray) -> np.ndarray:
        """``values`` summed over the ranks (float64)."""
        t = torch.from_numpy(np.asarray(values, dtype=np.float64).copy())
        dist.all_reduce(t)
        return t.numpy()

    def gather(self, obj: Any) -> list[Any]:
        """``obj`` of every rank, in rank order."""
        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def predict(self, model: torch.nn.Module, x: Any, forward: Any) -> np.ndarray:
        """Predictions for all of ``x``: each rank predicts a slice, then they are gathered."""
        mine = np.array_split(np.arange(len(x)), self.world)[self.rank]
        part = predict(model, RowView(x, mine), forward=forward) if len(mine) else None
        return np.concatenate([p for p in self.gather(part) if p is not None])

    def restore_generator(self, ckpt: dict[str, Any], gen: torch.Generator) -> None:
        """This rank's spec-mask state from a checkpoint written on as many ranks."""
        states = ckpt.get("rank_generators")
        if isinstance(states, list) and len(states) == self.world:
            gen.set_state(states[self.rank])

    def barrier(self) -> None:
        """Wait for every rank."""
        dist.barrier()
