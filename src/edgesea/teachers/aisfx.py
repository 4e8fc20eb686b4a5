"""The aisfx teacher: the pretrained sound-effects CNN of the PyPI package ``aisfx`` 0.1.2.

Everything runs in torch; nothing of ``aisfx`` is imported (its modules need librosa and
Essentia). Only its ``aisfx/models/checkpoint.pth`` is read, with the safe
``torch.load(weights_only=True)`` loader, into the network of :mod:`.aisfx_net`
(:class:`AisfxFrontend`, the published Essentia front end, and :class:`AisfxNet`, the
``EmbeddingNet``: CNN9, 512-d; both re-exported here). Install the weights with
``pip install --no-deps aisfx==0.1.2`` (code MIT, weights CC BY 4.0).

Two ways to use it:

* :class:`AisfxTeacher` (the :class:`~edgesea.teachers.Teacher` interface) embeds each window
  on its own: ``window`` seconds -> its log-mel frames -> the network on that block of frames
  (45 frames for the default 1 s window). ``block="native"`` uses the network's native block of
  100 frames instead (``NATIVE_BLOCK_SAMPLES`` = 101376 samples, 2.2988 s).
* :meth:`AisfxTeacher.embed_clip_blocks` reproduces the package itself: the log-mel of a whole
  clip, cut into 100-frame blocks with a hop of 50 frames, partial last block dropped.
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from edgesea.core.checks import check_int
from edgesea.errors import EdgeSEAError
from edgesea.teachers.aisfx_net import (
    HOP,
    SAMPLE_RATE,
    AisfxFrontend,
    AisfxNet,
    aisfx_mel_filterbank,
    packed_forward,
)
from edgesea.teachers.base import identity_hash

__all__ = ["NATIVE_BLOCK_FRAMES", "NATIVE_BLOCK_SAMPLES", "AisfxFrontend", "AisfxNet",
           "AisfxTeacher", "aisfx_mel_filterbank", "default_checkpoint_path", "embed_windows",
           "load_aisfx_checkpoint", "packed_forward"]

NATIVE_BLOCK_FRAMES = 100
#: Samples giving exactly 100 frames: frames are centred on samples 0, 1024, ..., 99 * 1024.
NATIVE_BLOCK_SAMPLES = (NATIVE_BLOCK_FRAMES - 1) * HOP
BLOCK_HOP_FRAMES = 50
_MIN_SAMPLES = 6 * HOP  # the network needs >= 8 frames (three 2x2 poolings)
_PREFIX = "embedding_net."
_INSTALL = "pip install --no-deps aisfx==0.1.2"


def default_checkpoint_path() -> Path:
    """Path of ``checkpoint.pth`` inside the installed ``aisfx`` package (not imported).

    Raises
    ------
    EdgeSEAError
        If ``aisfx`` is not installed or ships no checkpoint.
    """
    try:
        spec = importlib.util.find_spec("aisfx")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise EdgeSEAError(f"the aisfx teacher needs the aisfx weights: {_INSTALL}")
    for loc in spec.submodule_search_locations:
        path = Path(loc) / "models" / "checkpoint.pth"
        if path.is_file():
            return path
    raise EdgeSEAError(f"aisfx is installed but has no models/checkpoint.pth: reinstall with "
                       f"{_INSTALL}")


def _numpy_safe_globals() -> list[Any]:
    """The numpy objects the checkpoint's ``ds_dict`` (numpy int64 scalars) needs.

    ``scalar`` is listed under its numpy 1 name (as the file spells it) and its own name.
    """
    try:
        from numpy._core.multiarray import scalar  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import scalar
    return [(scalar, "numpy.core.multiarray.scalar"), scalar, np.dtype,
            type(np.dtype(np.int64))]


def load_aisfx_checkpoint(path: str | os.PathLike | None = None) -> dict[str, torch.Tensor]:
    """Load the aisfx embedding-network weights with the safe (weights-only) unpickler.

    Parameters
    ----------
    path : path-like, optional
        A checkpoint saved as ``(state_dict, ds_dict)`` (or a bare state dict). Defaults to
        the installed package's ``aisfx/models/checkpoint.pth``.

    Returns
    -------
    dict of str to torch.Tensor
        The ``embedding_net.*`` tensors with that prefix removed (the ``fc.*`` classifier
        heads are dropped), ready for :meth:`AisfxNet.load_state_dict`.

    Raises
    ------
    EdgeSEAError
        Missing or unreadable file, an object the safe unpickler refuses, or a structure
        without ``embedding_net.*`` tensors.
    """
    path = default_checkpoint_path() if path is None else Path(path)
    if not path.is_file():
        raise EdgeSEAError(f"aisfx checkpoint not found: {path}")
    try:
        with torch.serialization.safe_globals(_numpy_safe_globals()):
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # corrupt zip, refused global, truncated pickle, ...
        raise EdgeSEAError(f"could not load aisfx checkpoint {path} with the safe "
                           f"(weights_only) loader: {type(e).__name__}: {e}") from e
    state = obj[0] if isinstance(obj, tuple | list) and obj else obj
    if not isinstance(state, Mapping):
        raise EdgeSEAError(f"aisfx checkpoint {path} has an unexpected structure "
                           f"({type(obj).__name__}): expected (state_dict, ds_dict)")
    out = {k[len(_PREFIX):]: v for k, v in state.items()
           if isinstance(k, str) and k.startswith(_PREFIX)}
    if not out or not all(isinstance(v, torch.Tensor) for v in out.values()):
        raise EdgeSEAError(f"aisfx checkpoint {path} holds no embedding_net.* tensors")
    return out


def embed_windows(fn: Any, windows: np.ndarray, window_samples: int, emb_dim: int,
                  batch_size: int) -> np.ndarray:
    """Check ``(B, window_samples)`` 44.1 kHz windows, then embed them ``batch_size`` at a time
    with ``fn`` (a float32 tensor batch -> ``(b, emb_dim)`` tensor) -> ``(B, emb_dim)`` float32.

    Raises
    ------
    EdgeSEAError
        Wrong shape or non-finite samples.
    """
    arr = np.asarray(windows, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[1] != window_samples:
        raise EdgeSEAError(f"windows of shape {arr.shape}: expected (B, "
                           f"{window_samples}) samples at {SAMPLE_RATE} Hz")
    if not np.isfinite(arr).all():
        raise EdgeSEAError("windows contain NaN or Inf samples")
    out = np.empty((arr.shape[0], emb_dim), dtype=np.float32)
    with torch.inference_mode():
        for i in range(0, arr.shape[0], batch_size):
            x = torch.from_numpy(np.array(arr[i:i + batch_size]))
            out[i:i + x.shape[0]] = fn(x).numpy()
    return out


class AisfxTeacher:
    """The aisfx CNN as a :class:`~edgesea.teachers.Teacher` (44.1 kHz, 512-d).

    Parameters
    ----------
    window : float
        Window length in seconds for ``block="window"`` (default 1.0, the students' window);
        each window's own log-mel frames (``ceil((n + 1024) / 1024)``, 45 for 1 s) form the
        block the network sees.
    block : {"window", "native"}
        ``"native"`` ignores ``window`` and uses the network's 100-frame block:
        ``NATIVE_BLOCK_SAMPLES`` = 99 * 1024 = 101376 samples (2.2988 s), the one length
        whose frames number exactly 100 (102400 samples = 100 hops would give 101).
    checkpoint : path-like, optional
        Checkpoint file (default: the installed package's).
    device : str or torch.device
        Where to run.
    batch_size : int
        Windows per forward pass in :meth:`embed`.

    Raises
    ------
    EdgeSEAError
        Invalid settings, or weights that do not fit :class:`AisfxNet`.
    """

    name = "aisfx"
    sample_rate = SAMPLE_RATE
    emb_dim = 512

    def __init__(self, window: float = 1.0, block: str = "window",
                 checkpoint: str | os.PathLike | None = None,
                 device: str | torch.device = "cpu", batch_size: int = 64) -> None:
        if block not in ("window", "native"):
            raise EdgeSEAError(f"unknown block={block!r}: expected 'window' or 'native'")
        if block == "native":
            window = NATIVE_BLOCK_SAMPLES / SAMPLE_RATE
        elif isinstance(window, bool) or not isinstance(window, int | float) or not (
                math.isfinite(window) and round(window * SAMPLE_RATE) > _MIN_SAMPLES):
            raise EdgeSEAError(f"invalid window={window!r}: expected seconds > "
                               f"{_MIN_SAMPLES / SAMPLE_RATE:.4f} (8 frames), e.g. 1.0")
        check_int(batch_size, "batch_size")
        self.block = block
        self.window = float(window)
        self.window_samples = round(self.window * SAMPLE_RATE)
        self.batch_size = batch_size
        self.device = torch.device(device)
        state = load_aisfx_checkpoint(checkpoint)
        self.net = AisfxNet()
        try:
            self.net.load_state_dict(state, strict=True)
        except RuntimeError as e:
            raise EdgeSEAError(f"aisfx checkpoint does not fit the network: {e}") from e
        self.net.eval().to(self.device)
        self.frontend = AisfxFrontend().eval().to(self.device)
        settings = {"name": self.name, "impl": "edgesea-aisfx-1", "block": block,
                    "window_samples": self.window_samples, "frontend": AisfxFrontend.config()}
        self.identity = identity_hash(state, settings)
        self._packed: dict[int, tuple[tuple, nn.Module, bool]] = {}  # see packed_forward

    def __repr__(self) -> str:
        return (f"AisfxTeacher(block={self.block!r}, window={self.window:.4f}, "
                f"identity={self.identity!r})")

    def logmel(self, audio: np.ndarray | torch.Tensor) -> np.ndarray:
        """Normalised log-mel of 44.1 kHz audio ``(n,)`` -> ``(T, 96)`` or ``(B, n)`` ->
        ``(B, T, 96)`` (float32)."""
        x = torch.as_tensor(np.asarray(audio, dtype=np.float32)).to(self.device)
        with torch.inference_mode():
            out = self.frontend(x)
        return (out[0] if x.dim() == 1 else out).cpu().numpy()

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """Embed ``(B, window_samples)`` 44.1 kHz windows -> ``(B, 512)`` float32.

        Raises
        ------
        EdgeSEAError
            Wrong shape or non-finite samples.
        """
        return embed_windows(lambda x: self._network(self.frontend(x.to(self.device))).cpu(),
                             windows, self.window_samples, self.emb_dim, self.batch_size)

    def _network(self, logmel: torch.Tensor) -> torch.Tensor:
        """:class:`AisfxNet` on ``(B, T, 96)``: on CPU through :func:`packed_forward`
        (about 1.6x faster than eager, equal to it to float rounding), else eagerly."""
        if self.device.type != "cpu":
            return self.net(logmel)
        return packed_forward(self.net, logmel, self._packed)

    def embed_clip_blocks(self, wave44k: np.ndarray,
                          hop_frames: int = BLOCK_HOP_FRAMES) -> np.ndarray:
        """Embed a whole clip as the aisfx package does -> ``(n_blocks, 512)`` float32.

        The log-mel of the whole clip is cut into blocks of 100 frames with a hop of
        ``hop_frames``; a partial last block is dropped, except that a clip shorter than one
        block gives one zero-padded block.
        """
        spec = torch.from_numpy(self.logmel(np.asarray(wave44k, dtype=np.float32).reshape(-1)))
        if spec.shape[0] < NATIVE_BLOCK_FRAMES:
            spec = nn.functional.pad(spec, (0, 0, 0, NATIVE_BLOCK_FRAMES - spec.shape[0]))
        blocks = spec.unfold(0, NATIVE_BLOCK_FRAMES, hop_frames).transpose(1, 2)
        out = []
        with torch.inference_mode():
            for i in range(0, blocks.shape[0], self.batch_size):
                b = blocks[i:i + self.batch_size].contiguous().to(self.device)
                out.append(self._network(b).cpu())
        return torch.cat(out).numpy().astype(np.float32, copy=False)
