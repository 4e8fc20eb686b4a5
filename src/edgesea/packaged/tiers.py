"""Device capacity tiers: the flash and RAM budgets an int8 model must fit on a Cortex-M.

A :class:`Tier` is a budget for the two numbers ``edgesea footprint`` measures: the model's
bytes (flash; the TFLM runtime code and the application are extra) and the TensorFlow Lite
Micro tensor arena (RAM; the audio buffers and the front end are extra). :data:`TIERS`
holds the tiers edgesea designs students for: ``mcu`` (the shipped students) and ``mcu-1m``
(the SEA paper's target device). :func:`check_budget` says which budgets a model exceeds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from edgesea.errors import EdgeSEAError

__all__ = ["TIERS", "Tier", "check_budget", "fits", "get_tier", "tier_report"]


@dataclass(frozen=True)
class Tier:
    """A device budget for an int8 model.

    Attributes
    ----------
    name : str
        The tier's name (a key of :data:`TIERS`).
    arena_bytes : int
        Largest TFLM tensor arena (RAM) the model may need.
    flash_bytes : int
        Largest model size (flash) in bytes.
    description : str
        The device class the budget stands for.
    """

    name: str
    arena_bytes: int
    flash_bytes: int
    description: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return asdict(self)


#: The tiers, by name.
TIERS: dict[str, Tier] = {
    "mcu": Tier("mcu", 64 * 1024, 300 * 1024,
                "a small Cortex-M (e.g. M4 with 256 KB RAM and 512 KB flash) that also runs "
                "an application: 64 KB of arena, 300 KB of model"),
    "mcu-1m": Tier("mcu-1m", 256 * 1024, 1024 * 1024,
                   "a Cortex-M4/M7 with 1 MB RAM and 2 MB flash (the SEA paper's target "
                   "device)"),
}


def get_tier(name: str | Tier) -> Tier:
    """Look up a tier by name.

    Parameters
    ----------
    name : str or Tier
        A key of :data:`TIERS` (a :class:`Tier` is returned as it is).

    Returns
    -------
    Tier
        The tier.

    Raises
    ------
    EdgeSEAError
        For an unknown name; the message lists the valid names.
    """
    if isinstance(name, Tier):
        return name
    if not isinstance(name, str) or name not in TIERS:
        raise EdgeSEAError(f"unknown tier {name!r}: expected one of {', '.join(TIERS)}")
    return TIERS[name]


def _kb(n: int) -> str:
    return f"{n / 1024:,.1f} KB"


def check_budget(flash_bytes: int, arena_bytes: int, tier: str | Tier) -> list[str]:
    """Which of a tier's budgets a model exceeds.

    Parameters
    ----------
    flash_bytes : int
        The model's size in bytes (``TFLiteFootprint.flash_bytes``).
    arena_bytes : int
        The TFLM arena it needs (``TFLiteFootprint.arena_bytes``).
    tier : str or Tier
        The tier (a name of :data:`TIERS` or a :class:`Tier`).

    Returns
    -------
    list of str
        One message per exceeded budget (flash, then arena), e.g. ``"flash 1,100,000 bytes
        (1,074.2 KB) > 1,048,576 bytes (1,024.0 KB) of tier mcu-1m"``; empty if the model
        fits.

    Raises
    ------
    EdgeSEAError
        For an unknown tier.
    """
    t = get_tier(tier)
    over = []
    for what, used, budget in (("flash", int(flash_bytes), t.flash_bytes),
                               ("arena", int(arena_bytes), t.arena_bytes)):
        if used > budget:
            over.append(f"{what} {used:,} bytes ({_kb(used)}) > {budget:,} bytes "
                        f"({_kb(budget)}) of tier {t.name}")
    return over


def fits(flash_bytes: int, arena_bytes: int, tier: str | Tier) -> bool:
    """Whether a model fits a tier (:func:`check_budget` is empty).

    Parameters
    ----------
    flash_bytes, arena_bytes : int
        As for :func:`check_budget`.
    tier : str or Tier
        The tier.

    Returns
    -------
    bool
        True when neither budget is exceeded.
    """
    return not check_budget(flash_bytes, arena_bytes, tier)


def tier_report(flash_bytes: int, arena_bytes: int, tier: str | Tier | None = None
                ) -> dict[str, dict[str, Any]]:
    """The budget check against one tier or every tier, as JSON-ready data.

    Parameters
    ----------
    flash_bytes, arena_bytes : int
        As for :func:`check_budget`.
    tier : str or Tier, optional
        Check this tier only (default: every tier of :data:`TIERS`).

    Returns
    -------
    dict
        ``{name: {"fits": bool, "over": [message, ...], "flash_bytes": budget,
        "arena_bytes": budget}}``.
    """
    tiers = [get_tier(tier)] if tier is not None else list(TIERS.values())
    out = {}
    for t in tiers:
        over = check_budget(flash_bytes, arena_bytes, t)
        out[t.name] = {"fits": not over, "over": over, "flash_bytes": t.flash_bytes,
                       "arena_bytes": t.arena_bytes}
    return out
