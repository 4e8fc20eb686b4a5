"""The inference-only copy of a model, :meth:`nn.Module.for_inference`.

One job: run a model's trunk (``Conv2d -> BatchNorm2d -> ReLU`` and ``MaxPool2d``) with the
fastest exact CPU module this torch build offers, never touching the trainable model
(:class:`InferenceEmbedder` holds it with copies of the front end and head):

1. :func:`fold_batchnorm`: every BatchNorm folded into a copy of the conv before it (exact up
   to float rounding).
2. :class:`PackedTrunk` (preferred): each conv one oneDNN call with its weights reordered once
   into oneDNN's blocked layout and its ReLU fused as a post-op, activations channels-last
   between layers, 2x2 max pools as two pairwise maxima, the full-resolution layers in chunks
   of :data:`CHUNK` windows: no per-call weight reorder, no separate ReLU pass, no layout
   conversions and a smaller working set than (3) (speed: docs/benchmarks.md).
3. TorchScript frozen for oneDNN (``torch.jit.freeze`` + ``optimize_for_inference``).
4. Eager channels-last, where neither is available.

:func:`compile_trunk` builds them in that order and keeps the first whose output matches the
folded eager trunk on a random batch (max abs difference <= 1e-4 x (1 + max abs output)), so
a torch build whose oneDNN ops misbehave falls back instead of giving wrong embeddings.
"""

from __future__ import annotations

import copy
import warnings

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from edgesea.models.layers import trunk_and_head

__all__ = ["InferenceEmbedder", "PackedTrunk", "compile_trunk", "fold_batchnorm",
           "torchscript_trunk", "weights_signature"]

#: Windows per chunk of the full-resolution steps of :class:`PackedTrunk` (16: their
#: activations, ~1.6 MB for the mcu student, fit a 2 MB L2 cache; measured 1.3x faster than
#: whole batches of 64 on those steps, and faster than chunks of 8 or 32).
CHUNK = 16


def weights_signature(module: nn.Module) -> tuple[tuple[int, int], ...]:
    """What identifies ``module``'s current weights without reading them: each state tensor's
    storage address and version counter. It changes when a tensor is replaced or written in
    place (``load_state_dict``, an optimiser step, ``copy_``), so a copy built from the
    weights (a folded or packed trunk) is reused only while it still matches them."""
    return tuple((t.data_ptr(), t._version) for t in module.state_dict().values())


def fold_batchnorm(features: nn.Sequential) -> nn.Sequential:
    """A copy of ``features`` (in eval mode) with each ``BatchNorm2d`` that directly follows a
    ``Conv2d`` folded into that conv's weight and bias; other modules are deep-copied."""
    layers: list[nn.Module] = []
    mods = list(features)
    i = 0
    while i < len(mods):
        if isinstance(mods[i], nn.Conv2d) and i + 1 < len(mods) and isinstance(
                mods[i + 1], nn.BatchNorm2d):
            layers.append(fuse_conv_bn_eval(copy.deepcopy(mods[i]).eval(),
                                            copy.deepcopy(mods[i + 1]).eval()))
            i += 2
        else:
            layers.append(copy.deepcopy(mods[i]))
            i += 1
    return nn.Sequential(*layers).eval()


class PackedTrunk(nn.Module):
    """A BN-folded trunk as oneDNN convolutions with prepacked weights and fused ReLU.

    The steps up to the first max pool (the full-resolution activations, the largest) run
    :data:`CHUNK` windows at a time so that their activations stay in the core's L2 cache;
    the rest runs on the whole batch. Every window's output is computed alone, so it does not
    depend on the batch size or on the chunks.

    Parameters
    ----------
    fused : nn.Sequential
        Output of :func:`fold_batchnorm`: only ``Conv2d`` (zero padding), ``ReLU`` and
        ``MaxPool2d`` (without indices).
    input_shape : tuple of int
        ``(C, H, W)`` of one input (the weights are laid out for it).

    Raises
    ------
    ValueError
        A module it cannot run (the caller falls back to another trunk).
    """

    def __init__(self, fused: nn.Sequential, input_shape: tuple[int, int, int]) -> None:
        super().__init__()
        self._source = (fused, tuple(input_shape))  # for copies and pickling (__reduce__)
        self._steps: list[tuple] = []
        mods = list(fused)
        shape = tuple(input_shape)  # one window's (C, H, W) at each step
        i = 0
        while i < len(mods):
            mod = mods[i]
            relu = i + 1 < len(mods) and isinstance(mods[i + 1], nn.ReLU)
            if isinstance(mod, nn.Conv2d):
                self._steps.append(_packed_conv(mod, relu, shape))
                i += 2 if relu else 1
            elif isinstance(mod, nn.MaxPool2d):
                if mod.return_indices:
                    raise ValueError("PackedTrunk cannot return pooling indices")
                self._steps.append(("pool", mod))
                i += 1
            elif isinstance(mod, nn.ReLU):
                self._steps.append(("relu",))
                i += 1
            else:
                raise ValueError(f"PackedTrunk cannot run {type(mod).__name__}")
            with torch.no_grad():
                shape = tuple(mod(torch.zeros(1, *shape)).shape[1:])
        pools = [k for k, step in enumerate(self._steps) if step[0] == "pool"]
        #: steps run CHUNK windows at a time (those before the first pool, and it)
        self.n_chunked = pools[0] + 1 if pools else 0
        self.eval()

    def __reduce__(self) -> tuple:
        """Rebuilt from the folded trunk (oneDNN's packed weights cannot be copied)."""
        return (PackedTrunk, self._source)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` float32 -> the trunk's feature map (channels-last memory)."""
        x = x.contiguous(memory_format=torch.channels_last)
        head, tail = self._steps[:self.n_chunked], self._steps[self.n_chunked:]
        if head:
            parts = [_run(x[i:i + CHUNK], head) for i in range(0, x.shape[0], CHUNK)]
            x = parts[0] if len(parts) == 1 else torch.cat(parts)
        return _run(x, tail)


def _packed_conv(conv: nn.Conv2d, relu: bool, shape: tuple[int, ...]) -> tuple:
    """A conv step: its weight reordered once into oneDNN's layout for chunks of one
    window's input ``shape`` (C, H, W)."""
    if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
        raise ValueError("PackedTrunk needs explicit zero padding")
    weight = conv.weight.detach().float().contiguous()
    bias = (conv.bias.detach().float().contiguous() if conv.bias is not None
            else torch.zeros(conv.out_channels))
    args = (list(conv.padding), list(conv.stride), list(conv.dilation))
    packed = torch._C._nn.mkldnn_reorder_conv2d_weight(weight.to_mkldnn(), *args,
                                                       conv.groups, [CHUNK, *shape])
    return ("conv", packed, bias, *args, conv.groups, "relu" if relu else "none")


def _run(x: torch.Tensor, steps: list[tuple]) -> torch.Tensor:
    conv = torch.ops.mkldnn._convolution_pointwise
    for step in steps:
        if step[0] == "conv":
            x = conv(x, *step[1:], [], "")
        elif step[0] == "pool":
            x = _max_pool(x, step[1])
        else:
            x = torch.relu(x)
    return x


def _max_pool(x: torch.Tensor, pool: nn.MaxPool2d) -> torch.Tensor:
    """``pool(x)``; the plain 2x2 pool as two pairwise maxima, rows then columns (exact, and
    about 1.8x faster than ``max_pool2d`` on channels-last input, which also computes
    indices)."""
    plain = (pool.kernel_size in (2, (2, 2)) and pool.stride in (2, (2, 2))
             and pool.padding in (0, (0, 0)) and pool.dilation in (1, (1, 1))
             and not pool.ceil_mode)
    if not plain:
        return F.max_pool2d(x, pool.kernel_size, pool.stride, pool.padding, pool.dilation,
                            pool.ceil_mode)
    h, w = x.shape[2] // 2 * 2, x.shape[3] // 2 * 2
    rows = torch.maximum(x[:, :, 0:h:2, :w], x[:, :, 1:h:2, :w])
    return torch.maximum(rows[:, :, :, 0::2], rows[:, :, :, 1::2])


def torchscript_trunk(fused: nn.Sequential, example: torch.Tensor) -> nn.Module:
    """``fused`` traced on ``example`` and frozen with TorchScript's oneDNN inference passes
    (blocked layout between layers; what ``for_inference`` ran before :class:`PackedTrunk`)."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        frozen = torch.jit.freeze(torch.jit.trace(fused, example, check_trace=False))
        return torch.jit.optimize_for_inference(frozen)


def compile_trunk(fused: nn.Sequential, n_mels: int, n_frames: int
                  ) -> tuple[nn.Module, bool]:
    """The fastest trunk for ``fused`` that reproduces it on this torch build.

    Parameters
    ----------
    fused : nn.Sequential
        A BN-folded trunk (:func:`fold_batchnorm`), input ``(B, 1, n_mels, n_frames)``.
    n_mels, n_frames : int
        The input's height and width (for the checks and tracing).

    Returns
    -------
    module : nn.Module
        :class:`PackedTrunk`, else the frozen TorchScript trunk, else ``fused`` in
        channels-last memory.
    channels_last : bool
        Whether the caller must pass channels-last input (the eager fallback only).
    """
    example = torch.randn(2, 1, n_mels, n_frames, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = fused(example)
    builders = (lambda: PackedTrunk(fused, (1, n_mels, n_frames)),
                lambda: torchscript_trunk(fused, example))
    for build in builders:
        try:
            trunk = build()
            with torch.no_grad():
                got = trunk(example)
            got = got.to_dense() if got.is_mkldnn else got
            scale = float(want.abs().max()) + 1.0
            if got.shape == want.shape and float((got - want).abs().max()) <= 1e-4 * scale:
                return trunk, False
        except Exception:  # any failure of an optional backend: fall back
            continue
    return fused.to(memory_format=torch.channels_last), True


class InferenceEmbedder(nn.Module):
    """Inference-only copy of an :class:`EmbeddingModel` built by
    :meth:`nn.Module.for_inference`: the front end, the input BatchNorm, the trunk of
    :func:`compile_trunk` and the head. A snapshot: later weight changes are not seen, and the
    model is not changed (not even its training flag)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.config = model.config
        self.frontend = copy.deepcopy(model.frontend)
        self.input_bn = copy.deepcopy(model.input_bn)
        n_frames = self.frontend.n_frames(model.window_samples)
        self.features, self.channels_last = compile_trunk(
            fold_batchnorm(model.features), self.frontend.n_mels, n_frames)
        self.projection = copy.deepcopy(model.projection)
        self.eval()
        self.requires_grad_(False)

    @property
    def emb_dim(self) -> int:
        """Embedding dimension."""
        return self.config.emb_dim

    @property
    def context_samples(self) -> tuple[int, int]:
        """As :attr:`nn.Module.context_samples`."""
        return self.frontend.context(int(round(self.config.window * self.config.sample_rate)))

    def embed_logmel(self, logmel: torch.Tensor) -> torch.Tensor:
        """Log-mel ``(B, n_mels, n_frames)`` -> ``(B, emb_dim)`` (the frozen trunk and head)."""
        return trunk_and_head(self, logmel, channels_last=self.channels_last)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """Waveform windows ``(B, window_samples)`` (or, for a ``"stream"`` front end,
        ``(B, left + window_samples + right)`` with their context) -> ``(B, emb_dim)``."""
        return self.embed_logmel(self.frontend(windows))
