"""Packaged pretrained students: where they live and how ``(model_type, emb_dim)`` maps to
a file.

Files are ``edgesea/pretrained/<model_type>_urban_<emb_dim>.safetensors`` inside the
installed package; nothing is ever downloaded.
"""

from __future__ import annotations

import numbers
from pathlib import Path

from .errors import EdgeSEAError

__all__ = ["EMB_DIMS", "MODEL_TYPES", "PRETRAINED_DIR", "available", "pretrained_path"]

MODEL_TYPES = ("sea",)
EMB_DIMS = (512, 256, 128, 64)
PRETRAINED_DIR = Path(__file__).parent / "pretrained"


def available() -> list[tuple[str, int]]:
    """``(model_type, emb_dim)`` pairs whose files are installed."""
    return [(t, d) for t in MODEL_TYPES for d in EMB_DIMS
            if (PRETRAINED_DIR / f"{t}_urban_{d}.safetensors").is_file()]


def pretrained_path(model_type: str = "sea", emb_dim: int = 128) -> str:
    """Path of the packaged model ``(model_type, emb_dim)``.

    Raises
    ------
    EdgeSEAError
        Unknown model type, an embedding size that is not one of the integers
        :data:`EMB_DIMS` (floats such as ``128.0`` are refused, as edgel3 does), or that model
        is not installed.
    """
    if not isinstance(model_type, str) or model_type not in MODEL_TYPES:
        raise EdgeSEAError(f"invalid model_type={model_type!r}: expected one of {MODEL_TYPES}")
    if isinstance(emb_dim, bool) or not isinstance(emb_dim, numbers.Integral) \
            or int(emb_dim) not in EMB_DIMS:
        raise EdgeSEAError(f"invalid emb_dim={emb_dim!r} ({type(emb_dim).__name__}): expected "
                           f"an integer, one of {EMB_DIMS}")
    emb_dim = int(emb_dim)
    path = PRETRAINED_DIR / f"{model_type}_urban_{emb_dim}.safetensors"
    if not path.is_file():
        have = ", ".join(f"{t}/{d}" for t, d in available()) or "none yet"
        raise EdgeSEAError(
            f"no pretrained {model_type!r} model with emb_dim={emb_dim} is installed "
            f"(packaged models: {have}). Pass model=<path to an edgesea model file> "
            "(e.g. one written by edgesea.save_model or converted from an edgel3 .h5), or "
            "`edgesea embed --model PATH` on the command line.")
    return str(path)
