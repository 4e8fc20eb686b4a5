"""Read a full-int8 ``.tflite`` graph into plain Python objects, for the network generator.

:func:`read_graph` parses the flatbuffer with the maintained schema package ``tflite``
(the TFLite schema's generated Python classes; part of the ``export`` extra) and returns a
:class:`Graph`: its tensors (shape, type, quantization, constant data) and its operators
(builtin name, inputs, outputs, options), in execution order. It checks what
:mod:`edgesea.firmware.netgen` can compile (:data:`SUPPORTED_OPS`, one subgraph, int8
activations, int32 biases, symmetric weights) and refuses anything else with an
:class:`EdgeSEAError` that names the operator and says what is accepted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgesea.errors import EdgeSEAError, MissingExtraError
from edgesea.runtime.litert import check_tflite_file

__all__ = ["MAX_TFLITE_BYTES", "SUPPORTED_OPS", "Graph", "Op", "Tensor", "load_tflite",
           "read_graph"]

#: The builtin operators the generator compiles (the shipped students use all of them).
SUPPORTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "REDUCE_MAX", "RESHAPE",
                 "TRANSPOSE", "FULLY_CONNECTED", "PAD", "QUANTIZE")
#: Largest ``.tflite`` read (a model for a microcontroller is far smaller; checked before
#: the file is read).
MAX_TFLITE_BYTES = 16 * 1024 * 1024
_DTYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 7: "int16",
           9: "int8"}
_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH",
                5: "SIGN_BIT", 6: "SIGMOID"}
_PADDING = {0: "SAME", 1: "VALID"}


@dataclass(frozen=True)
class Tensor:
    """One tensor of the graph.

    Attributes
    ----------
    index : int
    name : str
    shape : tuple of int
    dtype : str
        ``"int8"``, ``"int32"``, ...
    scale : np.ndarray [float32]
        Quantization scales (one, or one per channel); empty when not quantized.
    zero_point : np.ndarray [int64]
    quantized_dimension : int
    data : np.ndarray or None
        The constant's values (shaped), or None for an activation.
    """

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: np.ndarray
    zero_point: np.ndarray
    quantized_dimension: int
    data: np.ndarray | None = None

    @property
    def size(self) -> int:
        """Number of elements."""
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1


@dataclass(frozen=True)
class Op:
    """One operator: builtin name, tensor indices (-1: absent optional input), options."""

    index: int
    kind: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    """A parsed single-subgraph model (operators in execution order)."""

    tensors: list[Tensor]
    ops: list[Op]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]

    def consumers(self, tensor: int) -> list[int]:
        """Indices of the operators that read ``tensor``."""
        return [op.index for op in self.ops if tensor in op.inputs]

    def const(self, tensor: int) -> np.ndarray:
        """The constant data of ``tensor`` (:class:`EdgeSEAError` if it is not constant)."""
        data = self.tensors[tensor].data
        if data is None:
            raise EdgeSEAError(f"tensor {tensor} ({self.tensors[tensor].name}) is not a "
                               "constant: the generator needs constant weights, biases, "
                               "shapes, paddings, permutations and axes")
        return data


def load_tflite(model: str | os.PathLike | bytes) -> bytes:
    """The bytes of a ``.tflite`` (size bounded before reading; ``TFL3`` identifier checked)."""
    if isinstance(model, bytes | bytearray):
        data = bytes(model)
    else:
        path = Path(model)
        if path.is_file() and path.stat().st_size > MAX_TFLITE_BYTES:
            raise EdgeSEAError(f"{model} is {path.stat().st_size:,} bytes: the network "
                               f"generator reads .tflite files of at most "
                               f"{MAX_TFLITE_BYTES:,} bytes (a microcontroller model is far "
                               "smaller)")
        data = check_tflite_file(path)  # exists, bounded, 'TFL3'
    if len(data) > MAX_TFLITE_BYTES:
        raise EdgeSEAError(f"the model is {len(data):,} bytes: at most {MAX_TFLITE_BYTES:,}")
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise EdgeSEAError("not a TFLite flatbuffer (no 'TFL3' identifier): expected an int8 "
                           ".tflite written by `edgesea export --format tflite-int8`")
    return data


def _options(op: Any, kind: str) -> dict[str, Any]:
    import tflite

    classes = {"CONV_2D": tflite.Conv2DOptions, "DEPTHWISE_CONV_2D":
               tflite.DepthwiseConv2DOptions, "MAX_POOL_2D": tflite.Pool2DOptions,
               "FULLY_CONNECTED": tflite.FullyConnectedOptions,
               "REDUCE_MAX": tflite.ReducerOptions}
    cls = classes.get(kind)
    table = op.BuiltinOptions()
    if cls is None or table is None:
        return {}
    opt = cls()
    opt.Init(table.Bytes, table.Pos)
    out: dict[str, Any] = {}
    for name in ("Padding", "StrideW", "StrideH", "DilationWFactor", "DilationHFactor",
                 "DepthMultiplier", "FilterWidth", "FilterHeight", "FusedActivationFunction",
                 "KeepDims", "KeepNumDims", "WeightsFormat", "AsymmetricQuantizeInputs",
                 "QuantizedBiasType"):
        if hasattr(opt, name):
            out[name] = getattr(opt, name)()
    if "Padding" in out:
        out["Padding"] = _PADDING.get(out["Padding"], f"unknown({out['Padding']})")
    if "FusedActivationFunction" in out:
        code = out["FusedActivationFunction"]
        out["FusedActivationFunction"] = _ACTIVATIONS.get(code, f"unknown({code})")
    return out


def _tensor(model: Any, sub: Any, i: int) -> Tensor:
    t = sub.Tensors(i)
    dtype = _DTYPES.get(t.Type(), f"type{t.Type()}")
    shape = tuple(int(v) for v in t.ShapeAsNumpy()) if t.ShapeLength() else ()
    if any(v < 0 for v in shape) or (shape and int(np.prod(shape, dtype=np.int64)) > 1 << 26):
        raise EdgeSEAError(f"tensor {i} has shape {shape}: expected static dimensions of at "
                           "most 2^26 elements")
    q = t.Quantization()
    scale = np.asarray(q.ScaleAsNumpy() if q is not None and q.ScaleLength() else [],
                       dtype=np.float32)
    zero = np.asarray(q.ZeroPointAsNumpy() if q is not None and q.ZeroPointLength() else [],
                      dtype=np.int64)
    qdim = int(q.QuantizedDimension()) if q is not None else 0
    data = None
    buf = model.Buffers(t.Buffer()) if t.Buffer() < model.BuffersLength() else None
    if buf is not None and buf.DataLength() > 0:
        np_type = {"int8": np.int8, "int32": np.int32, "int64": np.int64, "uint8": np.uint8,
                   "int16": np.int16, "float32": np.float32}.get(dtype)
        if np_type is None:
            raise EdgeSEAError(f"constant tensor {i} has type {dtype}: expected int8 or int32")
        raw = buf.DataAsNumpy().tobytes()
        n = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if len(raw) != n * np.dtype(np_type).itemsize:
            raise EdgeSEAError(f"constant tensor {i} holds {len(raw)} bytes for shape {shape} "
                               f"of {dtype}: the file is corrupt")
        data = np.frombuffer(raw, dtype=np_type).reshape(shape)
    name = t.Name()
    return Tensor(index=i, name=name.decode("utf-8", "replace") if name else f"t{i}",
                  shape=shape, dtype=dtype, scale=scale, zero_point=zero,
                  quantized_dimension=qdim, data=data)


def _parse(data: bytes) -> Graph:
    import tflite
    from tflite.BuiltinOperator import BuiltinOperator

    names = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
    model = tflite.Model.GetRootAsModel(data, 0)
    if model.SubgraphsLength() != 1:
        raise EdgeSEAError(f"the model has {model.SubgraphsLength()} subgraphs: the network "
                           "generator compiles single-subgraph models (as `edgesea export` "
                           "writes)")
    sub = model.Subgraphs(0)
    # a vector's length is read from the file: bounded by the bytes it would occupy before
    # anything loops over it
    for what, n in (("tensors", sub.TensorsLength()), ("operators", sub.OperatorsLength()),
                    ("buffers", model.BuffersLength()),
                    ("operator codes", model.OperatorCodesLength())):
        if not 0 <= n <= len(data) // 4:
            raise EdgeSEAError(f"the flatbuffer claims {n:,} {what} in {len(data):,} bytes: "
                               "corrupt")
    tensors = [_tensor(model, sub, i) for i in range(sub.TensorsLength())]
    ops = []
    for i in range(sub.OperatorsLength()):
        op = sub.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
        kind = names.get(builtin, f"BUILTIN_{builtin}")
        if kind == "CUSTOM":
            kind = f"CUSTOM ({(code.CustomCode() or b'').decode('utf-8', 'replace')})"
        ins = tuple(int(v) for v in op.InputsAsNumpy()) if op.InputsLength() else ()
        outs = tuple(int(v) for v in op.OutputsAsNumpy()) if op.OutputsLength() else ()
        if any(v >= len(tensors) for v in (*ins, *outs)) or any(v < 0 for v in outs):
            raise EdgeSEAError(f"operator {i} ({kind}) refers to a tensor that does not exist")
        ops.append(Op(index=i, kind=kind, inputs=ins, outputs=outs,
                      options=_options(op, kind) if kind in SUPPORTED_OPS else {}))
    return Graph(tensors=tensors, ops=ops,
                 inputs=tuple(int(v) for v in sub.InputsAsNumpy()),
                 outputs=tuple(int(v) for v in sub.OutputsAsNumpy()))


def _check(graph: Graph) -> None:
    unsupported = [f"operator {op.index}: {op.kind}" for op in graph.ops
                   if op.kind not in SUPPORTED_OPS]
    if unsupported:
        raise EdgeSEAError("the network generator does not support " + "; ".join(unsupported)
                           + f". Supported builtin operators: {', '.join(SUPPORTED_OPS)} "
                           "(full-int8, as `edgesea export --format tflite-int8` writes "
                           "them); run this model with TFLM instead (main_tflm.cc)")
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise EdgeSEAError(f"the model has {len(graph.inputs)} inputs and "
                           f"{len(graph.outputs)} outputs: expected one of each")
    for op in graph.ops:
        for t in op.outputs:
            tensor = graph.tensors[t]
            if tensor.dtype != "int8" or tensor.scale.size != 1 or tensor.zero_point.size != 1:
                raise EdgeSEAError(f"operator {op.index} ({op.kind}) writes tensor {t} of "
                                   f"type {tensor.dtype} with {tensor.scale.size} scales: the "
                                   "generator compiles int8 activations quantized per tensor "
                                   "(a full-int8 model)")
        act = op.options.get("FusedActivationFunction", "NONE")
        if act not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
            raise EdgeSEAError(f"operator {op.index} ({op.kind}) has the fused activation "
                               f"{act}: supported are NONE, RELU, RELU6 and RELU_N1_TO_1")
    inp = graph.tensors[graph.inputs[0]]
    if inp.dtype != "int8":
        raise EdgeSEAError(f"the model's input is {inp.dtype}: the generator compiles "
                           "full-int8 models (export with --format tflite-int8)")


def read_graph(model: str | os.PathLike | bytes) -> Graph:
    """Parse an int8 ``.tflite`` and check that the generator supports it.

    Parameters
    ----------
    model : str, PathLike or bytes
        The ``.tflite`` file or its bytes (at most :data:`MAX_TFLITE_BYTES`).

    Returns
    -------
    Graph
        Tensors and operators in execution order.

    Raises
    ------
    EdgeSEAError
        A file that is not a TFLite model, a corrupt flatbuffer, an operator outside
        :data:`SUPPORTED_OPS`, a fused activation other than NONE/RELU/RELU6/RELU_N1_TO_1,
        or activations that are not int8; without the ``tflite`` package, which extra to
        install.
    """
    try:
        import tflite  # noqa: F401
    except ImportError as e:
        raise MissingExtraError("generating the network in C needs the TFLite schema package "
                           "`tflite`: pip install edgesea[export]") from e
    data = load_tflite(model)
    try:
        graph = _parse(data)
    except EdgeSEAError:
        raise
    except Exception as e:  # a corrupt flatbuffer: offsets out of range, bad types, ...
        raise EdgeSEAError(f"cannot parse the TFLite flatbuffer (truncated or corrupt?): "
                           f"{type(e).__name__}: {e}"[:400]) from e
    _check(graph)
    return graph
