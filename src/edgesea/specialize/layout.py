"""The run directory of ``edgesea specialize``: one object that names every file in it.

::

    RUN/
      config.json  stages.json  report.md  student.safetensors
      store/                       teacher embeddings (edgesea.store)
      inputs/logmel.npy            the student's log-mel inputs, float16
      sample.npz                   train_all / sample / val window indices
      augment/store/  augment/logmel.npy      augmented windows and their inputs
      reduce/reducer.npz  reduce/targets.npy  reduce/aug_targets.npy
      distill/latest.pt  best.pt  history.json  curves.png  (init.pt  job.json  result.json)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RunLayout"]


@dataclass(frozen=True)
class RunLayout:
    """The paths of a run directory ``root`` (nothing is created or read)."""

    root: Path

    #: File names inside the stage folders (also used where a stage writes into a folder
    #: it is given).
    LOGMEL = "logmel.npy"
    REDUCER = "reducer.npz"
    TARGETS = "targets.npy"
    AUG_TARGETS = "aug_targets.npy"
    STORE = "store"

    @classmethod
    def of(cls, root: str | os.PathLike) -> RunLayout:
        """The layout of the run directory ``root``."""
        return cls(Path(root))

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def stages(self) -> Path:
        return self.root / "stages.json"

    @property
    def report(self) -> Path:
        return self.root / "report.md"

    @property
    def student(self) -> Path:
        return self.root / "student.safetensors"

    @property
    def store(self) -> Path:
        return self.root / self.STORE

    @property
    def inputs(self) -> Path:
        return self.root / "inputs" / self.LOGMEL

    @property
    def sample(self) -> Path:
        return self.root / "sample.npz"

    @property
    def augment(self) -> Path:
        return self.root / "augment"

    @property
    def augment_inputs(self) -> Path:
        return self.augment / self.LOGMEL

    @property
    def reduce(self) -> Path:
        return self.root / "reduce"

    @property
    def reducer(self) -> Path:
        return self.reduce / self.REDUCER

    @property
    def targets(self) -> Path:
        return self.reduce / self.TARGETS

    @property
    def aug_targets(self) -> Path:
        return self.reduce / self.AUG_TARGETS

    @property
    def distill(self) -> Path:
        return self.root / "distill"

    @property
    def latest(self) -> Path:
        return self.distill / "latest.pt"

    @property
    def best(self) -> Path:
        return self.distill / "best.pt"

    @property
    def history(self) -> Path:
        return self.distill / "history.json"

    @property
    def init(self) -> Path:
        return self.distill / "init.pt"

    @property
    def job(self) -> Path:
        return self.distill / "job.json"

    @staticmethod
    def job_result(job: str | os.PathLike) -> Path:
        """Where the DDP job ``job`` writes its result (beside it)."""
        return Path(job).with_name("result.json")
