"""Magnitude pruning of a network's 3x3 convolutions, at edgel3's sparsity profiles.

edgel3's sparse L3-Net models (Kumari et al., IPDPSW 2019) were made by one-shot, layer-wise
magnitude pruning: in each of the eight 3x3 convolutions the weights of smallest magnitude
are zeroed, up to that layer's percentage; biases and BatchNorm are not pruned. The same
profiles (:data:`PROFILES`) apply to the aisfx teacher, whose eight convolutions have
L3-Net's widths (64, 64, 128, 128, 256, 256, 512, 512), and give the same overall sparsity.

:func:`magnitude_masks` computes boolean keep-masks (``True`` = kept) layer by layer (a
profile by name or a list of per-layer percentages) or with one global threshold;
:func:`apply_masks` zeroes the pruned weights and :func:`freeze_masks` keeps them at zero
during retraining (their gradients are masked). A layer asked for ``p`` % loses exactly
``round(p / 100 * n)`` of its ``n`` weights (ties in magnitude are broken by position), so
:func:`sparsity_report` reads back the requested sparsity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from edgesea.errors import EdgeSEAError
from edgesea.packaged.sparse_names import SPARSITY_LEVELS, check_sparsity

__all__ = ["PROFILES", "SPARSITY_LEVELS", "apply_masks", "check_sparsity", "conv_layers",
           "freeze_masks", "magnitude_masks", "masks_from_weights", "profile",
           "sparsity_report"]

#: edgel3's levels: overall % -> per-layer % for conv1..conv8 (its code and the paper).
PROFILES: dict[float, tuple[float, ...]] = {
    53.5: (0, 30, 40, 50, 30, 50, 50, 60),
    63.5: (0, 40, 50, 60, 40, 60, 60, 70),
    72.3: (0, 40, 50, 60, 40, 70, 70, 80),
    87.0: (0, 80, 80, 85, 40, 85, 85, 95),
    95.45: (0, 85, 85, 85, 75, 95, 98, 98),
}
if tuple(PROFILES) != SPARSITY_LEVELS:  # one list of levels (edgesea.packaged.sparse_names)
    raise ImportError("edgesea.sparse.prune.PROFILES disagrees with SPARSITY_LEVELS")


def profile(sparsity: object) -> tuple[float, ...]:
    """Per-layer pruning percentages of an edgel3 level (e.g. ``95.45``)."""
    return PROFILES[check_sparsity(sparsity)]


def conv_layers(net: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    """The network's convolutions with square kernels larger than 1x1, in definition order.

    Raises
    ------
    EdgeSEAError
        If the network has none.
    """
    layers = [(name, m) for name, m in net.named_modules()
              if isinstance(m, nn.Conv2d) and m.kernel_size[0] > 1]
    if not layers:
        raise EdgeSEAError(f"{type(net).__name__} has no convolutions to prune")
    return layers


def _check_percent(p: object, what: str) -> float:
    if isinstance(p, bool) or not isinstance(p, int | float) or not (
            math.isfinite(p) and 0 <= p < 100):
        raise EdgeSEAError(f"invalid {what}={p!r}: expected a percentage 0 <= p < 100")
    return float(p)


def _keep_smallest_out(w: torch.Tensor, k: int) -> torch.Tensor:
    """Keep-mask of ``w`` with its ``k`` smallest magnitudes pruned (stable tie order)."""
    flat = w.detach().abs().reshape(-1)
    keep = torch.ones(flat.numel(), dtype=torch.bool)
    if k > 0:
        order = torch.sort(flat, stable=True).indices
        keep[order[:k]] = False
    return keep.reshape(w.shape)


def magnitude_masks(net: nn.Module, sparsity: float | None = None, *,
                    per_layer: Sequence[float] | None = None, method: str = "layer",
                    skip_first: bool = True) -> dict[str, torch.Tensor]:
    """Keep-masks (``True`` = kept) of magnitude pruning for each convolution's weight.

    Parameters
    ----------
    net : nn.Module
        The network (its weights are read, not changed).
    sparsity : float, optional
        ``method="layer"``: an edgel3 level (:data:`SPARSITY_LEVELS`), used for its profile;
        ``method="global"``: any percentage, reached with one magnitude threshold over all
        pruned layers.
    per_layer : sequence of float, optional
        ``method="layer"`` only: explicit percentages, one per convolution (instead of
        ``sparsity``).
    method : {"layer", "global"}
        Layer-wise percentages (edgel3) or one global threshold.
    skip_first : bool
        ``method="global"``: leave the first convolution dense (edgel3's profiles prune
        0 % of it too).

    Returns
    -------
    dict of str to torch.Tensor
        ``"<module>.weight"`` -> bool mask of the weight's shape.

    Raises
    ------
    EdgeSEAError
        Invalid level, percentages or method.
    """
    layers = conv_layers(net)
    if method == "layer":
        if (sparsity is None) == (per_layer is None):
            raise EdgeSEAError("give either sparsity (an edgel3 level) or per_layer "
                               "percentages for method='layer'")
        pcts = profile(sparsity) if per_layer is None else tuple(
            _check_percent(p, "per-layer sparsity") for p in per_layer)
        if len(pcts) != len(layers):
            raise EdgeSEAError(f"{len(pcts)} per-layer percentages for {len(layers)} "
                               f"convolutions of {type(net).__name__}")
        return {f"{name}.weight": _keep_smallest_out(m.weight, round(p / 100 * m.weight.numel()))
                for (name, m), p in zip(layers, pcts, strict=True)}
    if method != "global":
        raise EdgeSEAError(f"unknown pruning method {method!r}: expected 'layer' or 'global'")
    if per_layer is not None or sparsity is None:
        raise EdgeSEAError("method='global' takes one overall sparsity percentage")
    pct = _check_percent(sparsity, "sparsity")
    pruned = layers[1:] if skip_first and len(layers) > 1 else layers
    total = sum(m.weight.numel() for _, m in layers)
    prunable = sum(m.weight.numel() for _, m in pruned)
    k = round(pct / 100 * total)
    if k > prunable:
        raise EdgeSEAError(f"sparsity {pct:g}% needs {k:,} zeros but only {prunable:,} weights "
                           "may be pruned (skip_first keeps the first layer dense)")
    flat = torch.cat([m.weight.detach().abs().reshape(-1) for _, m in pruned])
    keep = _keep_smallest_out(flat, k)
    masks = {f"{name}.weight": torch.ones_like(m.weight, dtype=torch.bool)
             for name, m in layers}
    at = 0
    for name, m in pruned:
        n = m.weight.numel()
        masks[f"{name}.weight"] = keep[at:at + n].reshape(m.weight.shape)
        at += n
    return masks


def _params(net: nn.Module, masks: dict[str, torch.Tensor]) -> dict[str, nn.Parameter]:
    params = dict(net.named_parameters())
    for name, mask in masks.items():
        p = params.get(name)
        if p is None or tuple(p.shape) != tuple(mask.shape) or mask.dtype != torch.bool:
            raise EdgeSEAError(f"mask {name!r} ({tuple(mask.shape)}, {mask.dtype}) does not "
                               "fit a weight of the network")
    return {name: params[name] for name in masks}


@torch.no_grad()
def apply_masks(net: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """Zero every weight whose mask is ``False`` (in place)."""
    for name, p in _params(net, masks).items():
        p.mul_(masks[name].to(p.dtype))


def freeze_masks(net: nn.Module, masks: dict[str, torch.Tensor]) -> list[Any]:
    """Zero the pruned weights and mask their gradients, so no optimizer step revives them.

    With a zero gradient Adam's moments stay zero and its update is zero; weight decay would
    still act on the weight, but a zero weight decays to zero. Returns the hook handles
    (``handle.remove()`` releases them).
    """
    apply_masks(net, masks)
    handles = []
    for name, p in _params(net, masks).items():
        m = masks[name].to(p.dtype)
        handles.append(p.register_hook(lambda g, m=m: g * m))
    return handles


def masks_from_weights(net: nn.Module) -> dict[str, torch.Tensor]:
    """Keep-masks read back from the zeros of the convolutions' weights."""
    return {f"{name}.weight": m.weight.detach() != 0 for name, m in conv_layers(net)}


def sparsity_report(net: nn.Module) -> dict[str, Any]:
    """Per-layer and overall sparsity (% of zero weights) of the convolutions.

    Returns
    -------
    dict
        ``layers``: list of ``{"name", "weights", "nonzero", "sparsity"}``; ``weights``,
        ``nonzero``, ``sparsity`` over all convolutions; ``other_params``: parameters and
        buffers outside the convolutions' weights (BatchNorm, biases), never pruned.
    """
    rows, total, nonzero = [], 0, 0
    names = set()
    for name, m in conv_layers(net):
        n, nz = m.weight.numel(), int(torch.count_nonzero(m.weight.detach()))
        rows.append({"name": name, "weights": n, "nonzero": nz,
                     "sparsity": 100.0 * (n - nz) / n})
        total, nonzero = total + n, nonzero + nz
        names.add(f"{name}.weight")
    other = sum(t.numel() for k, t in net.state_dict().items()
                if k not in names and t.is_floating_point())
    return {"layers": rows, "weights": total, "nonzero": nonzero,
            "sparsity": 100.0 * (total - nonzero) / total, "other_params": other}
