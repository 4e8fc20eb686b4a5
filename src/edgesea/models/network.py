"""Config-driven convolutional embedding networks: SEA students and L3-Net.

One class, :class:`EmbeddingModel`, covers every family: a log-mel front end, a BatchNorm on
the one-channel spectrogram, blocks of ``[3x3 conv -> BN -> ReLU] x n`` with optional 2x2 max
pooling, and a head. Widths, depth, pooling and head are plain data in :class:`ModelConfig`,
so new variants need no new classes. :func:`sea_student` and :func:`l3net` build the
published architectures.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from edgesea.errors import EdgeSEAError
from edgesea.frontend.logmel import LogMelSpectrogram
from edgesea.frontend.presets import kapre_preset, openl3_v04_preset
from edgesea.models.inference import InferenceEmbedder
from edgesea.models.layers import trunk_and_head
from edgesea.models.validate import check_config

__all__ = ["HEADS", "LEVELS", "MCU1M_BLOCKS", "MCU_BLOCKS", "SEA_FILTERS", "STUDENT_RATES",
           "EmbeddingModel", "ModelConfig", "l3net", "sea_mcu1m_student",
           "sea_mcu_student", "sea_student", "student_frontend"]

#: Filters per block of the paper's students (two convs per block), keyed by emb_dim.
SEA_FILTERS: dict[int, tuple[int, int, int, int]] = {
    512: (64, 128, 256, 512),
    256: (32, 64, 128, 256),
    128: (32, 64, 128, 128),
    64: (32, 64, 128, 64),
}
#: ``"paper"``: last conv -> BN -> ReLU -> global max pool (output >= 0, width = emb_dim).
#: ``"linear"``: the same trunk, global pooling, then a linear projection to emb_dim (the
#: embedding can be negative, so zero-mean PCA targets are reachable).
HEADS = ("paper", "linear")


@dataclass
class ModelConfig:
    """Everything needed to rebuild an :class:`EmbeddingModel` (JSON-serialisable).

    Attributes
    ----------
    family : str
        Free-form name of the family (``"sea"``, ``"l3net"``, ...).
    emb_dim : int
        Output dimension.
    sample_rate : int
        Rate the model expects; inputs are resampled to it.
    window : float
        Window length in seconds.
    frontend : dict
        :meth:`LogMelSpectrogram.config` of the front end.
    blocks : list of list of int
        Conv widths per block, e.g. ``[[32, 32], [64, 64], [128, 128], [128, 128]]``.
    pool_after : list of bool
        Whether a 2x2 max pool follows each block.
    head : {"paper", "linear"}
        See :data:`HEADS`.
    global_pool : {"max", "mean", "meanmax"}
        Pooling of the last feature map (the paper: max). ``"meanmax"`` concatenates both
        (linear head only).
    kernel_size : int
        Conv kernel size (odd; 'same' padding).
    input_bn : bool
        BatchNorm on the one-channel spectrogram (as in the paper).
    bn_eps : float
        BatchNorm epsilon (Keras default 1e-3 for ported models).
    final_bn_relu : bool
        Whether the last conv is followed by BN + ReLU (True for SEA students; OpenL3 ends
        at its last conv, ``audio_embedding_layer``, so its embedding can be negative).
    stem_stride : int
        Stride of the first conv (2 quarters every activation after it: the RAM of a
        microcontroller is set by the first block's width and resolution).
    separable : bool
        Every conv after the first is depthwise-separable (a depthwise ``k x k`` conv, BN,
        ReLU, then a pointwise ``1 x 1`` conv to the block width, BN, ReLU).
    """

    family: str
    emb_dim: int
    sample_rate: int
    window: float
    frontend: dict[str, Any]
    blocks: list[list[int]]
    pool_after: list[bool]
    head: str = "paper"
    global_pool: str = "max"
    kernel_size: int = 3
    input_bn: bool = True
    bn_eps: float = 1e-3
    final_bn_relu: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    stem_stride: int = 1
    separable: bool = False

    def __post_init__(self) -> None:
        # every field's type and range (bounded before anything is allocated), the front end
        # and the feature map: see edgesea.models.validate.LIMITS
        check_config(self)

    def to_dict(self) -> dict[str, Any]:
        """A deep-copied plain dict."""
        return copy.deepcopy(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Inverse of :meth:`to_dict`; unknown or missing keys and out-of-range or mistyped
        values raise :class:`EdgeSEAError`."""
        if not isinstance(data, dict):
            raise EdgeSEAError(f"invalid model configuration: expected a dict, got "
                               f"{type(data).__name__}")
        try:
            return cls(**copy.deepcopy(data))
        except TypeError as e:
            raise EdgeSEAError(f"invalid model configuration: {e}") from e


class EmbeddingModel(nn.Module):
    """Front end + conv trunk + head: ``(B, n_samples) -> (B, emb_dim)``.

    Attributes
    ----------
    config : ModelConfig
        The architecture.
    metadata : dict
        Free-form JSON metadata saved with the model (provenance, reducer, metrics...).
    """

    def __init__(self, config: ModelConfig, metadata: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.config = config
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.frontend = LogMelSpectrogram.from_config(config.frontend)
        self.input_bn = nn.BatchNorm2d(1, eps=config.bn_eps) if config.input_bn else None
        layers: list[nn.Module] = []
        cin = 1
        pad = config.kernel_size // 2
        n_convs = sum(len(b) for b in config.blocks)
        k = 0
        for widths, pool in zip(config.blocks, config.pool_after, strict=True):
            for w in widths:
                k += 1
                if k > 1 and config.separable:
                    layers += [nn.Conv2d(cin, cin, config.kernel_size, padding=pad, groups=cin),
                               nn.BatchNorm2d(cin, eps=config.bn_eps), nn.ReLU(inplace=True),
                               nn.Conv2d(cin, int(w), 1)]
                else:
                    stride = config.stem_stride if k == 1 else 1
                    layers.append(nn.Conv2d(cin, int(w), config.kernel_size, padding=pad,
                                            stride=stride))
                if k < n_convs or config.final_bn_relu:
                    layers += [nn.BatchNorm2d(int(w), eps=config.bn_eps), nn.ReLU(inplace=True)]
                cin = int(w)
            if pool:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        if config.head == "linear":
            pooled = cin * (2 if config.global_pool == "meanmax" else 1)
            self.projection: nn.Linear | None = nn.Linear(pooled, config.emb_dim)
        else:
            self.projection = None

    @property
    def sample_rate(self) -> int:
        """Input sample rate in Hz."""
        return self.config.sample_rate

    @property
    def window(self) -> float:
        """Window length in seconds."""
        return self.config.window

    @property
    def window_samples(self) -> int:
        """Window length in samples."""
        return int(round(self.config.window * self.config.sample_rate))

    @property
    def emb_dim(self) -> int:
        """Embedding dimension."""
        return self.config.emb_dim

    @property
    def context_samples(self) -> tuple[int, int]:
        """Samples ``(left, right)`` of signal around a window that the front end reads
        (:meth:`LogMelSpectrogram.context`; ``(0, 0)`` unless its padding is ``"stream"``)."""
        return self.frontend.context(self.window_samples)

    def embed_logmel(self, logmel: torch.Tensor) -> torch.Tensor:
        """Log-mel ``(B, n_mels, n_frames)`` -> embedding ``(B, emb_dim)`` (the part that
        is exported to microcontrollers)."""
        return trunk_and_head(self, logmel)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """Waveform windows ``(B, window_samples)`` at :attr:`sample_rate` -> ``(B, D)``; a
        ``"stream"`` front end also takes the windows with their context,
        ``(B, left + window_samples + right)`` (:attr:`context_samples`)."""
        return self.embed_logmel(self.frontend(windows))

    def for_inference(self) -> InferenceEmbedder:
        """A frozen copy for fast CPU inference (:class:`~edgesea.models.inference.
        InferenceEmbedder`): each conv's BatchNorm folded into its weights, the trunk run as
        oneDNN convolutions with prepacked weights and fused ReLU (about 3x faster than eager
        on CPU); equal to :meth:`forward` in eval mode up to float rounding (~1e-6 relative).
        The model itself is not changed."""
        return InferenceEmbedder(self)


#: Student sample rates: 8 kHz (the paper) and 16 kHz (64 mel bands up to 8 kHz).
STUDENT_RATES = (8000, 16000)
#: How a student's front end treats level: ``"window"`` (kapre: each window's maximum set to
#: 0 dB, floor -80 dB below it; blind to the signal level) or ``"absolute"`` (a fixed
#: reference of 1.0 = 0 dB, floor 1e-10 = -100 dB: the input keeps the level, as the aisfx
#: teacher's ``log10(1e4 x + 1)`` front end does).
LEVELS = ("window", "absolute")


def student_frontend(sample_rate: int = 8000, level: str = "window",
                     stream: bool = False) -> LogMelSpectrogram:
    """The log-mel front end of a SEA student: 64 x 50 for a 1 s window at either rate.

    8 kHz: kapre's n_fft 1024, hop 160 (the paper). 16 kHz: n_fft 1024, hop 320, 64 mel
    bands over 0-8 kHz: the same 64 x 50 input, so the network's cost is unchanged. ``level``:
    see :data:`LEVELS`. ``stream``: padding ``"stream"`` for a 1 s window (the frames of
    'same' padding, with the samples around the window taken from the signal: 432 + 432 at
    8 kHz, 352 + 352 at 16 kHz), so overlapping windows share their frames; False keeps
    kapre's zero padding.
    """
    if not isinstance(stream, bool):
        raise EdgeSEAError(f"invalid stream={stream!r}: expected True or False")
    if isinstance(sample_rate, bool) or sample_rate not in STUDENT_RATES:
        raise EdgeSEAError(f"invalid student sample_rate={sample_rate!r}: expected one of "
                           f"{list(STUDENT_RATES)}")
    if level not in LEVELS:
        raise EdgeSEAError(f"invalid level={level!r}: expected one of {list(LEVELS)}")
    fe = kapre_preset(int(sample_rate), 1024, int(sample_rate) // 50, 64)
    if level == "absolute":
        fe = LogMelSpectrogram.from_config({**fe.config(), "ref": 1.0, "top_db": None})
    if stream:
        fe = LogMelSpectrogram.from_config({**fe.config(), "padding": "stream",
                                            "window_samples": int(sample_rate)})
    return fe


def sea_student(emb_dim: int = 128, head: str = "paper", sample_rate: int = 8000,
                filters: tuple[int, ...] | None = None, level: str = "window",
                stream: bool = False) -> EmbeddingModel:
    """The SEA student of the paper (edgel3 ``sea`` models), randomly initialised.

    Input 1 s at 8 kHz (or 16 kHz), log-mel (64 bands, 50 frames; :func:`student_frontend`),
    BN, four blocks of two 3x3 convs with the filters of :data:`SEA_FILTERS`, 2x2 max pool
    after blocks 1-3. ``filters`` overrides the per-block widths; ``level`` is the front
    end's level rule (:data:`LEVELS`); ``stream`` its padding (:func:`student_frontend`).
    """
    if filters is None:
        if emb_dim not in SEA_FILTERS:
            raise EdgeSEAError(f"invalid emb_dim={emb_dim!r} for the paper's student: expected "
                               f"one of {sorted(SEA_FILTERS)} (or pass filters=...)")
        filters = SEA_FILTERS[emb_dim]
    if head == "paper" and filters[-1] != emb_dim:
        raise EdgeSEAError("head 'paper' needs the last block's width to equal emb_dim")
    cfg = ModelConfig(
        family="sea", emb_dim=int(emb_dim), sample_rate=int(sample_rate), window=1.0,
        frontend=student_frontend(sample_rate, level, stream).config(),
        blocks=[[int(f), int(f)] for f in filters],
        pool_after=[True] * (len(filters) - 1) + [False], head=head)
    return EmbeddingModel(cfg)


#: Block widths of :func:`sea_mcu_student` (the first conv is the strided stem).
MCU_BLOCKS: list[list[int]] = [[24, 32], [64], [192, 256]]


def sea_mcu_student(emb_dim: int = 128, sample_rate: int = 8000,
                    blocks: list[list[int]] | None = None, level: str = "window", *,
                    family: str = "sea-mcu", stream: bool = False) -> EmbeddingModel:
    """A SEA student designed for microcontrollers (linear head), randomly initialised.

    Same front end as :func:`sea_student` (1 s at 8 or 16 kHz, 64 x 50 log-mel,
    :func:`student_frontend` with ``level``). A strided 3x3
    stem (1 -> 24 channels at 32 x 25) replaces the paper's two full-resolution 32-channel
    convs, whose two 64 x 50 x 32 activations set the paper student's RAM; every later conv
    is depthwise-separable; 2x2 max pools after blocks 1 and 2; global max pool; a linear
    projection to ``emb_dim``. Widths :data:`MCU_BLOCKS` (``blocks`` overrides them);
    ``family`` names the family in the saved configuration; ``stream``: the front end's
    padding (:func:`student_frontend`).
    """
    blocks = [list(map(int, b)) for b in (blocks or MCU_BLOCKS)]
    cfg = ModelConfig(
        family=str(family), emb_dim=int(emb_dim), sample_rate=int(sample_rate), window=1.0,
        frontend=student_frontend(sample_rate, level, stream).config(), blocks=blocks,
        pool_after=[True] * (len(blocks) - 1) + [False], head="linear", stem_stride=2,
        separable=True)
    return EmbeddingModel(cfg)


#: Block widths of :func:`sea_mcu1m_student` (chosen by measuring int8 exports; see its
#: docstring).
MCU1M_BLOCKS: list[list[int]] = [[48, 96], [192, 192], [384, 384, 512]]


def sea_mcu1m_student(emb_dim: int = 128, sample_rate: int = 8000,
                      blocks: list[list[int]] | None = None, level: str = "window",
                      stream: bool = False) -> EmbeddingModel:
    """The ``mcu-1m`` student: :func:`sea_mcu_student` widened for the ``mcu-1m`` tier
    (:data:`edgesea.packaged.tiers.TIERS`: 256 KB TFLM arena, 1 MB flash), randomly initialised.

    Same family style (strided 3x3 stem, depthwise-separable convs, 2x2 max pools after
    every block but the last, global max pool, linear head), widths :data:`MCU1M_BLOCKS`
    (``blocks`` overrides them), family ``"sea-mcu-1m"``: a 48-channel stem, six separable
    convs up to 512 channels. Measured int8 (TFLM): 146 KB arena and 663 KB flash at 128-d,
    150 KB and 871 KB at 512-d (>= 15 % under the tier at every emb_dim); 36 M MACs per
    window (8x the mcu student's); a training step costs about 3.5x the mcu student's.
    ``stream``: the streamable front end (see :func:`student_frontend`).
    """
    return sea_mcu_student(emb_dim, sample_rate=sample_rate, blocks=blocks or MCU1M_BLOCKS,
                           level=level, family="sea-mcu-1m", stream=stream)


def l3net(n_mels: int = 256, frontend: str = "openl3-0.4") -> EmbeddingModel:
    """The L3-Net / OpenL3 audio network (48 kHz, n_fft 2048, hop 242, mel bands 128 or 256,
    blocks 64-128-256-512, global max pool -> 512-d), randomly initialised. As in OpenL3, the
    last conv (``audio_embedding_layer``) has no BN/ReLU after it.

    ``frontend``: ``"openl3-0.4"`` (:func:`~edgesea.frontend.presets.openl3_v04_preset`, what openl3
    0.4 computes today) or ``"kapre-0.1.4"`` (:func:`~edgesea.frontend.presets.kapre_preset`, the
    layer of openl3 < 0.4 that the published weights were trained with).
    """
    if n_mels not in (128, 256):
        raise EdgeSEAError(f"invalid n_mels={n_mels!r} for L3-Net: expected 128 or 256")
    presets = {"openl3-0.4": openl3_v04_preset, "kapre-0.1.4": kapre_preset}
    if frontend not in presets:
        raise EdgeSEAError(f"unknown L3-Net frontend {frontend!r}: expected {sorted(presets)}")
    cfg = ModelConfig(
        family="l3net", emb_dim=512, sample_rate=48000, window=1.0,
        frontend=presets[frontend](n_mels=n_mels, sample_rate=48000, n_fft=2048,
                                   hop_length=242).config(),
        blocks=[[64, 64], [128, 128], [256, 256], [512, 512]],
        pool_after=[True, True, True, False], head="paper", final_bn_relu=False)
    return EmbeddingModel(cfg)
