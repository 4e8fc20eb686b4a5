"""Views: what the teacher labels, so that it labels exactly what the student sees.

A student at 8 kHz hears 0-4 kHz; a teacher fed the original file hears everything the file
holds. A student whose front end sets each window's maximum to 0 dB cannot see the level;
the aisfx teacher's front end depends on it. Targets that depend on what the student cannot
see are noise to it (``docs/specialize.md``, "Why the view matters"). A *view* is the
transformation of each teacher window that makes the two agree:

``full``
    The audio as it is (the teacher's information, all of it).
``band``
    Each window resampled to the student's rate and back up to the teacher's (soxr,
    :func:`edgesea.audio.io.resample`), so the teacher hears the student's band. At a
    student rate of 16 kHz and 16 kHz audio this changes nothing but resampler rounding.
``norm``
    ``band``, then each window scaled to an RMS of :data:`NORM_DBFS` dBFS (gain at most
    :data:`MAX_NORM_GAIN_DB`, so near-silent windows are not raised into noise): the targets no
    longer depend on level, like a ``level="window"`` student (drops the level information).

Known limit: after ``band``, the teacher's band above ``student_rate / 2`` holds float32
resampler rounding noise (about -140 dB). The aisfx front end (``log10(1e4 x + 1)``) does
not resolve it, but a teacher with a log front end and a deep floor does, and its targets
then move by ~1% of their scale under a gain change (``tests/teachers/test_views.py``).

:class:`ViewTeacher` wraps any teacher with a view: the same ``embed`` contract, an identity
that includes the view (stores made under another view are never reused), and
:meth:`ViewTeacher.transform` for the audio it actually embeds.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import numpy as np

from edgesea.audio.io import resample
from edgesea.errors import EdgeSEAError

__all__ = ["MAX_NORM_GAIN_DB", "NORM_DBFS", "VIEWS", "ViewTeacher", "apply_view", "band_limit",
           "normalize_level", "parse_view_spec"]

VIEWS = ("full", "band", "norm")
#: RMS level (dBFS, full scale = 1.0) of every window under the ``norm`` view.
NORM_DBFS = -25.0
#: Largest gain the ``norm`` view applies (a window quieter than NORM_DBFS - this stays quiet).
MAX_NORM_GAIN_DB = 40.0


def band_limit(windows: np.ndarray, sr: int, via_sr: int) -> np.ndarray:
    """Each row of ``windows`` (at ``sr``) resampled to ``via_sr`` and back to ``sr``.

    A no-op (a float32 copy) when ``via_sr >= sr``: nothing above ``via_sr / 2`` is there.
    """
    x = np.asarray(windows, dtype=np.float32)
    if x.ndim != 2:
        raise EdgeSEAError(f"band_limit needs windows of shape (B, n), got {x.shape}")
    if via_sr >= sr:
        return x.copy()
    n = x.shape[1]
    out = np.empty_like(x)
    for i, row in enumerate(x):
        back = resample(resample(row, sr, via_sr), via_sr, sr)
        m = min(n, len(back))
        out[i, :m] = back[:m]
        out[i, m:] = 0.0
    return out


def normalize_level(windows: np.ndarray, dbfs: float = NORM_DBFS,
                    max_gain_db: float = MAX_NORM_GAIN_DB) -> np.ndarray:
    """Scale each row to an RMS of ``dbfs`` (gain capped at ``max_gain_db``; silence stays
    silent). A gain change of the input gives the same output unless the cap applies."""
    x = np.asarray(windows, dtype=np.float32)
    rms = np.sqrt(np.mean(np.square(x, dtype=np.float64), axis=-1, keepdims=True))
    target = 10.0 ** (dbfs / 20.0)
    gain = np.minimum(target / np.maximum(rms, 1e-12), 10.0 ** (max_gain_db / 20.0))
    return (x * gain).astype(np.float32)


class ViewTeacher:
    """A teacher that embeds each window through a view (see the module docstring).

    Parameters
    ----------
    teacher : Teacher
        The teacher to wrap (``sample_rate``, ``window``, ``emb_dim``, ``identity``, ``embed``).
    view : {"band", "norm"}
        The view (``"full"`` needs no wrapper: see :func:`apply_view`).
    student_rate : int
        The student's sample rate (sets the band).
    """

    def __init__(self, teacher: Any, view: str, student_rate: int) -> None:
        if view not in ("band", "norm"):
            raise EdgeSEAError(f"invalid view {view!r} for ViewTeacher: expected 'band' or "
                               "'norm' ('full' is the teacher itself)")
        if isinstance(student_rate, bool) or not isinstance(student_rate, int | np.integer) \
                or student_rate < 1000:
            raise EdgeSEAError(f"invalid student_rate={student_rate!r}: expected an integer "
                               "rate in Hz (e.g. 8000 or 16000)")
        self.teacher = teacher
        self.view = view
        self.student_rate = int(student_rate)
        self.name = f"{teacher.name}@{view}:{self.student_rate}"
        self.sample_rate = int(teacher.sample_rate)
        self.window = float(teacher.window)
        self.emb_dim = int(teacher.emb_dim)
        self.context_samples = tuple(getattr(teacher, "context_samples", (0, 0)))
        settings = self.settings()
        self.identity = hashlib.sha256(json.dumps(
            [str(teacher.identity), settings], sort_keys=True).encode()).hexdigest()[:16]

    def settings(self) -> dict[str, Any]:
        """The view as JSON (recorded in run configs and model files)."""
        out: dict[str, Any] = {"view": self.view, "student_rate": self.student_rate}
        if self.view == "norm":
            out |= {"norm_dbfs": NORM_DBFS, "max_gain_db": MAX_NORM_GAIN_DB}
        return out

    def transform(self, windows: np.ndarray) -> np.ndarray:
        """The audio the teacher embeds: ``(B, n)`` windows at its rate, through the view."""
        x = band_limit(windows, self.sample_rate, self.student_rate)
        return normalize_level(x) if self.view == "norm" else x

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """Embed ``(B, window_samples)`` windows through the view -> ``(B, emb_dim)``."""
        return self.teacher.embed(self.transform(windows))

    def __repr__(self) -> str:
        return (f"ViewTeacher({self.teacher!r}, view={self.view!r}, "
                f"student_rate={self.student_rate})")


def apply_view(teacher: Any, view: str, student_rate: int) -> Any:
    """``teacher`` itself for ``view="full"``, else a :class:`ViewTeacher`."""
    if view not in VIEWS:
        raise EdgeSEAError(f"unknown view {view!r}: expected one of {list(VIEWS)}")
    if view == "full":
        return teacher
    return ViewTeacher(teacher, view, student_rate)


def parse_view_spec(spec: str) -> tuple[str, str | None, int | None]:
    """Split ``"TEACHER@VIEW:RATE"`` (e.g. ``"aisfx@band:8000"``) into its parts; a spec
    without ``@`` gives ``(spec, None, None)``."""
    base, at, tail = str(spec).rpartition("@")
    view, _, rate = tail.partition(":")
    if not at or re.search(r"[/\\.]", tail):
        return str(spec), None, None  # no view (a path such as user@host/m.safetensors)
    if view not in VIEWS or (view != "full" and not rate.isdigit()):
        raise EdgeSEAError(f"invalid teacher view {tail!r} in {spec!r}: expected "
                           "TEACHER@band:RATE, TEACHER@norm:RATE or TEACHER@full (RATE: the "
                           "student's sample rate in Hz, e.g. aisfx@band:8000)")
    return base, view, int(rate) if rate else None
