"""The plan of a generated network: kernel steps, arena buffers and their placement, and the
TFLite arithmetic the lowering uses.

:class:`Step` is one kernel call of ``edgesea_nn.c``; :class:`Buffer` an activation or
scratch buffer with the first and last step that use it; :func:`place_buffers` gives each an
offset in one arena so that buffers live at the same step never share a byte (largest first,
at the lowest free offset); :class:`NetworkPlan` holds the result of
:func:`edgesea.firmware.netgen.plan_network` (built by :mod:`edgesea.firmware.lowering`).
:func:`quantize_multiplier`, :func:`activation_range` and :func:`padding_before` are
TFLite's ``QuantizeMultiplier``, ``CalculateActivationRangeQuantized`` and
``ComputePaddingHeightWidth``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgesea.errors import EdgeSEAError
from edgesea.firmware.tflite_graph import Tensor

__all__ = ["Buffer", "MemoryPlan", "NetworkPlan", "Step", "activation_range", "padding_before",
           "place_buffers", "quantize_multiplier"]

_ALIGN = 8


def quantize_multiplier(m: float) -> tuple[int, int]:
    """TFLite's ``QuantizeMultiplier``: ``m = q * 2^shift / 2^31`` with ``q`` in Q31."""
    if m == 0.0:
        return 0, 0
    frac, shift = math.frexp(m)
    q = int(math.floor(abs(frac) * (1 << 31) + 0.5)) * (1 if frac >= 0 else -1)
    if q == 1 << 31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q, shift


def _round_away(x: float) -> int:
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def activation_range(act: str, scale: float, zero_point: int) -> tuple[int, int]:
    """TFLite's ``CalculateActivationRangeQuantized`` for int8 outputs."""
    def q(f: float) -> int:
        return int(zero_point) + _round_away(float(np.float32(f) / np.float32(scale)))

    if act == "RELU":
        return max(-128, q(0.0)), 127
    if act == "RELU6":
        return max(-128, q(0.0)), min(127, q(6.0))
    if act == "RELU_N1_TO_1":
        return max(-128, q(-1.0)), min(127, q(1.0))
    return -128, 127


def padding_before(kind: str, size: int, k: int, stride: int, dilation: int, out: int) -> int:
    """TFLite's ``ComputePaddingHeightWidth``: padding before the first element (checks that
    ``out`` follows from the other sizes)."""
    eff = (k - 1) * dilation + 1
    expected = (size + stride - 1) // stride if kind == "SAME" else (size + stride - eff) // stride
    if expected != out:
        raise EdgeSEAError(f"output size {out} does not follow from input {size}, kernel {k}, "
                           f"stride {stride}, dilation {dilation} and {kind} padding "
                           f"({expected}): the model is inconsistent")
    return max(((out - 1) * stride + eff - size) // 2, 0) if kind == "SAME" else 0


@dataclass
class Step:
    """One kernel call.

    Attributes
    ----------
    kind : str
        ``conv``, ``conv_pool``, ``dwconv``, ``dwconv_inplace``, ``maxpool``, ``pad``,
        ``transpose``, ``requant``, ``reduce_max``, ``copy``.
    ops : list of int
        The graph operators it computes.
    src, dst : int
        Buffer ids (see :class:`MemoryPlan`) of its input and output (equal in place).
    scratch : dict of str to int
        Scratch buffer ids by role (``q15``, ``rows``, ``ring``).
    params : dict
        Kernel parameters (sizes, offsets, ranges, arrays).
    macs : int
        Multiply-accumulates.
    """

    kind: str
    ops: list[int]
    src: int
    dst: int
    scratch: dict[str, int] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    macs: int = 0

    @property
    def label(self) -> str:
        """``"conv_pool (ops 5+6)"``."""
        return f"{self.kind} (op{'s' if len(self.ops) > 1 else ''} " + \
            "+".join(str(o) for o in self.ops) + ")"


@dataclass
class Buffer:
    """One arena buffer: bytes, first and last step that use it, and its offset."""

    size: int
    first: int
    last: int
    offset: int = -1
    what: str = ""


@dataclass
class MemoryPlan:
    """The arena: its size and every buffer's placement."""

    buffers: list[Buffer]
    arena_bytes: int

    def peak_live_bytes(self) -> int:
        """Largest sum of the buffers live at one step (a lower bound on any arena)."""
        last = max((b.last for b in self.buffers), default=0)
        return max((sum(b.size for b in self.buffers if b.first <= s <= b.last)
                    for s in range(-1, last + 1)), default=0)


@dataclass
class NetworkPlan:
    """What :mod:`edgesea.firmware.netgen` emits: steps, memory plan, input and output."""

    steps: list[Step]
    memory: MemoryPlan
    input_buffer: int
    output_buffer: int
    input: Tensor
    output: Tensor

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one inference."""
        return sum(s.macs for s in self.steps)


def place_buffers(buffers: list[Buffer]) -> int:
    """Largest first, each at the lowest aligned offset free over its lifetime."""
    placed: list[Buffer] = []
    for b in sorted(buffers, key=lambda b: (-b.size, b.first)):
        size = -(-b.size // _ALIGN) * _ALIGN
        busy = sorted((o.offset, o.offset + -(-o.size // _ALIGN) * _ALIGN) for o in placed
                      if not (o.last < b.first or b.last < o.first))
        offset = 0
        for lo, hi in busy:
            if offset + size <= lo:
                break
            offset = max(offset, hi)
        b.offset = offset
        placed.append(b)
    return max((b.offset + -(-b.size // _ALIGN) * _ALIGN for b in buffers), default=0)
