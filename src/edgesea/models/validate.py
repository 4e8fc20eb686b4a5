"""Bounds and type checks of a :class:`~edgesea.models.network.ModelConfig`, and the tensor
shapes it implies, computed without building (or allocating) the network.

A model file's header is untrusted input: :func:`check_config` refuses every field that is
of the wrong type, not finite, or outside the bounds below *before* anything is allocated, and
:func:`expected_state_shapes` gives the ``state_dict`` names and shapes the configuration
implies, so that :func:`~edgesea.models.io.load_model` can compare them with the shapes in the
file's safetensors header before reading any tensor data or building the network.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from edgesea.core.checks import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from edgesea.errors import EdgeSEAError
from edgesea.frontend.mel import PADDINGS, SPECTRA, WINDOWS

__all__ = ["LIMITS", "activation_bytes", "check_activations", "check_config", "check_frontend",
           "expected_state_shapes", "feature_map_size", "frontend_activation_bytes",
           "max_activation_bytes"]

#: Upper bounds of a model configuration (all far above the published architectures: L3-Net
#: has 4 blocks of 2 convs of at most 512 channels, n_fft 2048 and 256 mel bands).
LIMITS: dict[str, float] = {
    "width": 4096, "blocks": 64, "convs_per_block": 8, "kernel_size": 15, "stem_stride": 4,
    "emb_dim": 8192, "window_s": 60.0, "window_samples": 1 << 22, "n_fft": 8192,
    "hop_length": 8192, "n_mels": 512, "params": 1 << 28, "family_chars": 200,
    "power": 8.0, "activation_bytes": 1 << 28,
}
#: Environment variable that overrides ``LIMITS["activation_bytes"]`` (bytes of the largest
#: float32 tensor one window may make: the spectrogram or a conv's output).
ACTIVATION_ENV = "EDGESEA_MAX_ACTIVATION_BYTES"

_FRONTEND_REQUIRED = ("sample_rate", "n_fft", "hop_length", "n_mels")
_FRONTEND_CHOICES: dict[str, tuple[Any, ...]] = {
    "window": WINDOWS, "padding": PADDINGS, "mel_scale": ("htk", "slaney"),
    "mel_norm": ("slaney", None), "spectrum": SPECTRA}
_FRONTEND_OPTIONAL = ("window", "periodic", "padding", "fmin", "fmax", "mel_scale", "mel_norm",
                      "spectrum", "power", "db", "ref", "amin", "top_db", "window_samples")
_BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")

Shape = tuple[int, ...]


def _int(value: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise EdgeSEAError(f"invalid model configuration: {name}={value!r} "
                           f"({type(value).__name__}) must be an integer from {lo} to {hi}")
    if not lo <= int(value) <= hi:
        raise EdgeSEAError(f"invalid model configuration: {name}={value!r} is out of range: "
                           f"expected an integer from {lo} to {hi}")
    return int(value)


def _real(value: Any, name: str, lo: float | None = None, hi: float | None = None,
          lo_open: bool = False) -> float:
    rng = (f"{'>' if lo_open else '>='} {lo:g}" if lo is not None else "") + (
        f"{' and ' if lo is not None else ''}<= {hi:g}" if hi is not None else "")
    expect = f"expected a finite number{' ' + rng if rng else ''}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise EdgeSEAError(f"invalid model configuration: {name}={value!r} "
                           f"({type(value).__name__}): {expect}")
    v = float(value)
    if not math.isfinite(v) or (lo is not None and (v <= lo if lo_open else v < lo)) or (
            hi is not None and v > hi):
        raise EdgeSEAError(f"invalid model configuration: {name}={value!r}: {expect}")
    return v


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise EdgeSEAError(f"invalid model configuration: {name}={value!r} "
                           f"({type(value).__name__}) must be true or false")
    return value


def _choice(value: Any, name: str, choices: tuple[Any, ...]) -> Any:
    if not (value is None or isinstance(value, str)) or value not in choices:
        raise EdgeSEAError(f"invalid model configuration: {name}={value!r}: expected one of "
                           f"{choices}")
    return value


def _sample_rate(value: Any, name: str) -> int:
    return _int(value, name, int(MIN_SAMPLE_RATE), int(MAX_SAMPLE_RATE))


def check_frontend(frontend: Any, sample_rate: int | None = None,
                   window_samples: int | None = None) -> dict[str, Any]:
    """Check a :meth:`~edgesea.frontend.logmel.LogMelSpectrogram.config` dict; return a copy.

    Parameters
    ----------
    frontend : dict
        The front-end configuration (untrusted).
    sample_rate : int, optional
        The model's sample rate, which the front end's must equal.
    window_samples : int, optional
        The model's window in samples, which a ``"stream"`` front end's ``window_samples``
        must equal (its context is then at most ``n_fft`` samples).

    Raises
    ------
    EdgeSEAError
        Not a dict, an unknown or missing key, a value of the wrong type, not finite, or out
        of the bounds of :data:`LIMITS`.
    """
    if not isinstance(frontend, dict):
        raise EdgeSEAError(f"invalid model configuration: frontend must be a dict of "
                           f"log-mel settings, got {type(frontend).__name__}")
    unknown = sorted(str(k) for k in frontend if k not in _FRONTEND_REQUIRED + _FRONTEND_OPTIONAL)
    if unknown:
        raise EdgeSEAError(f"invalid model configuration: unknown frontend keys {unknown}: "
                           f"expected {list(_FRONTEND_REQUIRED + _FRONTEND_OPTIONAL)}")
    missing = [k for k in _FRONTEND_REQUIRED if k not in frontend]
    if missing:
        raise EdgeSEAError(f"invalid model configuration: the frontend lacks {missing}")
    fe = dict(frontend)
    sr = _sample_rate(fe["sample_rate"], "frontend.sample_rate")
    if sample_rate is not None and sr != sample_rate:
        raise EdgeSEAError(f"invalid model configuration: frontend.sample_rate={sr} differs "
                           f"from the model's sample_rate={sample_rate}")
    _int(fe["n_fft"], "frontend.n_fft", 2, int(LIMITS["n_fft"]))
    _int(fe["hop_length"], "frontend.hop_length", 1, int(LIMITS["hop_length"]))
    _int(fe["n_mels"], "frontend.n_mels", 1, int(LIMITS["n_mels"]))
    for key, choices in _FRONTEND_CHOICES.items():
        if key in fe:
            _choice(fe[key], f"frontend.{key}", choices)
    for key in ("periodic", "db"):
        if key in fe:
            _bool(fe[key], f"frontend.{key}")
    fmin = _real(fe.get("fmin", 0.0), "frontend.fmin", 0.0, sr / 2)
    fmax = fe.get("fmax")
    fmax = sr / 2 if fmax is None else _real(fmax, "frontend.fmax", 0.0, sr / 2)
    if not fmin < fmax:
        raise EdgeSEAError(f"invalid model configuration: frontend fmin={fmin:g} must be "
                           f"below fmax={fmax:g} (at most sample_rate / 2 = {sr / 2:g})")
    _real(fe.get("power", 1.0), "frontend.power", 0.0, LIMITS["power"], lo_open=True)
    _real(fe.get("amin", 1e-10), "frontend.amin", 0.0, 1.0, lo_open=True)
    if fe.get("top_db") is not None:
        _real(fe["top_db"], "frontend.top_db", 0.0, 1000.0, lo_open=True)
    ref = fe.get("ref", "max")
    if not (isinstance(ref, str) and ref == "max"):
        _real(ref, "frontend.ref ('max' or a number)", 0.0, lo_open=True)
    ws = fe.get("window_samples")
    if fe.get("padding", "same") == "stream":
        ws = _int(ws, "frontend.window_samples (padding 'stream')", 1,
                  int(LIMITS["window_samples"]))
        if window_samples is not None and ws != window_samples:
            raise EdgeSEAError(f"invalid model configuration: frontend.window_samples={ws} "
                               f"differs from the model's window of {window_samples} samples")
    elif ws is not None:
        raise EdgeSEAError(f"invalid model configuration: frontend.window_samples={ws!r:.40} "
                           "is only used with padding 'stream'")
    return fe


def check_config(cfg: Any) -> None:
    """Check every field of a :class:`~edgesea.models.network.ModelConfig` (type, range,
    consistency) and that its feature map and parameter count stay within :data:`LIMITS`.

    Integer fields given as other integral types (NumPy integers) are normalised to ``int``.

    Raises
    ------
    EdgeSEAError
        Naming the field, the value and what is accepted.
    """
    if not isinstance(cfg.family, str) or len(cfg.family) > LIMITS["family_chars"]:
        raise EdgeSEAError(f"invalid model configuration: family={cfg.family!r:.80} must be a "
                           f"string of at most {LIMITS['family_chars']:g} characters")
    cfg.emb_dim = _int(cfg.emb_dim, "emb_dim", 1, int(LIMITS["emb_dim"]))
    cfg.sample_rate = _sample_rate(cfg.sample_rate, "sample_rate")
    window = _real(cfg.window, "window (seconds)", 0.0, LIMITS["window_s"], lo_open=True)
    n = int(round(window * cfg.sample_rate))
    if not 1 <= n <= LIMITS["window_samples"]:
        raise EdgeSEAError(f"invalid model configuration: window={cfg.window!r} s at "
                           f"{cfg.sample_rate} Hz is {n} samples: expected 1 to "
                           f"{int(LIMITS['window_samples'])}")
    _choice(cfg.head, "head", ("paper", "linear"))
    _choice(cfg.global_pool, "global_pool", ("max", "mean", "meanmax"))
    blocks = cfg.blocks
    if not isinstance(blocks, list) or not 1 <= len(blocks) <= LIMITS["blocks"] or any(
            not isinstance(b, list) or not 1 <= len(b) <= LIMITS["convs_per_block"]
            for b in blocks):
        raise EdgeSEAError(
            f"invalid model configuration: blocks={blocks!r:.120} must be a list of 1 to "
            f"{LIMITS['blocks']:g} blocks, each a list of 1 to {LIMITS['convs_per_block']:g} "
            "conv widths (convs per block)")
    cfg.blocks = [[_int(w, f"blocks[{i}][{j}] (conv width)", 1, int(LIMITS["width"]))
                   for j, w in enumerate(b)] for i, b in enumerate(blocks)]
    if not isinstance(cfg.pool_after, list) or len(cfg.pool_after) != len(blocks):
        raise EdgeSEAError(f"invalid model configuration: pool_after={cfg.pool_after!r:.80} "
                           f"must be a list with one true/false per block ({len(blocks)})")
    for i, p in enumerate(cfg.pool_after):
        _bool(p, f"pool_after[{i}]")
    ks = _int(cfg.kernel_size, "kernel_size", 1, int(LIMITS["kernel_size"]))
    if ks % 2 == 0:
        raise EdgeSEAError(f"invalid model configuration: kernel_size must be odd "
                           f"(1 to {LIMITS['kernel_size']:g}), got {ks}")
    cfg.kernel_size = ks
    for name in ("input_bn", "final_bn_relu", "separable"):
        _bool(getattr(cfg, name), name)
    _real(cfg.bn_eps, "bn_eps", 0.0, 1.0, lo_open=True)
    if not isinstance(cfg.extra, dict):
        raise EdgeSEAError(f"invalid model configuration: extra must be a dict, got "
                           f"{type(cfg.extra).__name__}")
    cfg.stem_stride = _int(cfg.stem_stride, "stem_stride", 1, int(LIMITS["stem_stride"]))
    cfg.frontend = check_frontend(cfg.frontend, cfg.sample_rate, n)
    if cfg.head == "paper":
        if cfg.blocks[-1][-1] != cfg.emb_dim:
            raise EdgeSEAError(
                f"head 'paper' outputs the last conv's {cfg.blocks[-1][-1]} channels, "
                f"which must equal emb_dim={cfg.emb_dim}")
        if cfg.global_pool != "max":
            raise EdgeSEAError("head 'paper' uses global max pooling")
    feature_map_size(cfg)
    check_activations(activation_bytes(cfg), "invalid model configuration: the network")
    n_params = sum(math.prod(s) for s, _ in expected_state_shapes(cfg).values())
    if n_params > LIMITS["params"]:
        raise EdgeSEAError(f"invalid model configuration: {n_params:,} weights, more than the "
                           f"{int(LIMITS['params']):,} edgesea accepts")


def _n_frames(fe: dict[str, Any], n_samples: int) -> int:
    """Frames of :meth:`LogMelSpectrogram.n_frames` (same rules, from the config dict)."""
    hop, n_fft, padding = fe["hop_length"], fe["n_fft"], fe.get("padding", "same")
    if padding in ("same", "end", "stream"):
        return -(-n_samples // hop)
    if padding == "center":
        return 1 + n_samples // hop
    if n_samples < n_fft:
        raise EdgeSEAError(f"invalid model configuration: a window of {n_samples} samples is "
                           f"shorter than n_fft={n_fft} with padding='valid'")
    return 1 + (n_samples - n_fft) // hop


def feature_map_size(cfg: Any) -> tuple[int, int]:
    """``(height, width)`` of the last feature map for one window.

    Raises
    ------
    EdgeSEAError
        If a strided stem or a 2x2 pool would leave an empty map.
    """
    h = cfg.frontend["n_mels"]
    w = _n_frames(cfg.frontend, int(round(cfg.window * cfg.sample_rate)))
    h0, w0 = h, w
    h, w = (h - 1) // cfg.stem_stride + 1, (w - 1) // cfg.stem_stride + 1
    for i, pool in enumerate(cfg.pool_after):
        if pool:
            h, w = h // 2, w // 2
            if h < 1 or w < 1:
                raise EdgeSEAError(
                    f"invalid model configuration: the {h0} mel bands x {w0} frames of one "
                    f"window vanish after the 2x2 pool of block {i}: use a longer window, "
                    "more mel bands or fewer pools")
    return h, w


def expected_state_shapes(cfg: Any) -> dict[str, tuple[Shape, str]]:
    """``{name: (shape, kind)}`` of the ``state_dict`` of ``EmbeddingModel(cfg)``, where
    kind is ``"float"`` or ``"int"`` (BatchNorm's ``num_batches_tracked``), computed from the
    configuration alone (mirrors :class:`~edgesea.models.network.EmbeddingModel`)."""
    out: dict[str, tuple[Shape, str]] = {}

    def bn(prefix: str, c: int) -> None:
        for key in _BN:
            out[f"{prefix}.{key}"] = ((), "int") if key == "num_batches_tracked" else (
                (c,), "float")

    def conv(idx: int, cout: int, cin: int, k: int) -> None:
        out[f"features.{idx}.weight"] = ((cout, cin, k, k), "float")
        out[f"features.{idx}.bias"] = ((cout,), "float")

    if cfg.input_bn:
        bn("input_bn", 1)
    ks, cin, idx, k = cfg.kernel_size, 1, 0, 0
    n_convs = sum(len(b) for b in cfg.blocks)
    for widths, pool in zip(cfg.blocks, cfg.pool_after, strict=True):
        for w in widths:
            k += 1
            if k > 1 and cfg.separable:
                conv(idx, cin, 1, ks)  # depthwise (groups=cin)
                bn(f"features.{idx + 1}", cin)
                conv(idx + 3, w, cin, 1)  # pointwise, after the ReLU
                idx += 4
            else:
                conv(idx, w, cin, ks)
                idx += 1
            if k < n_convs or cfg.final_bn_relu:
                bn(f"features.{idx}", w)
                idx += 2  # BN, ReLU
            cin = w
        if pool:
            idx += 1
    if cfg.head == "linear":
        pooled = cin * (2 if cfg.global_pool == "meanmax" else 1)
        out["projection.weight"] = ((cfg.emb_dim, pooled), "float")
        out["projection.bias"] = ((cfg.emb_dim,), "float")
    return out


def max_activation_bytes() -> int:
    """The activation bound: ``$EDGESEA_MAX_ACTIVATION_BYTES`` or ``LIMITS``' 256 MiB."""
    import os

    raw = os.environ.get(ACTIVATION_ENV)
    if raw is None:
        return int(LIMITS["activation_bytes"])
    try:
        value = int(raw)
    except ValueError:
        raise EdgeSEAError(f"{ACTIVATION_ENV}={raw!r}: expected a number of bytes") from None
    if value < 1:
        raise EdgeSEAError(f"{ACTIVATION_ENV}={raw!r}: expected a positive number of bytes")
    return value


def frontend_activation_bytes(fe: dict[str, Any], n_samples: int) -> dict[str, int]:
    """Bytes of the front end's tensors for one window of ``n_samples``: the complex STFT
    (``stft``) and the log-mel (``logmel``), from a checked front-end config."""
    frames = _n_frames(fe, int(n_samples))
    return {"stft": frames * (int(fe["n_fft"]) // 2 + 1) * 8,
            "logmel": frames * int(fe["n_mels"]) * 4}


def activation_bytes(cfg: Any) -> dict[str, int]:
    """The largest tensors one window makes in ``EmbeddingModel(cfg)``, computed from the
    configuration (front end, and the widest conv output at its resolution)."""
    n = int(round(cfg.window * cfg.sample_rate))
    out = frontend_activation_bytes(cfg.frontend, n)
    h, w = cfg.frontend["n_mels"], _n_frames(cfg.frontend, n)
    h, w = (h - 1) // cfg.stem_stride + 1, (w - 1) // cfg.stem_stride + 1
    conv = 0
    for widths, pool in zip(cfg.blocks, cfg.pool_after, strict=True):
        conv = max(conv, max(widths) * h * w * 4)
        if pool:
            h, w = max(h // 2, 1), max(w // 2, 1)
    out["conv"] = conv
    return out


def check_activations(sizes: dict[str, int], what: str) -> None:
    """Refuse when a tensor of ``sizes`` (bytes) exceeds :func:`max_activation_bytes`."""
    limit = max_activation_bytes()
    name, biggest = max(sizes.items(), key=lambda kv: kv[1])
    if biggest > limit:
        raise EdgeSEAError(
            f"{what} would make a {biggest:,}-byte {name} tensor for each window, more than "
            f"the {limit:,}-byte activation limit (hop_length, n_fft, n_mels and the conv "
            f"widths set it; {ACTIVATION_ENV} raises the limit for a model you trust)")
