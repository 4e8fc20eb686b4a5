"""The generated C front end compiled for this machine and called from Python (ctypes).

:func:`build_host_frontend` writes a model's ``edgesea_frontend.c`` and compiles it with
the host C compiler into a shared library; :class:`HostFrontend` calls it on NumPy arrays:
one window at a time (:meth:`HostFrontend.compute`) or as a stream
(:meth:`HostFrontend.push`, :meth:`HostFrontend.window`, :meth:`HostFrontend.stream_windows`).
It is how the tests and ``benchmarks/firmware_check.py`` compare the C code with the Python
front end, and feed its int8 output to the TFLM interpreter.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edgesea.errors import EdgeSEAError
from edgesea.firmware.codegen import FrontendLayout, write_frontend
from edgesea.firmware.toolchain import compile_host_library

__all__ = ["HostFrontend", "build_host_frontend"]

_F32P = ctypes.POINTER(ctypes.c_float)
_I8P = ctypes.POINTER(ctypes.c_int8)
_I16P = ctypes.POINTER(ctypes.c_int16)


def _ptr(arr: np.ndarray | None, ctype: Any) -> Any:
    return None if arr is None else arr.ctypes.data_as(ctype)


class HostFrontend:
    """A compiled C front end (one shared library, one stream state).

    Parameters
    ----------
    library : str or PathLike
        The shared library built by :func:`build_host_frontend`.
    layout : FrontendLayout
        The layout it was generated for.
    """

    def __init__(self, library: str | os.PathLike, layout: FrontendLayout) -> None:
        self.library = os.fspath(library)
        self.layout = layout
        self._lib = ctypes.CDLL(self.library)
        lib = self._lib
        lib.edgesea_fe_compute.argtypes = [_F32P, ctypes.c_int32, _F32P, _I8P]
        lib.edgesea_fe_compute.restype = ctypes.c_int
        if layout.stream:
            lib.edgesea_fe_push.argtypes = [_F32P, ctypes.c_int32]
            lib.edgesea_fe_push.restype = ctypes.c_int32
            lib.edgesea_fe_push_pcm16.argtypes = [_I16P, ctypes.c_int32]
            lib.edgesea_fe_push_pcm16.restype = ctypes.c_int32
            lib.edgesea_fe_frames.restype = ctypes.c_uint32
            lib.edgesea_fe_window.argtypes = [_F32P, _I8P]
            lib.edgesea_fe_window.restype = ctypes.c_int
            lib.edgesea_fe_window_ready.restype = ctypes.c_int

    def _outputs(self) -> tuple[np.ndarray, np.ndarray | None]:
        lay = self.layout
        logmel = np.zeros((lay.n_mels, lay.n_frames), dtype=np.float32)
        q = np.zeros((lay.n_mels, lay.n_frames), dtype=np.int8) if lay.input_int8 else None
        return logmel, q

    def compute(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``edgesea_fe_compute``: one window (``window_samples``, or for a stream front end
        also ``padded_samples`` with its context).

        Returns
        -------
        logmel : np.ndarray [shape=(n_mels, n_frames), float32]
        q : np.ndarray [shape=(n_mels, n_frames), int8] or None (float model)
        """
        x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
        logmel, q = self._outputs()
        rc = self._lib.edgesea_fe_compute(_ptr(x, _F32P), x.size, _ptr(logmel, _F32P),
                                          _ptr(q, _I8P))
        if rc != 0:
            raise EdgeSEAError(f"edgesea_fe_compute returned {rc} for {x.size} samples "
                               f"(expected {self.layout.window_samples}"
                               + (f" or {self.layout.padded_samples}"
                                  if self.layout.stream else "") + ")")
        return logmel, q

    def _need_stream(self) -> None:
        if not self.layout.stream:
            raise EdgeSEAError("this front end is not a stream front end (padding is not "
                               "'stream'): use compute() window by window")

    def reset(self) -> None:
        """``edgesea_fe_reset``."""
        self._need_stream()
        self._lib.edgesea_fe_reset()

    def push(self, x: np.ndarray) -> int:
        """``edgesea_fe_push`` (float) or ``edgesea_fe_push_pcm16`` (int16); frames made."""
        self._need_stream()
        arr = np.asarray(x).reshape(-1)
        if arr.dtype == np.int16:
            arr = np.ascontiguousarray(arr)
            return int(self._lib.edgesea_fe_push_pcm16(_ptr(arr, _I16P), arr.size))
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        return int(self._lib.edgesea_fe_push(_ptr(arr, _F32P), arr.size))

    def frames(self) -> int:
        """``edgesea_fe_frames``."""
        self._need_stream()
        return int(self._lib.edgesea_fe_frames())

    def window(self) -> tuple[np.ndarray, np.ndarray | None]:
        """``edgesea_fe_window``: the window of the last ``n_frames`` frames."""
        self._need_stream()
        logmel, q = self._outputs()
        rc = self._lib.edgesea_fe_window(_ptr(logmel, _F32P), _ptr(q, _I8P))
        if rc != 0:
            raise EdgeSEAError(f"edgesea_fe_window returned {rc}: fewer than "
                               f"{self.layout.n_frames} frames streamed")
        return logmel, q

    def stream_windows(self, signal: np.ndarray, hop: int, n_windows: int | None = None
                       ) -> Iterator[tuple[int, np.ndarray, np.ndarray | None]]:
        """Stream ``signal`` (then zeros) and yield the windows starting at ``0, hop, ...``.

        Parameters
        ----------
        signal : np.ndarray
            Samples at the model rate (float, or int16 PCM).
        hop : int
            Samples between window starts: a multiple of the frame hop.
        n_windows : int, optional
            Windows to yield (default: those that start inside ``signal``).

        Yields
        ------
        tuple
            ``(start_sample, logmel, q)`` as :meth:`window`.
        """
        lay = self.layout
        self._need_stream()
        if hop < 1 or hop % lay.hop:
            raise EdgeSEAError(f"window hop {hop} must be a positive multiple of the frame "
                               f"hop {lay.hop}")
        sig = np.asarray(signal).reshape(-1)
        if n_windows is None:
            n_windows = max(1, -(-sig.size // hop))
        self.reset()
        step = hop // lay.hop
        zeros = np.zeros(lay.hop, dtype=sig.dtype)
        pos = 0
        for i in range(n_windows):
            last = i * step + lay.n_frames  # frames needed for window i
            while self.frames() < last:
                block = sig[pos:pos + lay.hop]
                pos += lay.hop
                self.push(block if block.size == lay.hop else
                          np.concatenate([block, zeros[:lay.hop - block.size]]))
            logmel, q = self.window()
            yield i * hop, logmel, q


def build_host_frontend(spec: dict[str, Any], build_dir: str | os.PathLike,
                        compiler: str | None = None) -> HostFrontend:
    """Generate a model's C front end in ``build_dir`` and load it compiled for this host.

    Parameters
    ----------
    spec : dict
        The model's edge spec.
    build_dir : str or PathLike
        Folder for the sources and ``libedgesea_frontend.so`` (created).
    compiler : str, optional
        The C compiler (default ``$CC`` or ``cc``/``gcc``).

    Returns
    -------
    HostFrontend
        The loaded library.

    Raises
    ------
    EdgeSEAError
        Without a C compiler, or when the code does not compile.
    """
    _, source, layout = write_frontend(spec, build_dir)
    lib = compile_host_library([source], Path(build_dir) / "libedgesea_frontend.so",
                               compiler=compiler)
    return HostFrontend(lib, layout)
