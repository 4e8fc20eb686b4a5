"""A sparse aisfx model as an embedder and a teacher, with its footprint.

:class:`SparseModel` wraps a pruned :class:`~edgesea.teachers.aisfx.AisfxNet` behind the aisfx
front end: 1 s windows at 44.1 kHz -> 512-d embeddings, computed exactly as the aisfx teacher
computes them (the same front end, the same network, other weights). It implements the
:class:`~edgesea.teachers.Teacher` protocol (``embed``, ``identity``: a hash of the weights
and settings), so it serves as the teacher spec ``sparse:PATH``, and it is what
:func:`edgesea.get_embedding` runs for ``model_type='sparse'``.

:meth:`SparseModel.footprint` measures what pruning changes and what it does not: the stored
weights (non-zero count, the dense float32 size, the sparse size and file size) shrink with
sparsity; the activation memory and the dense multiply-accumulates do not. The activation
memory is measured as :func:`edgesea.models.footprint` does for the students: the largest
single layer output for one window (front end included) at 4 bytes, from a forward pass of a
zero window with a hook on every leaf module; MACs count every convolution (the aisfx front
end is estimated as the students' front ends are, :func:`edgesea.models.frontend_macs`).
"""

from __future__ import annotations

import copy
import math
import os
import types
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from edgesea.core.checks import check_int
from edgesea.errors import EdgeSEAError
from edgesea.models.footprint import footprint as _dense_footprint
from edgesea.models.footprint import frontend_macs
from edgesea.packaged.names import resolve_model
from edgesea.packaged.tiers import TIERS
from edgesea.sparse.prune import conv_layers, sparsity_report
from edgesea.sparse.storage import load_sparse
from edgesea.teachers.aisfx import embed_windows
from edgesea.teachers.aisfx_net import N_FFT, SAMPLE_RATE, AisfxFrontend, AisfxNet, packed_forward
from edgesea.teachers.base import identity_hash

__all__ = ["SparseConfig", "SparseFootprint", "SparseModel", "describe_sparse",
           "format_sparse", "load_sparse_model", "tier_note"]


@dataclass(frozen=True)
class SparseConfig:
    """What a sparse model computes (recorded in output provenance, with its weights)."""

    architecture: str = "aisfx-cnn9"
    family: str = "sparse"
    sample_rate: int = SAMPLE_RATE
    window: float = 1.0
    emb_dim: int = 512
    frontend: str = "aisfx"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return asdict(self)


@dataclass(frozen=True)
class SparseFootprint:
    """Result of :meth:`SparseModel.footprint`.

    Attributes
    ----------
    sparsity : float
        Zero weights of the eight convolutions, in percent.
    conv_weights, nonzero_weights : int
        Weights of the convolutions, and how many are non-zero.
    other_params : int
        BatchNorm numbers (weight, bias, running mean and variance), never pruned.
    params : int
        ``conv_weights + other_params``: the numbers of the dense network.
    dense_size_mb : float
        ``params`` at 4 bytes (float32), in MB (1e6 bytes): the unpruned size.
    sparse_size_mb : float
        What the sparse file needs: ``(nonzero_weights + other_params) * 4`` bytes plus one
        mask bit per convolution weight, in MB.
    file_bytes : int or None
        Size of the model file it was loaded from (header included).
    activation_elements, activation_mb, largest_layer
        The largest single layer output for one window, at 4 bytes (as the students';
        pruning does not change it).
    macs : int
        Multiply-accumulates of the network for one window, dense (as the teacher's).
    nonzero_macs : int
        Of which have a non-zero weight (what a sparse kernel could limit itself to).
    frontend_macs : int
        Estimated multiply-accumulates of the log-mel front end for one window.
    """

    sparsity: float
    conv_weights: int
    nonzero_weights: int
    other_params: int
    params: int
    dense_size_mb: float
    sparse_size_mb: float
    file_bytes: int | None
    activation_elements: int
    activation_mb: float
    largest_layer: str
    macs: int
    nonzero_macs: int
    frontend_macs: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return asdict(self)


class SparseModel(nn.Module):
    """A pruned aisfx network with the aisfx front end: ``(B, 44100)`` -> ``(B, 512)``.

    Parameters
    ----------
    net : AisfxNet
        The pruned network (copied; ``-0.0`` weights become ``+0.0``).
    header : dict, optional
        The sparse file's JSON document (:mod:`edgesea.sparse.storage`).
    path : str, optional
        The file it was loaded from.
    file_bytes : int, optional
        That file's size.
    batch_size : int
        Windows per forward pass in :meth:`embed`.

    Attributes
    ----------
    name : str
        ``"sparse-aisfx"``.
    sample_rate, window, emb_dim, window_samples
        44100 Hz, 1.0 s, 512, 44100.
    identity : str
        Hash of the weights and settings (:func:`~edgesea.teachers.base.identity_hash`).
    config : SparseConfig
    metadata : dict
        The header (sparsity, retraining, recipe, licenses), or ``{}``.
    """

    name = "sparse-aisfx"
    #: the packed aisfx trunk gives a window the same row in every batch of 2 or more windows
    #: (a batch of 1 differs in the last bits): a lone window is padded to 2
    batch_quantum = 2
    sample_rate = SAMPLE_RATE
    window = 1.0
    emb_dim = 512
    window_samples = SAMPLE_RATE

    def __init__(self, net: AisfxNet, header: dict[str, Any] | None = None,
                 path: str | None = None, file_bytes: int | None = None,
                 batch_size: int = 64) -> None:
        super().__init__()
        if not isinstance(net, AisfxNet):
            raise EdgeSEAError(f"SparseModel wraps an AisfxNet, got {type(net).__name__}")
        check_int(batch_size, "batch_size")
        self.net = copy.deepcopy(net).cpu().eval()
        with torch.no_grad():
            for _, conv in conv_layers(self.net):
                conv.weight[conv.weight == 0] = 0.0  # one zero: +0.0
        self.frontend = AisfxFrontend().eval()
        self._packed: dict = {}  # frames -> packed trunk (see packed_forward)
        self.config = SparseConfig()
        self.metadata: dict[str, Any] = dict(header or {})
        self.path, self.file_bytes, self.batch_size = path, file_bytes, batch_size
        self.identity = identity_hash(self.net.state_dict(), {
            "name": self.name, "impl": "edgesea-sparse-aisfx-1",
            "window_samples": self.window_samples, "frontend": AisfxFrontend.config()})
        self.eval()

    @classmethod
    def load(cls, path: str | os.PathLike) -> SparseModel:
        """Load a sparse model file (:func:`edgesea.sparse.storage.load_sparse`)."""

        f = load_sparse(path)
        return cls(f.net, f.header, f.path, f.file_bytes)

    def __repr__(self) -> str:
        s = self.metadata.get("sparsity")
        return (f"SparseModel(sparsity={s!r}, retrain={self.metadata.get('retrain')!r}, "
                f"identity={self.identity!r})")

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """Waveform windows ``(B, 44100)`` -> embeddings ``(B, 512)`` (>= 0)."""
        return self.net(self.frontend(windows))

    def _infer(self, windows: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` without gradient, in eval mode: on CPU through the packed trunk
        (:func:`~edgesea.teachers.aisfx.packed_forward`), as the dense teacher runs."""
        logmel = self.frontend(windows)
        if next(self.net.parameters()).device.type != "cpu":
            return self.net(logmel)
        return packed_forward(self.net, logmel, self._packed)

    def for_inference(self) -> SparseModel:
        """A frozen eval-mode copy (what :func:`edgesea.get_embedding` runs)."""
        return copy.deepcopy(self).eval()

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """Embed ``(B, 44100)`` 44.1 kHz windows -> ``(B, 512)`` float32.

        Raises
        ------
        EdgeSEAError
            Wrong shape or non-finite samples.
        """
        was = self.training
        self.eval()
        try:
            return embed_windows(self._infer, windows, self.window_samples, self.emb_dim,
                                 self.batch_size)
        finally:
            self.train(was)

    def footprint(self) -> SparseFootprint:
        """Stored weights, sizes, activation memory and MACs of one window (see
        :class:`SparseFootprint`)."""
        rep = sparsity_report(self.net)
        dense = _dense_footprint(self)
        nz_macs = [0]
        hooks = []
        for _, conv in conv_layers(self.net):
            nnz = int(torch.count_nonzero(conv.weight))

            def hook(module, _inputs, output, nnz=nnz):
                nz_macs[0] += int(output.shape[2] * output.shape[3]) * nnz
            hooks.append(conv.register_forward_hook(hook))
        try:
            with torch.inference_mode():
                self(torch.zeros(1, self.window_samples))
        finally:
            for h in hooks:
                h.remove()
        fe = types.SimpleNamespace(n_fft=N_FFT, n_frames=AisfxFrontend.n_frames,
                                   mel_basis=self.frontend.mel_basis)
        front = frontend_macs(fe, self.window_samples)["frontend"]
        other = rep["other_params"]  # BatchNorm's float numbers (not its batch counter)
        sparse_bytes = 4 * (rep["nonzero"] + other) + math.ceil(rep["weights"] / 8)
        return SparseFootprint(
            sparsity=rep["sparsity"], conv_weights=rep["weights"],
            nonzero_weights=rep["nonzero"], other_params=other,
            params=rep["weights"] + other, dense_size_mb=4 * (rep["weights"] + other) / 1e6,
            sparse_size_mb=sparse_bytes / 1e6, file_bytes=self.file_bytes,
            activation_elements=dense.activation_elements, activation_mb=dense.activation_mb,
            largest_layer=dense.largest_layer, macs=dense.macs, nonzero_macs=nz_macs[0],
            frontend_macs=int(front))


def load_sparse_model(model: str | os.PathLike) -> SparseModel:
    """A :class:`SparseModel` from a sparse model file or a packaged name
    (``sparse_aisfx_95.45_kd``, :func:`edgesea.packaged.names.resolve_model`)."""

    return SparseModel.load(resolve_model(model, kind="float"))


def tier_note(fp: dict[str, Any]) -> str:
    """Which device tiers (:data:`edgesea.packaged.tiers.TIERS`) a sparse model could fit: none when
    its largest activation alone (a lower bound of the RAM it needs) or its file exceeds a
    tier's arena or flash."""

    act, size = round(fp["activation_mb"] * 1e6), fp["file_bytes"] or round(
        fp["sparse_size_mb"] * 1e6)
    fits = [t.name for t in TIERS.values() if act <= t.arena_bytes and size <= t.flash_bytes]
    budgets = ", ".join(f"{t.name} {t.arena_bytes // 1024} KB arena / {t.flash_bytes // 1024}"
                        " KB flash" for t in TIERS.values())
    if fits:
        return f"may fit {', '.join(fits)} (not measured in TFLM: no int8 build)"
    return (f"fits none ({budgets}): its largest activation alone is {act:,} bytes; "
            "a CPU with megabytes of RAM runs it")


def describe_sparse(model: SparseModel) -> dict[str, Any]:
    """A JSON-ready description (``edgesea info``): path, format, the header's settings
    and provenance, per-layer sparsity and the footprint."""
    meta = model.metadata
    keep = ("sparsity", "method", "measured_sparsity", "retrain", "teacher", "training_data",
            "recipe", "licenses", "metadata")
    return {"path": model.path, "format": "edgesea-sparse", "config": model.config.to_dict(),
            **{k: meta.get(k) for k in keep}, "layers": sparsity_report(model.net)["layers"],
            "identity": model.identity, "footprint": model.footprint().to_dict()}


def format_sparse(d: dict[str, Any]) -> str:
    """The text ``edgesea info`` / ``edgesea footprint`` print for a sparse model."""
    fp = d["footprint"]
    level = d.get("sparsity")
    file_mb = f"{fp['file_bytes'] / 1e6:.2f} MB file" if fp["file_bytes"] else "not saved"
    rows = [("model", d.get("path")),
            ("format", "edgesea sparse aisfx (bitmask + non-zero float32 values)"),
            ("emb_dim", "512 (44100 Hz, 1 s windows, the aisfx front end)"),
            ("sparsity", f"{fp['sparsity']:.2f}% measured"
                         + (f" (level {level:g}, {d.get('method')})" if level is not None
                            else "")),
            ("retrain", d.get("retrain") or "-"),
            ("teacher", (d.get("teacher") or {}).get("identity") or "aisfx"),
            ("weights", f"{fp['nonzero_weights']:,} non-zero of {fp['conv_weights']:,} conv "
                        f"weights, + {fp['other_params']:,} BatchNorm"),
            ("size", f"dense {fp['dense_size_mb']:.2f} MB (fp32) -> sparse "
                     f"{fp['sparse_size_mb']:.2f} MB ({file_mb})"),
            ("activation", f"{fp['activation_mb']:.2f} MB ({fp['activation_elements']:,} "
                           f"values, largest layer {fp['largest_layer']}): unchanged by "
                           "pruning"),
            ("MACs", f"{fp['macs']:,} per window (network, dense), {fp['nonzero_macs']:,} "
                     f"with a non-zero weight; front end {fp['frontend_macs']:,} (estimate)")]
    lines = [f"{k + ':':<12}{v}" for k, v in rows]
    lines.append("layers:      " + ", ".join(f"{r['sparsity']:.0f}%" for r in d["layers"]))
    lines.append(f"tiers:       {tier_note(fp)}")
    for k, v in (d.get("licenses") or {}).items():
        lines.append(f"license:     {k}: {v}")
    return "\n".join(lines)
