"""``edgesea.core.threads``: the one reader of ``OMP_NUM_THREADS`` behind the int8 runtime,
the NumPy front end's FFT pool and ONNX Runtime's sessions."""

from __future__ import annotations

import os
import sys

import pytest

from edgesea.core.threads import cpu_threads, env_threads
from edgesea.inference.int8 import default_threads
from edgesea.light import frontend, onnx_models


@pytest.mark.parametrize("value, want", [("3", 3), (" 2 ", 2), ("1", 1), ("0", None),
                                         ("", None), ("-2", None), ("four", None),
                                         ("1.5", None)])
def test_env_threads(monkeypatch, value: str, want: int | None) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", value)
    assert env_threads() == want
    assert cpu_threads() == (want or max(1, os.cpu_count() or 1))


def test_unset_means_the_runtime_default(monkeypatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert env_threads() is None
    assert cpu_threads() == max(1, os.cpu_count() or 1)
    assert frontend._threads() == cpu_threads()
    assert onnx_models._threads() == 0  # ONNX Runtime's own default: one per core


def test_every_runtime_follows_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert frontend._threads() == 3 and onnx_models._threads() == 3
    monkeypatch.setitem(sys.modules, "torch", None)  # torch not imported
    assert default_threads() == 3
