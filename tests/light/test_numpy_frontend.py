"""The NumPy front ends equal the torch ones (the light install's inputs are the same)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgesea.errors import EdgeSEAError
from edgesea.frontend.logmel import LogMelSpectrogram
from edgesea.frontend.presets import kapre_preset, openl3_v04_preset
from edgesea.light.frontend import NumpyAisfxFrontend, NumpyLogMel
from edgesea.models.network import student_frontend
from edgesea.teachers.aisfx_net import AisfxFrontend

FRONT_ENDS = {
    "kapre": kapre_preset(),
    "openl3": openl3_v04_preset(),
    "student16k-stream-absolute": student_frontend(16000, "absolute", True),
    "student8k-stream": student_frontend(8000, "window", True),
    "student16k-same": student_frontend(16000, "window", False),
    "center-hamming-valid": LogMelSpectrogram(8000, 256, 80, 32, window="hamming",
                                              padding="center", ref=1.0, top_db=None),
    "valid-power2-nodb": LogMelSpectrogram(8000, 256, 128, 16, padding="valid", power=2.0,
                                           db=False, window="ones", periodic=False),
}


def _close(a: np.ndarray, b: np.ndarray, db: bool) -> None:
    if db:
        np.testing.assert_allclose(a, b, rtol=0, atol=5e-4)  # dB values
    else:
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6 * float(np.abs(a).max()))


@pytest.mark.parametrize("name", FRONT_ENDS)
def test_windows_equal_the_torch_front_end(name):
    fe = FRONT_ENDS[name]
    nf = NumpyLogMel(fe.config())
    n = fe.window_samples or fe.sample_rate
    x = (0.1 * np.random.default_rng(0).standard_normal((3, n))).astype(np.float32)
    a = fe(torch.from_numpy(x)).numpy()
    b = nf(x)
    assert a.shape == b.shape and b.dtype == np.float32
    _close(a, b, fe.db)
    assert nf.n_frames(n) == fe.n_frames(n) and nf.context(n) == fe.context(n)


@pytest.mark.parametrize("name", FRONT_ENDS)
@pytest.mark.parametrize("hop_div", [10, 2, 1])
def test_window_logmels_equal_the_torch_ones(name, hop_div):
    """Same windows, same blocks (shared frames of a stream front end included)."""
    fe = FRONT_ENDS[name]
    nf = NumpyLogMel(fe.config())
    n = fe.window_samples or fe.sample_rate
    sig = (0.1 * np.random.default_rng(1).standard_normal(fe.sample_rate * 3 + 17)).astype(
        np.float32)
    hop = fe.sample_rate // hop_div
    k = (len(sig) + n // 2) // hop
    a = [t.numpy() for t in fe.window_logmels(sig, k, hop, start=-(n // 2), n_window=n,
                                              block=7)]
    b = list(nf.window_logmels(sig, k, hop, start=-(n // 2), n_window=n, block=7))
    assert [x.shape for x in a] == [x.shape for x in b]
    _close(np.concatenate(a), np.concatenate(b), fe.db)


def test_aisfx_front_end_equals_the_torch_one():
    x = (0.1 * np.random.default_rng(2).standard_normal((2, 44100))).astype(np.float32)
    np.testing.assert_allclose(NumpyAisfxFrontend()(x), AisfxFrontend()(torch.from_numpy(x))
                               .numpy(), rtol=1e-4, atol=1e-6)


def test_bad_configurations_are_refused():
    with pytest.raises(EdgeSEAError, match="padding"):
        NumpyLogMel({**kapre_preset().config(), "padding": "reflect"})
    with pytest.raises(EdgeSEAError, match="keys"):
        NumpyLogMel({**kapre_preset().config(), "bogus": 1})
    with pytest.raises(EdgeSEAError, match="window_samples"):
        NumpyLogMel({**kapre_preset().config(), "padding": "stream"})
    fe = NumpyLogMel(student_frontend(16000, "window", True).config())
    with pytest.raises(EdgeSEAError, match="stream"):
        fe(np.zeros((1, 1234), np.float32))
