"""Packaged pretrained students: where they live and how ``(model_type, emb_dim, tier)``
maps to a file.

Files are ``edgesea/pretrained/<zoo_name>.safetensors`` inside the installed package, with
``<zoo_name>`` = ``<model_type>_urban_<emb_dim>`` for the default capacity tier ``"mcu"``
(64 KB TFLM arena, 300 KB flash) and ``<model_type>_urban_<emb_dim>_mcu1m`` for the tier
``"mcu-1m"`` (256 KB arena, 1 MB flash); see :data:`edgesea.tiers.TIERS` for the budgets.
Nothing is ever downloaded.
"""

from __future__ import annotations

import numbers
import re
from pathlib import Path

from .errors import EdgeSEAError

__all__ = ["EMB_DIMS", "MODEL_TYPES", "PRETRAINED_DIR", "ZOO_TIERS", "available",
           "parse_zoo_name", "pretrained_path", "zoo_name"]

MODEL_TYPES = ("sea",)
EMB_DIMS = (512, 256, 128, 64)
#: Capacity tiers of the packaged students (names of :data:`edgesea.tiers.TIERS`); the
#: first is the default.
ZOO_TIERS = ("mcu", "mcu-1m")
PRETRAINED_DIR = Path(__file__).parent / "pretrained"

_TIER_SUFFIX = {"mcu": "", "mcu-1m": "_mcu1m"}
_NAME = re.compile(r"(?P<type>[a-z0-9]+)_urban_(?P<dim>\d+)(?P<suffix>(_[a-z0-9]+)?)")


def _check_tier(tier: object) -> str:
    if not isinstance(tier, str) or tier not in ZOO_TIERS:
        raise EdgeSEAError(f"invalid tier={tier!r}: expected one of {ZOO_TIERS} (the "
                           "packaged capacity tiers; see edgesea.tiers.TIERS)")
    return tier


def _check_model(model_type: object, emb_dim: object) -> tuple[str, int]:
    if not isinstance(model_type, str) or model_type not in MODEL_TYPES:
        raise EdgeSEAError(f"invalid model_type={model_type!r}: expected one of {MODEL_TYPES}")
    if isinstance(emb_dim, bool) or not isinstance(emb_dim, numbers.Integral) \
            or int(emb_dim) not in EMB_DIMS:
        raise EdgeSEAError(f"invalid emb_dim={emb_dim!r} ({type(emb_dim).__name__}): expected "
                           f"an integer, one of {EMB_DIMS}")
    return model_type, int(emb_dim)


def zoo_name(model_type: str = "sea", emb_dim: int = 128, tier: str = "mcu") -> str:
    """The file name stem of a packaged model.

    Parameters
    ----------
    model_type : str
        One of :data:`MODEL_TYPES`.
    emb_dim : int
        One of :data:`EMB_DIMS`.
    tier : str
        One of :data:`ZOO_TIERS`.

    Returns
    -------
    str
        ``"<model_type>_urban_<emb_dim>"`` for tier ``"mcu"``,
        ``"<model_type>_urban_<emb_dim>_mcu1m"`` for tier ``"mcu-1m"``.

    Raises
    ------
    EdgeSEAError
        For an unknown model type, embedding size or tier.
    """
    model_type, emb_dim = _check_model(model_type, emb_dim)
    return f"{model_type}_urban_{emb_dim}{_TIER_SUFFIX[_check_tier(tier)]}"


def parse_zoo_name(name: str) -> tuple[str, int, str]:
    """The inverse of :func:`zoo_name`: ``"sea_urban_128_mcu1m"`` -> ``("sea", 128,
    "mcu-1m")``.

    Raises
    ------
    EdgeSEAError
        If ``name`` is not the name of a packaged model.
    """
    m = _NAME.fullmatch(name) if isinstance(name, str) else None
    tiers = {suffix: tier for tier, suffix in _TIER_SUFFIX.items()}
    if m is None or m["suffix"] not in tiers:
        raise EdgeSEAError(f"{name!r} is not a packaged model name (expected "
                           f"<model_type>_urban_<emb_dim>[_mcu1m])")
    out = (m["type"], int(m["dim"]), tiers[m["suffix"]])
    if zoo_name(*out) != name:  # e.g. a leading zero
        raise EdgeSEAError(f"{name!r} is not a packaged model name")
    return out


def available(tier: str = "mcu") -> list[tuple[str, int]]:
    """``(model_type, emb_dim)`` pairs of the capacity tier ``tier`` whose files are
    installed (largest embedding first).

    Raises
    ------
    EdgeSEAError
        For a tier that is not one of :data:`ZOO_TIERS`.
    """
    tier = _check_tier(tier)
    return [(t, d) for t in MODEL_TYPES for d in EMB_DIMS
            if (PRETRAINED_DIR / f"{zoo_name(t, d, tier)}.safetensors").is_file()]


def _installed() -> str:
    return "; ".join(f"tier {tier}: " + (", ".join(f"{t}/{d}" for t, d in available(tier))
                                         or "none") for tier in ZOO_TIERS)


def pretrained_path(model_type: str = "sea", emb_dim: int = 128, tier: str = "mcu") -> str:
    """Path of the packaged model ``(model_type, emb_dim)`` of capacity tier ``tier``.

    Parameters
    ----------
    model_type : str
        One of :data:`MODEL_TYPES`.
    emb_dim : int
        One of :data:`EMB_DIMS`.
    tier : str
        One of :data:`ZOO_TIERS`: ``"mcu"`` (default; 64 KB TFLM arena, 300 KB flash) or
        ``"mcu-1m"`` (256 KB arena, 1 MB flash: larger, more accurate students).

    Raises
    ------
    EdgeSEAError
        Unknown model type, an embedding size that is not one of the integers
        :data:`EMB_DIMS` (floats such as ``128.0`` are refused, as edgel3 does), a tier that
        is not one of :data:`ZOO_TIERS`, or that model is not installed (the message lists
        the installed models of every tier).
    """
    name = zoo_name(model_type, emb_dim, tier)
    path = PRETRAINED_DIR / f"{name}.safetensors"
    if not path.is_file():
        raise EdgeSEAError(
            f"no pretrained {model_type!r} model with emb_dim={int(emb_dim)} is installed for "
            f"tier {tier!r} (packaged models: {_installed()}; tiers: {', '.join(ZOO_TIERS)}). "
            "Pass model=<path to an edgesea model file> (e.g. one written by "
            "edgesea.save_model or converted from an edgel3 .h5), or `edgesea embed --model "
            "PATH` on the command line.")
    return str(path)
