"""Parameter checks shared by every stage, with errors that say what was wrong and what is
accepted: sample rates, hop sizes and flags, and declarative rules (:func:`validate_params`
with :class:`OneOf`, :class:`Integer`, :class:`Real`, :class:`Boolean`, in the spirit of
scikit-learn's ``validate_params``)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from edgesea.errors import ParameterError

__all__ = [
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "Boolean",
    "Constraint",
    "Integer",
    "OneOf",
    "Real",
    "check_flag",
    "check_hop_size",
    "check_int",
    "check_sample_rate",
    "validate_params",
]

#: The sample rates accepted anywhere (Hz).
MIN_SAMPLE_RATE = 100.0
MAX_SAMPLE_RATE = 1_536_000.0


def check_sample_rate(sr: object, name: str = "sr") -> float:
    """Return ``sr`` as a float after checking it is a finite positive number.

    Raises
    ------
    EdgeSEAError
        If ``sr`` is not a real number (booleans and strings included) or is not > 0.
    """
    if isinstance(sr, bool | np.bool_) or not isinstance(sr, numbers.Real):
        raise ParameterError(
            f"invalid sample rate {name}={sr!r} ({type(sr).__name__}): expected a positive "
            "number of samples per second, e.g. 16000 or 44100.0")
    value = float(sr)
    if not math.isfinite(value) or value <= 0:
        raise ParameterError(
            f"invalid sample rate {name}={sr!r}: expected a finite number > 0, e.g. 16000")
    if not MIN_SAMPLE_RATE <= value <= MAX_SAMPLE_RATE:
        raise ParameterError(
            f"invalid sample rate {name}={sr!r}: expected {MIN_SAMPLE_RATE:g} to "
            f"{MAX_SAMPLE_RATE:g} samples per second (audio rates), e.g. 16000")
    return value


def check_hop_size(hop_size: object) -> float:
    """Return ``hop_size`` (seconds) as a float after checking it is finite and > 0."""
    if isinstance(hop_size, bool | np.bool_) or not isinstance(hop_size, numbers.Real):
        raise ParameterError(
            f"invalid hop_size={hop_size!r}: expected a positive number of seconds, e.g. 0.1")
    value = float(hop_size)
    if not math.isfinite(value) or value <= 0:
        raise ParameterError(
            f"invalid hop_size={hop_size!r}: expected a finite number of seconds > 0, e.g. 0.1")
    return value


def check_flag(value: object, name: str) -> bool:
    """Return ``value`` as a bool after checking it is one: True/False or the integers 0/1.

    edgel3 takes ``center`` and ``verbose`` as ``True``/``False`` or ``0``/``1``; anything
    else (``-1``, ``2``, ``0.5``, ``"x"``, None, arrays) is refused rather than read as
    truthy.

    Raises
    ------
    EdgeSEAError
        If ``value`` is not a bool (Python or NumPy) or an integer equal to 0 or 1.
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer) and value in (0, 1):
        return bool(value)
    raise ParameterError(f"invalid {name}={value!r}: expected True or False (or 0 or 1)")


class Constraint:
    """What a parameter accepts: :meth:`accepts` a value, :meth:`expected` says what."""

    def accepts(self, value: object) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def expected(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


class OneOf(Constraint):
    """One of a fixed set of values (``==``; a bool is not an int here)."""

    def __init__(self, *choices: object) -> None:
        self.choices = choices

    def accepts(self, value: object) -> bool:
        return any(value == c and isinstance(value, bool) == isinstance(c, bool)
                   for c in self.choices)

    def expected(self) -> str:
        return f"one of {list(self.choices)}"


class Integer(Constraint):
    """An integer (Python or NumPy; not a bool) in ``[low, high]`` (either bound optional)."""

    def __init__(self, low: int | None = None, high: int | None = None) -> None:
        self.low, self.high = low, high

    def accepts(self, value: object) -> bool:
        return (isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)
                and (self.low is None or value >= self.low)
                and (self.high is None or value <= self.high))

    def expected(self) -> str:
        if self.high is None:
            return "an integer" + (f" >= {self.low}" if self.low is not None else "")
        return f"an integer in [{self.low}, {self.high}]"


class Real(Constraint):
    """A real number (not a bool) in ``[low, high]``, or ``(low, high)`` when ``open``."""

    def __init__(self, low: float, high: float, open: bool = False) -> None:
        self.low, self.high, self.open = low, high, open

    def accepts(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        v = float(value)
        return self.low < v < self.high if self.open else self.low <= v <= self.high

    def expected(self) -> str:
        if self.open:
            return f"{self.low:g} < value < {self.high:g}"
        return f"a number in [{self.low:g}, {self.high:g}]"


class Boolean(Constraint):
    """True or False (not 0 or 1)."""

    def accepts(self, value: object) -> bool:
        return isinstance(value, bool)

    def expected(self) -> str:
        return "True or False"


def validate_params(values: dict[str, object], rules: dict[str, Constraint]) -> None:
    """Check each of ``values`` against its rule, as scikit-learn's ``validate_params``.

    Raises
    ------
    ParameterError
        For the first value its rule refuses: ``invalid NAME=VALUE: expected ...``.

    Examples
    --------
    >>> validate_params({"seed": 3}, {"seed": Integer(0)})
    """
    for name, rule in rules.items():
        value = values[name]
        if not rule.accepts(value):
            raise ParameterError(f"invalid {name}={value!r}: expected {rule.expected()}")


def check_int(value: object, name: str, low: int = 1) -> int:
    """``value`` as an ``int`` when it is an integer >= ``low``.

    Raises
    ------
    ParameterError
        ``invalid NAME=VALUE: expected an integer >= LOW``.
    """
    validate_params({name: value}, {name: Integer(low)})
    return int(value)  # type: ignore[arg-type]
