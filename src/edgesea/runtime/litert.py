"""Run exported int8 ``.tflite`` models with LiteRT and TensorFlow Lite Micro, and import
the optional export packages with an error that says how to install them.

Both runners take float log-mels, quantize them with the model's own input scale and zero
point (the rule firmware uses), invoke one window at a time (batch 1) and return the raw int8
outputs together with their dequantized values.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import logging
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from edgesea.errors import EdgeSEAError, MissingExtraError
from edgesea.runtime.frontend_spec import quantize_input

__all__ = ["TFLiteQuant", "capture_fds", "check_tflite_file", "litert_interpreter",
           "parse_arena_total", "require", "run_litert", "run_tflm", "silenced", "tflite_quant"]

INSTALL_HINT = "pip install edgesea[export]"


def require(module: str, what: str = "exporting") -> ModuleType:
    """Import an optional dependency of the ``export`` extra, or raise :class:`EdgeSEAError`
    naming ``pip install edgesea[export]``."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingExtraError(f"{what} needs the optional package providing {module!r}, which is "
                           f"not installed ({e}): run `{INSTALL_HINT}`") from e


@dataclass(frozen=True)
class TFLiteQuant:
    """Input and output quantization of an int8 ``.tflite`` model (``x = scale * (q - zp)``).

    Attributes
    ----------
    input_shape, output_shape : tuple of int
    input_scale, output_scale : float
    input_zero_point, output_zero_point : int
    input_dtype, output_dtype : str
    """

    input_shape: tuple[int, ...]
    input_dtype: str
    input_scale: float
    input_zero_point: int
    output_shape: tuple[int, ...]
    output_dtype: str
    output_scale: float
    output_zero_point: int

    def input_dict(self) -> dict:
        """``{"dtype", "scale", "zero_point"}`` of the input (for the firmware JSON)."""
        return {"dtype": self.input_dtype, "scale": self.input_scale,
                "zero_point": self.input_zero_point}

    def output_dict(self) -> dict:
        """``{"dtype", "scale", "zero_point"}`` of the output (for the firmware JSON)."""
        return {"dtype": self.output_dtype, "scale": self.output_scale,
                "zero_point": self.output_zero_point}


#: Largest ``.tflite`` edgesea reads (checked before reading: the int8 students are 0.1 to
#: 0.9 MB; a flatbuffer cannot exceed 2 GB).
MAX_TFLITE_BYTES = 256 * 1024 * 1024


def check_tflite_file(path: str | os.PathLike) -> bytes:
    """Read a ``.tflite`` file of at most :data:`MAX_TFLITE_BYTES` (its size is checked
    before it is read), checking that it is a TFLite flatbuffer (identifier ``TFL3``) before
    any native runtime sees it."""
    p = Path(path)
    if p.is_dir():
        raise EdgeSEAError(f"{path} is a directory: expected a .tflite file written by "
                           "`edgesea export --format tflite-int8`")
    if not p.is_file():
        raise EdgeSEAError(f"model file not found: {path} (expected a .tflite file written by "
                           "`edgesea export --format tflite-int8`)")
    size = p.stat().st_size
    if size > MAX_TFLITE_BYTES:
        raise EdgeSEAError(f"{path} is {size:,} bytes: edgesea reads .tflite models of at most "
                           f"{MAX_TFLITE_BYTES:,} bytes (an int8 student is under 1 MB)")
    with open(p, "rb") as f:
        data = f.read(MAX_TFLITE_BYTES + 1)
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise EdgeSEAError(f"{path} is not a TFLite flatbuffer (no 'TFL3' identifier): "
                           "expected a .tflite file written by `edgesea export`")
    return data


def litert_interpreter(model: str | os.PathLike | bytes, num_threads: int = 1,
                       xnnpack: bool = True):
    """A LiteRT :class:`Interpreter` with tensors allocated.

    ``xnnpack=True`` is LiteRT's default CPU path (the XNNPACK delegate: fastest, but its
    int8 rounding differs from TFLM's by a few LSB); ``False`` uses TFLite's builtin kernels,
    whose fixed-point arithmetic matches TFLM's to 1 LSB.
    """
    interp_mod = require("ai_edge_litert.interpreter", "running a .tflite model")
    # a path is read by check_tflite_file (size bounded first), never by LiteRT itself
    data = bytes(model) if isinstance(model, bytes | bytearray) else check_tflite_file(model)
    if len(data) > MAX_TFLITE_BYTES:
        raise EdgeSEAError(f"a .tflite model of {len(data):,} bytes: at most "
                           f"{MAX_TFLITE_BYTES:,}")
    kwargs: dict[str, Any] = {"model_content": data}
    if not xnnpack:
        kwargs["experimental_op_resolver_type"] = (
            interp_mod.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    try:
        with capture_fds():  # it announces its XNNPACK delegate on stderr
            interp = interp_mod.Interpreter(num_threads=num_threads, **kwargs)
            interp.allocate_tensors()
    except (ValueError, RuntimeError) as e:  # LiteRT's flatbuffer verifier and allocation
        where = "" if isinstance(model, bytes | bytearray) else f"{os.fspath(model)}: "
        raise EdgeSEAError(f"{where}not a valid TFLite model (truncated or corrupt?): "
                           f"{str(e).strip()[:300]}") from e
    return interp


def _qparams(detail: dict) -> tuple[float, int]:
    scale, zero = detail["quantization"]
    return float(scale), int(zero)


def tflite_quant(model: str | os.PathLike | bytes) -> TFLiteQuant:
    """Read the input/output shapes, dtypes and quantization of a ``.tflite`` model."""
    interp = litert_interpreter(model)
    inputs, outputs = interp.get_input_details(), interp.get_output_details()
    if not inputs or not outputs:
        raise EdgeSEAError(f"the model has {len(inputs)} inputs and {len(outputs)} outputs: "
                           "expected a model written by `edgesea export` (one of each)")
    inp, out = inputs[0], outputs[0]
    (i_s, i_z), (o_s, o_z) = _qparams(inp), _qparams(out)
    return TFLiteQuant(
        input_shape=tuple(int(v) for v in inp["shape"]), input_dtype=np.dtype(inp["dtype"]).name,
        input_scale=i_s, input_zero_point=i_z,
        output_shape=tuple(int(v) for v in out["shape"]),
        output_dtype=np.dtype(out["dtype"]).name, output_scale=o_s, output_zero_point=o_z)


def check_int8(quant: TFLiteQuant, logmels: np.ndarray) -> None:
    if quant.input_dtype != "int8" or quant.output_dtype != "int8":
        raise EdgeSEAError(f"expected a full-int8 model (int8 input and output), got input "
                           f"{quant.input_dtype} and output {quant.output_dtype}")
    if tuple(logmels.shape[1:]) != quant.input_shape[1:]:
        raise EdgeSEAError(f"log-mels of shape {tuple(logmels.shape[1:])} do not fit the "
                           f"model input {quant.input_shape}")


def run_litert(model: str | os.PathLike | bytes, logmels: np.ndarray, num_threads: int = 1,
               xnnpack: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Run an int8 ``.tflite`` with LiteRT on float log-mels ``(N, n_mels, n_frames)``, one
    window at a time. Returns ``(q_out int8 (N, D), dequantized float32 (N, D))``.
    ``xnnpack``: see :func:`litert_interpreter` (off by default: builtin kernels, as TFLM)."""
    quant = tflite_quant(model)
    check_int8(quant, logmels)
    interp = litert_interpreter(model, num_threads, xnnpack=xnnpack)
    i_idx = interp.get_input_details()[0]["index"]
    o_idx = interp.get_output_details()[0]["index"]
    outs = []
    for x in logmels:
        interp.set_tensor(i_idx, quantize_input(x, quant.input_scale,
                                                quant.input_zero_point)[None])
        interp.invoke()
        outs.append(interp.get_tensor(o_idx).reshape(-1).copy())
    q = np.stack(outs).astype(np.int8)
    return q, dequantize(q, quant.output_scale, quant.output_zero_point)


def run_tflm(model: str | os.PathLike | bytes, logmels: np.ndarray, arena_size: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`run_litert`, with the TensorFlow Lite Micro interpreter (``arena_size``
    bytes of tensor arena)."""
    tflm = require("tflite_micro", "running TensorFlow Lite Micro").runtime
    quant = tflite_quant(model)
    check_int8(quant, logmels)
    data = bytes(model) if isinstance(model, bytes | bytearray) else Path(model).read_bytes()
    interp = tflm.Interpreter.from_bytes(data, arena_size=int(arena_size))
    outs = []
    for x in logmels:
        interp.set_input(quantize_input(x, quant.input_scale, quant.input_zero_point)[None], 0)
        interp.invoke()
        outs.append(np.asarray(interp.get_output(0)).reshape(-1).copy())
    q = np.stack(outs).astype(np.int8)
    return q, dequantize(q, quant.output_scale, quant.output_zero_point)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return (np.float32(scale) * (q.astype(np.float32) - np.float32(zero_point))).astype(
        np.float32)


@contextlib.contextmanager
def capture_fds() -> Iterator[list[str]]:
    """Capture what is written to file descriptors 1 and 2, by C/C++ code (``printf``,
    ``std::cout``, absl logs) and Python alike. Yields a list that holds the captured text
    after the block."""
    captured: list[str] = []
    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        try:
            for fd in (1, 2):
                os.dup2(tmp.fileno(), fd)
            yield captured
        finally:
            with contextlib.suppress(ValueError, OSError):
                sys.stdout.flush()
                sys.stderr.flush()
            libc.fflush(None)
            for fd, old in saved.items():
                os.dup2(old, fd)
                os.close(old)
            tmp.seek(0)
            captured.append(tmp.read().decode("utf-8", "replace"))


@contextlib.contextmanager
def silenced() -> Iterator[None]:
    """Hide converters' chatter: Python warnings, log records below ERROR and everything
    written to file descriptors 1 and 2. If the block raises, the hidden output is written
    to stderr before the exception propagates."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    ok = False
    out: list[str] = []
    try:
        with warnings.catch_warnings(), capture_fds() as out:
            warnings.simplefilter("ignore")
            yield
            ok = True
    finally:
        root.setLevel(level)
        if not ok and out:
            sys.stderr.write("".join(out)[-4000:])


_ARENA_RE = re.compile(r"Arena allocation total (\d+) bytes")


def parse_arena_total(text: str) -> int | None:
    """The N of ``"Arena allocation total N bytes"`` in TFLM's ``print_allocations`` output."""
    found = _ARENA_RE.findall(text)
    return int(found[-1]) if found else None

