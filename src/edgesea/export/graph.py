"""The exportable part of a model: log-mel ``(1, n_mels, n_frames)`` -> embedding, frozen.

:func:`exportable` builds a plain ``nn.Module`` equal (in eval mode, up to float rounding) to
:meth:`~edgesea.models.EmbeddingModel.embed_logmel`: every conv's BatchNorm is folded into
its weights and the input BatchNorm (one channel, ``a * x + b``) becomes a 1x1 convolution,
so that int8 quantizers see a graph that starts with a conv and quantize the input itself
(a bare BatchNorm would stay in float, giving a float model input). Also holds the helpers
that load an edgesea model file for export and name the exported files.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from edgesea.errors import EdgeSEAError
from edgesea.models import EmbeddingModel, load_model
from edgesea.models.layers import global_pool

__all__ = ["LogmelEmbedder", "exportable", "load_student", "model_name"]


class LogmelEmbedder(nn.Module):
    """Log-mel ``(B, n_mels, n_frames)`` -> ``(B, emb_dim)`` with BatchNorm folded.

    Built by :func:`exportable`; holds copies, so later changes to the source model are
    not seen.
    """

    def __init__(self, model: EmbeddingModel) -> None:
        super().__init__()
        was_training = model.training
        model.eval()
        self.global_pool = model.config.global_pool
        self.input_conv: nn.Conv2d | None = None
        if model.input_bn is not None:
            bn = model.input_bn
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            conv = nn.Conv2d(1, 1, 1)
            with torch.no_grad():
                conv.weight.copy_(scale.reshape(1, 1, 1, 1))
                conv.bias.copy_(bn.bias - bn.running_mean * scale)
            self.input_conv = conv
        layers: list[nn.Module] = []
        mods = list(model.features)
        i = 0
        while i < len(mods):
            if (isinstance(mods[i], nn.Conv2d) and i + 1 < len(mods)
                    and isinstance(mods[i + 1], nn.BatchNorm2d)):
                layers.append(fuse_conv_bn_eval(mods[i], mods[i + 1]))
                i += 2
            else:
                layers.append(copy.deepcopy(mods[i]))
                i += 1
        for layer in layers:
            if isinstance(layer, nn.ReLU):
                layer.inplace = False
        self.features = nn.Sequential(*layers)
        self.projection = copy.deepcopy(model.projection)
        model.train(was_training)
        self.eval()
        self.requires_grad_(False)

    def forward(self, logmel: torch.Tensor) -> torch.Tensor:
        """``(B, n_mels, n_frames)`` -> ``(B, emb_dim)``."""
        x = logmel.unsqueeze(1)
        if self.input_conv is not None:
            x = self.input_conv(x)
        x = global_pool(self.features(x), self.global_pool)
        if self.projection is not None:
            x = self.projection(x)
        return x


def exportable(model: EmbeddingModel) -> LogmelEmbedder:
    """The frozen, BN-folded log-mel -> embedding part of ``model`` (eval mode)."""
    if not isinstance(model, EmbeddingModel):
        raise EdgeSEAError(f"expected an edgesea EmbeddingModel, got {type(model).__name__}")
    return LogmelEmbedder(model)


def load_student(path: str | os.PathLike) -> EmbeddingModel:
    """Load an edgesea model file for export, with an error that says what is accepted."""
    p = Path(path)
    if not p.is_file():
        raise EdgeSEAError(f"model file not found: {path} (expected an edgesea model "
                           ".safetensors written by `edgesea specialize` or save_model)")
    try:
        return load_model(p)
    except EdgeSEAError as e:
        raise EdgeSEAError(f"{e}. Accepted: an edgesea student/model .safetensors file "
                           "(e.g. runs/<name>/student.safetensors)") from e


def model_name(path: str | os.PathLike) -> str:
    """A file and C-symbol friendly name from a model path: the stem, or the parent folder
    for a generic stem (``runs/spec_paper/student.safetensors`` -> ``spec_paper_student``)."""
    p = Path(path)
    stem = p.stem
    if stem in ("student", "model", "best") and p.parent.name:
        stem = f"{p.parent.name}_{stem}"
    name = re.sub(r"[^0-9a-zA-Z_]+", "_", stem).strip("_").lower()
    return name or "model"
