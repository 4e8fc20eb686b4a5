"""Distillation with DistributedDataParallel (:mod:`edgesea.specialize.ddp_job`): a 2-process
gloo run of :func:`edgesea.distill.train.train_student` equals the 1-process run where the maths
are the same (full batches of a BatchNorm-free network), resumes exactly, writes only on
rank 0; ``specialize --nproc 2`` reaches the 1-process validation loss."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

# light imports only: the spawned ranks import this module
from edgesea.distill.train import TrainConfig, train_student
from edgesea.errors import EdgeSEAError
from edgesea.specialize.ddp_job import Parallel, launch

N, N_VAL, MELS, FRAMES, DIM = 48, 12, 4, 5, 3


def _data() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N + N_VAL, MELS, FRAMES)).astype(np.float32)
    w = rng.standard_normal((MELS * FRAMES, DIM))
    y = (x.reshape(len(x), -1) @ w + 0.1 * rng.standard_normal((len(x), DIM)))
    return x[:N], y[:N].astype(np.float32), x[N:], y[N:].astype(np.float32)


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(MELS * FRAMES, 8),
                               torch.nn.Tanh(), torch.nn.Linear(8, DIM))


def _fwd(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model(x)


CFG = {"epochs": 4, "batch_size": N, "lr": 0.05, "schedule": "plateau"}


def _train(out: Path, resume: bool = False, snapshot: Path | None = None) -> dict:
    model = _net()

    def on_epoch(row: dict) -> None:
        if snapshot is not None and row["epoch"] == 2:
            shutil.copytree(out, snapshot)

    res = train_student(model, *_data(), out, TrainConfig(**CFG), resume=resume,
                        progress=False, forward=_fwd, on_epoch=on_epoch)
    return {"weights": {k: v.numpy().copy() for k, v in model.state_dict().items()},
            "val_loss": [h["val_loss"] for h in res.history], "best": res.best_epoch}


def _worker(rank: int, world: int, init: str, root: str) -> None:
    """Rank ``rank``: an uninterrupted run (snapshot of its folder after epoch 2), then a
    run resumed from that snapshot; each rank saves what it ended with."""
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", init_method=init, rank=rank,
                                         world_size=world)
    try:
        for name, resume in (("two", False), ("snap", True)):
            snap = Path(root) / "snap" if name == "two" else None
            got = _train(Path(root) / name, resume, snap if rank == 0 else None)
            torch.distributed.barrier()
            np.savez(Path(root) / f"{name}-rank{rank}.npz", **got["weights"],
                     val_loss=np.array(got["val_loss"]))
    finally:
        torch.distributed.destroy_process_group()


def _spawn(root: Path) -> dict[str, list[dict]]:
    from edgesea.specialize.ddp_job import _free_port

    torch.multiprocessing.start_processes(
        _worker, args=(2, f"tcp://127.0.0.1:{_free_port()}", str(root)), nprocs=2,
        join=True, start_method="spawn")
    return {name: [dict(np.load(root / f"{name}-rank{r}.npz")) for r in range(2)]
            for name in ("two", "snap")}


def test_two_processes_equal_one(tmp_path: Path) -> None:
    """Full batches without BatchNorm: DDP's averaged gradients are the full-batch ones, so
    the weights and every epoch's validation loss equal the 1-process run's (float
    rounding: the two halves are summed apart), and both ranks hold the same weights."""
    one = _train(tmp_path / "one")
    got = _spawn(tmp_path)
    ranks, resumed = got["two"], got["snap"]
    for k, w in one["weights"].items():
        np.testing.assert_array_equal(ranks[0][k], ranks[1][k])  # DDP kept ranks in sync
        np.testing.assert_allclose(ranks[0][k], w, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ranks[0]["val_loss"], one["val_loss"], rtol=1e-4)
    # rank 0 alone wrote, a DDP checkpoint records its world and every rank's generator
    ckpt = torch.load(tmp_path / "two" / "latest.pt", weights_only=True)
    assert ckpt["world_size"] == 2 and len(ckpt["rank_generators"]) == 2
    assert not torch.equal(ckpt["rank_generators"][0], ckpt["rank_generators"][1])
    hist = json.loads((tmp_path / "two" / "history.json").read_text())
    assert len(hist) == CFG["epochs"]
    # resumed from the epoch-2 checkpoint on 2 processes: exactly the uninterrupted run
    def untimed(h: list[dict]) -> list[dict]:
        return [{k: v for k, v in row.items() if k != "epoch_s"} for row in h]

    assert untimed(json.loads((tmp_path / "snap" / "history.json").read_text())) == \
        untimed(hist)
    for k in one["weights"]:
        np.testing.assert_array_equal(resumed[0][k], ranks[0][k])
    np.testing.assert_array_equal(resumed[0]["val_loss"], ranks[0]["val_loss"])


def test_sampler_shares_and_reshuffles() -> None:
    """Each rank's share of an epoch is disjoint from the other's, covers every row, and
    changes with the epoch (set_epoch)."""
    class Fake(Parallel):
        def __init__(self, rank: int) -> None:
            self.rank, self.world = rank, 2

    a, b = Fake(0).order(10, 3, 1), Fake(1).order(10, 3, 1)
    assert sorted(np.concatenate([a, b]).tolist()) == list(range(10))
    assert not np.array_equal(a, Fake(0).order(10, 3, 2))
    assert Fake(0).batch(64) == 32 and Fake(1).batch(5) == 3


def test_launch_refuses_bad_nproc(tmp_path: Path) -> None:
    with pytest.raises(EdgeSEAError, match="nproc"):
        launch(tmp_path / "job.json", 0)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """A 1-process ``specialize`` run and a copy of it distilled with ``--nproc 2``."""
    from edgesea.models import save_model, sea_student
    from edgesea.specialize.pipeline import specialize
    from shared_helpers import config, write_audio

    root = tmp_path_factory.mktemp("ddp-runs")
    torch.manual_seed(0)
    teacher = root / "teacher.safetensors"
    save_model(sea_student(32, head="linear", filters=(8, 8, 16, 16)).eval(), teacher)
    audio = write_audio(root / "audio", n_files=12)
    cfg = config(f"model:{teacher}", train={"epochs": 2, "lr": 3e-3})
    one = specialize(audio, root / "one", cfg, progress=False)
    shutil.copytree(root / "one", root / "two")
    (root / "two" / "student.safetensors").unlink()
    two = specialize(audio, root / "two", cfg, progress=False, nproc=2, force=True)
    return {"root": root, "audio": audio, "cfg": cfg, "one": one, "two": two}


def test_specialize_nproc_2_reaches_the_same_val_loss(runs: dict) -> None:
    one, two = runs["one"], runs["two"]
    assert two.ran["distill"] == "computed" and two.ran["reduce"] == "cached"
    v1, v2 = one.stages["distill"]["val_loss"], two.stages["distill"]["val_loss"]
    ckpt = torch.load(runs["root"] / "two" / "distill" / "latest.pt", weights_only=True)
    assert ckpt["world_size"] == 2
    assert abs(v1 - v2) < 0.25 * v1, (v1, v2)
    assert two.student_path.is_file()


@pytest.mark.slow
def test_torchrun_recipe(runs: dict) -> None:
    """docs/scaling.md: ``--distill-job-only``, torchrun (2 ranks, standalone), then
    ``--resume`` writes the student; the same training as ``--nproc 2``."""
    import os
    import subprocess
    import sys

    from edgesea.specialize.pipeline import specialize

    run = runs["root"] / "tr"
    shutil.copytree(runs["root"] / "one", run)
    (run / "student.safetensors").unlink()
    assert specialize(runs["audio"], run, runs["cfg"], progress=False, force=True,
                      distill_job_only=True) is None
    assert (run / "distill" / "job.json").is_file() and not (run / "student.safetensors").exists()
    torchrun = Path(sys.executable).with_name("torchrun")
    res = subprocess.run([str(torchrun), "--standalone", "--nproc-per-node", "2", "-m",
                          "edgesea.specialize.ddp_job", str(run / "distill" / "job.json")],
                         capture_output=True, text=True, env={**os.environ,
                                                              "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0, res.stderr[-2000:]
    done = specialize(runs["audio"], run, runs["cfg"], progress=False, resume=True)
    assert done.student_path.is_file() and done.ran["distill"] == "computed"
    assert done.stages["distill"]["val_loss"] == pytest.approx(
        runs["two"].stages["distill"]["val_loss"], rel=1e-5)
