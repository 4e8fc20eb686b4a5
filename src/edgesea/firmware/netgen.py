"""Generate the int8 network in C (``edgesea_net.h`` / ``.c`` + the ``edgesea_nn`` kernels).

:func:`generate_network` reads a full-int8 ``.tflite``
(:func:`~edgesea.firmware.tflite_graph.read_graph`), lowers and plans it
(:func:`plan_network`) and writes C99 with no interpreter and no
heap: the weights, biases and per-channel multipliers and shifts as ``const`` arrays (flash),
one ``const`` parameter block per kernel call, one static arena whose offsets were fixed at
generation time, and the entry points

.. code-block:: c

    int8_t *edgesea_net_input(void);        /* the arena's input: let the front end write it */
    const int8_t *edgesea_net_output(void);
    int edgesea_net_invoke(const int8_t *input, int8_t *output);  /* either may be NULL */

Built with ``-DEDGESEA_NET_PROFILE=f``, ``f(step)`` is called after every kernel call
(the QEMU measurement counts instructions per step with it).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgesea.core.fileio import atomic_path
from edgesea.firmware.csources import c_source
from edgesea.firmware.lowering import Lowering
from edgesea.firmware.netplan import MemoryPlan, NetworkPlan, Step, place_buffers
from edgesea.firmware.tflite_graph import Graph, load_tflite, read_graph

__all__ = ["NetworkCode", "generate_network", "plan_network", "write_network"]

NET_HEADER = "edgesea_net.h"
NET_SOURCE = "edgesea_net.c"
NN_HEADER_NAME = "edgesea_nn.h"
NN_SOURCE_NAME = "edgesea_nn.c"
_CONV_FIELDS = ("in_h", "in_w", "in_c", "out_h", "out_w", "out_c", "k_h", "k_w", "stride_h",
                "stride_w", "dil_h", "dil_w", "pad_top", "pad_left", "depth_mult",
                "in_offset", "out_offset", "act_min", "act_max", "grouped")
_POOL_FIELDS = ("in_h", "in_w", "c", "out_h", "out_w", "k_h", "k_w", "stride_h", "stride_w",
                "pad_top", "pad_left", "act_min", "act_max")


@dataclass
class NetworkCode:
    """The generated network: file texts and its figures.

    Attributes
    ----------
    header, source : str
        ``edgesea_net.h`` / ``edgesea_net.c``.
    nn_header, nn_source : str
        ``edgesea_nn.h`` / ``edgesea_nn.c`` (the same for every model).
    plan : NetworkPlan
    arena_bytes, weight_bytes, macs : int
        The static arena, the constant data (weights, biases, multipliers, shifts) and the
        multiply-accumulates of one inference.
    steps : list of dict
        Per kernel call: ``label``, ``kind``, ``ops``, ``macs``.
    """

    header: str
    source: str
    nn_header: str
    nn_source: str
    plan: NetworkPlan
    arena_bytes: int
    weight_bytes: int
    macs: int
    steps: list[dict[str, Any]] = field(default_factory=list)

    def files(self) -> dict[str, str]:
        """File name -> text."""
        return {NET_HEADER: self.header, NET_SOURCE: self.source,
                NN_HEADER_NAME: self.nn_header, NN_SOURCE_NAME: self.nn_source}


def _c_array(ctype: str, name: str, values: np.ndarray, per_line: int = 20) -> str:
    vals = [str(int(v)) for v in np.asarray(values).reshape(-1)]
    rows = [", ".join(vals[i:i + per_line]) for i in range(0, len(vals), per_line)]
    body = ",\n    ".join(rows)
    return f"static const {ctype} {name}[{len(vals)}] = {{\n    {body}\n}};\n"


class _Emitter:
    def __init__(self, plan: NetworkPlan) -> None:
        self.plan = plan
        self.arrays: list[str] = []
        self.params: list[str] = []
        self.calls: list[str] = []
        self.const_bytes = 0

    def array(self, ctype: str, name: str, values: np.ndarray) -> str:
        self.arrays.append(_c_array(ctype, name, values))
        self.const_bytes += np.asarray(values).size * (1 if ctype == "int8_t" else 4)
        return name

    def buf(self, buffer: int, ctype: str = "int8_t") -> str:
        off = self.plan.memory.buffers[buffer].offset
        return (f"s_arena.b + {off}" if ctype == "int8_t"
                else f"({ctype} *)(void *)(s_arena.b + {off})")

    def conv_struct(self, i: int, p: dict[str, Any]) -> str:
        w = self.array("int8_t", f"k_w{i}", p["weights"])
        b = self.array("int32_t", f"k_b{i}", p["bias"]) if p["bias"] is not None else "0"
        m = self.array("int32_t", f"k_m{i}", p["mult"])
        s = self.array("int32_t", f"k_s{i}", p["shift"])
        rq = self.array("int32_t", f"k_rq{i}", p["rq"]) if p.get("rq") is not None else "0"
        fields = ", ".join(f".{f} = {int(p[f])}" for f in _CONV_FIELDS)
        self.params.append(f"static const esn_conv_t k_c{i} = {{{fields},\n    .weights = {w}, "
                           f".bias = {b}, .mult = {m}, .shift = {s}, .rq = {rq}}};\n")
        return f"&k_c{i}"

    def pool_struct(self, i: int, p: dict[str, Any]) -> str:
        fields = ", ".join(f".{f} = {int(p[f])}" for f in _POOL_FIELDS)
        self.params.append(f"static const esn_pool_t k_p{i} = {{{fields}}};\n")
        return f"&k_p{i}"

    def dims(self, name: str, values: list[int]) -> str:
        self.params.append(f"static const int32_t {name}[4] = {{"
                           + ", ".join(str(int(v)) for v in values) + "};\n")
        return name

    def step(self, i: int, s: Step) -> None:
        src, dst, p = self.buf(s.src), self.buf(s.dst), s.params
        if s.kind == "conv":
            call = f"esn_conv({self.conv_struct(i, p['conv'])}, {src}, {dst}, " \
                   f"{self.buf(s.scratch['q15'], 'int16_t')})"
        elif s.kind == "conv_pool":
            call = (f"esn_conv_pool({self.conv_struct(i, p['conv'])}, "
                    f"{self.pool_struct(i, p['pool'])}, {src}, {dst}, "
                    f"{self.buf(s.scratch['rows'])}, {self.buf(s.scratch['q15'], 'int16_t')})")
        elif s.kind == "dwconv":
            call = f"esn_dwconv({self.conv_struct(i, p['conv'])}, {src}, {dst})"
        elif s.kind == "dwconv_inplace":
            call = (f"esn_dwconv_inplace({self.conv_struct(i, p['conv'])}, {dst}, "
                    f"{self.buf(s.scratch['ring'])})")
        elif s.kind == "maxpool":
            call = f"esn_maxpool({self.pool_struct(i, p['pool'])}, {src}, {dst})"
        elif s.kind == "pad":
            call = (f"esn_pad({self.dims(f'k_d{i}', p['dims'])}, "
                    f"{self.dims(f'k_lo{i}', p['before'])}, {self.dims(f'k_hi{i}', p['after'])}"
                    f", {int(p['value'])}, {src}, {dst})")
        elif s.kind == "transpose":
            call = (f"esn_transpose({self.dims(f'k_d{i}', p['dims'])}, "
                    f"{self.dims(f'k_perm{i}', p['perm'])}, {src}, {dst})")
        elif s.kind == "requant":
            call = (f"esn_requant({p['n']}, {p['in_offset']}, {p['mult']}, {p['shift']}, "
                    f"{p['out_offset']}, {src}, {dst})")
        elif s.kind == "reduce_max":
            call = f"esn_reduce_max({self.dims(f'k_d{i}', p['dims'])}, {p['axes']}, {src}, {dst})"
        else:  # copy
            call = f"memcpy({dst}, {src}, {p['n']})"
        self.calls.append(f"    {call}; /* {s.label}, {s.macs:,} MACs */\n"
                          f"    EDGESEA_NET_STEP_DONE({i});\n")


_HEADER = """/* edgesea_net.h: the int8 network of {model}, generated by edgesea from
 * {tflite} (sha256 {sha}). Do not edit: regenerate.
 * No interpreter, no heap: weights in flash, one static arena planned at generation time.
 * Build with edgesea_nn.c (plain C, or the Cortex-M DSP extension when available). */
#ifndef EDGESEA_NET_H_
#define EDGESEA_NET_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {{
#endif

#define EDGESEA_NET_INPUT_SIZE {n_in} /* int8 values, shape {in_shape} */
#define EDGESEA_NET_OUTPUT_SIZE {n_out} /* int8 values, shape {out_shape} */
#define EDGESEA_NET_INPUT_SCALE {in_scale!r}f
#define EDGESEA_NET_INPUT_ZERO_POINT {in_zp}
#define EDGESEA_NET_OUTPUT_SCALE {out_scale!r}f /* embedding = scale * (q - zero point) */
#define EDGESEA_NET_OUTPUT_ZERO_POINT {out_zp}
#define EDGESEA_NET_ARENA_BYTES {arena}
#define EDGESEA_NET_STEPS {n_steps}
#define EDGESEA_NET_MACS {macs}

/* The arena's input tensor: write the model input here (e.g. edgesea_fe_window(NULL,
 * edgesea_net_input())) and pass it, or NULL, to edgesea_net_invoke. */
int8_t *edgesea_net_input(void);
/* The output tensor, valid until the next invoke. */
const int8_t *edgesea_net_output(void);
/* Run the network. input: EDGESEA_NET_INPUT_SIZE values (copied into the arena unless it is
 * edgesea_net_input() or NULL); output: EDGESEA_NET_OUTPUT_SIZE values or NULL. Returns 0. */
int edgesea_net_invoke(const int8_t *input, int8_t *output);

#ifdef __cplusplus
}}
#endif

#endif /* EDGESEA_NET_H_ */
"""

_SOURCE = """/* edgesea_net.c: the int8 network of {model}, generated by edgesea. Do not edit.
 * {n_steps} kernel calls, {macs:,} multiply-accumulates, arena {arena:,} bytes,
 * constants {consts:,} bytes. See edgesea_net.h. */
#include "edgesea_net.h"

#include <string.h>

#include "edgesea_nn.h"

#ifdef EDGESEA_NET_PROFILE
void EDGESEA_NET_PROFILE(int32_t step);
#define EDGESEA_NET_STEP_DONE(i) EDGESEA_NET_PROFILE(i)
#else
#define EDGESEA_NET_STEP_DONE(i) ((void)0)
#endif

static union {{
    int64_t align;
    int8_t b[EDGESEA_NET_ARENA_BYTES];
}} s_arena;

{arrays}
{params}
int8_t *edgesea_net_input(void) {{ return s_arena.b + {in_off}; }}

const int8_t *edgesea_net_output(void) {{ return s_arena.b + {out_off}; }}

int edgesea_net_invoke(const int8_t *input, int8_t *output) {{
    if (input && input != s_arena.b + {in_off})
        memcpy(s_arena.b + {in_off}, input, EDGESEA_NET_INPUT_SIZE);
{calls}    if (output) memcpy(output, s_arena.b + {out_off}, EDGESEA_NET_OUTPUT_SIZE);
    return 0;
}}
"""


def plan_network(graph: Graph) -> NetworkPlan:
    """Lower a graph to kernel steps and plan its memory.

    Parameters
    ----------
    graph : Graph
        From :func:`edgesea.firmware.tflite_graph.read_graph`.

    Returns
    -------
    NetworkPlan

    Raises
    ------
    EdgeSEAError
        An operator whose shapes, options or quantization the kernels do not cover.
    """
    low = Lowering(graph)
    in_t, out_t = graph.inputs[0], graph.outputs[0]
    first = low.new_buffer(graph.tensors[in_t].size, f"tensor {in_t} (input)")
    low.buffers[first].first = -1
    low.of_tensor[in_t] = first
    low.lower()
    out_buf = low.read(out_t)
    n = len(low.steps)
    low.buffers[out_buf].last = n
    memory = MemoryPlan(buffers=low.buffers, arena_bytes=place_buffers(low.buffers))
    return NetworkPlan(steps=low.steps, memory=memory, input_buffer=first,
                       output_buffer=out_buf, input=graph.tensors[in_t],
                       output=graph.tensors[out_t])


def generate_network(tflite: str | os.PathLike | bytes, model: str = "model") -> NetworkCode:
    """The C99 network of an int8 ``.tflite``.

    Parameters
    ----------
    tflite : str, PathLike or bytes
        A full-int8 model (``edgesea export --format tflite-int8``).
    model : str
        Its name, for the comments.

    Returns
    -------
    NetworkCode

    Raises
    ------
    EdgeSEAError
        An operator, option or quantization outside what the generator supports (see
        :data:`edgesea.firmware.tflite_graph.SUPPORTED_OPS`), or a corrupt file.
    """
    data = load_tflite(tflite)
    graph = read_graph(data)
    plan = plan_network(graph)
    em = _Emitter(plan)
    for i, s in enumerate(plan.steps):
        em.step(i, s)
    buffers = plan.memory.buffers
    sha = hashlib.sha256(data).hexdigest()
    inp, out = plan.input, plan.output
    subs = {"model": model, "tflite": "bytes" if isinstance(tflite, bytes | bytearray)
            else Path(tflite).name, "sha": sha, "n_in": inp.size, "n_out": out.size,
            "in_shape": list(inp.shape), "out_shape": list(out.shape),
            "in_scale": float(inp.scale[0]), "in_zp": int(inp.zero_point[0]),
            "out_scale": float(out.scale[0]), "out_zp": int(out.zero_point[0]),
            "arena": max(plan.memory.arena_bytes, 8), "n_steps": len(plan.steps),
            "macs": plan.macs}
    source = _SOURCE.format(**subs, consts=em.const_bytes, arrays="\n".join(em.arrays),
                            params="".join(em.params), calls="".join(em.calls),
                            in_off=buffers[plan.input_buffer].offset,
                            out_off=buffers[plan.output_buffer].offset)
    return NetworkCode(header=_HEADER.format(**subs), source=source,
                       nn_header=c_source("edgesea_nn.h"), nn_source=c_source("edgesea_nn.c"),
                       plan=plan, arena_bytes=subs["arena"],
                       weight_bytes=em.const_bytes, macs=plan.macs,
                       steps=[{"label": s.label, "kind": s.kind, "ops": s.ops, "macs": s.macs}
                              for s in plan.steps])


def write_network(code: NetworkCode, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write the four files of :func:`generate_network` into ``out_dir`` (created), each
    atomically. Returns file name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, text in code.files().items():
        path = out / name
        with atomic_path(path) as tmp, open(tmp, "w") as f:
            f.write(text)
        paths[name] = path
    return paths
