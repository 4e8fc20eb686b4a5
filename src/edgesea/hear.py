"""HEAR 2021 API adapter: expose an edgesea embedding model to the HEAR benchmark harness.

HEAR accepts only 16, 22.05, 44.1 or 48 kHz, so the model declares 16 kHz and every sound is
resampled to the model's own rate (8 or 16 kHz) inside, with the same preprocessing, windowing
(``center=True``: window ``t`` is centred at ``t * hop_size``) and batching as
:func:`edgesea.get_embedding`, so both give the same numbers. Timestamps are in milliseconds.

With torch installed (``edgesea[train]``) this is HEAR's PyTorch form: :class:`HEARModel` is a
``torch.nn.Module`` and audio and embeddings are torch tensors. The light install (no torch)
runs the same functions on NumPy arrays with the model's ONNX file.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from edgesea.audio.io import preprocess_audio
from edgesea.core.checks import check_hop_size
from edgesea.core.extras import has_torch, is_torch_module
from edgesea.errors import EdgeSEAError
from edgesea.inference.api import get_embedder, get_embedding

if has_torch():  # HEAR's PyTorch form: a torch module, tensors in and out
    import torch

    _Module: Any = torch.nn.Module
else:  # the light install: the same API on NumPy arrays
    torch = None
    _Module = object

__all__ = ["HEARModel", "get_scene_embeddings", "get_timestamp_embeddings", "load_model"]

_BATCH_SIZE = 64  # windows per forward pass, as get_embedding's default


class HEARModel(_Module):
    """An edgesea model wrapped with the attributes HEAR requires (a ``torch.nn.Module``
    when torch is installed).

    Attributes
    ----------
    sample_rate : int
        Declared input rate (16000 Hz); input is resampled to ``model.sample_rate`` inside.
    scene_embedding_size, timestamp_embedding_size : int
        The model's embedding dimension.
    hop_size : float
        Hop between timestamp embeddings, in seconds.
    model : EmbeddingModel or embedder
        The wrapped network (a private copy of a torch model: moving it to a device leaves
        edgesea's cache untouched; an ONNX or int8 embedder without torch).
    """

    sample_rate = 16000

    def __init__(self, model: Any, hop_size: float = 0.05) -> None:
        super().__init__()
        self.model = model.eval() if is_torch_module(model) else model
        self.hop_size = check_hop_size(hop_size)
        self.scene_embedding_size = int(model.emb_dim)
        self.timestamp_embedding_size = int(model.emb_dim)

    def forward(self, audio: Any) -> Any:
        """Timestamp embeddings ``[n_sounds, T, D]`` of 16 kHz audio ``[n_sounds, n_samples]``."""
        return get_timestamp_embeddings(audio, self)[0]


def load_model(model_file_path: str = "", model_type: str = "sea", emb_dim: int = 128,
               hop_size: float = 0.05) -> HEARModel:
    """Load an edgesea model for HEAR.

    Parameters
    ----------
    model_file_path : str
        Path to an edgesea model file; ``""`` uses the packaged ``(model_type, emb_dim)``.
    model_type, emb_dim
        Which packaged model to use when no path is given.
    hop_size : float
        Hop between timestamp embeddings, in seconds.

    Returns
    -------
    HEARModel

    Raises
    ------
    EdgeSEAError
        The file is missing or invalid, or the packaged model is not installed.
    """
    net = get_embedder(model_file_path or None, model_type, emb_dim)
    return HEARModel(copy.deepcopy(net) if is_torch_module(net) else net, hop_size)


def _check_audio(audio: object) -> np.ndarray:
    is_tensor = torch is not None and isinstance(audio, torch.Tensor)
    if not is_tensor and (torch is not None or not isinstance(audio, np.ndarray)):
        kinds = "a torch.Tensor" if torch is not None else "a NumPy array (no torch installed)"
        raise EdgeSEAError(f"audio must be {kinds} [n_sounds, n_samples], got "
                           f"{type(audio).__name__}")
    if audio.ndim != 2:
        raise EdgeSEAError(f"audio has {audio.ndim} dimensions (shape {tuple(audio.shape)}): "
                           "expected a 2-D tensor [n_sounds, n_samples] at 16 kHz")
    floating = audio.is_floating_point() if is_tensor else audio.dtype.kind == "f"
    if not floating:
        raise EdgeSEAError(f"audio has dtype {audio.dtype}: expected floating point samples "
                           "in [-1, 1]")
    if audio.shape[0] == 0 or audio.shape[1] == 0:
        raise EdgeSEAError(f"audio of shape {tuple(audio.shape)} is empty: expected at least "
                           "one sound of at least one sample")
    if is_tensor:
        return audio.detach().to("cpu", torch.float32).numpy()
    return np.asarray(audio, dtype=np.float32)


def get_timestamp_embeddings(audio: Any, model: HEARModel) -> tuple[Any, Any]:
    """Embeddings of 1 s windows centred every ``model.hop_size`` seconds.

    Parameters
    ----------
    audio : torch.Tensor or np.ndarray [shape=(n_sounds, n_samples)]
        Float audio at 16 kHz; all sounds have the same length (a NumPy array gives NumPy
        arrays back).
    model : HEARModel
        From :func:`load_model`.

    Returns
    -------
    embeddings : torch.Tensor or np.ndarray [shape=(n_sounds, T, D), dtype=float32]
    timestamps : torch.Tensor or np.ndarray [shape=(n_sounds, T), dtype=float64]
        Window centres in milliseconds: window ``t`` starts ``t * round(hop_size * sr)``
        samples in at the model's rate ``sr`` (the true centre, as :func:`edgesea.get_embedding`).
    """
    if not isinstance(model, HEARModel):
        raise EdgeSEAError(f"model must be a HEARModel from load_model, got "
                           f"{type(model).__name__}")
    sounds = _check_audio(audio)
    net = model.model
    framed = [preprocess_audio(s, model.sample_rate, net.sample_rate, net.window,
                               model.hop_size, True) for s in sounds]
    frames = [f for f, _ in framed]
    n_frames = frames[0].shape[0]
    device = next(net.parameters()).device if is_torch_module(net) else None
    stamps = np.asarray(framed[0][1], dtype=np.float64) * 1000.0
    if device is None or device.type == "cpu":  # get_embedding's path (stream context)
        embs, _ = get_embedding([np.ascontiguousarray(s) for s in sounds], model.sample_rate,
                                model=net, center=True, hop_size=model.hop_size,
                                batch_size=_BATCH_SIZE, verbose=False)
        if torch is None or not isinstance(audio, torch.Tensor):
            return (np.stack(embs).reshape(len(frames), n_frames, -1),
                    np.broadcast_to(stamps, (len(frames), n_frames)).copy())
        emb = torch.from_numpy(np.stack(embs))
    else:
        flat = np.concatenate(frames)
        out = []
        with torch.inference_mode():
            for start in range(0, flat.shape[0], _BATCH_SIZE):
                batch = torch.from_numpy(np.ascontiguousarray(flat[start:start + _BATCH_SIZE]))
                out.append(net(batch.to(device)).float().cpu())
        emb = torch.cat(out).reshape(len(frames), n_frames, net.emb_dim)
    emb = emb.to(audio.device)
    stamps_t = torch.from_numpy(stamps)
    return emb, stamps_t.expand(len(frames), n_frames).contiguous().to(audio.device)


def get_scene_embeddings(audio: Any, model: HEARModel) -> Any:
    """One embedding per sound: the mean over time of its timestamp embeddings.

    Returns
    -------
    torch.Tensor or np.ndarray [shape=(n_sounds, D), dtype=float32]
    """
    emb, _ = get_timestamp_embeddings(audio, model)
    return emb.mean(dim=1) if torch is not None and not isinstance(emb, np.ndarray) \
        else emb.mean(axis=1)
