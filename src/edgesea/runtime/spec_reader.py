"""Read an int8 model's ``<name>.edge.json`` (the firmware contract) with every field checked.

:func:`read_edge_spec` is the one way edgesea reads an edge spec back: the file is bounded in
size and depth and its text checked (:func:`edgesea.core.safe_json.read_json`), then
:func:`check_edge_spec` checks the fields the readers use before anything is sized by them:
the audio rate and window (bounded, consistent with each other), the front-end configuration
(:func:`edgesea.models.validate.check_frontend`, and the activation memory it implies for one
window), the embedding size, the input and output quantization.
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path
from typing import Any

from edgesea.core.checks import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from edgesea.core.safe_json import read_json
from edgesea.errors import EdgeSEAError
from edgesea.models.validate import (
    LIMITS,
    check_activations,
    check_frontend,
    frontend_activation_bytes,
)

__all__ = ["MAX_SPEC_BYTES", "check_edge_spec", "read_edge_spec"]

#: Largest edge spec read (the shipped ones are about 42 KB: window values and mel weights).
MAX_SPEC_BYTES = 16 * 1024 * 1024


def _field(spec: dict, key: str, where: str) -> dict:
    value = spec.get(key)
    if not isinstance(value, dict):
        raise EdgeSEAError(f"invalid edge spec {where}: '{key}' is missing or not an object "
                           "(expected the file written by `edgesea export`)")
    return value


def _integer(value: Any, name: str, lo: int, hi: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not (
            lo <= int(value) <= hi):
        raise EdgeSEAError(f"invalid edge spec {where}: {name}={value!r:.40} must be an "
                           f"integer from {lo} to {hi}")
    return int(value)


def _number(value: Any, name: str, lo: float, hi: float, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(
            float(value)) or not lo < float(value) <= hi:
        raise EdgeSEAError(f"invalid edge spec {where}: {name}={value!r:.40} must be a finite "
                           f"number above {lo:g} and at most {hi:g}")
    return float(value)


def _quant(block: Any, name: str, where: str) -> None:
    if block is None:
        return
    if not isinstance(block, dict):
        raise EdgeSEAError(f"invalid edge spec {where}: '{name}' must be an object")
    if "scale" in block:
        _number(block["scale"], f"{name}.scale", 0.0, 1e6, where)
    if "zero_point" in block:
        _integer(block["zero_point"], f"{name}.zero_point", -128, 127, where)
    shape = block.get("shape", [])
    if not isinstance(shape, list) or len(shape) > 8 or any(
            isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 1 << 20
            for v in shape):
        raise EdgeSEAError(f"invalid edge spec {where}: {name}.shape={shape!r:.60} must be a "
                           "list of at most 8 sizes")


def check_edge_spec(spec: Any, where: str = "") -> dict[str, Any]:
    """Check the fields of an edge spec that edgesea's readers use; return it.

    Raises
    ------
    EdgeSEAError
        Naming the field, its value and what is accepted.
    """

    if not isinstance(spec, dict):
        raise EdgeSEAError(f"invalid edge spec {where}: expected a JSON object")
    audio = _field(spec, "audio", where)
    sr = _integer(audio.get("sample_rate"), "audio.sample_rate", int(MIN_SAMPLE_RATE),
                  int(MAX_SAMPLE_RATE), where)
    n = _integer(audio.get("window_samples"), "audio.window_samples", 1,
                 int(LIMITS["window_samples"]), where)
    seconds = _number(audio.get("window_seconds"), "audio.window_seconds", 0.0,
                      LIMITS["window_s"], where)
    if abs(seconds * sr - n) > 1:
        raise EdgeSEAError(f"invalid edge spec {where}: audio.window_seconds={seconds:g} at "
                           f"{sr} Hz is not audio.window_samples={n}")
    frontend = _field(spec, "frontend", where)
    try:
        config = check_frontend(frontend.get("config"), sr, n)
        check_activations(frontend_activation_bytes(config, n), "its front end")
    except EdgeSEAError as e:
        raise EdgeSEAError(f"invalid edge spec {where}: frontend.config: {e}") from None
    model = _field(spec, "model", where)
    _integer(model.get("emb_dim"), "model.emb_dim", 1, int(LIMITS["emb_dim"]), where)
    name = model.get("name", "")
    if not isinstance(name, str) or len(name) > 200:
        raise EdgeSEAError(f"invalid edge spec {where}: model.name must be a string of at most "
                           "200 characters")
    _quant(spec.get("input"), "input", where)
    _quant(spec.get("output"), "output", where)
    return spec


def read_edge_spec(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check ``<name>.edge.json``.

    Raises
    ------
    EdgeSEAError
        A missing, oversized, malformed or inconsistent file (the message names the field).
    """
    p = Path(path)
    spec = read_json(p, "edge spec", max_bytes=MAX_SPEC_BYTES, max_depth=16)
    return check_edge_spec(spec, str(p))
