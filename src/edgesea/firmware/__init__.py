"""On the device: the C front end, the firmware bundle, and the Cortex-M build and run checks.

:func:`export_firmware` writes a self-contained folder for a TensorFlow Lite Micro project
(``edgesea export MODEL --format firmware``): the int8 model as a C array, the model's
front end in portable C99 (:func:`generate_frontend`), a ``main_tflm.cc`` example and a
README with the measured memory budget. :func:`build_host_frontend` compiles the C front end
for this machine and calls it from Python; :mod:`edgesea.firmware.toolchain` and
:mod:`edgesea.firmware.qemu` cross-compile it for a Cortex-M4F and run it under QEMU.
"""

from .budget import TIER_DEVICES, device_budget, frontend_footprint, latency_estimate
from .bundle import FirmwareBundle, export_firmware, export_firmware_formats, model_ops
from .codegen import (
    FrontendCode,
    FrontendLayout,
    frontend_layout,
    generate_frontend,
    write_frontend,
)
from .host import HostFrontend, build_host_frontend

__all__ = ["TIER_DEVICES", "FirmwareBundle", "FrontendCode", "FrontendLayout", "HostFrontend",
           "build_host_frontend", "device_budget", "export_firmware",
           "export_firmware_formats", "frontend_footprint", "frontend_layout",
           "generate_frontend", "latency_estimate", "model_ops", "write_frontend"]
