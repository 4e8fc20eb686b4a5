"""``specialize``: the whole SEA pipeline in one resumable run directory.

Stages, each cached in ``RUN_DIR`` under a key (a hash of its settings and of the keys of
the stages it reads), skipped when the key is unchanged and recomputed, with every stage
after it, when it changed:

``embed``    teacher embeddings of every window of the upstream audio (``store/``);
``inputs``   the student's log-mel input of each of those windows (``inputs/logmel.npy``);
``sample``   validation recordings split off; the informative sample of the rest
             (``sample.npz``);
``reduce``   reducer fitted on the sample; targets for every window (``reduce/``);
``distill``  student training with checkpoints (``distill/``) -> ``student.safetensors``;
``report``   ``report.md`` with the stage table and training curves.

``config.json`` records the settings; a run directory made with other settings is refused
unless ``force=True`` (stages whose key still matches are then reused).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from edgesea._version import __version__
from edgesea.audio.files import check_excluded, recording_groups
from edgesea.core.fileio import clean_stale_temps, write_json
from edgesea.core.safe_json import read_json
from edgesea.distill.train import TrainConfig, train_student
from edgesea.errors import EdgeSEAError
from edgesea.extract.run import extract, list_audio_files, resolve_teacher, teacher_info
from edgesea.models.io import save_model
from edgesea.specialize.advice import training_advice  # re-exported: it was defined here
from edgesea.specialize.config import SpecializeConfig
from edgesea.specialize.ddp_job import distill_parallel
from edgesea.specialize.distill_job import distill_data
from edgesea.specialize.layout import RunLayout
from edgesea.specialize.progress import DistillProgress
from edgesea.specialize.report import write_report
from edgesea.specialize.stages import (
    augment_windows,
    fit_reduce,
    split_and_sample,
    student_inputs,
)
from edgesea.store.arrays import augmented_column, store_column
from edgesea.store.integrity import file_content
from edgesea.store.shards import EmbeddingStore
from edgesea.teachers.views import apply_view

__all__ = [
    "STAGES",
    "SpecializeConfig",
    "SpecializeResult",
    "recording_groups",
    "specialize",
    "training_advice",
]

STAGES = ("embed", "inputs", "sample", "augment", "reduce", "distill", "report")


@dataclass
class SpecializeResult:
    """What :func:`specialize` did."""

    run_dir: Path
    student_path: Path
    report_path: Path
    stages: dict[str, dict[str, Any]]
    ran: dict[str, str]


def _key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[
        :16]


class _Run:
    """Bookkeeping of one run directory: stage keys, status and timings."""

    def __init__(self, root: Path, progress: bool) -> None:
        self.root, self.progress = root, progress
        path = RunLayout(root).stages
        self.stages: dict[str, dict[str, Any]] = read_json(path, "run stage table") \
            if path.is_file() else {}
        if not isinstance(self.stages, dict) or not all(
                isinstance(v, dict) for v in self.stages.values()):
            raise EdgeSEAError(f"{path} is corrupt (not a table of stages): remove it or "
                               "pass --force")
        self.ran: dict[str, str] = {}

    def cached(self, name: str, key: str) -> bool:
        st = self.stages.get(name)
        hit = bool(st and st.get("key") == key and st.get("done"))
        if hit:
            self.ran[name] = "cached"
        return hit

    def done(self, name: str, key: str, wall_s: float, **info: Any) -> None:
        self.stages[name] = {"key": key, "done": True, "wall_s": round(wall_s, 2), **info}
        self.ran[name] = "computed"
        write_json(RunLayout(self.root).stages, self.stages)

    def started(self, name: str, key: str) -> None:
        self.stages[name] = {"key": key, "done": False}
        write_json(RunLayout(self.root).stages, self.stages)

    def say(self, msg: str) -> None:
        if self.progress:
            tqdm.write(msg)


def _check_run_dir(run: Path, config: SpecializeConfig, audio_dir: Path, force: bool) -> None:
    wanted = json.loads(json.dumps({"audio_dir": str(audio_dir), **config.to_dict()}))
    cfg_path = RunLayout(run).config
    if cfg_path.is_file():
        old = read_json(cfg_path, "run configuration")
        if not isinstance(old, dict):
            raise EdgeSEAError(f"{cfg_path} is corrupt (not an object): remove it or pass "
                               "--force")
        old.pop("edgesea_version", None)
        if old != wanted and not force:
            diffs = sorted(k for k in set(old) | set(wanted) if old.get(k) != wanted.get(k))
            raise EdgeSEAError(f"{run} belongs to a run with other settings (differs in: "
                               f"{', '.join(diffs)}); pass --force to redo the stages they "
                               "affect, or choose another --out")
    elif run.exists() and any(run.iterdir()) and not force:
        raise EdgeSEAError(f"{run} is not empty and is not an edgesea run directory; choose "
                           "another --out or pass --force")
    run.mkdir(parents=True, exist_ok=True)
    write_json(cfg_path, {**wanted, "edgesea_version": __version__})


def specialize(audio_dir: str | os.PathLike, run_dir: str | os.PathLike,
               config: SpecializeConfig | None = None, resume: bool = False,
               force: bool = False, workers: int = 1, progress: bool = True,
               nproc: int = 1, distill_job_only: bool = False, engine: str = "local",
               engine_options: dict[str, Any] | None = None,
               store: str | os.PathLike | None = None) -> SpecializeResult | None:
    """Run (or continue) the SEA pipeline on ``audio_dir`` in ``run_dir``.

    Parameters
    ----------
    audio_dir : path
        Unlabelled in-domain audio (searched recursively; links to folders are followed).
    run_dir : path
        Where every stage's output goes (created).
    config : SpecializeConfig
        Settings (default :class:`SpecializeConfig()`).
    resume : bool
        Continue an interrupted distillation from its last checkpoint (without it, an
        interrupted distillation is an error, so hours of training are not lost by accident).
    force : bool
        Accept a run directory made with other settings (or an interrupted distillation)
        and recompute what they affect.
    workers : int
        Decoding processes for the teacher stage.
    progress : bool
        Progress bars and stage messages on stderr.
    nproc : int
        Processes of the distill stage: more than 1 trains with DistributedDataParallel
        (:mod:`edgesea.specialize.ddp_job`; the same validation loss within seed noise).
    engine, engine_options : str, dict
        The embed stage's engine (``"ray"``: Ray Data, :func:`edgesea.extract.run.extract`).
    distill_job_only : bool
        Stop before training, after writing ``distill/job.json`` (train it with torchrun
        across nodes, then rerun with ``resume=True`` to finish; docs/scaling.md).
    store : path, optional
        A folder of teacher-embedding stores shared between run directories: the teacher's
        embeddings go to ``STORE/embed-<key>``, the key a digest of the teacher (identity
        and view), the hop and the content of every audio file, so another run on the same
        audio with the same teacher computes none again (``edgesea specialize --store``).
        Default: ``RUN/store``.

    Returns
    -------
    SpecializeResult or None
        Paths of the student and the report, and the stage table (None with
        ``distill_job_only``).
    """

    config = config or SpecializeConfig()
    audio_dir = Path(audio_dir).resolve()
    run = Path(run_dir)
    files = list_audio_files(audio_dir)
    if not files:
        raise EdgeSEAError(f"no audio files found under {audio_dir}")
    check_excluded(audio_dir, files, config.exclude_audio)
    teacher = apply_view(resolve_teacher(config.teacher), config.view, config.sample_rate)
    _check_run_dir(run, config, audio_dir, force)
    clean_stale_temps(run, recursive=True)  # a killed run's leftovers (writers now dead)
    state = _Run(run, progress)
    t_all = time.perf_counter()

    # embed ------------------------------------------------------------------------------

    # the bytes, not (size, mtime): audio replaced under the same name and mtime counts, a
    # touched but unchanged file does not
    listing = [(p, c["size"], c["sha256"])
               for p, c in ((p, file_content(audio_dir / p)) for p in files)]
    k_embed = _key("embed", teacher_info(teacher), config.hop_size, listing)
    # a shared store folder: one store per (teacher, hop, audio content), named by that key,
    # so another run directory on the same audio reuses its embeddings
    store_dir = RunLayout(run).store if store is None else Path(store) / f"embed-{k_embed[:24]}"
    if not state.cached("embed", k_embed) or not (store_dir / "manifest.json").is_file():
        state.say("[embed] teacher embeddings")
        t = time.perf_counter()
        state.started("embed", k_embed)
        # replace: a store of other settings is replaced; of the same settings, only the
        # shards of files whose content changed are recomputed (extract checks each file)
        rep = extract(audio_dir, store_dir, teacher, hop_size=config.hop_size,
                      workers=workers, progress=progress, replace=True, engine=engine,
                      engine_options=engine_options)
        state.done("embed", k_embed, time.perf_counter() - t, n_files=rep.n_ok,
                   n_failed=rep.n_failed, n_windows=rep.n_windows,
                   shards_computed=rep.shards_computed, store=str(store_dir))
    store = EmbeddingStore.open(store_dir)
    # out of core: the embeddings stay in the store's shards, read rows on demand
    cols = {**store.load(["file_index", "laeq_db"]),
            "embedding": store_column(store, "embedding")}
    n = len(cols["file_index"])

    # inputs -----------------------------------------------------------------------------
    torch.manual_seed(config.train["seed"])  # the training seed: train_seed, else seed
    model = config.build_student()
    k_inputs = _key("inputs", k_embed, model.config.frontend, model.config.sample_rate)
    inputs_path = RunLayout(run).inputs
    if not state.cached("inputs", k_inputs) or not inputs_path.is_file():
        state.say("[inputs] student log-mels")
        t = time.perf_counter()
        inputs_path.parent.mkdir(exist_ok=True)
        state.started("inputs", k_inputs)
        student_inputs(store, audio_dir, model, inputs_path, progress)
        state.done("inputs", k_inputs, time.perf_counter() - t, shape=list(
            np.load(inputs_path, mmap_mode="r").shape))

    # sample -----------------------------------------------------------------------------
    k_sample = _key("sample", k_embed, config.sampling, config.sample_size, config.seed,
                    config.val_fraction, config.group_by)
    sample_path = RunLayout(run).sample
    if not state.cached("sample", k_sample) or not sample_path.is_file():
        state.say(f"[sample] {config.sampling}")
        t = time.perf_counter()
        info = split_and_sample(store, cols, config, sample_path)
        state.done("sample", k_sample, time.perf_counter() - t, **info)
    split = dict(np.load(sample_path))

    # augment ----------------------------------------------------------------------------
    aug_dir = RunLayout(run).augment
    k_aug = None
    if config.augment_factor > 0:
        k_aug = _key("augment", k_sample, k_inputs, config.augment_factor, config.augment,
                     config.train_on)
        if not state.cached("augment", k_aug) or not (aug_dir / RunLayout.LOGMEL).is_file():
            state.say(f"[augment] x{config.augment_factor:g} teacher-labelled augmented windows")
            t = time.perf_counter()
            state.started("augment", k_aug)
            info = augment_windows(store, audio_dir, split, config, teacher, model, aug_dir,
                                   progress)
            state.done("augment", k_aug, time.perf_counter() - t, **info)
    else:
        state.ran["augment"] = "off"
    aug_emb = None
    if k_aug is not None:
        aug_emb = augmented_column(aug_dir / RunLayout.STORE, "embedding")

    # reduce -----------------------------------------------------------------------------
    red_parts: tuple = (k_sample, config.reduction, config.emb_dim, config.reduction_options)
    k_reduce = _key("reduce", *red_parts, *([k_aug] if k_aug else []))
    red_dir = RunLayout(run).reduce
    if not state.cached("reduce", k_reduce) or not (red_dir / RunLayout.TARGETS).is_file():
        state.say(f"[reduce] {config.reduction} to {config.emb_dim}")
        t = time.perf_counter()
        red_dir.mkdir(exist_ok=True)
        info = fit_reduce(cols["embedding"], split["sample"], config, red_dir, aug_emb)
        state.done("reduce", k_reduce, time.perf_counter() - t, **info)
    reducer = np.load(red_dir / RunLayout.REDUCER)

    # distill ----------------------------------------------------------------------------
    k_distill = _key("distill", k_reduce, k_inputs, model.config.to_dict(), config.train,
                     config.train_on)
    student_path = RunLayout(run).student
    if not state.cached("distill", k_distill) or not student_path.is_file():
        prev = state.stages.get("distill", {})
        partial = prev.get("key") == k_distill and RunLayout(run).latest.is_file()
        if partial and not resume and not force:
            raise EdgeSEAError(f"{run} has an interrupted distillation: pass --resume to "
                               "continue it, or --force to start it again")
        state.say("[distill] training the student" + (" (resumed)" if partial and resume
                                                      else ""))
        t = time.perf_counter()
        state.started("distill", k_distill)
        x_tr, _, _, _ = data = distill_data(run, config.train_on, k_aug is not None)
        if nproc > 1 or distill_job_only:
            res = distill_parallel(run, config, model, k_aug is not None,
                                    bool(partial and resume), nproc, progress,
                                    not distill_job_only)
            if res is None:
                state.say(f"[distill] job written: {RunLayout(run).job}")
                return None
        else:
            train = TrainConfig.from_dict(config.train)
            shown = DistillProgress(train.epochs, state.say, progress)
            try:
                res = train_student(model, *data, RunLayout(run).distill, train,
                                    resume=bool(partial and resume), progress=progress,
                                    on_epoch=shown)
            finally:
                shown.close()
        best = res.best
        summary = {"best_epoch": res.best_epoch, "epochs_run": len(res.history),
                   "stopped_early": res.stopped_early, "n_train": int(len(x_tr)),
                   "n_val": int(len(split["val"])),
                   **{k: best[k] for k in ("val_mse", "val_mae", "val_cosine", "val_r2",
                                           "train_r2", "val_loss")}}
        model.metadata = {
            "edgesea_version": __version__, "kind": "sea-student",
            "teacher": store.manifest["teacher"] | {"spec": config.teacher},
            "view": {"view": config.view, "student_rate": config.sample_rate,
                     "level": config.level,
                     **(teacher.settings() if hasattr(teacher, "settings") else {})},
            "upstream": {"audio_dir": str(audio_dir), "n_files": len(store.files),
                         "n_windows": n, "hop_size": config.hop_size},
            "sampling": {"mode": config.sampling, "sample_size": config.sample_size,
                         "n_sample": int(len(split["sample"])), "seed": config.seed,
                         "train_on": config.train_on},
            "augment": {"factor": config.augment_factor, "config": config.augment},
            "reducer": json.loads(str(reducer["settings"])),
            "training": {"config": config.train, **summary}}
        extras = {k: reducer[k] for k in reducer.files if k != "settings"}
        save_model(model, student_path, extras=extras)
        state.done("distill", k_distill, time.perf_counter() - t, **summary)
    # report -----------------------------------------------------------------------------
    state.stages["total_s_this_call"] = {"wall_s": round(time.perf_counter() - t_all, 2)}
    report = write_report(run, state.stages, state.ran)
    del state.stages["total_s_this_call"]
    return SpecializeResult(run_dir=run, student_path=student_path, report_path=report,
                            stages=state.stages, ran=dict(state.ran))


