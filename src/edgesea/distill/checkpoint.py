"""Distillation checkpoints: written atomically, read back only after every part is checked.

``latest.pt`` / ``best.pt`` of :func:`edgesea.distill.train.train_student` are read with
``torch.load(weights_only=True)`` (no code in a file ever runs), after bounding the file's size
by what a checkpoint of the model can take; names, shapes and dtypes of the weights, the
random states, the optimizer moments, the averaged copy of the weights (``TrainConfig.ema``)
and the training state are checked before anything of the model changes. Every failure is an
:class:`~edgesea.errors.EdgeSEAError` naming the file and the way out (``--force`` without
``--resume``).
"""

from __future__ import annotations

import json
import pickle
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from edgesea.core.fileio import atomic_path
from edgesea.errors import EdgeSEAError
from edgesea.models.network import EmbeddingModel

if TYPE_CHECKING:
    from edgesea.distill.config import TrainConfig

def save_atomic(obj: Any, path: Path) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(obj, f)


_CKPT_KEYS = ("version", "config", "data", "model", "optimizer", "generator", "torch_rng",
              "state")
_STATE_KEYS = ("epoch", "best_loss", "best_epoch", "since_best", "since_lr", "history", "done")


def _max_checkpoint_bytes(model: EmbeddingModel, cfg: TrainConfig) -> int:
    """The largest plausible ``latest.pt`` of ``model``: 10x (weights + Adam's two moments +
    an averaged copy + the random states + a history row per epoch), plus 1 MiB of container
    overhead."""
    weights = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    rng = torch.get_rng_state().numel()
    return 10 * (4 * weights + 2 * rng + 2048 * cfg.epochs) + 2**20


def _bad_checkpoint(path: Path, why: str) -> EdgeSEAError:
    return EdgeSEAError(f"{path} cannot be resumed from: {why}. It is truncated, damaged or "
                        "not a checkpoint of this training; start the distillation again with "
                        "--force and without --resume (resume=False in Python), which "
                        "replaces it")


def _read_checkpoint(path: Path, max_bytes: int, keys: tuple[str, ...]) -> dict[str, Any]:
    """Load a checkpoint safely: size-bounded before reading, ``weights_only`` (no code in
    the file ever runs), a dict holding ``keys``; any failure is an :class:`EdgeSEAError`."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise _bad_checkpoint(path, f"it cannot be read ({e})") from e
    if size > max_bytes:
        raise _bad_checkpoint(path, f"it is too large ({size:,} bytes; a checkpoint of this "
                                    f"model and these settings takes at most ~{max_bytes:,})")
    try:
        with warnings.catch_warnings():  # e.g. "pickle protocol 4": the file is refused anyway
            warnings.simplefilter("ignore", UserWarning)
            ckpt = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as e:
        m = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\. Please|\n|$)", str(e))
        detail = f": {m.group(1).strip()}" if m else ""
        raise _bad_checkpoint(path, "it is not a weights-only file and was refused without "
                                    f"running any of it{detail}") from e
    except Exception as e:  # torch raises many kinds (zip, EOF, OS errors)
        first = (str(e).strip().splitlines() or [""])[0][:200]
        raise _bad_checkpoint(path, f"it does not load ({type(e).__name__}: {first})") from e
    if not isinstance(ckpt, dict):
        raise _bad_checkpoint(path, f"it holds a {type(ckpt).__name__}, not a checkpoint dict")
    missing = [k for k in keys if k not in ckpt]
    if missing:
        raise _bad_checkpoint(path, f"it lacks {missing}")
    return ckpt


def _check_weights(path: Path, weights: Any, model: EmbeddingModel) -> None:
    """Refuse model weights whose names, shapes or types are not ``model``'s."""
    if not isinstance(weights, dict):
        raise _bad_checkpoint(path, "its model weights are not a state dict")
    ref = model.state_dict()
    missing, extra = sorted(set(ref) - set(weights)), sorted(set(weights) - set(ref))
    if missing or extra:
        raise _bad_checkpoint(path, f"its model weights do not match the model (missing "
                                    f"{missing[:3]}, unexpected {extra[:3]})")
    for name, t in ref.items():
        w = weights[name]
        if not isinstance(w, torch.Tensor) or w.shape != t.shape or w.dtype != t.dtype:
            got = (f"{tuple(w.shape)} {w.dtype}" if isinstance(w, torch.Tensor)
                   else type(w).__name__)
            raise _bad_checkpoint(path, f"its weight {name} is {got}, the model's is "
                                        f"{tuple(t.shape)} {t.dtype}")


def _restore(path: Path, ckpt: dict[str, Any], model: EmbeddingModel,
             opt: torch.optim.Optimizer, gen: torch.Generator, cfg: TrainConfig
             ) -> dict[str, Any]:
    """Check every part of a resumable checkpoint, then load it; returns the loop state.

    Nothing of the model is changed unless the whole checkpoint is valid."""
    _check_weights(path, ckpt["model"], model)
    for name in ("generator", "torch_rng"):
        t, ref = ckpt[name], torch.get_rng_state()
        if not isinstance(t, torch.Tensor) or t.shape != ref.shape or t.dtype != ref.dtype:
            raise _bad_checkpoint(path, f"its {name} state is not a random generator state")
    try:
        state = json.loads(ckpt["state"])
    except (TypeError, ValueError) as e:
        raise _bad_checkpoint(path, f"its training state is not JSON ({e})") from e
    if not isinstance(state, dict) or any(k not in state for k in _STATE_KEYS) \
            or not isinstance(state["history"], list) \
            or not isinstance(state["epoch"], int) \
            or not 0 <= state["epoch"] <= cfg.epochs or len(state["history"]) != state["epoch"]:
        raise _bad_checkpoint(path, "its training state is incomplete or inconsistent")
    try:
        opt.load_state_dict(ckpt["optimizer"])
        gen.set_state(ckpt["generator"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise _bad_checkpoint(path, f"its optimizer state does not fit the model ({e})") from e
    for group in opt.param_groups:
        for p in group["params"]:
            for k, v in opt.state.get(p, {}).items():
                if k != "step" and (not isinstance(v, torch.Tensor) or v.shape != p.shape):
                    raise _bad_checkpoint(path, f"its optimizer state {k!r} does not fit the "
                                                "model's parameters")
    model.load_state_dict(ckpt["model"])
    torch.set_rng_state(ckpt["torch_rng"])
    return state


def _averaged(model: EmbeddingModel, decay: float) -> torch.nn.Module:
    """An EMA copy of ``model`` (parameters and buffers), updated by ``update_parameters``."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def _restore_average(path: Path, ckpt: dict[str, Any], avg: torch.nn.Module,
                     model: EmbeddingModel) -> None:
    """Load the averaged weights of a checkpoint into ``avg`` after checking them."""
    n = ckpt.get("ema_n")
    if "ema" not in ckpt or isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise _bad_checkpoint(path, "it lacks the averaged weights (ema) of this training")
    _check_weights(path, ckpt["ema"], model)
    avg.module.load_state_dict(ckpt["ema"])
    avg.n_averaged.fill_(n)
