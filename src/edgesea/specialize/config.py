"""Settings of ``edgesea specialize`` (:class:`SpecializeConfig`), validated on creation."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from edgesea.augment.transforms import AugmentConfig
from edgesea.core.checks import Boolean, Integer, OneOf, Real, validate_params
from edgesea.core.settings import Settings
from edgesea.distill.train import TrainConfig
from edgesea.errors import EdgeSEAError
from edgesea.models.network import (
    HEADS,
    LEVELS,
    SEA_FILTERS,
    STUDENT_RATES,
    sea_mcu1m_student,
    sea_mcu_student,
    sea_student,
)
from edgesea.reduce import REDUCERS
from edgesea.teachers.views import VIEWS

__all__ = ["SAMPLING", "SpecializeConfig"]

SAMPLING = ("random", "relevance", "diversity", "diversity+relevance")


@dataclass
class SpecializeConfig(Settings):
    """Settings of :func:`specialize` (JSON-able; saved as ``RUN_DIR/config.json``).

    The defaults are the recipe of the shipped ``sea_urban_128`` student
    (``edgesea/pretrained/sea_urban_128.recipe.json``): the microcontroller student
    (``arch="mcu"``, linear head, tier ``mcu``) at 16 kHz with the ``window`` level, the
    ``norm`` view and a stream front end, 5 teacher-labelled augmented windows per training
    window, and :class:`~edgesea.distill.train.TrainConfig`'s defaults (40 epochs, lr 1e-3, cosine
    decay, no early stopping). Runs made before these defaults used ``arch="sea"``,
    ``augment_factor=0`` and the paper's training settings (``epochs=100``, ``lr=1e-4``,
    ``schedule="plateau"``, ``patience=10``).

    Attributes
    ----------
    teacher : str
        ``"aisfx"``, ``"openl3:PATH"`` or ``"model:PATH"`` (see ``resolve_teacher``).
    hop_size : float
        Seconds between upstream windows.
    emb_dim : int
        Student output dimension (= reducer components).
    sampling : str
        ``random``, ``relevance``, ``diversity`` or ``diversity+relevance``.
    sample_size : str
        Windows in the sample: an integer (``"5000"``) or a percentage of the training
        recordings' windows (``"50%"``).
    train_on : {"sample", "all"}
        ``"sample"`` (the paper): the student trains on the sample; ``"all"``: on every
        window of the training recordings (the reducer is fitted on the sample either way).
    reduction : str
        ``pca``, ``umap`` or ``identity``; ``reduction_options`` go to its constructor.
        PCA targets are rotated (``{"rotate": true}``, :class:`edgesea.reduce.PCAReducer`)
        unless ``reduction_options`` says ``"rotate": false``: in the PCA basis a classifier
        that standardises each coordinate amplifies the weak, unfitted trailing components
        (docs/results.md, the zoo diagnosis); the default is written into the config.
    arch : str
        ``"sea"`` (the paper's filters for ``emb_dim``), ``"sea:32,64,128,128"``,
        ``"mcu"`` (:func:`~edgesea.models.sea_mcu_student`: strided stem, separable convs;
        a 57 KB TFLM arena and 141 KB of flash at 128-d, int8; tier ``mcu``) or
        ``"mcu-1m"`` (:func:`~edgesea.models.sea_mcu1m_student`: the same family, wider
        and deeper for tier ``mcu-1m``: a 146 KB arena and 663 KB of flash at 128-d,
        871 KB at 512-d). Both have a linear head only. Default ``"mcu"``; the paper's
        ``"sea"`` student needs about 633 KB of flash and a 216 KB arena at 128-d (int8),
        over tier ``mcu``'s budget.
    head : {"linear", "paper"}
        Student head (see :data:`edgesea.models.HEADS`).
    sample_rate : {8000, 16000}
        The student's rate: 8 kHz (the paper, hears 0-4 kHz) or 16 kHz (64 mel bands up to
        8 kHz; the same 64 x 50 input and cost; the default).
    level : {"window", "absolute"}
        The student front end's level rule (:data:`edgesea.models.LEVELS`): ``"window"``
        (kapre's per-window maximum at 0 dB: level-blind) or ``"absolute"`` (a fixed 0 dB
        reference: sees the level, as the teacher does).
    view : {"full", "band", "norm"}
        What the teacher labels (:mod:`edgesea.teachers.views`): the audio as it is, the audio
        through the student's band, or that band with each window level-normalised. Upstream
        and augmented windows are labelled through the same view. Default ``"norm"`` with a
        ``"window"``-level 16 kHz student: the best arm of the view ablation on the fold
        1<->2 cross-check (``docs/results.md``, Table G).
    stream : bool
        A streamable front end (padding ``"stream"``): a window's frames are computed on the
        continuous signal (its edge frames read the audio around it instead of zeros), so
        overlapping windows share frames (``get_embedding`` computes each frame once; a
        device keeps a ring buffer of frames).
    val_fraction : float
        Fraction of recordings held out for validation (never sampled nor trained on).
    group_by : {"auto", "file", "urbansound8k"}
        What a recording is: ``file``, or UrbanSound8K's Freesound id (``FSID-C-O-S.wav``:
        slices of one recording stay together); ``auto`` picks ``urbansound8k`` when every
        file name matches it.
    seed : int
        Seeds the split, the sample, the reducer, the augmentation, the initial weights and
        the batch order.
    train_seed : int or None
        Seeds only the student (initial weights and batch order) instead of ``seed``: a
        second training seed of one recipe reuses its split, sample, bank and targets and
        costs one distillation. None (the default): ``seed``; written to ``config.json`` only
        when set, so runs made before it stay cached.
    train : dict
        :class:`~edgesea.distill.train.TrainConfig` settings (its ``seed`` is set from
        ``train_seed``, else ``seed``).
    augment_factor : float
        Augmented windows per training window (0: none; default 5, the shipped recipe): a
        run training on ``N`` windows adds ``round(augment_factor * N)`` new crops with
        speed, EQ, gain, backgrounds and event mixtures, made from the training recordings
        only, each labelled by the teacher (see :mod:`edgesea.augment.transforms`).
        ``edgesea augment --augment-factor`` counts per second of source audio instead.
    augment : dict
        :class:`~edgesea.augment.transforms.AugmentConfig` settings.
    exclude_audio : list of str
        Folders whose audio must never be used (e.g. an evaluation test fold): a run whose
        upstream audio lies in one is refused.
    """

    teacher: str = "aisfx"
    hop_size: float = 0.5
    emb_dim: int = 128
    sampling: str = "diversity+relevance"
    sample_size: str = "50%"
    train_on: str = "sample"
    reduction: str = "pca"
    reduction_options: dict[str, Any] = field(default_factory=dict)
    arch: str = "mcu"
    head: str = "linear"
    sample_rate: int = 16000
    level: str = "window"
    view: str = "norm"
    stream: bool = True
    val_fraction: float = 0.1
    group_by: str = "auto"
    seed: int = 0
    train_seed: int | None = None
    train: dict[str, Any] = field(default_factory=dict)
    augment_factor: float = 5.0
    augment: dict[str, Any] = field(default_factory=dict)
    exclude_audio: list[str] = field(default_factory=list)
    _what = "specialize settings"

    def __post_init__(self) -> None:
        self.sample_size = str(self.sample_size).strip()
        if self.sampling not in SAMPLING:
            raise EdgeSEAError(f"unknown sampling {self.sampling!r}: expected one of "
                               f"{list(SAMPLING)}")
        if self.reduction not in REDUCERS:
            raise EdgeSEAError(f"unknown reduction {self.reduction!r}: expected one of "
                               f"{list(REDUCERS)}")
        if isinstance(self.sample_rate, bool) or not isinstance(self.sample_rate, int) \
                or self.sample_rate not in STUDENT_RATES:
            raise EdgeSEAError(f"invalid sample_rate={self.sample_rate!r}: expected one of "
                               f"{list(STUDENT_RATES)}")
        validate_params(vars(self), {
            "head": OneOf(*HEADS), "stream": Boolean(),
            "level": OneOf(*LEVELS), "view": OneOf(*VIEWS), "train_on": OneOf("sample", "all"),
            "group_by": OneOf("auto", "file", "urbansound8k"), "emb_dim": Integer(1),
            "val_fraction": Real(0, 1, open=True), "seed": Integer(0)})
        if not re.fullmatch(r"\d+|\d+(\.\d+)?%", self.sample_size) or float(
                self.sample_size.rstrip("%")) <= 0:
            raise EdgeSEAError(f"invalid sample_size={self.sample_size!r}: expected a number "
                               "of windows (e.g. 5000) or a percentage (e.g. 50%)")
        if self.train_seed is not None:
            validate_params(vars(self), {"train_seed": Integer(0)})
        seed = self.seed if self.train_seed is None else self.train_seed
        self.train = TrainConfig.from_dict({**self.train, "seed": seed}).to_dict()
        self.filters()
        validate_params(vars(self), {"augment_factor": Real(0, 100)})
        self.augment = AugmentConfig.from_dict(self.augment).to_dict()
        self.exclude_audio = [str(p) for p in self.exclude_audio]
        if self.reduction == "identity" and self.reduction_options:
            raise EdgeSEAError("the identity reduction takes no options")
        if self.reduction == "pca" and "rotate" not in self.reduction_options:
            self.reduction_options = {**self.reduction_options, "rotate": True}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able settings; ``train_seed`` only when it is set."""
        d = super().to_dict()
        if d["train_seed"] is None:
            d.pop("train_seed")
        return d

    def build_student(self) -> Any:
        """A freshly initialised student of this architecture (seed torch first)."""

        kw = {"sample_rate": self.sample_rate, "level": self.level, "stream": self.stream}
        if self.arch == "mcu":
            return sea_mcu_student(self.emb_dim, **kw)
        if self.arch == "mcu-1m":
            return sea_mcu1m_student(self.emb_dim, **kw)
        return sea_student(self.emb_dim, head=self.head, filters=self.filters(), **kw)

    def filters(self) -> tuple[int, ...]:
        """Per-block widths of the paper-family student (validated)."""
        if self.arch in ("mcu", "mcu-1m"):
            if self.head != "linear":
                raise EdgeSEAError(f"arch {self.arch!r} has a linear head only: pass "
                                   "head='linear'")
            return ()
        if self.arch == "sea":
            if self.emb_dim in SEA_FILTERS:
                return SEA_FILTERS[self.emb_dim]
            if self.head == "paper":
                raise EdgeSEAError(f"the paper head has no filters for emb_dim={self.emb_dim}: "
                                   f"use one of {sorted(SEA_FILTERS)}, the linear head, or "
                                   "arch 'sea:W1,W2,W3,W4'")
            return SEA_FILTERS[128]
        m = re.fullmatch(r"sea:(\d+(?:,\d+)*)", self.arch)
        if not m:
            raise EdgeSEAError(f"invalid arch {self.arch!r}: expected 'sea', 'mcu', 'mcu-1m' "
                               "or 'sea:W1,W2,...' (conv widths per block)")
        widths = tuple(int(w) for w in m.group(1).split(","))
        if min(widths) < 1 or len(widths) > 5:
            raise EdgeSEAError(f"invalid arch {self.arch!r}: 1 to 5 positive widths")
        if self.head == "paper" and widths[-1] != self.emb_dim:
            raise EdgeSEAError("head 'paper' needs the last width to equal emb_dim")
        return widths
