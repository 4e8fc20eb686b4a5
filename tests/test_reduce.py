"""Tests for edgesea.reduce: PCA / identity / UMAP reducers and their safe serialisation."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from edgesea.errors import EdgeSEAError
from edgesea.models import load_model, save_model, sea_student
from edgesea.reduce import (
    IdentityReducer,
    PCAReducer,
    UMAPReducer,
    make_reducer,
    reducer_from_arrays,
)


@pytest.fixture()
def data() -> np.ndarray:
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(200, 8))
    mix = rng.normal(size=(8, 32))
    return latent @ mix * rng.uniform(0.5, 5, size=32) + rng.normal(size=32) * 3 \
        + 0.1 * rng.normal(size=(200, 32))


def _align(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Flip the columns of ``a`` to the signs of ``b``."""
    return a * np.sign(np.sum(a * b, axis=0))


@pytest.mark.parametrize("whiten", [False, True])
def test_pca_matches_sklearn(data, whiten):
    red = PCAReducer(6, whiten=whiten, random_state=0).fit(data)
    ref = PCA(6, whiten=whiten, svd_solver="full").fit(StandardScaler().fit_transform(data))
    out = red.transform(data)
    expected = ref.transform(StandardScaler().fit(data).transform(data))
    assert out.shape == (200, 6)
    np.testing.assert_allclose(_align(out, expected), expected, atol=1e-8)
    np.testing.assert_allclose(red.explained_variance_ratio_, ref.explained_variance_ratio_,
                               rtol=1e-10)
    assert red.explained_variance_total_ <= 1.0 + 1e-12
    assert red.explained_variance_total_ == pytest.approx(ref.explained_variance_ratio_.sum())


def test_pca_round_trip_arrays(data):
    red = make_reducer("pca", 5, random_state=1).fit(data)
    arrays, settings = red.to_arrays()
    assert all(isinstance(v, np.ndarray) for v in arrays.values())
    settings = json.loads(json.dumps(settings))
    back = reducer_from_arrays(arrays, settings)
    assert isinstance(back, PCAReducer)
    np.testing.assert_array_equal(back.transform(data), red.transform(data))
    assert back.explained_variance_total_ == red.explained_variance_total_


def test_identity_standardises_and_round_trips(data):
    red = make_reducer("identity")
    out = red.fit_transform(data)
    assert out.shape == data.shape and red.n_components == 32
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=1e-10)
    back = reducer_from_arrays(*red.to_arrays())
    assert isinstance(back, IdentityReducer)
    np.testing.assert_array_equal(back.transform(data[:7]), red.transform(data[:7]))


def test_constant_feature_does_not_divide_by_zero(data):
    data = data.copy()
    data[:, 3] = 4.2
    out = IdentityReducer().fit_transform(data)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[:, 3], 0, atol=1e-12)


def test_pca_deterministic_for_seed(data, monkeypatch):
    import edgesea.reduce as reduce_mod

    monkeypatch.setattr(reduce_mod, "_FULL_SVD_MAX", 0)  # force randomized SVD
    a = PCAReducer(4, random_state=7).fit_transform(data)
    b = PCAReducer(4, random_state=7).fit_transform(data)
    np.testing.assert_array_equal(a, b)


def test_saved_in_model_file(tmp_path, data):
    red = PCAReducer(16, random_state=0).fit(data)
    arrays, settings = red.to_arrays()
    torch.manual_seed(0)
    model = sea_student(64)
    model.metadata = {**model.metadata, "reducer": settings}
    path = save_model(model, tmp_path / "student.safetensors", extras=arrays)
    loaded = load_model(path)
    back = reducer_from_arrays(loaded.extras, loaded.metadata["reducer"])
    np.testing.assert_array_equal(back.transform(data), red.transform(data))


@pytest.mark.parametrize("n", [0, -1, 33, 2.5, True])
def test_bad_n_components(data, n):
    with pytest.raises(EdgeSEAError):
        PCAReducer(n).fit(data)


def test_too_few_samples():
    with pytest.raises(EdgeSEAError, match="too large"):
        PCAReducer(5).fit(np.random.default_rng(0).normal(size=(4, 10)))


def test_errors(data):
    bad = data.copy()
    bad[0, 0] = np.nan
    with pytest.raises(EdgeSEAError, match="NaN"):
        PCAReducer(2).fit(bad)
    with pytest.raises(EdgeSEAError, match="not fitted"):
        PCAReducer(2).transform(data)
    with pytest.raises(EdgeSEAError, match="not fitted"):
        IdentityReducer().to_arrays()
    red = PCAReducer(2).fit(data)
    with pytest.raises(EdgeSEAError, match="features"):
        red.transform(data[:, :10])
    with pytest.raises(EdgeSEAError, match="NaN"):
        red.transform(bad)
    with pytest.raises(EdgeSEAError, match="2-D"):
        red.transform(data[0])
    with pytest.raises(EdgeSEAError, match="unknown reducer"):
        make_reducer("tsne", 2)
    with pytest.raises(EdgeSEAError):
        IdentityReducer(5).fit(data)
    with pytest.raises(EdgeSEAError):
        reducer_from_arrays({}, {"name": "pca", "n_components": 2})
    with pytest.raises(EdgeSEAError):
        reducer_from_arrays({}, {"name": "umap"})


def test_umap_missing_gives_clear_error(data, monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)  # makes `import umap` raise ImportError
    red = make_reducer("umap", 2, n_neighbors=5, random_state=0)
    with pytest.raises(EdgeSEAError, match=r"pip install edgesea\[umap\]"):
        red.fit(data)


def test_umap_cannot_be_saved_as_arrays():
    with pytest.raises(EdgeSEAError, match="plain arrays"):
        UMAPReducer(2).to_arrays()


@pytest.mark.parametrize("d", [1, 8, 64, 12, 100])
def test_spread_rotation_is_orthogonal_and_spreads(d):
    from edgesea.reduce import spread_rotation

    r = spread_rotation(d)
    np.testing.assert_allclose(r @ r.T, np.eye(d), atol=1e-12)
    if d & (d - 1) == 0:  # Hadamard: every entry +-1/sqrt(d)
        np.testing.assert_allclose(np.abs(r), 1 / np.sqrt(d))
    # uncorrelated components of very unequal variance: each rotated coordinate carries a
    # share of every component, none is left with only the weakest
    lam = 2.0 ** -np.arange(d)
    var = (r ** 2) @ lam
    assert var.min() >= lam.sum() / d / 4 if d > 1 else var[0] == 1
    with pytest.raises(EdgeSEAError, match="positive"):
        spread_rotation(0)


def test_rotated_pca_keeps_information_and_round_trips(data):
    plain = PCAReducer(8).fit(data)
    rot = PCAReducer(8, rotate=True).fit(data)
    a, b = plain.transform(data), rot.transform(data)
    # the same components turned: same total variance, same Gram matrix, different axes
    np.testing.assert_allclose(a @ a.T, b @ b.T, rtol=1e-9, atol=1e-8)
    assert b.var(0).max() / b.var(0).min() < a.var(0).max() / a.var(0).min() / 2
    arrays, settings = rot.to_arrays()
    assert settings["rotate"] is True
    back = reducer_from_arrays(arrays, json.loads(json.dumps(settings)))
    np.testing.assert_array_equal(back.transform(data), b)
    # a file written before the option existed rebuilds unrotated
    old = {k: v for k, v in plain.to_arrays()[1].items() if k != "rotate"}
    np.testing.assert_array_equal(reducer_from_arrays(plain.to_arrays()[0], old)
                                  .transform(data), a)
    with pytest.raises(EdgeSEAError, match="rotate"):
        PCAReducer(8, rotate="yes")
    assert make_reducer("pca", 4, rotate=True).rotate
