"""Any edgesea :class:`~edgesea.models.EmbeddingModel` used as a teacher.

A large student (or a ported L3-Net) can teach a smaller one: :class:`ModelTeacher` wraps the
model behind the :class:`~edgesea.teachers.base.Teacher` interface. It embeds with the
model's BatchNorm-folded :meth:`~edgesea.models.EmbeddingModel.for_inference` copy of a
snapshot taken when the teacher is built, so later changes to the model's weights are not
seen (build a new teacher instead; its :attr:`identity` changes with the weights). The
inference copy is made on the first :meth:`ModelTeacher.embed` call, so building a teacher
(e.g. to check a store's settings) is cheap.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from edgesea.errors import EdgeSEAError
from edgesea.models import EmbeddingModel
from edgesea.teachers.base import identity_hash

__all__ = ["ModelTeacher"]


class ModelTeacher:
    """An :class:`EmbeddingModel` behind the :class:`~edgesea.teachers.base.Teacher`
    protocol.

    Parameters
    ----------
    model : EmbeddingModel
        The teaching model (a snapshot of its current weights is used).

    Attributes
    ----------
    name : str
        ``"model:<family>"``, e.g. ``"model:sea"``.
    sample_rate : int
        The model's input rate.
    window : float
        The model's window length in seconds.
    emb_dim : int
        The model's embedding dimension.
    identity : str
        :func:`~edgesea.teachers.base.identity_hash` of the weights and configuration.
    model : EmbeddingModel
        The wrapped model (as passed; embeddings come from a snapshot of it).
    """

    def __init__(self, model: EmbeddingModel) -> None:
        if not isinstance(model, EmbeddingModel):
            raise EdgeSEAError(f"ModelTeacher expects an edgesea EmbeddingModel, got "
                               f"{type(model).__name__}")
        self.model = model
        self.name = f"model:{model.config.family}"
        self.sample_rate = int(model.sample_rate)
        self.window = float(model.window)
        self.emb_dim = int(model.emb_dim)
        self.window_samples = int(model.window_samples)
        #: samples (left, right) around a window that a stream front end reads; extract
        #: gives each window its context (``(0, 0)`` for other front ends)
        self.context_samples = tuple(int(c) for c in model.context_samples)
        self._snapshot: EmbeddingModel | None = copy.deepcopy(model).eval()
        self._net: torch.nn.Module | None = None
        self.identity = identity_hash(model.state_dict(), {"teacher": "model",
                                                           "config": model.config.to_dict()})

    def __getstate__(self) -> dict:
        """Picklable (e.g. shipped to Ray actors): the snapshot, not its inference copy,
        which is rebuilt on the first :meth:`embed` after unpickling."""
        return {**self.__dict__, "_net": None}

    def __repr__(self) -> str:
        return (f"ModelTeacher(name={self.name!r}, sample_rate={self.sample_rate}, "
                f"window={self.window:g}, emb_dim={self.emb_dim}, identity={self.identity!r})")

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """Embed windows with the model.

        Parameters
        ----------
        windows : np.ndarray [shape=(B, window_samples)]
            Mono windows at :attr:`sample_rate` (converted to float32); for a stream front
            end also ``(B, left + window_samples + right)`` (:attr:`context_samples`).

        Returns
        -------
        np.ndarray [shape=(B, emb_dim), dtype=float32]
        """
        arr = np.asarray(windows)
        widths = {self.window_samples, self.window_samples + sum(self.context_samples)}
        if arr.ndim != 2 or arr.shape[1] not in widths:
            raise EdgeSEAError(
                f"{self.name} teacher expects windows of shape (B, {self.window_samples}) "
                f"({self.window:g} s at {self.sample_rate} Hz), got {arr.shape}")
        if arr.shape[0] == 0:
            return np.zeros((0, self.emb_dim), dtype=np.float32)
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if not arr.flags.writeable:  # e.g. frame_audio's read-only views
            arr = arr.copy()
        x = torch.from_numpy(arr)
        if self._net is None:
            assert self._snapshot is not None
            self._net = self._snapshot.for_inference()
        with torch.inference_mode():
            out = self._net(x)
        return np.ascontiguousarray(out.numpy(), dtype=np.float32)
