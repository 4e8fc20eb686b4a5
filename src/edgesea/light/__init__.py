"""Torch-free inference: NumPy log-mel front ends and networks run by ONNX Runtime.

What ``pip install edgesea`` (without the ``train`` extra) embeds with:
:class:`~edgesea.light.frontend.NumpyLogMel` (the students' front end),
:class:`~edgesea.light.frontend.NumpyAisfxFrontend` (the sparse models'),
:class:`~edgesea.light.onnx_models.OnnxEmbedder` (an exported or packaged ONNX student) and
:class:`~edgesea.light.onnx_models.OnnxSparseModel` (a sparse model file). The int8 models
run by LiteRT (:mod:`edgesea.inference.int8`) use the same NumPy front end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgesea.core.lazy import attach

if TYPE_CHECKING:
    from edgesea.light.frontend import NumpyAisfxFrontend as NumpyAisfxFrontend
    from edgesea.light.frontend import NumpyLogMel as NumpyLogMel
    from edgesea.light.onnx_models import OnnxEmbedder as OnnxEmbedder
    from edgesea.light.onnx_models import OnnxSparseModel as OnnxSparseModel

__getattr__, __dir__, __all__ = attach(__name__, {
    "frontend": ["NumpyAisfxFrontend", "NumpyLogMel"],
    "onnx_models": ["OnnxEmbedder", "OnnxSparseModel"],
})
