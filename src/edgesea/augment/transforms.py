"""Audio augmentation of upstream windows, for new teacher-labelled training windows.

Pure transforms on mono float32 arrays (each keeps the length and the sample rate, and is
deterministic for its parameters): :func:`apply_gain`, :func:`equalize` (RBJ peaking or
shelving biquad), :func:`change_speed` (resampling: pitch and tempo together),
:func:`mix_at_snr` (foreground + background at a signal-to-noise ratio). :class:`Augmenter`
draws a recipe for augmented window ``i`` from ``(seed, i)`` alone: a random 1 s crop of a
source file (finer than any hop), an optional speed change, EQ, gain, an added background
from another source file and up to two extra events at random SNRs (a scaper-style
mixture). The recipe (sources, offsets, parameters) is the window's provenance: it is JSON,
and :meth:`Augmenter.render` rebuilds the audio from it at any sample rate.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgesea.audio.io import resample
from edgesea.core.settings import Settings
from edgesea.errors import EdgeSEAError

__all__ = ["AugmentConfig", "Augmenter", "apply_gain", "change_speed", "equalize",
           "mix_at_snr", "power_db"]

_EPS = 1e-12


def power_db(x: np.ndarray) -> float:
    """Mean power of ``x`` in dB (-inf-safe: silence gives -120 dB)."""
    return 10 * math.log10(max(float(np.mean(np.square(x, dtype=np.float64))), _EPS))


def apply_gain(x: np.ndarray, gain_db: float) -> np.ndarray:
    """``x`` scaled by ``gain_db`` decibels."""
    return (x * 10 ** (gain_db / 20)).astype(np.float32)


def _biquad(kind: str, freq: float, gain_db: float, q: float, sr: float) -> np.ndarray:
    """RBJ audio-EQ-cookbook biquad as one second-order section."""
    if not 0 < freq < sr / 2:
        raise EdgeSEAError(f"EQ frequency {freq} Hz must be in (0, {sr / 2}) Hz")
    a = 10 ** (gain_db / 40)
    w = 2 * math.pi * freq / sr
    cw, sw = math.cos(w), math.sin(w)
    alpha = sw / (2 * q)
    if kind == "peak":
        b = [1 + alpha * a, -2 * cw, 1 - alpha * a]
        den = [1 + alpha / a, -2 * cw, 1 - alpha / a]
    elif kind in ("lowshelf", "highshelf"):
        s = 2 * math.sqrt(a) * alpha
        sign = 1 if kind == "lowshelf" else -1
        b = [a * ((a + 1) - sign * (a - 1) * cw + s), sign * 2 * a * ((a - 1) - sign * (a + 1)
                                                                        * cw),
             a * ((a + 1) - sign * (a - 1) * cw - s)]
        den = [(a + 1) + sign * (a - 1) * cw + s, -sign * 2 * ((a - 1) + sign * (a + 1) * cw),
               (a + 1) + sign * (a - 1) * cw - s]
    else:
        raise EdgeSEAError(f"unknown EQ kind {kind!r}: expected peak, lowshelf or highshelf")
    return np.array([b + den]) / den[0]


def equalize(x: np.ndarray, sr: float, kind: str, freq: float, gain_db: float,
             q: float = 0.707) -> np.ndarray:
    """One EQ band (``kind``: ``peak``, ``lowshelf`` or ``highshelf``) at ``freq`` Hz."""
    if freq >= sr / 2:  # a band above Nyquist at this rate leaves the signal as it is
        return np.asarray(x, np.float32).copy()
    from scipy.signal import sosfilt  # here: scipy.signal costs ~1.5 s to import

    return sosfilt(_biquad(kind, freq, gain_db, q, sr), x).astype(np.float32)


def change_speed(x: np.ndarray, sr: float, factor: float, length: int | None = None
                 ) -> np.ndarray:
    """Play ``x`` ``factor`` times faster (pitch up by the same ratio); ``length`` samples
    out (default ``len(x)``; cut or zero-padded at the end)."""
    if not 0.5 <= factor <= 2.0:
        raise EdgeSEAError(f"speed factor {factor} outside [0.5, 2]")
    length = len(x) if length is None else int(length)
    y = resample(np.asarray(x, np.float32), sr * factor, sr)
    out = np.zeros(length, np.float32)
    out[:min(length, len(y))] = y[:length]
    return out


def mix_at_snr(fg: np.ndarray, bg: np.ndarray, snr_db: float) -> np.ndarray:
    """``fg + g * bg`` with ``g`` such that ``power(fg) / power(g * bg)`` is ``snr_db``.

    A silent background adds nothing; a silent foreground returns the background as it is.
    """
    if fg.shape != bg.shape:
        raise EdgeSEAError(f"foreground and background lengths differ: {fg.shape} vs "
                           f"{bg.shape}")
    p_fg, p_bg = power_db(fg), power_db(bg)
    if p_bg <= -119:
        return np.asarray(fg, np.float32).copy()
    if p_fg <= -119:
        return np.asarray(bg, np.float32).copy()
    g = 10 ** ((p_fg - p_bg - snr_db) / 20)
    return (fg + g * bg).astype(np.float32)


@dataclass
class AugmentConfig(Settings):
    """Probabilities and ranges of :class:`Augmenter` recipes (JSON-able)."""

    gain_db: tuple[float, float] = (-12.0, 6.0)
    eq_prob: float = 0.5
    eq_gain_db: tuple[float, float] = (-9.0, 9.0)
    eq_freq: tuple[float, float] = (100.0, 3500.0)
    speed_prob: float = 0.3
    speed: tuple[float, float] = (0.94, 1.06)
    background_prob: float = 0.5
    background_snr_db: tuple[float, float] = (3.0, 20.0)
    mix_prob: float = 0.3
    mix_snr_db: tuple[float, float] = (-3.0, 10.0)
    max_extra_events: int = 2
    _what = "augment settings"

    def __post_init__(self) -> None:
        for name in ("eq_prob", "speed_prob", "background_prob", "mix_prob"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                raise EdgeSEAError(f"invalid {name}={v!r}: expected a probability in [0, 1]")
        for name in ("gain_db", "eq_gain_db", "eq_freq", "speed", "background_snr_db",
                     "mix_snr_db"):
            lo, hi = getattr(self, name)
            if not lo <= hi:
                raise EdgeSEAError(f"invalid {name}={(lo, hi)!r}: expected (low, high)")
            setattr(self, name, (float(lo), float(hi)))
        if not 0.5 <= self.speed[0] <= self.speed[1] <= 2:
            raise EdgeSEAError(f"invalid speed range {self.speed}: expected within [0.5, 2]")
        if self.max_extra_events < 0:
            raise EdgeSEAError("max_extra_events must be >= 0")


class Augmenter:
    """Recipes and audio of augmented 1 s windows from a list of source files.

    Parameters
    ----------
    durations : sequence of float
        Length in seconds of each source file (recipes index into this list).
    config : AugmentConfig
        Probabilities and ranges.
    seed : int
        Recipe ``i`` depends only on ``(seed, i)``: extending a run never changes earlier
        windows.
    window : float
        Window length in seconds.
    """

    def __init__(self, durations: Sequence[float], config: AugmentConfig | None = None,
                 seed: int = 0, window: float = 1.0) -> None:
        self.durations = np.asarray(durations, dtype=np.float64)
        if self.durations.ndim != 1 or len(self.durations) < 1:
            raise EdgeSEAError("Augmenter needs at least one source file")
        self.config = config or AugmentConfig()
        self.seed, self.window = int(seed), float(window)

    def _crop(self, rng: np.random.Generator, source: int) -> dict[str, Any]:
        span = max(0.0, self.durations[source] - self.window)
        return {"source": int(source), "offset_s": round(float(rng.uniform(0, span)), 5)}

    def recipe(self, i: int, sources: np.ndarray | None = None) -> dict[str, Any]:
        """The JSON recipe of augmented window ``i`` (``sources``: allowed file indices,
        default all)."""
        c = self.config
        rng = np.random.default_rng([self.seed, int(i)])
        pool = np.arange(len(self.durations)) if sources is None else np.asarray(sources)
        r: dict[str, Any] = {"i": int(i), "main": self._crop(rng, rng.choice(pool))}
        if rng.random() < c.speed_prob:
            r["speed"] = round(float(rng.uniform(*c.speed)), 4)
        if rng.random() < c.eq_prob:
            r["eq"] = {"kind": str(rng.choice(["peak", "lowshelf", "highshelf"])),
                       "freq": round(float(np.exp(rng.uniform(*np.log(c.eq_freq)))), 1),
                       "gain_db": round(float(rng.uniform(*c.eq_gain_db)), 2),
                       "q": round(float(rng.uniform(0.5, 2.0)), 3)}
        r["gain_db"] = round(float(rng.uniform(*c.gain_db)), 2)
        events = []
        if c.max_extra_events and rng.random() < c.mix_prob:
            for _ in range(int(rng.integers(1, c.max_extra_events + 1))):
                events.append(self._crop(rng, rng.choice(pool)) | {
                    "snr_db": round(float(rng.uniform(*c.mix_snr_db)), 2)})
        if events:
            r["events"] = events
        if rng.random() < c.background_prob:
            r["background"] = self._crop(rng, rng.choice(pool)) | {
                "snr_db": round(float(rng.uniform(*c.background_snr_db)), 2)}
        return r

    def render(self, recipe: dict[str, Any], load: Callable[[int], np.ndarray],
               sr: int) -> np.ndarray:
        """Audio of ``recipe`` at ``sr``; ``load(k)`` returns source file ``k`` at ``sr``."""
        n = int(round(self.window * sr))

        def crop(part: dict[str, Any], length: int) -> np.ndarray:
            audio = load(part["source"])
            start = int(round(part["offset_s"] * sr))
            out = np.zeros(length, np.float32)
            seg = audio[start:start + length]
            out[:len(seg)] = seg
            return out

        main = recipe["main"]
        speed = recipe.get("speed", 1.0)
        # read enough source for a sped-up window, then bring it back to n samples
        x = crop(main, int(math.ceil(n * speed)) + 1)
        x = change_speed(x, sr, speed, n) if speed != 1.0 else x[:n]
        if "eq" in recipe:
            e = recipe["eq"]
            x = equalize(x, sr, e["kind"], e["freq"], e["gain_db"], e["q"])
        for ev in recipe.get("events", []):
            x = mix_at_snr(x, crop(ev, n), ev["snr_db"])
        if "background" in recipe:
            x = mix_at_snr(x, crop(recipe["background"], n), recipe["background"]["snr_db"])
        x = apply_gain(x, recipe["gain_db"])
        return np.clip(x, -1.0, 1.0).astype(np.float32)

    @staticmethod
    def dumps(recipe: dict[str, Any]) -> str:
        """Compact JSON of a recipe (the provenance column of an augmented store)."""
        return json.dumps(recipe, separators=(",", ":"), sort_keys=True)
