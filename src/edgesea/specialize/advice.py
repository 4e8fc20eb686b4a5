"""What a finished distillation's numbers mean, in plain sentences (``edgesea specialize``
prints them): :func:`training_advice` reads the validation and training R^2 and the
configuration and says whether the student is weak, overfits, or is not sized for a
microcontroller tier, and what to try.
"""

from __future__ import annotations

from typing import Any

from edgesea.errors import EdgeSEAError
from edgesea.specialize.config import SpecializeConfig
from edgesea.zoo.figures import card_figures

__all__ = ["MCU_ARCHS", "OVERFIT_GAP", "WEAK_R2", "training_advice"]


#: Below this validation R^2 a student is called weak by :func:`training_advice` (the shipped
#: students' are in their model cards, :func:`edgesea.zoo.figures.card_figures`).
WEAK_R2 = 0.3
#: A train R^2 this much above the validation R^2 is called overfitting.
OVERFIT_GAP = 0.25
#: Architectures sized for a microcontroller tier (:data:`edgesea.packaged.tiers.TIERS`).
MCU_ARCHS = ("mcu", "mcu-1m")


def _shipped_r2() -> str:
    """The shipped 128-d student's validation R^2 as a percentage, from its model card."""
    try:
        r2 = card_figures("sea_urban_128")["val_r2"]
    except EdgeSEAError:  # a build without the packaged students
        return "see its model card"
    return f"{100 * r2:.0f} %" if r2 is not None else "see its model card"


def training_advice(summary: dict[str, Any], config: SpecializeConfig | None = None
                    ) -> list[str]:
    """What a finished distillation's numbers mean, and what to try, in plain sentences.

    Parameters
    ----------
    summary : dict
        The ``distill`` stage of a run (``SpecializeResult.stages["distill"]``): at least
        ``best_epoch``, ``epochs_run`` and ``val_r2``; ``stopped_early`` and ``train_r2``
        are used when present.
    config : SpecializeConfig, optional
        The run's settings: the epoch limit, the augmentation factor and the architecture
        make the suggestions concrete (without it, they are generic).

    Returns
    -------
    list of str
        One sentence per finding (empty for a healthy run): a validation R^2 below 0
        (worse than predicting the mean target) or below :data:`WEAK_R2`; the best epoch
        being the last one (training stopped at the epoch limit while still improving);
        train R^2 far above validation R^2 (overfitting); then one ``"try: ..."`` line
        (more audio, ``--augment-factor``, ``--epochs``); and a warning when the student's
        architecture is not one of :data:`MCU_ARCHS` (too large for tier ``mcu``).

    Raises
    ------
    EdgeSEAError
        When ``summary`` is not a dict with numeric ``best_epoch``, ``epochs_run`` and
        ``val_r2``.
    """
    need = ("best_epoch", "epochs_run", "val_r2")
    if not isinstance(summary, dict) or any(
            isinstance(summary.get(k), bool) or not isinstance(summary.get(k), int | float)
            for k in need):
        raise EdgeSEAError(f"training_advice needs the distill stage's summary: a dict with "
                           f"numeric {', '.join(need)}, got {summary!r}")
    r2, best, run = float(summary["val_r2"]), int(summary["best_epoch"]), \
        int(summary["epochs_run"])
    train_r2 = summary.get("train_r2")
    out: list[str] = []
    if r2 < 0:
        out.append(f"val R2 {r2:.4f} is below 0: on held-out recordings the student is worse "
                   "than always predicting the mean target embedding; it has not learned "
                   "the teacher's embedding space.")
    elif r2 < WEAK_R2:
        out.append(f"val R2 {r2:.4f} is low: the student explains {100 * r2:.0f} % of the "
                   f"held-out targets' variance (the shipped 128-d student: {_shipped_r2()}).")
    improving = best == run and not summary.get("stopped_early", False)
    if improving:
        out.append(f"the best epoch is the last one ({best} of {run}): training stopped at "
                   "the epoch limit while the validation loss was still improving.")
    overfit = isinstance(train_r2, int | float) and not isinstance(train_r2, bool) \
        and train_r2 - r2 > OVERFIT_GAP
    if overfit:
        out.append(f"train R2 {train_r2:.4f} vs val R2 {r2:.4f}: the student fits its "
                   "training windows far better than held-out recordings (overfitting).")
    if out:
        factor = config.augment_factor if config is not None else None
        limit = int(config.train["epochs"]) if config is not None else run
        tries = ["more in-domain audio (more recordings, not longer ones, helps most)"]
        if factor is None:
            tries.append("--augment-factor 5 (teacher-labelled augmented windows per "
                         "training window)")
        elif factor < 5:
            tries.append(f"--augment-factor 5 (augmented windows per training window; this "
                         f"run used {factor:g})")
        else:
            tries.append(f"a larger --augment-factor than {factor:g} (augmented windows per "
                         "training window)")
        if improving:
            tries.append(f"--epochs {2 * max(limit, run)} (this run's limit: {limit})")
        out.append("try: " + "; ".join(tries) + ".")
    if config is not None and config.arch not in MCU_ARCHS:
        check = ("check an export with `edgesea export MODEL -f tflite-int8 --calibration "
                 "AUDIO --tier mcu`")
        if config.arch == "sea":
            out.append("warning: arch 'sea' is not sized for a microcontroller: the paper's "
                       "128-d student exports to about 633 KB of flash and a 216 KB TFLM "
                       "arena as int8, over tier mcu's 300 KB / 64 KB; train with --arch mcu "
                       f"(the default) or --arch mcu-1m, and {check}.")
        else:
            out.append(f"warning: arch {config.arch!r} is not one of the microcontroller-"
                       f"sized students ({', '.join(MCU_ARCHS)}): {check}.")
    return out
