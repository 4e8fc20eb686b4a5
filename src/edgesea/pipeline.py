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
import re
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from . import __version__
from .audio import _hop_length, load_audio, resample, to_float_mono
from .distill import TrainConfig, train_student
from .errors import EdgeSEAError
from .extract import _teacher_info, extract, list_audio_files, resolve_teacher
from .fileio import atomic_path, write_json
from .models.io import save_model
from .models.network import HEADS, SEA_FILTERS, EmbeddingModel, sea_student
from .reduce import REDUCERS, make_reducer
from .sampling import make_sampler, relevance_percentile
from .store import EmbeddingStore

__all__ = ["STAGES", "SpecializeConfig", "SpecializeResult", "specialize"]

STAGES = ("embed", "inputs", "sample", "reduce", "distill", "report")
_SAMPLING = ("random", "relevance", "diversity", "diversity+relevance")
_US8K = re.compile(r"^(\d+)-\d+-\d+-\d+$")


@dataclass
class SpecializeConfig:
    """Settings of :func:`specialize` (JSON-able; saved as ``RUN_DIR/config.json``).

    Attributes
    ----------
    teacher : str
        ``"aisfx"``, ``"openl3:PATH"`` or ``"model:PATH"`` (see ``resolve_teacher``).
    hop_size : float
        Seconds between upstream windows.
    emb_dim : int
        Student output dimension (= reducer components).
    sampling : str
        ``random``, ``relevance``, ``diversity`` or ``diversity+relevance``.
    sample_size : str
        Windows in the sample: an integer (``"5000"``) or a percentage of the training
        recordings' windows (``"50%"``).
    train_on : {"sample", "all"}
        ``"sample"`` (the paper): the student trains on the sample; ``"all"``: on every
        window of the training recordings (the reducer is fitted on the sample either way).
    reduction : str
        ``pca``, ``umap`` or ``identity``; ``reduction_options`` go to its constructor.
    arch : str
        ``"sea"`` (the paper's filters for ``emb_dim``) or ``"sea:32,64,128,128"``.
    head : {"linear", "paper"}
        Student head (see :data:`edgesea.models.HEADS`).
    val_fraction : float
        Fraction of recordings held out for validation (never sampled nor trained on).
    group_by : {"auto", "file", "urbansound8k"}
        What a recording is: ``file``, or UrbanSound8K's Freesound id (``FSID-C-O-S.wav``:
        slices of one recording stay together); ``auto`` picks ``urbansound8k`` when every
        file name matches it.
    seed : int
        Seeds the split, the sample, the reducer, the initial weights and the batch order.
    train : dict
        :class:`~edgesea.distill.TrainConfig` settings (its ``seed`` is set from ``seed``).
    """

    teacher: str = "aisfx"
    hop_size: float = 0.5
    emb_dim: int = 128
    sampling: str = "diversity+relevance"
    sample_size: str = "50%"
    train_on: str = "sample"
    reduction: str = "pca"
    reduction_options: dict[str, Any] = field(default_factory=dict)
    arch: str = "sea"
    head: str = "linear"
    val_fraction: float = 0.1
    group_by: str = "auto"
    seed: int = 0
    train: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sample_size = str(self.sample_size).strip()
        if self.sampling not in _SAMPLING:
            raise EdgeSEAError(f"unknown sampling {self.sampling!r}: expected one of "
                               f"{list(_SAMPLING)}")
        if self.reduction not in REDUCERS:
            raise EdgeSEAError(f"unknown reduction {self.reduction!r}: expected one of "
                               f"{list(REDUCERS)}")
        if self.head not in HEADS:
            raise EdgeSEAError(f"unknown head {self.head!r}: expected one of {list(HEADS)}")
        if self.train_on not in ("sample", "all"):
            raise EdgeSEAError(f"invalid train_on={self.train_on!r}: expected 'sample' or 'all'")
        if self.group_by not in ("auto", "file", "urbansound8k"):
            raise EdgeSEAError(f"invalid group_by={self.group_by!r}: expected 'auto', 'file' "
                               "or 'urbansound8k'")
        if isinstance(self.emb_dim, bool) or not isinstance(self.emb_dim, int) \
                or self.emb_dim < 1:
            raise EdgeSEAError(f"invalid emb_dim={self.emb_dim!r}: expected an integer >= 1")
        if not 0 < float(self.val_fraction) < 1:
            raise EdgeSEAError(f"invalid val_fraction={self.val_fraction!r}: expected 0 < f < 1")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise EdgeSEAError(f"invalid seed={self.seed!r}: expected an integer >= 0")
        if not re.fullmatch(r"\d+|\d+(\.\d+)?%", self.sample_size) or float(
                self.sample_size.rstrip("%")) <= 0:
            raise EdgeSEAError(f"invalid sample_size={self.sample_size!r}: expected a number "
                               "of windows (e.g. 5000) or a percentage (e.g. 50%)")
        self.train = TrainConfig.from_dict({**self.train, "seed": self.seed}).to_dict()
        self.filters()
        if self.reduction == "identity" and self.reduction_options:
            raise EdgeSEAError("the identity reduction takes no options")

    def filters(self) -> tuple[int, ...]:
        """Per-block widths of the student (validated)."""
        if self.arch == "sea":
            if self.emb_dim in SEA_FILTERS:
                return SEA_FILTERS[self.emb_dim]
            if self.head == "paper":
                raise EdgeSEAError(f"the paper head has no filters for emb_dim={self.emb_dim}: "
                                   f"use one of {sorted(SEA_FILTERS)}, the linear head, or "
                                   "arch 'sea:W1,W2,W3,W4'")
            return SEA_FILTERS[128]
        m = re.fullmatch(r"sea:(\d+(?:,\d+)*)", self.arch)
        if not m:
            raise EdgeSEAError(f"invalid arch {self.arch!r}: expected 'sea' or "
                               "'sea:W1,W2,...' (conv widths per block)")
        widths = tuple(int(w) for w in m.group(1).split(","))
        if min(widths) < 1 or len(widths) > 5:
            raise EdgeSEAError(f"invalid arch {self.arch!r}: 1 to 5 positive widths")
        if self.head == "paper" and widths[-1] != self.emb_dim:
            raise EdgeSEAError("head 'paper' needs the last width to equal emb_dim")
        return widths

    def to_dict(self) -> dict[str, Any]:
        """JSON-able settings."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpecializeConfig:
        """Inverse of :meth:`to_dict`."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise EdgeSEAError(f"unknown specialize settings {unknown}")
        return cls(**data)


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


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)


def recording_groups(paths: list[str], group_by: str = "auto") -> np.ndarray:
    """Recording id (int) of each file: see :attr:`SpecializeConfig.group_by`."""
    stems = [Path(p).stem for p in paths]
    if group_by == "auto":
        group_by = "urbansound8k" if stems and all(_US8K.match(s) for s in stems) else "file"
    if group_by == "urbansound8k":
        bad = [p for p, s in zip(paths, stems, strict=True) if not _US8K.match(s)]
        if bad:
            raise EdgeSEAError(f"group_by='urbansound8k' needs FSID-CLASS-OCC-SLICE file names; "
                               f"not: {bad[:3]}")
        names = [_US8K.match(s).group(1) for s in stems]
    else:
        names = list(paths)
    _, ids = np.unique(np.array(names), return_inverse=True)
    return ids.astype(np.int64)


def _windows(mono: np.ndarray, sr: int, n: int, hop_size: float, window: float,
             center: bool) -> np.ndarray:
    """The ``n`` windows of ``mono`` framed as edgel3 does (same starts as the teacher's)."""
    frame_len = int(round(window * sr))
    hop_len = _hop_length(hop_size, sr)
    front = frame_len // 2 if center else 0
    total = frame_len + (n - 1) * hop_len
    padded = np.zeros(max(total, front + len(mono)), dtype=np.float32)
    padded[front:front + len(mono)] = mono
    return np.lib.stride_tricks.sliding_window_view(padded[:total], frame_len)[::hop_len][:n]


def student_inputs(store: EmbeddingStore, audio_dir: Path, model: EmbeddingModel,
                   out_path: Path, progress: bool = True) -> np.ndarray:
    """Log-mel input (float16, ``(N, n_mels, n_frames)``) of every window of ``store``, in
    store order, at the student's rate; written atomically to ``out_path`` (``.npy``)."""
    files = [f for f in store.files if f.status == "ok"]
    n_total = sum(f.n_windows for f in files)
    index = store.load(["file_index"])["file_index"]
    if len(index) != n_total or np.any(np.diff(index) < 0):
        raise EdgeSEAError(f"{store.root}: windows are not in file order; re-extract the store")
    sr = model.sample_rate
    n_frames = model.frontend.n_frames(model.window_samples)
    with atomic_path(out_path, suffix=".npy") as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16,
                                        shape=(n_total, model.frontend.n_mels, n_frames))
        row = 0
        for f in tqdm(files, desc="student inputs", unit="file", disable=not progress):
            audio, file_sr = load_audio(audio_dir / f.path)
            mono = resample(to_float_mono(audio), file_sr, sr)
            frames = _windows(mono, sr, f.n_windows, store.manifest["hop_size"], model.window,
                              store.manifest["center"])
            with torch.no_grad():
                out[row:row + len(frames)] = model.frontend(
                    torch.from_numpy(np.ascontiguousarray(frames))).numpy()
            row += len(frames)
        out.flush()
        del out
    return np.load(out_path)


def _sample_count(spec: str, n: int) -> int:
    if spec.endswith("%"):
        return max(1, int(round(n * float(spec[:-1]) / 100)))
    return int(spec)


class _Run:
    """Bookkeeping of one run directory: stage keys, status and timings."""

    def __init__(self, root: Path, progress: bool) -> None:
        self.root, self.progress = root, progress
        path = root / "stages.json"
        self.stages: dict[str, dict[str, Any]] = json.loads(path.read_text()) \
            if path.is_file() else {}
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
        write_json(self.root / "stages.json", self.stages)

    def started(self, name: str, key: str) -> None:
        self.stages[name] = {"key": key, "done": False}
        write_json(self.root / "stages.json", self.stages)

    def say(self, msg: str) -> None:
        if self.progress:
            tqdm.write(msg)


def _check_run_dir(run: Path, config: SpecializeConfig, audio_dir: Path, force: bool) -> None:
    wanted = {"audio_dir": str(audio_dir), **config.to_dict()}
    cfg_path = run / "config.json"
    if cfg_path.is_file():
        old = json.loads(cfg_path.read_text())
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
               force: bool = False, workers: int = 1, progress: bool = True
               ) -> SpecializeResult:
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

    Returns
    -------
    SpecializeResult
        Paths of the student and the report, and the stage table.
    """
    from .report import write_report

    config = config or SpecializeConfig()
    audio_dir = Path(audio_dir).resolve()
    run = Path(run_dir)
    files = list_audio_files(audio_dir)
    if not files:
        raise EdgeSEAError(f"no audio files found under {audio_dir}")
    teacher = resolve_teacher(config.teacher)
    _check_run_dir(run, config, audio_dir, force)
    state = _Run(run, progress)
    t_all = time.perf_counter()

    # embed ------------------------------------------------------------------------------
    listing = [(p, (audio_dir / p).stat().st_size, (audio_dir / p).stat().st_mtime_ns)
               for p in files]
    k_embed = _key("embed", _teacher_info(teacher), config.hop_size, listing)
    if not state.cached("embed", k_embed):
        state.say("[embed] teacher embeddings")
        t = time.perf_counter()
        stale = state.stages.get("embed", {}).get("key") not in (None, k_embed)
        state.started("embed", k_embed)
        rep = extract(audio_dir, run / "store", teacher, hop_size=config.hop_size,
                      workers=workers, progress=progress, overwrite=stale or force)
        state.done("embed", k_embed, time.perf_counter() - t, n_files=rep.n_ok,
                   n_failed=rep.n_failed, n_windows=rep.n_windows)
    store = EmbeddingStore.open(run / "store")
    cols = store.load(["file_index", "embedding", "laeq_db"])
    n = len(cols["file_index"])

    # inputs -----------------------------------------------------------------------------
    torch.manual_seed(config.seed)
    model = sea_student(config.emb_dim, head=config.head, filters=config.filters())
    k_inputs = _key("inputs", k_embed, model.config.frontend, model.config.sample_rate)
    inputs_path = run / "inputs" / "logmel.npy"
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
    sample_path = run / "sample.npz"
    if not state.cached("sample", k_sample) or not sample_path.is_file():
        state.say(f"[sample] {config.sampling}")
        t = time.perf_counter()
        info = _sample(store, cols, config, sample_path)
        state.done("sample", k_sample, time.perf_counter() - t, **info)
    split = dict(np.load(sample_path))

    # reduce -----------------------------------------------------------------------------
    k_reduce = _key("reduce", k_sample, config.reduction, config.emb_dim,
                    config.reduction_options)
    red_dir = run / "reduce"
    if not state.cached("reduce", k_reduce) or not (red_dir / "targets.npy").is_file():
        state.say(f"[reduce] {config.reduction} to {config.emb_dim}")
        t = time.perf_counter()
        red_dir.mkdir(exist_ok=True)
        info = _reduce(cols["embedding"], split["sample"], config, red_dir)
        state.done("reduce", k_reduce, time.perf_counter() - t, **info)
    targets = np.load(red_dir / "targets.npy")
    reducer = np.load(red_dir / "reducer.npz")

    # distill ----------------------------------------------------------------------------
    k_distill = _key("distill", k_reduce, k_inputs, model.config.to_dict(), config.train,
                     config.train_on)
    student_path = run / "student.safetensors"
    if not state.cached("distill", k_distill) or not student_path.is_file():
        prev = state.stages.get("distill", {})
        partial = prev.get("key") == k_distill and (run / "distill" / "latest.pt").is_file()
        if partial and not resume and not force:
            raise EdgeSEAError(f"{run} has an interrupted distillation: pass --resume to "
                               "continue it, or --force to start it again")
        state.say("[distill] training the student" + (" (resumed)" if partial and resume
                                                      else ""))
        t = time.perf_counter()
        state.started("distill", k_distill)
        x = np.load(inputs_path)
        tr = split["train_all"] if config.train_on == "all" else split["sample"]
        res = train_student(model, x[tr], targets[tr], x[split["val"]],
                            targets[split["val"]], run / "distill",
                            TrainConfig.from_dict(config.train),
                            resume=bool(partial and resume), progress=progress,
                            on_epoch=lambda r: state.say(
                                f"  epoch {r['epoch']}: train loss {r['train_loss']:.4f}, val "
                                f"loss {r['val_loss']:.4f}, val R2 {r['val_r2']:.3f}, val cos "
                                f"{r['val_cosine']:.3f} ({r['epoch_s']:.0f} s)"))
        best = res.best
        summary = {"best_epoch": res.best_epoch, "epochs_run": len(res.history),
                   "stopped_early": res.stopped_early, "n_train": int(len(tr)),
                   "n_val": int(len(split["val"])),
                   **{k: best[k] for k in ("val_mse", "val_mae", "val_cosine", "val_r2",
                                           "train_r2", "val_loss")}}
        model.metadata = {
            "edgesea_version": __version__, "kind": "sea-student",
            "teacher": store.manifest["teacher"] | {"spec": config.teacher},
            "upstream": {"audio_dir": str(audio_dir), "n_files": len(store.files),
                         "n_windows": n, "hop_size": config.hop_size},
            "sampling": {"mode": config.sampling, "sample_size": config.sample_size,
                         "n_sample": int(len(split["sample"])), "seed": config.seed,
                         "train_on": config.train_on},
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


def _sample(store: EmbeddingStore, cols: dict[str, np.ndarray], config: SpecializeConfig,
            path: Path) -> dict[str, Any]:
    """Split recordings into train / validation, then sample the training windows."""
    files = store.files
    groups_of_file = recording_groups([f.path for f in files], config.group_by)
    rec = groups_of_file[cols["file_index"]]
    ids = np.unique(rec)
    if len(ids) < 2:
        raise EdgeSEAError(f"need at least 2 recordings to hold one out for validation, "
                           f"found {len(ids)}")
    rng = np.random.default_rng([config.seed, 1])
    n_val = min(len(ids) - 1, max(1, int(round(config.val_fraction * len(ids)))))
    val_ids = rng.choice(ids, n_val, replace=False)
    is_val = np.isin(rec, val_ids)
    train_all, val = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    k = _sample_count(config.sample_size, len(train_all))
    if k > len(train_all):
        raise EdgeSEAError(f"sample_size={config.sample_size} asks for {k} windows but the "
                           f"training recordings have only {len(train_all)} (of {len(rec)} "
                           "windows; the rest are held out for validation): give a smaller "
                           "sample size or more audio")
    if config.reduction == "pca" and config.emb_dim > min(k, cols["embedding"].shape[1]):
        raise EdgeSEAError(f"emb_dim={config.emb_dim} needs a sample of at least that many "
                           f"windows and a teacher of at least that dimension (sample {k}, "
                           f"teacher {cols['embedding'].shape[1]})")
    if config.reduction == "identity" and config.emb_dim != cols["embedding"].shape[1]:
        raise EdgeSEAError(f"the identity reduction needs emb_dim = the teacher's dimension "
                           f"({cols['embedding'].shape[1]}), got {config.emb_dim}")
    rel = relevance_percentile(cols["laeq_db"][train_all], groups=rec[train_all])
    sampler = make_sampler(config.sampling, k, random_state=config.seed)
    pick = sampler.sample(X=cols["embedding"][train_all], relevance=rel)
    _save_npz(path, sample=train_all[pick], train_all=train_all, val=val)
    return {"n_windows": int(len(rec)), "n_recordings": int(len(ids)),
            "n_val_recordings": int(n_val), "n_train_windows": int(len(train_all)),
            "n_val_windows": int(len(val)), "n_sample": int(k)}


def _reduce(emb: np.ndarray, sample: np.ndarray, config: SpecializeConfig,
            out: Path) -> dict[str, Any]:
    """Fit the reducer on the sample; targets for every window."""
    n_comp = None if config.reduction == "identity" else config.emb_dim
    kw = dict(config.reduction_options)
    if config.reduction != "identity":
        kw.setdefault("random_state", config.seed)
    red = make_reducer(config.reduction, n_comp, **kw)
    red.fit(emb[sample])
    targets = red.transform(emb).astype(np.float32)
    if config.reduction == "umap":
        arrays, settings = {}, {"name": "umap", "n_components": config.emb_dim,
                                **config.reduction_options}
    else:
        arrays, settings = red.to_arrays()
    ev = getattr(red, "explained_variance_total_", None)
    settings = {**settings, "explained_variance": ev, "n_fit": int(len(sample))}
    _save_npz(out / "reducer.npz", settings=np.array(json.dumps(settings)), **arrays)
    with atomic_path(out / "targets.npy", suffix=".npy") as tmp:
        np.save(tmp, targets)
    return {"explained_variance": ev, "target_variance": float(targets.var(0).sum())}


