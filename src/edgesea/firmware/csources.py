"""The fixed C sources of the firmware, shipped as package data in ``edgesea/firmware/c/``.

- ``edgesea_nn.h`` / ``.c``: the int8 kernels of the generated network, written for this
  project after TFLite's published integer arithmetic (no TFLM code). Each computes what
  TFLM's reference kernels compute: ``sum((x + input_offset) * w) + bias`` in int32, then
  TFLite's ``MultiplyByQuantizedMultiplier`` (per output channel), the output zero point and
  the fused activation's clamp; SAME padding skips out-of-bounds taps (a padded value is the
  zero point and adds nothing). One source, two builds with identical outputs: plain C, and
  the Cortex-M DSP extension (``__ARM_FEATURE_DSP``: ``SXTAB16`` unpacks four int8 values
  into int16 pairs with the offset added, ``SMLAD`` does two multiply-accumulates, a 1x1
  convolution unpacks each weight word once for four pixels, a depthwise convolution does four
  channels a tap). ``-DEDGESEA_NN_NO_DSP`` forces plain C on a Cortex-M;
  ``-DEDGESEA_NN_EMULATE_DSP`` compiles the DSP path on any host with the intrinsics in C.
- ``main.c.in``, ``Makefile.in``: the firmware program and its build (``@@NAME@@`` slots
  filled by :func:`edgesea.firmware.program.write_program`).
- ``edgesea_board.h``, ``edgesea_board_mps2.c``, ``edgesea_board_host.c``,
  ``edgesea_mps2_an386.ld``: board support for QEMU's MPS2 AN386 (start-up, SysTick,
  semihosting, stack painting) and for the host (stdio), and the linker script.

:func:`c_source` returns one of them.
"""

from __future__ import annotations

from importlib import resources

from edgesea.errors import EdgeSEAError

__all__ = ["C_SOURCES", "c_source"]

C_SOURCES = ("edgesea_nn.h", "edgesea_nn.c", "main.c.in", "Makefile.in", "edgesea_board.h",
             "edgesea_board_mps2.c", "edgesea_board_host.c", "edgesea_mps2_an386.ld")


def c_source(name: str) -> str:
    """The text of one of :data:`C_SOURCES`."""
    if name not in C_SOURCES:
        raise EdgeSEAError(f"no firmware source {name!r}: one of {', '.join(C_SOURCES)}")
    return (resources.files("edgesea.firmware") / "c" / name).read_text()
