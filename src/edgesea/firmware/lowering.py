"""Lower a parsed int8 graph to the kernel calls of ``edgesea_nn.c``.

:class:`Lowering` walks the operators once, in execution order, and appends
:class:`~edgesea.firmware.netplan.Step` objects and the arena buffers they use:

- each kernel's quantization, computed as TFLite does (:func:`quantize_multiplier`,
  :func:`activation_range`, SAME/VALID padding), and the fast requantization constants when
  the accumulators are provably below 2^30;
- rewrites that change no value: RESHAPE and an identity QUANTIZE are aliases; FULLY_CONNECTED is a
  1x1 convolution; a PAD before a VALID convolution becomes the convolution's own padding (a padded
  value is the zero point and adds nothing); a convolution whose only reader is a VALID max pooling
  is computed a few rows at a time into the pooled output; REDUCE_MAX of a TRANSPOSE reduces the
  transpose's input when the kept axes keep their order; a QUANTIZE before REDUCE_MAX runs after it
  (a monotone map commutes with max);
- in place where the data flow allows: a stride-1 depthwise convolution overwrites its input
  (keeping ``pad_top + 1`` input rows in a ring), QUANTIZE overwrites its input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgesea.errors import EdgeSEAError
from edgesea.firmware.netplan import (
    Buffer,
    Step,
    activation_range,
    padding_before,
    quantize_multiplier,
)
from edgesea.firmware.tflite_graph import Graph, Op, Tensor

__all__ = ["Lowering"]


class Lowering:
    """Walks the graph once, building steps and buffers (see the module docstring)."""

    def __init__(self, graph: Graph) -> None:
        self.g = graph
        self.buffers: list[Buffer] = []
        self.of_tensor: dict[int, int] = {}
        self.steps: list[Step] = []
        self.skip: set[int] = set()
        self.identity: dict[int, int] = {}      # QUANTIZE output -> input (same values)
        self.transposed: dict[int, dict[str, Any]] = {}  # TRANSPOSE output -> its step
        self.padded: dict[int, dict[str, Any]] = {}      # PAD output folded into its reader
        self.deferred: dict[int, dict[str, Any]] = {}    # QUANTIZE moved after REDUCE_MAX

    # buffers ---------------------------------------------------------------------------
    def new_buffer(self, size: int, what: str) -> int:
        step = len(self.steps)
        self.buffers.append(Buffer(size=int(size), first=step, last=step, what=what))
        return len(self.buffers) - 1

    def read(self, tensor: int) -> int:
        if tensor not in self.of_tensor:
            raise EdgeSEAError(f"tensor {tensor} is read before it is written: the graph is "
                               "not in execution order")
        buf = self.of_tensor[tensor]
        self.buffers[buf].last = max(self.buffers[buf].last, len(self.steps))
        return buf

    def write(self, tensor: int) -> int:
        buf = self.new_buffer(self.g.tensors[tensor].size, f"tensor {tensor}")
        self.of_tensor[tensor] = buf
        return buf

    def alias(self, tensor: int, buf: int) -> int:
        self.of_tensor[tensor] = buf
        self.buffers[buf].last = max(self.buffers[buf].last, len(self.steps))
        return buf

    def sole_reader(self, tensor: int) -> bool:
        # the graph input is the arena's copy (edgesea_net_invoke copies it in): ours too
        return len(self.g.consumers(tensor)) == 1 and tensor not in self.g.outputs

    # helpers ---------------------------------------------------------------------------
    def t(self, i: int) -> Tensor:
        return self.g.tensors[i]

    def q(self, i: int) -> tuple[float, int]:
        t = self.t(i)
        return float(t.scale[0]), int(t.zero_point[0])

    def same_quant(self, op: Op, a: int, b: int) -> None:
        if self.q(a) != self.q(b):
            raise EdgeSEAError(f"operator {op.index} ({op.kind}) changes the quantization "
                               f"({self.q(a)} -> {self.q(b)}): TFLM requires the same scale "
                               "and zero point for it")

    def conv_quant(self, op: Op, weights: int, bias: int, n_out: int) -> dict[str, Any]:
        x, w, y = self.t(op.inputs[0]), self.t(weights), self.t(op.outputs[0])
        if w.dtype != "int8" or np.any(w.zero_point != 0):
            raise EdgeSEAError(f"operator {op.index} ({op.kind}): weights must be int8 with "
                               "zero point 0 (symmetric, as TFLM requires)")
        scales = np.broadcast_to(w.scale.astype(np.float32), (n_out,)) if w.scale.size in (
            1, n_out) else None
        if scales is None:
            raise EdgeSEAError(f"operator {op.index} ({op.kind}): {w.scale.size} weight "
                               f"scales for {n_out} output channels")
        in_s, out_s = float(x.scale[0]), float(y.scale[0])
        mult, shift = zip(*(quantize_multiplier(in_s * float(s) / out_s) for s in scales),
                          strict=True)
        b = None
        if bias >= 0:
            bt = self.t(bias)
            if bt.dtype != "int32":
                raise EdgeSEAError(f"operator {op.index} ({op.kind}): bias of type "
                                   f"{bt.dtype}; the generator takes int32 biases (int8 "
                                   "activations)")
            b = np.asarray(self.g.const(bias), dtype=np.int32).reshape(-1)
        act = activation_range(op.options.get("FusedActivationFunction", "NONE"), out_s,
                               int(y.zero_point[0]))
        # the kernels' fast requantization needs |accumulator| < 2^30 and shift <= 0
        zp = int(x.zero_point[0])
        x_max = max(abs(-128 - zp), abs(127 - zp))
        wabs = np.abs(self.g.const(weights).astype(np.int64))
        per_out = (wabs.reshape(n_out, -1).sum(axis=1) if op.kind != "DEPTHWISE_CONV_2D"
                   else wabs.reshape(-1, n_out).sum(axis=0))
        bound = per_out * x_max + (np.abs(b.astype(np.int64)) if b is not None else 0)
        rq = None
        if np.all(bound < (1 << 30)) and max(shift) <= -1:
            r = -np.asarray(shift, dtype=np.int64)
            rq = np.stack([b if b is not None else np.zeros(n_out, np.int64),
                           np.asarray(mult, np.int64), 1 << (r - 1), r], axis=1)
        return {"in_offset": -int(x.zero_point[0]), "out_offset": int(y.zero_point[0]),
                "act_min": act[0], "act_max": act[1], "rq": rq, "bias": b,
                "mult": np.asarray(mult, dtype=np.int32),
                "shift": np.asarray(shift, dtype=np.int32)}

    def source(self, op: Op) -> int:
        """The tensor a convolution reads (a folded PAD's input)."""
        folded = self.padded.get(op.inputs[0])
        return folded["source"] if folded is not None else op.inputs[0]

    def op_list(self, op: Op) -> list[int]:
        folded = self.padded.get(op.inputs[0])
        return [folded["op"], op.index] if folded is not None else [op.index]

    # operators -------------------------------------------------------------------------
    def lower(self) -> None:
        for op in self.g.ops:
            if op.index in self.skip:
                continue
            getattr(self, "op_" + op.kind.lower())(op)

    def op_reshape(self, op: Op) -> None:
        src, out = op.inputs[0], op.outputs[0]
        self.same_quant(op, src, out)
        if self.t(src).size != self.t(out).size:
            raise EdgeSEAError(f"operator {op.index} (RESHAPE) changes the element count")
        if self.sole_reader(src):
            self.alias(out, self.read(src))
            return
        s = self.read(src)
        self.steps.append(Step("copy", [op.index], s, self.write(out),
                               params={"n": self.t(out).size}))

    def _nhwc(self, op: Op, i: int) -> tuple[int, int, int]:
        shape = self.t(i).shape
        if len(shape) != 4 or shape[0] != 1:
            raise EdgeSEAError(f"operator {op.index} ({op.kind}) has a tensor of shape "
                               f"{shape}: expected [1, height, width, channels]")
        return shape[1], shape[2], shape[3]

    def _geometry(self, op: Op, kh: int, kw: int) -> dict[str, Any]:
        (ih, iw, ic), (oh, ow, oc) = self._nhwc(op, op.inputs[0]), self._nhwc(op, op.outputs[0])
        o = op.options
        sh, sw = int(o.get("StrideH", 1)), int(o.get("StrideW", 1))
        dh, dw = int(o.get("DilationHFactor", 1)), int(o.get("DilationWFactor", 1))
        if min(sh, sw, dh, dw) < 1 or kh > 16:
            raise EdgeSEAError(f"operator {op.index} ({op.kind}): strides {sh}x{sw}, dilation "
                               f"{dh}x{dw}, kernel height {kh}: expected positive strides "
                               "and dilations and kernels of at most 16 rows")
        pad = o.get("Padding", "VALID")
        if pad not in ("SAME", "VALID"):
            raise EdgeSEAError(f"operator {op.index} ({op.kind}): padding {pad}")
        geo = {"in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
               "k_h": kh, "k_w": kw, "stride_h": sh, "stride_w": sw, "dil_h": dh,
               "dil_w": dw, "pad_top": padding_before(pad, ih, kh, sh, dh, oh),
               "pad_left": padding_before(pad, iw, kw, sw, dw, ow)}
        folded = self.padded.get(op.inputs[0])
        if folded is not None:  # a PAD folded into this VALID convolution
            sh_, sw_, _ = self._nhwc(op, folded["source"])
            geo.update(in_h=sh_, in_w=sw_, pad_top=folded["top"], pad_left=folded["left"])
        return geo

    def op_conv_2d(self, op: Op) -> None:
        w = self.g.const(op.inputs[1])
        if w.ndim != 4:
            raise EdgeSEAError(f"operator {op.index} (CONV_2D): weights of shape {w.shape}")
        geo = self._geometry(op, w.shape[1], w.shape[2])
        if w.shape[0] != geo["out_c"] or w.shape[3] != geo["in_c"]:
            raise EdgeSEAError(f"operator {op.index} (CONV_2D): weights {w.shape} for "
                               f"{geo['in_c']} -> {geo['out_c']} channels (grouped "
                               "convolutions are not supported)")
        p = {**geo, "depth_mult": 1, "grouped": 0, "weights": w.reshape(-1),
             **self.conv_quant(op, op.inputs[1], op.inputs[2] if len(op.inputs) > 2 else -1,
                               geo["out_c"])}
        macs = geo["out_h"] * geo["out_w"] * geo["out_c"] * w.shape[1] * w.shape[2] * geo["in_c"]
        out = op.outputs[0]
        readers = self.g.consumers(out)
        pool = self.g.ops[readers[0]] if len(readers) == 1 else None
        src = self.read(self.source(op))
        scratch = {"q15": self.new_buffer(8 * geo["in_c"], f"op {op.index} q15")}
        if (pool is not None and pool.kind == "MAX_POOL_2D" and self.sole_reader(out)
                and pool.options.get("Padding") == "VALID"):
            pp = self._pool(pool)
            self.skip.add(pool.index)
            scratch["rows"] = self.new_buffer(pp["k_h"] * geo["out_w"] * geo["out_c"],
                                              f"op {op.index} rows")
            self.steps.append(Step("conv_pool", [*self.op_list(op), pool.index], src,
                                   self.write(pool.outputs[0]), scratch,
                                   {"conv": p, "pool": pp}, macs))
            return
        self.steps.append(Step("conv", self.op_list(op), src, self.write(out), scratch,
                               {"conv": p}, macs))

    def op_fully_connected(self, op: Op) -> None:
        w = self.g.const(op.inputs[1])
        x, y = self.t(op.inputs[0]), self.t(op.outputs[0])
        if w.ndim != 2 or x.size != w.shape[1] or y.size != w.shape[0]:
            raise EdgeSEAError(f"operator {op.index} (FULLY_CONNECTED): weights {w.shape}, "
                               f"input {x.shape}, output {y.shape}: expected one row of "
                               f"{w.shape[-1]} inputs (batch 1)")
        if op.options.get("WeightsFormat", 0) != 0 or op.options.get("AsymmetricQuantizeInputs"):
            raise EdgeSEAError(f"operator {op.index} (FULLY_CONNECTED): only the default "
                               "weights format with int8 inputs is supported")
        n_in, n_out = int(w.shape[1]), int(w.shape[0])
        p = {"in_h": 1, "in_w": 1, "in_c": n_in, "out_h": 1, "out_w": 1, "out_c": n_out,
             "k_h": 1, "k_w": 1, "stride_h": 1, "stride_w": 1, "dil_h": 1, "dil_w": 1,
             "pad_top": 0, "pad_left": 0, "depth_mult": 1, "grouped": 0,
             "weights": w.reshape(-1),
             **self.conv_quant(op, op.inputs[1], op.inputs[2] if len(op.inputs) > 2 else -1,
                               n_out)}
        src = self.read(op.inputs[0])
        q15 = self.new_buffer(2 * n_in, f"op {op.index} q15")
        self.steps.append(Step("conv", [op.index], src, self.write(op.outputs[0]),
                               {"q15": q15}, {"conv": p}, n_in * n_out))

    def op_depthwise_conv_2d(self, op: Op) -> None:
        w = self.g.const(op.inputs[1])
        if w.ndim != 4 or w.shape[0] != 1:
            raise EdgeSEAError(f"operator {op.index} (DEPTHWISE_CONV_2D): weights {w.shape}")
        geo = self._geometry(op, w.shape[1], w.shape[2])
        dm = int(op.options.get("DepthMultiplier", 1)) or geo["out_c"] // geo["in_c"]
        if geo["out_c"] != geo["in_c"] * dm or w.shape[3] != geo["out_c"]:
            raise EdgeSEAError(f"operator {op.index} (DEPTHWISE_CONV_2D): {geo['in_c']} -> "
                               f"{geo['out_c']} channels with depth multiplier {dm}")
        # grouped layout [out_c / 4][k_h][k_w][4]: each group's taps contiguous (the DSP
        # kernels read one word a tap); used by both builds, so both read the same array
        grouped = int(geo["out_c"] % 4 == 0 and (dm == 1 or geo["in_c"] == 1))
        wl = w.reshape(-1, geo["out_c"])
        if grouped:
            wl = wl.reshape(wl.shape[0], -1, 4).transpose(1, 0, 2)
        p = {**geo, "depth_mult": dm, "grouped": grouped, "weights": wl.reshape(-1),
             **self.conv_quant(op, op.inputs[1], op.inputs[2] if len(op.inputs) > 2 else -1,
                               geo["out_c"])}
        macs = geo["out_h"] * geo["out_w"] * geo["out_c"] * w.shape[1] * w.shape[2]
        src_t = self.source(op)
        inplace = (dm == 1 and geo["stride_h"] == 1 and geo["stride_w"] == 1
                   and (geo["in_h"], geo["in_w"]) == (geo["out_h"], geo["out_w"])
                   and self.sole_reader(src_t) and op.outputs[0] not in self.g.outputs)
        src = self.read(src_t)
        if inplace:
            ring = self.new_buffer((geo["pad_top"] + 1) * geo["in_w"] * geo["in_c"],
                                   f"op {op.index} ring")
            self.steps.append(Step("dwconv_inplace", self.op_list(op), src,
                                   self.alias(op.outputs[0], src), {"ring": ring},
                                   {"conv": p}, macs))
            return
        self.steps.append(Step("dwconv", self.op_list(op), src, self.write(op.outputs[0]), {},
                               {"conv": p}, macs))

    def _pool(self, op: Op) -> dict[str, Any]:
        o = op.options
        kh, kw = int(o.get("FilterHeight", 1)), int(o.get("FilterWidth", 1))
        (ih, iw, c), (oh, ow, oc) = self._nhwc(op, op.inputs[0]), self._nhwc(op, op.outputs[0])
        self.same_quant(op, op.inputs[0], op.outputs[0])
        sh, sw = int(o.get("StrideH", 1)), int(o.get("StrideW", 1))
        if min(kh, kw, sh, sw) < 1 or c != oc:
            raise EdgeSEAError(f"operator {op.index} (MAX_POOL_2D): filter {kh}x{kw}, "
                               f"strides {sh}x{sw}, {c} -> {oc} channels")
        pad = o.get("Padding", "VALID")
        s, z = self.q(op.outputs[0])
        lo, hi = activation_range(o.get("FusedActivationFunction", "NONE"), s, z)
        return {"in_h": ih, "in_w": iw, "c": c, "out_h": oh, "out_w": ow, "k_h": kh, "k_w": kw,
                "stride_h": sh, "stride_w": sw, "pad_top": padding_before(pad, ih, kh, sh, 1, oh),
                "pad_left": padding_before(pad, iw, kw, sw, 1, ow), "act_min": lo, "act_max": hi}

    def op_max_pool_2d(self, op: Op) -> None:
        p = self._pool(op)
        src = self.read(op.inputs[0])
        self.steps.append(Step("maxpool", [op.index], src, self.write(op.outputs[0]),
                               params={"pool": p}))

    def _dims4(self, op: Op, shape: tuple[int, ...]) -> list[int]:
        if len(shape) > 4:
            raise EdgeSEAError(f"operator {op.index} ({op.kind}): rank {len(shape)} > 4")
        return [1] * (4 - len(shape)) + list(shape)

    def op_pad(self, op: Op) -> None:
        self.same_quant(op, op.inputs[0], op.outputs[0])
        shape = self.t(op.inputs[0]).shape
        pads = np.asarray(self.g.const(op.inputs[1]), dtype=np.int64).reshape(-1, 2)
        if pads.shape[0] != len(shape) or np.any(pads < 0):
            raise EdgeSEAError(f"operator {op.index} (PAD): paddings {pads.tolist()} for "
                               f"shape {shape}")
        extra = 4 - len(shape)
        before = [0] * extra + [int(v) for v in pads[:, 0]]
        after = [0] * extra + [int(v) for v in pads[:, 1]]
        readers = self.g.consumers(op.outputs[0])
        reader = self.g.ops[readers[0]] if len(readers) == 1 else None
        if (reader is not None and self.sole_reader(op.outputs[0]) and len(shape) == 4
                and reader.kind in ("CONV_2D", "DEPTHWISE_CONV_2D")
                and reader.options.get("Padding") == "VALID" and reader.inputs[0] == op.outputs[0]
                and before[0] == after[0] == before[3] == after[3] == 0):
            # the pad value is the zero point: a padded tap adds (zp - zp) * w = 0, exactly
            # what the kernels' skipped out-of-bounds taps add; the reader pads instead
            self.padded[op.outputs[0]] = {"source": op.inputs[0], "op": op.index,
                                          "top": before[1], "left": before[2]}
            return
        src = self.read(op.inputs[0])
        self.steps.append(Step("pad", [op.index], src, self.write(op.outputs[0]),
                               params={"dims": self._dims4(op, shape), "before": before,
                                       "after": after, "value": self.q(op.outputs[0])[1]}))

    def op_transpose(self, op: Op) -> None:
        self.same_quant(op, op.inputs[0], op.outputs[0])
        shape = self.t(op.inputs[0]).shape
        perm = [int(v) for v in np.asarray(self.g.const(op.inputs[1])).reshape(-1)]
        if sorted(perm) != list(range(len(shape))):
            raise EdgeSEAError(f"operator {op.index} (TRANSPOSE): permutation {perm}")
        extra = 4 - len(shape)
        perm4 = list(range(extra)) + [p + extra for p in perm]
        src = self.read(op.inputs[0])
        self.steps.append(Step("transpose", [op.index], src, self.write(op.outputs[0]),
                               params={"dims": self._dims4(op, shape), "perm": perm4}))
        self.transposed[op.outputs[0]] = {"source": op.inputs[0], "step": len(self.steps) - 1,
                                          "perm": perm4, "dims": self._dims4(op, shape)}

    def op_quantize(self, op: Op) -> None:
        x, y = self.t(op.inputs[0]), self.t(op.outputs[0])
        if x.dtype != "int8":
            raise EdgeSEAError(f"operator {op.index} (QUANTIZE) reads {x.dtype}: the "
                               "generator compiles int8 -> int8 requantization only")
        mult, shift = quantize_multiplier(float(x.scale[0]) / float(y.scale[0]))
        params = {"n": x.size, "in_offset": -int(x.zero_point[0]), "mult": mult,
                  "shift": shift, "out_offset": int(y.zero_point[0])}
        if ((mult, shift) == (1 << 30, 1) and x.zero_point[0] == y.zero_point[0]
                and self.sole_reader(op.inputs[0])):
            # MultiplyByQuantizedMultiplier(v, 2^30, 1) == v: the same values, no step
            self.identity[op.outputs[0]] = op.inputs[0]
            self.alias(op.outputs[0], self.read(op.inputs[0]))
            return
        readers = self.g.consumers(op.outputs[0])
        if (len(readers) == 1 and self.g.ops[readers[0]].kind == "REDUCE_MAX" and mult > 0
                and self.sole_reader(op.inputs[0]) and self.sole_reader(op.outputs[0])):
            # requantization with a positive multiplier is monotone: the max of requantized
            # values is the requantized max, so it runs on REDUCE_MAX's few outputs instead
            self.deferred[op.outputs[0]] = {"source": op.inputs[0], "op": op.index,
                                            "params": params}
            return
        src = self.read(op.inputs[0])
        dst = (self.alias(op.outputs[0], src) if self.sole_reader(op.inputs[0])
               else self.write(op.outputs[0]))
        self.steps.append(Step("requant", [op.index], src, dst, params=params))

    def op_reduce_max(self, op: Op) -> None:
        self.same_quant(op, op.inputs[0], op.outputs[0])
        shape = self.t(op.inputs[0]).shape
        axes = {int(a) % len(shape) for a in np.asarray(self.g.const(op.inputs[1])).reshape(-1)}
        extra = 4 - len(shape)
        mask = sum(1 << (a + extra) for a in axes)
        post = self.deferred.get(op.inputs[0])
        chain = post["source"] if post is not None else op.inputs[0]
        while chain in self.identity and self.sole_reader(chain):
            chain = self.identity[chain]
        dims, src_t = self._dims4(op, shape), chain
        ops = [op.index]
        tr = self.transposed.get(chain)
        if (tr is not None and self.sole_reader(chain) and tr["step"] == len(self.steps) - 1):
            # REDUCE_MAX of a transpose: reduce the transpose's input directly when the kept
            # axes keep their order (then the values and their layout are the same)
            perm = tr["perm"]
            kept = [perm[i] for i in range(4) if not (mask >> i) & 1]
            if kept == sorted(kept):
                step = self.steps.pop()
                self.buffers[step.dst].size = 0  # the transposed copy is never made
                mask = sum(1 << perm[i] for i in range(4) if (mask >> i) & 1)
                dims, src_t, ops = tr["dims"], tr["source"], [*step.ops, *ops]
        src = self.read(src_t)
        dst = self.write(op.outputs[0])
        self.steps.append(Step("reduce_max", ops, src, dst, params={"dims": dims, "axes": mask}))
        if post is not None:
            self.steps.append(Step("requant", [post["op"]], dst, dst,
                                   params={**post["params"], "n": self.t(op.outputs[0]).size}))
