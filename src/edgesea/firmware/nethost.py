"""The generated network compiled for this machine and called from Python (ctypes).

:func:`build_host_network` generates a model's network (:mod:`edgesea.firmware.netgen`) into
a folder and compiles it with the host C compiler into a shared library, either the plain C
kernels or their DSP-extension path with the intrinsics emulated in C
(``-DEDGESEA_NN_EMULATE_DSP``); :class:`HostNetwork` runs it on int8 inputs. The tests and
``benchmarks/firmware_network.py`` compare it with the ``tflite_micro`` interpreter.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numpy as np

from edgesea.errors import EdgeSEAError
from edgesea.firmware.netgen import (
    NET_SOURCE,
    NN_SOURCE_NAME,
    NetworkCode,
    generate_network,
    write_network,
)
from edgesea.firmware.toolchain import compile_host_library

__all__ = ["HostNetwork", "build_host_network"]

_I8P = ctypes.POINTER(ctypes.c_int8)


class HostNetwork:
    """A compiled network (one shared library).

    Parameters
    ----------
    library : str or PathLike
        From :func:`build_host_network`.
    code : NetworkCode
        What it was generated from.
    """

    def __init__(self, library: str | os.PathLike, code: NetworkCode) -> None:
        self.library = os.fspath(library)
        self.code = code
        self._lib = ctypes.CDLL(self.library)
        self._lib.edgesea_net_invoke.argtypes = [_I8P, _I8P]
        self._lib.edgesea_net_invoke.restype = ctypes.c_int
        self.input_size = int(code.plan.input.size)
        self.output_size = int(code.plan.output.size)

    def run(self, inputs: np.ndarray) -> np.ndarray:
        """Int8 inputs ``(N, *input_shape)`` (or one input) -> int8 outputs ``(N, D)``."""
        x = np.ascontiguousarray(inputs, dtype=np.int8)
        if x.size % self.input_size:
            raise EdgeSEAError(f"inputs of {x.size} values: expected a multiple of "
                               f"{self.input_size} (shape {list(self.code.plan.input.shape)})")
        x = x.reshape(-1, self.input_size)
        out = np.zeros((x.shape[0], self.output_size), dtype=np.int8)
        for i in range(x.shape[0]):
            self._lib.edgesea_net_invoke(x[i].ctypes.data_as(_I8P), out[i].ctypes.data_as(_I8P))
        return out


def build_host_network(tflite: str | os.PathLike | bytes, build_dir: str | os.PathLike, *,
                       dsp: bool = False, compiler: str | None = None,
                       code: NetworkCode | None = None) -> HostNetwork:
    """Generate a model's network in ``build_dir`` and load it compiled for this host.

    Parameters
    ----------
    tflite : str, PathLike or bytes
        The int8 model.
    build_dir : str or PathLike
        Folder for the sources and the library (created).
    dsp : bool
        Compile the DSP-extension path with the intrinsics emulated in C.
    compiler : str, optional
        The C compiler (default ``$CC`` or ``cc``/``gcc``).
    code : NetworkCode, optional
        Already generated code for ``tflite``.

    Returns
    -------
    HostNetwork
    """
    code = code or generate_network(tflite)
    paths = write_network(code, build_dir)
    name = "libedgesea_net_dsp.so" if dsp else "libedgesea_net.so"
    lib = compile_host_library([paths[NET_SOURCE], paths[NN_SOURCE_NAME]],
                               Path(build_dir) / name, compiler=compiler,
                               extra_flags=["-DEDGESEA_NN_EMULATE_DSP"] if dsp else [])
    return HostNetwork(lib, code)
