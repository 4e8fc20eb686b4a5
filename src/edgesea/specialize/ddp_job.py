"""Distillation with PyTorch DistributedDataParallel: ``specialize --nproc N`` and torchrun.

:func:`edgesea.distill.train.train_student` trains with DDP whenever it runs inside an initialised
``torch.distributed`` group of several processes; :class:`Parallel` is what it then uses:

* each epoch every rank takes its share of a :class:`~torch.utils.data.DistributedSampler`
  reseeded with ``set_epoch(epoch)`` (seed = the training seed), in batches of
  ``ceil(batch_size / world)``, so the global batch is the single-process one and DDP's
  averaged gradients are its gradient;
* the loss sums and the validation predictions (each rank predicts a slice) are reduced
  over the ranks, so every rank takes the same early-stopping and schedule decisions;
* rank 0 alone writes ``latest.pt`` / ``best.pt`` / ``history.json``; the spec-mask random
  state of every rank is checkpointed, so a resumed run on as many processes continues
  exactly.

:func:`launch` runs the distill stage of a run directory on ``nproc`` local processes
(gloo: the student trains on CPU); ``python -m edgesea.specialize.ddp_job RUN/distill/job.json``
is the entry point for ``torchrun`` across nodes (docs/scaling.md). The job file
(:func:`write_job`) names the run directory's cached stage outputs, so every process reads
the same memory-mapped inputs and targets.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from edgesea._aliases import moved_name
from edgesea.core.checks import check_int
from edgesea.core.fileio import write_json
from edgesea.core.safe_json import read_json
from edgesea.distill.checkpoint import save_atomic
from edgesea.distill.train import TrainConfig, TrainResult, train_student
from edgesea.errors import EdgeSEAError
from edgesea.specialize.config import SpecializeConfig
from edgesea.specialize.distill_job import distill_data
from edgesea.specialize.layout import RunLayout

__all__ = ["distill_parallel", "launch", "main", "run_job", "write_job"]


def write_job(path: Path, job: dict[str, Any]) -> Path:
    """Write the distill job of a run directory (JSON; see :func:`run_job`)."""

    write_json(path, job)
    return path


def run_job(job_path: str | os.PathLike, progress: bool = False,
            resume: bool | None = None) -> dict[str, Any] | None:
    """Train the distill job at ``job_path`` in this process (one rank of a group, or alone).

    The job (written by :func:`distill_parallel`) holds ``run_dir``, the
    ``config`` (:class:`~edgesea.specialize.config.SpecializeConfig` settings), ``train``
    (:class:`~edgesea.distill.train.TrainConfig`), ``has_aug``, ``resume`` and ``init`` (the
    initial weights); ``resume`` overrides the job's. Rank 0 writes ``result.json``
    beside it and returns it (other ranks: None).
    """

    job = read_json(job_path, "DDP job")
    run = Path(job["run_dir"])
    config = SpecializeConfig.from_dict(job["config"])
    model = config.build_student()
    model.load_state_dict(torch.load(RunLayout(run).init, weights_only=True))
    x_tr, y_tr, x_val, y_val = distill_data(run, config.train_on, bool(job["has_aug"]))
    rank = dist.get_rank() if dist.is_initialized() else 0
    res = train_student(model, x_tr, y_tr, x_val, y_val, RunLayout(run).distill,
                        TrainConfig.from_dict(job["train"]),
                        resume=bool(job["resume"] if resume is None else resume),
                        progress=progress and rank == 0)
    if rank != 0:
        return None
    result = {"best_epoch": res.best_epoch, "stopped_early": res.stopped_early,
              "epochs_run_now": res.epochs_run_now, "wall_s": res.wall_s,
              "world_size": dist.get_world_size() if dist.is_initialized() else 1}

    write_json(RunLayout.job_result(job_path), result)
    return result


def _init_group(rank: int, world: int, init_method: str) -> None:
    # gloo: the student trains on CPU (train_student keeps its tensors there)
    dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=world)


def _worker(rank: int, world: int, job_path: str, init_method: str, threads: int,
            progress: bool) -> None:
    torch.set_num_threads(threads)
    _init_group(rank, world, init_method)
    try:
        run_job(job_path, progress)
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(job_path: str | os.PathLike, nproc: int, progress: bool = False
           ) -> dict[str, Any]:
    """Run the distill job on ``nproc`` local processes (spawned, gloo, each with
    ``threads // nproc`` torch threads); returns rank 0's ``result.json``.

    Raises
    ------
    EdgeSEAError
        Bad ``nproc``, or a process failed (its error is in the message).
    """
    check_int(nproc, "nproc")
    import torch.multiprocessing as mp

    threads = max(1, torch.get_num_threads() // nproc)
    init = f"tcp://127.0.0.1:{_free_port()}"
    try:
        mp.start_processes(_worker, args=(nproc, str(job_path), init, threads, progress),
                           nprocs=nproc, join=True, start_method="spawn")
    except mp.ProcessRaisedException as e:
        last = str(e).strip().splitlines()[-1] if str(e).strip() else repr(e)
        raise EdgeSEAError(f"a distillation process failed: {last}") from e
    except mp.ProcessExitedException as e:
        raise EdgeSEAError(f"a distillation process died: {e}") from e
    return read_json(RunLayout.job_result(job_path), "DDP result")


_launch = launch  # distill_parallel's ``launch`` argument is a flag


def main(argv: list[str] | None = None) -> None:
    """``python -m edgesea.specialize.ddp_job [--resume] JOB.json`` under torchrun
    (``env://``); ``--resume`` continues the job's ``latest.pt``."""
    args = list(sys.argv[1:] if argv is None else argv)
    resume = "--resume" in args
    args = [a for a in args if a != "--resume"]
    if len(args) != 1:
        raise SystemExit("usage: torchrun ... -m edgesea.specialize.ddp_job [--resume] "
                         "RUN/distill/job.json")
    _init_group(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), "env://")
    try:
        run_job(args[0], progress=True, resume=True if resume else None)
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()


def distill_parallel(run: Path, config: SpecializeConfig, model: Any, has_aug: bool,
                      resume: bool, nproc: int, progress: bool, launch: bool) -> Any:
    """The distill stage as a DDP job : the job file and
    the initial weights; trained on ``nproc`` processes when ``launch`` (else None: for
    torchrun). Returns a :class:`~edgesea.distill.train.TrainResult`."""
    RunLayout(run).distill.mkdir(exist_ok=True)
    save_atomic(model.state_dict(), RunLayout(run).init)
    job = write_job(RunLayout(run).job, {
        "run_dir": str(run.resolve()), "config": json.loads(json.dumps(config.to_dict())),
        "train": config.train, "has_aug": has_aug, "resume": resume})
    if not launch:
        return None
    result = _launch(job, nproc, progress)
    best = torch.load(RunLayout(run).best, weights_only=True)
    model.load_state_dict(best["model"])
    model.eval()
    history = read_json(RunLayout(run).history, "training history")
    return TrainResult(model=model, history=history, best_epoch=result["best_epoch"],
                       stopped_early=result["stopped_early"],
                       epochs_run_now=result["epochs_run_now"], wall_s=result["wall_s"])


def __getattr__(name: str) -> Any:
    # Old paths of names that moved (edgesea._aliases).
    return moved_name(__name__, name)
