"""Packaged pretrained students: where they live and how ``(model_type, emb_dim, tier)``
maps to a file.

Files are ``edgesea/pretrained/<zoo_name>.safetensors`` inside the installed package, with
``<zoo_name>`` = ``<model_type>_urban_<emb_dim>`` for the default capacity tier ``"mcu"``
(64 KB TFLM arena, 300 KB flash) and ``<model_type>_urban_<emb_dim>_mcu1m`` for the tier
``"mcu-1m"`` (256 KB arena, 1 MB flash); see :data:`edgesea.tiers.TIERS` for the budgets.
Beside each ``<zoo_name>.safetensors`` (float32) the package holds
``<zoo_name>.int8.tflite`` (the full-int8 model for microcontrollers, run by LiteRT or TFLM),
``<zoo_name>.edge.json`` (the front end a device must compute and the int8 quantization),
``<zoo_name>.recipe.json`` (how it was trained) and ``<zoo_name>.md`` (its model card: tier,
measured flash and TFLM arena, fold-10 scores). :func:`resolve_model` turns a packaged name
(``"sea_urban_64"``, ``"sea_urban_64.int8"``) or a path into a file; :func:`catalog` lists
every packaged model with its recorded figures (``edgesea models`` on the command line).
The packaged sparse models (``sparse_aisfx_<level>_<retrain>.safetensors``, edgel3's
``model_type='sparse'``) are named and found by :mod:`edgesea.sparse.packaged`; their names
resolve here too. Nothing is ever downloaded.
"""

from __future__ import annotations

import numbers
import os
import re
from pathlib import Path

from edgesea.errors import EdgeSEAError
from edgesea.packaged.sparse_names import SPARSITY_LEVELS, packaged_name, parse_packaged_name

__all__ = ["EMB_DIMS", "INT8_SUFFIX", "MODEL_KINDS", "MODEL_TYPES", "ONNX_SUFFIX", "PRETRAINED_DIR",
           "ZOO_TIERS", "available", "packaged_levels", "packaged_names", "parse_zoo_name",
           "pretrained_path", "resolve_model", "zoo_name"]

MODEL_TYPES = ("sea",)
EMB_DIMS = (512, 256, 128, 64)
#: Capacity tiers of the packaged students (names of :data:`edgesea.tiers.TIERS`); the
#: first is the default.
ZOO_TIERS = ("mcu", "mcu-1m")
PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"

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
    """The packaged models of one capacity tier that are installed.

    Parameters
    ----------
    tier : str
        One of :data:`ZOO_TIERS` (default ``"mcu"``).

    Returns
    -------
    list of tuple (str, int)
        ``(model_type, emb_dim)`` pairs whose ``.safetensors`` file is installed, largest
        embedding first: e.g. ``[("sea", 512), ("sea", 256), ("sea", 128), ("sea", 64)]``
        for ``"mcu"`` and ``[("sea", 128)]`` for ``"mcu-1m"``. Pass a pair (and the tier) to
        :func:`edgesea.get_embedding` as ``model_type``, ``emb_dim`` (and ``tier``); their
        names are :func:`zoo_name`, their figures :func:`catalog`.

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


#: What :func:`resolve_model` may return: any model file, a float edgesea model only, or an
#: int8 ``.tflite`` (a packaged name then means its int8 file).
MODEL_KINDS = ("any", "float", "int8")
INT8_SUFFIX = ".int8.tflite"
#: The packaged students' ONNX files (float32, run by ONNX Runtime without torch).
ONNX_SUFFIX = ".onnx"


def packaged_levels() -> list[tuple[float, str]]:
    """The installed packaged sparse models as ``(sparsity, retrain_type)``, sparsest
    first, ``kd`` before ``oneshot``."""
    return [(s, r) for s in sorted(SPARSITY_LEVELS, reverse=True) for r in ("kd", "oneshot")
            if (PRETRAINED_DIR / f"{packaged_name(s, r)}.safetensors").is_file()]


def packaged_names() -> list[str]:
    """Names of the installed packaged models: the SEA students, tier ``"mcu"`` first,
    largest embedding first, then the sparse models, sparsest first (e.g.
    ``["sea_urban_512", ..., "sea_urban_128_mcu1m", "sparse_aisfx_95.45_kd"]``)."""
    return [zoo_name(t, d, tier) for tier in ZOO_TIERS for t, d in available(tier)] + [
        packaged_name(s, r) for s, r in packaged_levels()]


def _packaged_file(ref: str, kind: str) -> Path | None:
    """The packaged file a name means (``NAME``, ``NAME.safetensors``, ``NAME.int8``,
    ``NAME.int8.tflite`` or ``NAME.onnx``), or None if ``ref`` is not such a name."""
    if os.sep in ref or (os.altsep and os.altsep in ref):
        return None
    endings = {INT8_SUFFIX: INT8_SUFFIX, ".int8": INT8_SUFFIX, ONNX_SUFFIX: ONNX_SUFFIX,
               ".safetensors": ".safetensors"}
    ending = next((e for e in endings if ref.endswith(e)), "")
    stem, suffix = ref[:len(ref) - len(ending)], endings.get(ending)
    if parse_packaged_name(stem) is not None:  # a sparse model: one float file, no int8
        path = PRETRAINED_DIR / f"{stem}.safetensors"
        return path if suffix in (None, ".safetensors") and path.is_file() else None
    try:
        parse_zoo_name(stem)
    except EdgeSEAError:
        return None
    if suffix is None:
        suffix = INT8_SUFFIX if kind == "int8" else ".safetensors"
    path = PRETRAINED_DIR / f"{stem}{suffix}"
    return path if path.is_file() else None


def _names_hint() -> str:
    names = packaged_names()
    return (f"packaged models: {', '.join(names) if names else 'none installed'}; add .int8 "
            f"for a model's int8 TFLite file, e.g. {names[0] if names else 'sea_urban_64'}"
            ".int8; see `edgesea models`")


def resolve_model(model: str | os.PathLike, kind: str = "any") -> str:
    """The file a model reference names: an existing path, or a packaged model's name.

    Parameters
    ----------
    model : str or os.PathLike
        A path to a model file (returned as given when it exists, so a local file wins over
        a packaged name), or the name of a packaged model (:func:`packaged_names`):
        ``"sea_urban_64"`` or ``"sea_urban_64.safetensors"`` is its float32 edgesea model,
        ``"sea_urban_64.int8"`` or ``"sea_urban_64.int8.tflite"`` its int8 TFLite model,
        ``"sea_urban_64.onnx"`` its float32 ONNX file (ONNX Runtime, no torch).
    kind : {"any", "float", "int8"}
        ``"any"`` (default): either file. ``"float"``: an edgesea model file is needed
        (loading, exporting, teaching): int8 ``.tflite`` references are refused.
        ``"int8"``: an int8 ``.tflite`` is needed (measuring): a bare name means its
        ``.int8.tflite``.

    Returns
    -------
    str
        The path (``edgesea/pretrained/<file>`` for a packaged name).

    Raises
    ------
    EdgeSEAError
        For a reference that is neither an existing path nor a packaged name (the message
        lists the packaged names), a ``.tflite`` with ``kind="float"``, or an invalid
        ``kind`` / ``model`` type.

    Examples
    --------
    >>> resolve_model("sea_urban_64")  # doctest: +SKIP
    '.../edgesea/pretrained/sea_urban_64.safetensors'
    >>> resolve_model("sea_urban_64.int8")  # doctest: +SKIP
    '.../edgesea/pretrained/sea_urban_64.int8.tflite'
    """
    if kind not in MODEL_KINDS:
        raise EdgeSEAError(f"invalid kind={kind!r}: expected one of {MODEL_KINDS}")
    if not isinstance(model, str | os.PathLike):
        raise EdgeSEAError(f"invalid model reference {model!r} ({type(model).__name__}): "
                           "expected a path or a packaged model name such as sea_urban_64")
    ref = os.fspath(model)
    if not isinstance(ref, str):  # a bytes path
        raise EdgeSEAError(f"invalid model reference {ref!r}: expected a str path")
    path = ref if ref and os.path.exists(ref) else _packaged_file(ref, kind)
    if path is None:
        raise EdgeSEAError(f"model file not found: {ref!r} is neither an existing file nor "
                           f"the name of a packaged model ({_names_hint()})")
    path = os.fspath(path)
    if kind == "float" and path.endswith(ONNX_SUFFIX):
        raise EdgeSEAError(
            f"{ref} is an ONNX model (run by edgesea.get_embedding(..., model=...) and "
            "`edgesea embed --model`); this needs a float edgesea model file (.safetensors, "
            "e.g. the packaged model's plain name without .onnx)")
    if kind == "float" and path.endswith(".tflite"):
        raise EdgeSEAError(
            f"{ref} is an int8 TFLite model; this needs a float edgesea model file "
            "(.safetensors, e.g. the packaged model's plain name without .int8). An int8 "
            ".tflite is run by edgesea.get_embedding(..., model=...), `edgesea embed "
            "--model`, `edgesea evaluate --model` and edgesea.export.embedder.TFLiteEmbedder")
    return path
