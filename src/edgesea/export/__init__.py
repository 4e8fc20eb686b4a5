"""Deployment: int8 ``.tflite`` / ONNX / C-array export and measured device footprint.

:func:`export_model` turns an edgesea model file into files for microcontrollers (full-int8
TFLite via litert-torch PT2E, plus a C array) and servers (float and int8 QDQ ONNX), with a
JSON spec of the front end the device must compute. :func:`tflite_footprint` measures flash,
TFLM arena, LiteRT latency and int8-vs-float agreement. The heavy packages (litert-torch,
tflite-micro, onnx, onnxruntime) are imported only when needed: ``pip install
edgesea[export]``.
"""

from edgesea.export.carray import CArrayFiles, c_identifier, write_c_array
from edgesea.export.exporter import FORMATS, ExportResult, agreement, export_model
from edgesea.export.footprint import ArenaSearch, TFLiteFootprint, find_min_arena, tflite_footprint
from edgesea.export.graph import LogmelEmbedder, exportable
from edgesea.runtime.frontend_spec import frontend_spec, quantize_input, reference_logmel

__all__ = ["FORMATS", "ArenaSearch", "CArrayFiles", "ExportResult", "LogmelEmbedder",
           "TFLiteFootprint", "agreement", "c_identifier", "export_model", "exportable",
           "find_min_arena", "frontend_spec", "quantize_input", "reference_logmel",
           "tflite_footprint", "write_c_array"]
