"""On the device: the C front end, the int8 network generated as C, the firmware program,
and the Cortex-M build, run and measurement.

:func:`export_firmware` (``edgesea export MODEL --format firmware``) writes a folder that
builds with ``make``: the model's front end in portable C99 (:func:`generate_frontend`), its
int8 network compiled to C with no interpreter (:func:`generate_network`, bit-exact with
TFLM's reference kernels), ``main.c``, board support and a linker script for QEMU's MPS2 AN386
(``make run-qemu``), plus the TFLM path (the model as a C array, ``main_tflm.cc``).
:func:`measure_program` builds and runs it on QEMU and reads flash, RAM, stack and
instructions. :func:`build_host_frontend` and :func:`build_host_network` compile the C code
for this machine and call it from Python.
"""

from edgesea.firmware.budget import (
    TIER_DEVICES,
    device_budget,
    frontend_footprint,
    latency_estimate,
)
from edgesea.firmware.bundle import (
    FirmwareBundle,
    export_firmware,
    export_firmware_formats,
    model_ops,
)
from edgesea.firmware.codegen import (
    FrontendCode,
    FrontendLayout,
    frontend_layout,
    generate_frontend,
    write_frontend,
)
from edgesea.firmware.host import HostFrontend, build_host_frontend
from edgesea.firmware.measure import measure_program
from edgesea.firmware.netgen import NetworkCode, generate_network, write_network
from edgesea.firmware.nethost import HostNetwork, build_host_network
from edgesea.firmware.tflite_graph import SUPPORTED_OPS, read_graph

__all__ = ["SUPPORTED_OPS", "TIER_DEVICES", "FirmwareBundle", "FrontendCode", "FrontendLayout",
           "HostFrontend", "HostNetwork", "NetworkCode", "build_host_frontend",
           "build_host_network", "device_budget", "export_firmware", "export_firmware_formats",
           "frontend_footprint", "frontend_layout", "generate_frontend", "generate_network",
           "latency_estimate", "measure_program", "model_ops", "read_graph", "write_frontend",
           "write_network"]
