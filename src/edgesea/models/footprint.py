"""Model footprint: parameter count, fp32 size and peak activation memory, as the paper
defines them.

``size_mb`` counts every learned or stored number of the network (conv/linear weights and
biases, BatchNorm gamma/beta/moving mean/moving variance, as Keras counts them) at 4 bytes,
in decimal megabytes (1 MB = 1e6 bytes). The fixed front-end tables (window, mel matrix) are
not counted. ``activation_mb`` is the largest single layer output for one window (front end
included), at 4 bytes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

__all__ = ["Footprint", "footprint"]


@dataclass(frozen=True)
class Footprint:
    """Result of :func:`footprint`."""

    params: int
    size_mb: float
    activation_elements: int
    activation_mb: float
    largest_layer: str

    def to_dict(self) -> dict:
        """Plain dict."""
        return asdict(self)


def footprint(model: nn.Module) -> Footprint:
    """Measure a model's parameters, fp32 size and peak single activation for one window.

    Parameters
    ----------
    model : EmbeddingModel
        Any model with ``window_samples`` (one forward pass on a zero window is run).
    """
    params = sum(p.numel() for p in model.parameters())
    params += sum(b.numel() for name, b in model.named_buffers()
                  if name.endswith(("running_mean", "running_var")))
    largest = [0, ""]
    hooks = []

    def hook(name: str):
        def fn(_module, _inputs, output):
            if isinstance(output, torch.Tensor) and output.numel() > largest[0]:
                largest[0], largest[1] = output.numel(), name
        return fn

    for name, module in model.named_modules():
        if name and not list(module.children()):
            hooks.append(module.register_forward_hook(hook(name)))
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            model(torch.zeros(1, model.window_samples))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return Footprint(params=int(params), size_mb=params * 4 / 1e6,
                     activation_elements=int(largest[0]), activation_mb=largest[0] * 4 / 1e6,
                     largest_layer=str(largest[1]))
