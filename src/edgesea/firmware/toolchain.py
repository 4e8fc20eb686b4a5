"""C toolchains for the firmware checks: the host compiler, ``arm-none-eabi-gcc`` for a
Cortex-M4F, ``arm-none-eabi-size`` / ``nm`` for code and RAM sizes, and ``qemu-system-arm``.

:func:`compile_host_library` builds a shared library for ctypes;
:func:`compile_arm_object` compiles for ``-mcpu=cortex-m4 -mthumb -mfloat-abi=hard
-mfpu=fpv4-sp-d16``; :func:`arm_size` and :func:`arm_symbols` read what it occupies;
:func:`link_arm_program` links a bare-metal program for QEMU's MPS2 AN386 board (startup
and linker script from :mod:`edgesea.firmware.qemu`); :func:`run_qemu` runs it with
semihosting. Every tool is looked up on ``PATH``; a missing one raises
:class:`EdgeSEAError` naming the Debian packages (``gcc-arm-none-eabi``,
``libnewlib-arm-none-eabi``, ``qemu-system-arm``; ``make firmware-check`` installs them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edgesea.errors import EdgeSEAError
from edgesea.firmware.csources import c_source

__all__ = ["ARM_CFLAGS", "ARM_CPU_FLAGS", "HOST_CFLAGS", "QEMU_MACHINE", "ArmSize",
           "QemuRun", "arm_size", "arm_symbols", "compile_arm_object", "compile_host_library",
           "find_tool", "have_arm_toolchain", "have_qemu", "link_arm_program", "run_qemu"]

#: The Cortex-M4F target of the issue (single-precision FPU, hard-float ABI).
ARM_CPU_FLAGS = ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16")
#: Flags of the size measurement and of the QEMU build (-O2, warnings as errors, no FMA).
ARM_CFLAGS = (*ARM_CPU_FLAGS, "-std=c99", "-O2", "-ffp-contract=off", "-ffunction-sections",
              "-fdata-sections", "-Wall", "-Wextra", "-Werror", "-pedantic")
HOST_CFLAGS = ("-std=c99", "-O2", "-fPIC", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror",
               "-pedantic")
#: QEMU's MPS2 board with an AN386 FPGA image: a Cortex-M4 with FPU.
QEMU_MACHINE = "mps2-an386"
_APT_HINT = ("install the Debian packages gcc-arm-none-eabi, libnewlib-arm-none-eabi and "
             "qemu-system-arm (`make firmware-check` does it as root)")


def find_tool(name: str) -> str | None:
    """The path of a program on ``PATH``, or None."""
    return shutil.which(name)


def _tool(name: str) -> str:
    path = find_tool(name)
    if path is None:
        raise EdgeSEAError(f"{name} not found on PATH: {_APT_HINT}")
    return path


def have_arm_toolchain() -> bool:
    """Whether ``arm-none-eabi-gcc``, ``-size`` and ``-nm`` (and newlib) are installed."""
    if not all(find_tool(t) for t in ("arm-none-eabi-gcc", "arm-none-eabi-size",
                                      "arm-none-eabi-nm")):
        return False
    proc = subprocess.run(["arm-none-eabi-gcc", *ARM_CPU_FLAGS, "-print-file-name=libm.a"],
                          capture_output=True, text=True, check=False)
    return proc.returncode == 0 and os.path.isabs(proc.stdout.strip())


def have_qemu() -> bool:
    """Whether ``qemu-system-arm`` is installed and offers the ``mps2-an386`` board."""
    if find_tool("qemu-system-arm") is None:
        return False
    proc = subprocess.run(["qemu-system-arm", "-M", "help"], capture_output=True, text=True,
                          check=False, timeout=60)
    return QEMU_MACHINE in proc.stdout


def _run(cmd: Sequence[str], what: str, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False,
                          timeout=timeout)
    if proc.returncode != 0:
        raise EdgeSEAError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n"
                           f"{(proc.stdout + proc.stderr).strip()[-3000:]}")
    return proc


def compile_host_library(sources: Sequence[str | os.PathLike], out: str | os.PathLike, *,
                         compiler: str | None = None, extra_flags: Sequence[str] = ()) -> Path:
    """Compile C sources into a shared library with the host compiler.

    Parameters
    ----------
    sources : sequence of paths
        The ``.c`` files.
    out : str or PathLike
        The library to write (``.so``).
    compiler : str, optional
        Default: ``$CC``, else ``cc``, else ``gcc``.
    extra_flags : sequence of str
        More compiler flags (e.g. ``-D...``).

    Returns
    -------
    Path
        ``out``.
    """
    cc = compiler or os.environ.get("CC") or find_tool("cc") or find_tool("gcc")
    if not cc:
        raise EdgeSEAError("no host C compiler found (set CC, or install gcc)")
    out = Path(out)
    _run([cc, *HOST_CFLAGS, *extra_flags, "-shared", "-o", str(out),
          *map(os.fspath, sources), "-lm"], "compiling C code for the host")
    return out


def compile_arm_object(source: str | os.PathLike, out: str | os.PathLike,
                       extra_flags: Sequence[str] = ()) -> Path:
    """Compile one C file for the Cortex-M4F (:data:`ARM_CFLAGS`) into an object file.

    Parameters
    ----------
    source : str or PathLike
        The ``.c`` file.
    out : str or PathLike
        The object file to write.
    extra_flags : sequence of str
        More compiler flags (e.g. ``-fstack-usage``).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    EdgeSEAError
        Without ``arm-none-eabi-gcc``, or when the code does not compile (warnings are
        errors).
    """
    out = Path(out)
    _run([_tool("arm-none-eabi-gcc"), *ARM_CFLAGS, *extra_flags, "-c", os.fspath(source),
          "-o", str(out)], "cross-compiling for the Cortex-M4")
    return out


@dataclass(frozen=True)
class ArmSize:
    """``arm-none-eabi-size`` (Berkeley format) of one file.

    Attributes
    ----------
    text : int
        Code and read-only data (constant tables): flash.
    data : int
        Initialised data: flash (its initial values) and RAM.
    bss : int
        Zero-initialised data: RAM.
    """

    text: int
    data: int
    bss: int

    @property
    def flash(self) -> int:
        """``text + data``."""
        return self.text + self.data

    @property
    def ram(self) -> int:
        """``data + bss`` (static RAM; the stack is extra)."""
        return self.data + self.bss

    def to_dict(self) -> dict[str, int]:
        """Plain dict, with ``flash`` and ``ram``."""
        return {**asdict(self), "flash": self.flash, "ram": self.ram}


def arm_size(path: str | os.PathLike) -> ArmSize:
    """text/data/bss of an object or ELF file, from ``arm-none-eabi-size``.

    Parameters
    ----------
    path : str or PathLike
        An ARM object or ELF file.

    Returns
    -------
    ArmSize
        Its sizes in bytes.
    """
    proc = _run([_tool("arm-none-eabi-size"), os.fspath(path)], "arm-none-eabi-size")
    lines = proc.stdout.strip().splitlines()
    try:
        text, data, bss = (int(v) for v in lines[1].split()[:3])
    except (IndexError, ValueError) as e:
        raise EdgeSEAError(f"cannot read arm-none-eabi-size output {proc.stdout!r}") from e
    return ArmSize(text=text, data=data, bss=bss)


def arm_symbols(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Sized symbols of an object file (``arm-none-eabi-nm -S``), largest first.

    Returns
    -------
    list of dict
        ``{"name", "size", "kind"}``; ``kind`` is nm's letter (``b``/``B`` bss, ``d``/``D``
        data, ``r``/``R`` read-only data, ``t``/``T`` code).
    """
    proc = _run([_tool("arm-none-eabi-nm"), "-S", "--size-sort", os.fspath(path)],
                "arm-none-eabi-nm")
    out = []
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4:
            out.append({"name": parts[3], "size": int(parts[1], 16), "kind": parts[2]})
    return sorted(out, key=lambda s: -s["size"])


def link_arm_program(sources: Sequence[str | os.PathLike], out: str | os.PathLike,
                     include_dirs: Sequence[str | os.PathLike] = ()) -> Path:
    """Compile and link a bare-metal Cortex-M4F program for QEMU's ``mps2-an386``.

    The board support (vector table, FPU enable, ``.data``/``.bss`` set-up, SysTick,
    semihosting: ``edgesea_board.h``) and the linker script are the firmware bundle's own
    (:mod:`edgesea.firmware.csources`); newlib (nano) provides ``memcpy`` and the math
    library.

    Parameters
    ----------
    sources : sequence of paths
        The program's C files (one defines ``main``).
    out : str or PathLike
        The ELF file to write.
    include_dirs : sequence of paths
        Extra ``-I`` folders.

    Returns
    -------
    Path
        ``out``.
    """
    out = Path(out)
    build = out.parent
    startup, script = build / "edgesea_board_mps2.c", build / "edgesea_mps2_an386.ld"
    for name in (startup.name, script.name, "edgesea_board.h"):
        (build / name).write_text(c_source(name))
    _run([_tool("arm-none-eabi-gcc"), *ARM_CFLAGS, "-Wno-pedantic", f"-I{build}",
          *(f"-I{os.fspath(d)}" for d in include_dirs), "--specs=nano.specs",
          "--specs=nosys.specs", "-nostartfiles", f"-T{script}", "-Wl,--gc-sections",
          "-o", str(out), str(startup), *map(os.fspath, sources), "-lm"],
         "linking the Cortex-M4 program")
    return out


@dataclass(frozen=True)
class QemuRun:
    """Result of :func:`run_qemu`: exit code, what the program printed, the command."""

    returncode: int
    output: str
    command: list[str]


def run_qemu(elf: str | os.PathLike, timeout: float = 120) -> QemuRun:
    """Run a program on QEMU's ``mps2-an386`` (Cortex-M4) with semihosting.

    Parameters
    ----------
    elf : str or PathLike
        A program from :func:`link_arm_program`.
    timeout : float
        Seconds before the emulator is stopped (then :class:`EdgeSEAError`).

    Returns
    -------
    QemuRun
        The program's semihosting output and exit code (0 when it exits normally).
    """
    cmd = [_tool("qemu-system-arm"), "-M", QEMU_MACHINE, "-cpu", "cortex-m4", "-nographic",
           "-monitor", "none", "-serial", "none",
           "-semihosting-config", "enable=on,target=native", "-kernel", os.fspath(elf)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise EdgeSEAError(f"QEMU did not finish within {timeout:g} s: {' '.join(cmd)}") from e
    return QemuRun(returncode=proc.returncode, output=proc.stdout + proc.stderr, command=cmd)
