"""Declarative parameter checks (:mod:`edgesea.core.checks`) and the exception types that
also inherit the standard ones (:mod:`edgesea.errors`)."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

from edgesea.audio.windows import frame_audio, frame_windows
from edgesea.core.checks import (
    Boolean,
    Integer,
    OneOf,
    Real,
    check_hop_size,
    check_sample_rate,
    validate_params,
)
from edgesea.errors import EdgeSEAError, MissingExtraError, ParameterError
from edgesea.specialize.config import SpecializeConfig


@pytest.mark.parametrize("rule,good,bad", [
    (OneOf("a", "b"), ["a", "b"], ["c", None, 1]),
    (OneOf(8000, 16000), [8000, 16000], [True, 44100, "8000"]),
    (Integer(1), [1, 10**9], [0, -1, True, 1.0, "3"]),
    (Integer(0, 3), [0, 3], [4, -1]),
    (Real(0, 1, open=True), [0.5, 1e-9], [0, 1, True, "0.5", float("nan")]),
    (Real(0, 100), [0, 100, 50.5, 7], [-0.1, 100.1, False]),
    (Boolean(), [True, False], [0, 1, "yes", None]),
])
def test_rules_accept_and_refuse(rule, good, bad) -> None:
    for v in good:
        validate_params({"x": v}, {"x": rule})
    for v in bad:
        with pytest.raises(ParameterError, match=r"invalid x=.*: expected "):
            validate_params({"x": v}, {"x": rule})


def test_parameter_error_is_edgesea_and_value_error() -> None:
    with pytest.raises(ValueError):
        validate_params({"seed": -1}, {"seed": Integer(0)})
    with pytest.raises(EdgeSEAError, match=r"invalid seed=-1: expected an integer >= 0"):
        SpecializeConfig(seed=-1)
    with pytest.raises(ValueError, match="val_fraction"):
        SpecializeConfig(val_fraction=1.0)
    with pytest.raises(ValueError):
        check_sample_rate(-5)
    with pytest.raises(ValueError):
        check_hop_size(0)


def test_missing_extra_is_an_import_error(monkeypatch) -> None:
    from edgesea.reduce import make_reducer

    real = builtins.__import__

    def no_umap(name, *args, **kwargs):
        if name == "umap" or name.startswith("umap."):
            raise ImportError("No module named 'umap'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_umap)
    with pytest.raises(ImportError, match=r"pip install edgesea\[umap\]") as e:
        make_reducer("umap", 2).fit(np.random.default_rng(0).normal(size=(20, 4)))
    assert isinstance(e.value, MissingExtraError) and isinstance(e.value, EdgeSEAError)


@pytest.mark.parametrize("hop,center", [(0.1, True), (0.25, False), (1.5, True)])
def test_one_window_geometry(hop: float, center: bool) -> None:
    """frame_windows (a known count) cuts the same windows as frame_audio."""
    x = np.random.default_rng(1).normal(size=8000 * 3 + 123).astype(np.float32)
    frames, _ = frame_audio(x, 8000, 1.0, hop, center)
    n = len(frames)
    np.testing.assert_array_equal(frame_windows(x, 8000, n, hop, 1.0, center), frames)
    np.testing.assert_array_equal(frame_windows(x, 8000, max(n - 2, 1), hop, 1.0, center),
                                  frames[:max(n - 2, 1)])
