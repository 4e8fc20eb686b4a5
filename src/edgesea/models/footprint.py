"""Model footprint: parameter count, fp32 size, peak activation memory (as the paper
defines them) and multiply-accumulates (MACs) per window.

``size_mb`` counts every learned or stored number of the network (conv/linear weights and
biases, BatchNorm gamma/beta/moving mean/moving variance, as Keras counts them) at 4 bytes,
in decimal megabytes (1 MB = 1e6 bytes). The fixed front-end tables (window, mel matrix) are
not counted. ``activation_mb`` is the largest single layer output for one window (front end
included), at 4 bytes. ``macs`` and ``frontend_macs`` come from :func:`macs`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

__all__ = ["FRONTEND_MACS_METHOD", "Footprint", "footprint", "frontend_macs", "macs"]

#: How :func:`frontend_macs` counts the STFT (stated in every :func:`macs` result).
FRONTEND_MACS_METHOD = ("FFT estimate: per frame n_fft window multiplies + n_fft*log2(n_fft) "
                        "real MACs for a real-input radix-2 FFT + 2 per bin for |X|^2; mel: "
                        "one MAC per non-zero mel weight per frame (the sparse matrix of "
                        "the .edge.json spec)")


@dataclass(frozen=True)
class Footprint:
    """Result of :func:`footprint`.

    Attributes
    ----------
    params : int
        Stored numbers of the network (BatchNorm statistics included).
    size_mb : float
        ``params`` at 4 bytes, in MB (1e6 bytes).
    activation_elements : int
        Values in the largest single layer output for one window.
    activation_mb : float
        ``activation_elements`` at 4 bytes, in MB.
    largest_layer : str
        Name of that layer.
    macs : int
        Multiply-accumulates of the network (log-mel -> embedding) for one window
        (:func:`macs` ``["network"]``).
    frontend_macs : int
        Estimated multiply-accumulates of the log-mel front end for one window
        (:func:`macs` ``["frontend"]``; see :data:`FRONTEND_MACS_METHOD`).
    """

    params: int
    size_mb: float
    activation_elements: int
    activation_mb: float
    largest_layer: str
    macs: int = 0
    frontend_macs: int = 0

    def to_dict(self) -> dict:
        """Plain dict."""
        return asdict(self)


def _run_one_window(model: nn.Module, hooks_on: type | tuple[type, ...] | None,
                    make_hook: Any, input_shape: tuple[int, ...] | None = None) -> None:
    """One eval-mode forward pass of a zero input with ``make_hook(name)`` registered on
    every leaf module (or every module of type ``hooks_on``)."""
    hooks = []
    for name, module in model.named_modules():
        wanted = (isinstance(module, hooks_on) if hooks_on is not None
                  else bool(name) and not list(module.children()))
        if wanted:
            hooks.append(module.register_forward_hook(make_hook(name)))
    x = torch.zeros(input_shape if input_shape is not None else (1, model.window_samples))
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            model(x)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)


def frontend_macs(frontend: nn.Module, n_samples: int) -> dict[str, int]:
    """Estimated multiply-accumulates of a log-mel front end for one input.

    Parameters
    ----------
    frontend : LogMelSpectrogram
        The front end (``n_fft``, ``n_frames``, ``mel_basis``).
    n_samples : int
        Input length in samples (one window).

    Returns
    -------
    dict
        ``{"stft", "mel", "frontend", "n_frames"}``: the STFT (window multiply, FFT estimate,
        squared magnitude) and the mel matrix, counted as :data:`FRONTEND_MACS_METHOD` says.
        The logarithm and dB scaling are not multiply-accumulates and are not counted.
    """
    n_fft = int(frontend.n_fft)
    n_frames = int(frontend.n_frames(int(n_samples)))
    n_bins = n_fft // 2 + 1
    per_frame = n_fft + int(round(n_fft * math.log2(n_fft))) + 2 * n_bins
    stft = n_frames * per_frame
    mel = n_frames * int(torch.count_nonzero(frontend.mel_basis))
    return {"stft": int(stft), "mel": int(mel), "frontend": int(stft + mel),
            "n_frames": n_frames}


def macs(model: nn.Module, input_shape: tuple[int, ...] | None = None) -> dict[str, Any]:
    """Multiply-accumulates of one window through a model.

    Network part: every ``nn.Conv2d`` counts ``H_out * W_out * C_out * (C_in / groups) * kh *
    kw`` (stride, padding and depthwise/grouped convs follow from the output size and
    ``groups``), every ``nn.Linear`` ``in_features * out_features`` per row; the input
    BatchNorm of an :class:`~edgesea.models.EmbeddingModel` counts one per log-mel value (it
    becomes a 1x1 conv on export). Other BatchNorms (folded into their conv's weights on
    export), ReLU, pooling and the bias adds are not counted. The front end is counted
    separately by :func:`frontend_macs`.

    Parameters
    ----------
    model : nn.Module
        An :class:`~edgesea.models.EmbeddingModel` (or any module with ``window_samples``
        and optionally a ``frontend``), or any module when ``input_shape`` is given.
    input_shape : tuple of int, optional
        Shape of the (batch-1) input fed to ``model``; default ``(1, model.window_samples)``.

    Returns
    -------
    dict
        ``{"network", "conv", "depthwise", "linear", "frontend", "stft", "mel", "total",
        "frontend_method"}``: ``network = conv + depthwise + linear`` (``conv`` includes
        pointwise and the input BatchNorm), ``frontend = stft + mel`` (0 without a
        front end), ``total = network + frontend``.
    """
    counts = {"conv": 0, "depthwise": 0, "linear": 0}

    def make_hook(_name: str):
        def fn(module, _inputs, output):
            batch = output.shape[0]
            if isinstance(module, nn.Conv2d):
                kh, kw = module.kernel_size
                n = output.numel() // batch * (module.in_channels // module.groups) * kh * kw
                dw = module.groups > 1 and module.groups == module.in_channels
                counts["depthwise" if dw else "conv"] += int(n)
            elif isinstance(module, nn.Linear):
                counts["linear"] += int(output.numel() // batch * module.in_features)
            elif isinstance(module, nn.BatchNorm2d) and module is getattr(model, "input_bn",
                                                                          None):
                counts["conv"] += int(output.numel() // batch)
        return fn

    _run_one_window(model, (nn.Conv2d, nn.Linear, nn.BatchNorm2d), make_hook, input_shape)
    network = counts["conv"] + counts["depthwise"] + counts["linear"]
    fe = getattr(model, "frontend", None)
    # only log-mel front ends are counted (a teacher's own front end, e.g. aisfx, is not)
    if fe is not None and input_shape is None and hasattr(fe, "n_fft") \
            and hasattr(fe, "mel_basis"):
        front = frontend_macs(fe, model.window_samples)
    else:
        front = {"stft": 0, "mel": 0, "frontend": 0}
    return {"network": network, **counts, "frontend": front["frontend"],
            "stft": front["stft"], "mel": front["mel"], "total": network + front["frontend"],
            "frontend_method": FRONTEND_MACS_METHOD}


def footprint(model: nn.Module) -> Footprint:
    """Measure a model's parameters, fp32 size, peak single activation and MACs for one
    window.

    Parameters
    ----------
    model : EmbeddingModel
        Any model with ``window_samples`` (forward passes on a zero window are run).

    Returns
    -------
    Footprint
        See :class:`Footprint`.
    """
    params = sum(p.numel() for p in model.parameters())
    params += sum(b.numel() for name, b in model.named_buffers()
                  if name.endswith(("running_mean", "running_var")))
    largest = [0, ""]

    def make_hook(name: str):
        def fn(_module, _inputs, output):
            if isinstance(output, torch.Tensor) and output.numel() > largest[0]:
                largest[0], largest[1] = output.numel(), name
        return fn

    _run_one_window(model, None, make_hook)
    m = macs(model)
    return Footprint(params=int(params), size_mb=params * 4 / 1e6,
                     activation_elements=int(largest[0]), activation_mb=largest[0] * 4 / 1e6,
                     largest_layer=str(largest[1]), macs=int(m["network"]),
                     frontend_macs=int(m["frontend"]))
