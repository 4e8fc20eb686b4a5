"""Build a sparse aisfx model: prune -> (kd data -> kd retraining) -> sparse file.

:func:`build_sparse_model` is the Python function behind ``edgesea prune``:

1. one-shot magnitude pruning of the dense aisfx teacher (:mod:`edgesea.sparse.prune`):
   edgel3's layer-wise profile of the level, or one global threshold;
2. ``retrain="kd"``: the dense teacher's embeddings and log-mel inputs of every window of
   ``audio_dir`` (:func:`~edgesea.prune.retrain.kd_data`), then training with the masks
   fixed (:func:`~edgesea.prune.retrain.retrain_kd`; checkpoints, exact resume);
   ``retrain="oneshot"``: no retraining;
3. the sparse model file (:func:`~edgesea.sparse.storage.save_sparse`), recording the recipe.

With audio, the fidelity to the dense teacher (R², cosine, MSE of the embeddings) is measured:
for ``kd`` on the held-out validation recordings, before and after retraining; for
``oneshot`` on every window. :func:`save_packaged` writes a packaged model
(``edgesea/pretrained/sparse_aisfx_<level>_<retrain>.safetensors``) from a trained state.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgesea.distill.train import TrainConfig, predict, regression_metrics
from edgesea.errors import EdgeSEAError
from edgesea.packaged import names as zoo
from edgesea.prune.retrain import kd_data, kd_split, retrain_kd
from edgesea.sparse.packaged import check_retrain, packaged_name
from edgesea.sparse.prune import (
    PROFILES,
    apply_masks,
    check_sparsity,
    magnitude_masks,
    sparsity_report,
)
from edgesea.sparse.storage import save_sparse
from edgesea.teachers.aisfx import AisfxTeacher

__all__ = ["UPSTREAM_LICENSE", "BuildResult", "build_sparse_model", "save_packaged"]

#: License of the audio the packaged sparse models were retrained on.
UPSTREAM_LICENSE = ("CC BY-NC 3.0 (UrbanSound8K, Salamon, Jacoby and Bello 2014): the "
                    "weights derive from it, not for commercial use")


@dataclass
class BuildResult:
    """What :func:`build_sparse_model` did.

    Attributes
    ----------
    path : str
        The sparse model file written.
    sparsity : float
        The requested level (or global percentage); ``report["sparsity"]`` is measured.
    method, retrain : str
    report : dict
        :func:`~edgesea.sparse.prune.sparsity_report` of the saved network.
    file_bytes : int
    fidelity : dict or None
        R², cosine, MSE, MAE of the saved model's embeddings against the dense teacher's
        (kd: validation windows; oneshot: all windows); None without audio.
    fidelity_oneshot : dict or None
        The same before retraining (kd only).
    history : list of dict
        Per-epoch metrics of the retraining (kd).
    best_epoch : int or None
    n_train, n_val : int
        Windows trained on and held out (kd; oneshot: 0 and the windows measured).
    wall_s : float
    """

    path: str
    sparsity: float
    method: str
    retrain: str
    report: dict[str, Any]
    file_bytes: int
    fidelity: dict[str, float] | None = None
    fidelity_oneshot: dict[str, float] | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    n_train: int = 0
    n_val: int = 0
    wall_s: float = 0.0


def _forward(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    return net(x)


def _fidelity(net: torch.nn.Module, data: Any, idx: np.ndarray) -> dict[str, float]:
    pred = predict(net, data.inputs[idx], batch_size=64, forward=_forward)
    return regression_metrics(data.targets[idx], pred)


def _check(sparsity: object, retrain: object, method: object, teacher: object,
           audio_dir: object, out: Path, max_windows: object) -> tuple[str, float]:
    retrain = check_retrain(retrain)
    if teacher != "aisfx":
        raise EdgeSEAError(f"unknown teacher {teacher!r}: sparse models are pruned from the "
                           "aisfx teacher ('aisfx')")
    if method not in ("layer", "global"):
        raise EdgeSEAError(f"unknown pruning method {method!r}: expected 'layer' (edgel3's "
                           "per-layer profile) or 'global' (one threshold)")
    level = check_sparsity(sparsity) if method == "layer" else sparsity
    if out.is_dir():
        raise EdgeSEAError(f"--out {out} is a folder: give the model file to write")
    if retrain == "kd" and audio_dir is None:
        raise EdgeSEAError("retrain 'kd' needs in-domain audio to distil on: give AUDIO_DIR "
                           "(or use retrain 'oneshot')")
    if audio_dir is not None and not Path(audio_dir).is_dir():
        raise EdgeSEAError(f"audio folder not found (or not a folder): {audio_dir}")
    if max_windows is not None and (isinstance(max_windows, bool) or not isinstance(
            max_windows, int) or max_windows < 1):
        raise EdgeSEAError(f"invalid max_windows={max_windows!r}: expected an int >= 1")
    return retrain, level  # type: ignore[return-value]


def build_sparse_model(audio_dir: str | os.PathLike | None, out: str | os.PathLike,
                       sparsity: float = 95.45, retrain: str = "kd", *,
                       method: str = "layer", skip_first: bool = True,
                       teacher: str = "aisfx", config: TrainConfig | None = None,
                       hop_size: float = 0.5, val_fraction: float = 0.1,
                       max_windows: int | None = None, resume: bool = False,
                       work_dir: str | os.PathLike | None = None,
                       data_license: str | None = None,
                       progress: bool = True) -> BuildResult:
    """Prune the aisfx teacher, retrain it by distillation (``kd``) and save the sparse file.

    Parameters
    ----------
    audio_dir : path or None
        In-domain upstream audio (walked recursively); needed for ``kd``, optional for
        ``oneshot`` (then used to measure the fidelity to the dense teacher).
    out : path
        The sparse model file to write (``*.safetensors``).
    sparsity : float
        ``method="layer"``: one of edgel3's levels (53.5, 63.5, 72.3, 87.0, 95.45);
        ``"global"``: any percentage.
    retrain : {"kd", "oneshot"}
        ``"ft"`` is refused: it needs L3-Net's audio-visual task.
    method : {"layer", "global"}
        edgel3's per-layer profile, or one magnitude threshold over the layers.
    skip_first : bool
        ``method="global"``: keep the first convolution dense (edgel3 does).
    teacher : str
        ``"aisfx"`` (the only dense network pruned here).
    config : TrainConfig, optional
        kd training settings (default: 4 epochs, Adam lr 3e-4, cosine, batch 64, seed 0).
    hop_size : float
        Seconds between windows of the kd data.
    val_fraction : float
        Recordings held out for validation (kd).
    max_windows : int, optional
        Train on at most this many windows (seeded subset), to fit a compute budget.
    resume : bool
        Continue an interrupted kd run from its checkpoint (same data and settings).
    work_dir : path, optional
        kd data and checkpoints (default: ``<out without suffix>.work`` beside ``out``).
    data_license : str, optional
        License of ``audio_dir``, recorded in the file (``licenses.training_data``).
    progress : bool
        Progress bars on stderr.

    Returns
    -------
    BuildResult

    Raises
    ------
    EdgeSEAError
        Invalid settings (before any work), missing aisfx weights or audio, or a resume
        that does not match the interrupted run.
    """

    out = Path(out)
    retrain, level = _check(sparsity, retrain, method, teacher, audio_dir, out, max_windows)
    cfg = config or TrainConfig(epochs=4, lr=3e-4, schedule="cosine", patience=0)
    t0 = time.perf_counter()
    dense = AisfxTeacher()
    net = copy.deepcopy(dense.net)
    masks = magnitude_masks(net, level, method=method, skip_first=skip_first)
    apply_masks(net, masks)
    work = Path(work_dir) if work_dir is not None else out.with_name(out.stem + ".work")
    res = BuildResult(path=str(out), sparsity=float(level), method=method, retrain=retrain,
                      report={}, file_bytes=0)
    if audio_dir is not None:
        data = kd_data(audio_dir, work / "kd_data", dense, hop_size=hop_size,
                       progress=progress)
        if retrain == "kd":
            train, val = kd_split(data.groups, val_fraction, cfg.seed)
            res.fidelity_oneshot = _fidelity(net, data, val)
            tr = retrain_kd(net, masks, data, work / "kd", cfg,
                            val_fraction=val_fraction, max_windows=max_windows,
                            resume=resume, progress=progress)
            res.history, res.best_epoch = tr.history, tr.best_epoch
            res.n_train = min(len(train), max_windows or len(train))
            res.n_val = len(val)
            res.fidelity = _fidelity(net, data, val)
        else:
            everything = np.arange(len(data.targets))
            res.fidelity, res.n_val = _fidelity(net, data, everything), len(everything)
    net.eval()
    recipe = {"teacher": "aisfx", "method": method, "skip_first": skip_first,
              "per_layer": list(PROFILES[level]) if method == "layer" else None,
              "retrain": retrain, "audio": None if audio_dir is None else str(audio_dir),
              "hop_size": hop_size, "window": 1.0, "val_fraction": val_fraction,
              "max_windows": max_windows, "n_train": res.n_train, "n_val": res.n_val,
              "train": cfg.to_dict() if retrain == "kd" else None,
              "best_epoch": res.best_epoch, "fidelity": res.fidelity,
              "fidelity_oneshot": res.fidelity_oneshot}
    licenses = {"training_data": data_license} if data_license else {}
    save_sparse(net, out, sparsity=level, retrain=retrain, recipe=recipe, method=method,
                masks=masks, teacher_identity=dense.identity,
                training_data=recipe["audio"] if retrain == "kd" else None,
                licenses=licenses)
    res.report = sparsity_report(net)
    res.file_bytes = out.stat().st_size
    res.wall_s = time.perf_counter() - t0
    return res


def save_packaged(state: Mapping[str, torch.Tensor], sparsity: float, *,
                  recipe: Mapping[str, Any], teacher: Any = None, retrain: str = "kd",
                  training_data: str = "UrbanSound8K folds 1-2 (audio only; fold 10 never "
                  "seen)", data_license: str = UPSTREAM_LICENSE,
                  out_dir: str | os.PathLike | None = None) -> str:
    """Write a packaged sparse model, ``<out_dir>/sparse_aisfx_<level>_<retrain>.safetensors``.

    Parameters
    ----------
    state : dict of str to torch.Tensor
        The trained :class:`~edgesea.teachers.aisfx.AisfxNet` state dict (e.g.
        ``torch.load("runs/sparse/s95.45/kd.pt")``).
    sparsity : float
        Its edgel3 level.
    recipe : dict
        How it was built (recorded in the file).
    teacher : AisfxTeacher, optional
        The dense teacher (default: a new one): its identity is recorded and its pruning
        mask at ``sparsity`` is checked (every weight it prunes must be zero in ``state``).
    retrain : {"kd", "oneshot"}
    training_data, data_license : str
        What it was retrained on, and that data's license.
    out_dir : path, optional
        Default: the installed package's ``edgesea/pretrained``.

    Returns
    -------
    str
        The path written.

    Raises
    ------
    EdgeSEAError
        Not an edgel3 level, not the aisfx network, or weights outside the profile's mask
        that are not zero.
    """

    level = check_sparsity(sparsity)
    dense = teacher if teacher is not None else AisfxTeacher()
    masks = magnitude_masks(dense.net, level)
    path = Path(out_dir if out_dir is not None else zoo.PRETRAINED_DIR) / (
        packaged_name(level, retrain) + ".safetensors")
    return save_sparse(dict(state), path, sparsity=level, retrain=retrain,
                       recipe=dict(recipe), method="layer", masks=masks,
                       teacher_identity=dense.identity, training_data=training_data,
                       licenses={"training_data": data_license})
