"""Reducers mapping teacher embeddings to the student's ``emb_dim`` targets.

Each standardises its input (fit-sample mean and std), then projects: :class:`PCAReducer`
(the paper's default), :class:`UMAPReducer` (optional: ``pip install edgesea[umap]``) or
:class:`IdentityReducer`; scikit-learn style ``fit`` / ``transform`` / ``fit_transform``.
PCA and identity reducers serialise with ``to_arrays()`` to numpy arrays (for
``save_model(..., extras=arrays)``) plus JSON-able settings (for the model's metadata), and
:func:`reducer_from_arrays` rebuilds them exactly; a fitted UMAP cannot be stored as arrays.
PCA and identity reducers also fit out of core (:meth:`PCAReducer.fit_streaming`: two passes
over row blocks, a ``D x D`` scatter matrix, its eigendecomposition), for samples larger than
memory.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from edgesea.errors import EdgeSEAError, MissingExtraError

__all__ = ["REDUCERS", "IdentityReducer", "PCAReducer", "UMAPReducer", "make_reducer",
           "reducer_from_arrays", "spread_rotation"]

REDUCERS = ("pca", "umap", "identity")
_PREFIX = "reducer_"
_STD_FLOOR = 1e-12
_FULL_SVD_MAX = 5_000_000  # above n_samples * n_features, use randomized SVD


def _check_x(x: Any, what: str = "X") -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise EdgeSEAError(f"{what} must be a non-empty 2-D array (n_samples, n_features), "
                           f"got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise EdgeSEAError(f"{what} contains NaN or infinite values")
    return arr


class _Reducer:
    """Shared standardisation, validation and fit/transform plumbing."""

    name = ""
    _array_attrs: tuple[str, ...] = ()
    _setting_attrs: tuple[str, ...] = ()

    def __init__(self, n_components: int | None = None) -> None:
        if n_components is None and self.name != "identity":
            raise EdgeSEAError(f"{type(self).__name__} needs n_components")
        ok = isinstance(n_components, (int, np.integer)) and not isinstance(n_components, bool)
        if n_components is not None and (not ok or n_components < 1):
            raise EdgeSEAError(f"n_components must be a positive integer, got {n_components!r}")
        self.n_components = None if n_components is None else int(n_components)
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def _standardise(self, x: Any) -> np.ndarray:
        if self.mean_ is None or self.scale_ is None:
            raise EdgeSEAError(f"this {type(self).__name__} is not fitted: call fit(X) first")
        arr = _check_x(x)
        if arr.shape[1] != self.mean_.shape[0]:
            raise EdgeSEAError(f"X has {arr.shape[1]} features but the reducer was fitted on "
                               f"{self.mean_.shape[0]}")
        return (arr - self.mean_) / self.scale_

    def _check_dim(self, x: np.ndarray) -> None:
        if self.n_components is not None and self.n_components > min(x.shape):
            raise EdgeSEAError(f"n_components={self.n_components} is too large for {x.shape[0]} "
                               f"samples of dimension {x.shape[1]}: at most {min(x.shape)}")

    def fit(self, x: Any) -> _Reducer:
        """Fit on ``x`` of shape (n_samples, n_features); returns ``self``."""
        arr = _check_x(x)
        self._check_dim(arr)
        mean, std = arr.mean(axis=0), arr.std(axis=0)
        scale = np.where(std < _STD_FLOOR * np.maximum(np.abs(mean), 1.0), 1.0, std)
        self._fit((arr - mean) / scale)
        self.mean_, self.scale_ = mean, scale
        return self

    def fit_streaming(self, blocks: Callable[[], Iterable[Any]]) -> _Reducer:
        """Fit on rows given in blocks, holding one block and a ``D x D`` matrix at a time.

        Parameters
        ----------
        blocks : callable
            ``blocks()`` returns an iterable of 2-D row blocks (same width); it is called
            twice (the mean, then the centred scatter matrix).

        Returns
        -------
        self

        Notes
        -----
        The standardisation is the one of :meth:`fit` (population std); PCA takes the
        eigenvectors of the standardised covariance, signed as scikit-learn signs its
        components (largest entry positive). It equals :meth:`fit` with a full SVD up to
        rounding (about 1e-10 on well-separated components), not the randomized SVD that
        :meth:`fit` uses on big inputs.
        """
        if not hasattr(self, "_fit_scatter"):
            raise EdgeSEAError(f"{type(self).__name__} cannot be fitted out of core; fit it "
                               "in memory on a smaller sample")
        n, total = 0, None
        for b in blocks():
            arr = _check_x(b)
            total = arr.sum(axis=0) if total is None else total + arr.sum(axis=0)
            n += len(arr)
        if total is None:
            raise EdgeSEAError("fit_streaming got no rows")
        mean = total / n
        scatter = np.zeros((len(mean), len(mean)))
        for b in blocks():
            z = _check_x(b) - mean
            scatter += z.T @ z
        self._check_dim(np.empty((n, len(mean)), dtype=np.uint8))
        std = np.sqrt(np.maximum(np.diag(scatter) / n, 0.0))
        scale = np.where(std < _STD_FLOOR * np.maximum(np.abs(mean), 1.0), 1.0, std)
        self._fit_scatter(scatter / np.outer(scale, scale), n)
        self.mean_, self.scale_ = mean, scale
        return self

    def _fit_scatter(self, scatter: np.ndarray, n: int) -> None:
        self.n_components = scatter.shape[0]

    def transform(self, x: Any) -> np.ndarray:
        """Project ``x`` (n, n_features) to float64 targets of shape (n, n_components)."""
        return self._transform(self._standardise(x))

    def fit_transform(self, x: Any) -> np.ndarray:
        """``fit(x)`` then ``transform(x)``."""
        return self.fit(x).transform(x)

    def _fit(self, z: np.ndarray) -> None:
        self.n_components = z.shape[1]

    def _transform(self, z: np.ndarray) -> np.ndarray:
        return z

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Serialise to ``(arrays, settings)``: numpy arrays and a JSON-able dict."""
        if self.mean_ is None or self.scale_ is None:
            raise EdgeSEAError(f"this {type(self).__name__} is not fitted: nothing to save")
        arrays = {_PREFIX + k: getattr(self, k + "_").copy()
                  for k in ("mean", "scale", *self._array_attrs)}
        settings = {"name": self.name, "n_components": self.n_components,
                    "n_features": int(self.mean_.shape[0]),
                    **{k.rstrip("_"): getattr(self, k) for k in self._setting_attrs}}
        return arrays, settings


class IdentityReducer(_Reducer):
    """Standardised teacher embedding (``n_components`` = the input dimension)."""

    name = "identity"

    def _check_dim(self, x: np.ndarray) -> None:
        if self.n_components is not None and self.n_components != x.shape[1]:
            raise EdgeSEAError(f"the identity reducer keeps the input dimension {x.shape[1]}; "
                               f"n_components={self.n_components} does not match")


class PCAReducer(_Reducer):
    """Standardise, then PCA (scikit-learn) to ``n_components`` dimensions.

    Parameters
    ----------
    n_components : int
        Output dimension, 1 <= n_components <= min(n_samples, n_features).
    whiten : bool, default False
        Scale each component to unit variance.
    rotate : bool, default False
        Turn the components by a fixed orthogonal matrix (:func:`spread_rotation`: a
        normalised Hadamard matrix when ``n_components`` is a power of two), so that every
        target coordinate mixes all components and carries the average of their variance,
        instead of component 1 carrying the most and the last the least. The targets keep
        the same information and the same total variance (an MSE and its R² do not change);
        what changes is what a downstream classifier that standardises each coordinate sees:
        it no longer scales the weakest, least faithfully fitted components up to the
        strength of the first (docs/results.md, the zoo diagnosis).
    random_state : int, optional
        Seed for the randomized SVD used on big inputs (full SVD otherwise).

    Attributes
    ----------
    components_, explained_variance_, explained_variance_ratio_ : np.ndarray
        As scikit-learn's PCA, fitted on the standardised sample.
    explained_variance_total_ : float
        Fraction of the standardised variance kept at ``n_components``.
    """

    name = "pca"
    _array_attrs = ("components", "explained_variance", "explained_variance_ratio")
    _setting_attrs = ("whiten", "random_state", "rotate", "explained_variance_total_")

    def __init__(self, n_components: int, whiten: bool = False,
                 random_state: int | None = None, rotate: bool = False) -> None:
        super().__init__(n_components)
        if not isinstance(rotate, (bool, np.bool_)):
            raise EdgeSEAError(f"rotate must be true or false, got {rotate!r}")
        self.whiten, self.random_state = bool(whiten), random_state
        self.rotate = bool(rotate)
        self.components_ = self.explained_variance_ = self.explained_variance_ratio_ = None

    @property
    def explained_variance_total_(self) -> float | None:
        """Sum of :attr:`explained_variance_ratio_` (``None`` before fitting)."""
        r = self.explained_variance_ratio_
        return None if r is None else float(r.sum())

    def _fit(self, z: np.ndarray) -> None:
        big = z.shape[0] * z.shape[1] > _FULL_SVD_MAX and self.n_components < 0.8 * min(z.shape)
        from sklearn.decomposition import PCA  # here: ~0.9 s to import

        pca = PCA(self.n_components, svd_solver="randomized" if big else "full",
                  random_state=self.random_state).fit(z)
        # C order, as the arrays are stored and reloaded (to_arrays / reducer_from_arrays): the
        # same BLAS path, so a reloaded reducer transforms bit-identically
        self.components_, self.explained_variance_, self.explained_variance_ratio_ = (
            np.ascontiguousarray(a, dtype=np.float64) for a in
            (pca.components_, pca.explained_variance_, pca.explained_variance_ratio_))

    def _fit_scatter(self, scatter: np.ndarray, n: int) -> None:
        """Components from the standardised scatter matrix ``Z^T Z`` of ``n`` rows."""
        if n < 2:
            raise EdgeSEAError("PCA needs at least 2 samples")
        cov = scatter / (n - 1)
        lam, vec = np.linalg.eigh((cov + cov.T) / 2)
        lam, vec = np.maximum(lam[::-1], 0.0), vec[:, ::-1]
        comp = vec[:, :self.n_components].T
        signs = np.sign(comp[np.arange(len(comp)), np.argmax(np.abs(comp), axis=1)])
        comp = comp * np.where(signs == 0, 1.0, signs)[:, None]
        total = float(np.trace(cov))
        self.components_ = np.ascontiguousarray(comp, dtype=np.float64)
        self.explained_variance_ = np.ascontiguousarray(lam[:self.n_components])
        self.explained_variance_ratio_ = self.explained_variance_ / (total if total > 0
                                                                     else 1.0)

    def _transform(self, z: np.ndarray) -> np.ndarray:
        out = z @ self.components_.T
        if self.whiten:
            out = out / np.sqrt(np.maximum(self.explained_variance_, _STD_FLOOR))
        if self.rotate:
            out = out @ _rotation(out.shape[1]).T
        return out


def _import_umap() -> Any:
    try:
        import umap  # optional extra, imported lazily
    except ImportError as e:
        raise MissingExtraError("UMAP reduction needs the optional umap-learn package: "
                           "pip install edgesea[umap]") from e
    return umap


class UMAPReducer(_Reducer):
    """Standardise, then ``umap.UMAP`` (optional extra: ``pip install edgesea[umap]``).

    Parameters
    ----------
    n_components : int
        Output dimension.
    n_neighbors, min_dist, metric, random_state
        Passed to ``umap.UMAP``.

    Notes
    -----
    A fitted UMAP is not plain arrays: :meth:`to_arrays` raises :class:`EdgeSEAError`, and a
    student trained on UMAP targets records only the targets' provenance in its metadata.
    """

    name = "umap"

    def __init__(self, n_components: int, n_neighbors: int = 15, min_dist: float = 0.3,
                 metric: str = "euclidean", random_state: int | None = None) -> None:
        super().__init__(n_components)
        self.n_neighbors, self.min_dist, self.metric = n_neighbors, min_dist, metric
        self.random_state = random_state  # UMAP is deterministic (single-threaded) when seeded
        self.umap_: Any = None

    def _fit(self, z: np.ndarray) -> None:
        self.umap_ = _import_umap().UMAP(
            n_components=self.n_components, n_neighbors=self.n_neighbors,
            min_dist=self.min_dist, metric=self.metric, random_state=self.random_state).fit(z)

    def _transform(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(self.umap_.transform(z), dtype=np.float64)

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Always raises: a fitted UMAP cannot be stored as plain arrays."""
        raise EdgeSEAError("a UMAP reducer cannot be stored as plain arrays (the student carries "
                           "only the targets' provenance); use 'pca' or 'identity' to save it")


@functools.lru_cache(maxsize=8)
def _rotation(d: int) -> np.ndarray:
    """:func:`spread_rotation`, built once per size (targets are transformed block by block),
    read-only."""
    r = spread_rotation(d)
    r.setflags(write=False)
    return r


def spread_rotation(d: int) -> np.ndarray:
    """A fixed ``d x d`` orthogonal matrix whose entries all have the same magnitude where
    possible: the normalised Sylvester-Hadamard matrix when ``d`` is a power of two, else the
    normalised discrete Hartley matrix (``cas(2 pi k n / d) / sqrt(d)``; orthogonal, its
    first column constant, so the strongest component is shared equally by every output
    coordinate). Deterministic: no seed."""
    if not isinstance(d, (int, np.integer)) or d < 1:
        raise EdgeSEAError(f"a rotation needs a positive dimension, got {d!r}")
    if d & (d - 1) == 0:
        h = np.ones((1, 1))
        while h.shape[0] < d:
            h = np.block([[h, h], [h, -h]])
        return h / np.sqrt(d)
    k, n = np.meshgrid(np.arange(d), np.arange(d), indexing="ij")
    a = 2 * np.pi * (k * n % d) / d
    return (np.cos(a) + np.sin(a)) / np.sqrt(d)


def make_reducer(name: str, n_components: int | None = None, **kw: Any) -> _Reducer:
    """Build an unfitted reducer by name: ``"pca"``, ``"umap"`` or ``"identity"``."""
    classes = {"pca": PCAReducer, "umap": UMAPReducer, "identity": IdentityReducer}
    if name not in classes:
        raise EdgeSEAError(f"unknown reducer {name!r}: expected one of {list(REDUCERS)}")
    if name == "identity" and kw:
        raise EdgeSEAError(f"the identity reducer takes no options, got {sorted(kw)}")
    return classes[name](n_components, **kw)


def reducer_from_arrays(arrays: dict[str, np.ndarray],
                        settings: dict[str, Any]) -> PCAReducer | IdentityReducer:
    """Rebuild a fitted reducer from :meth:`~PCAReducer.to_arrays` output.

    ``arrays`` may hold other entries too (e.g. a loaded model's whole ``extras``)."""
    name = settings.get("name") if isinstance(settings, dict) else None
    if name not in ("pca", "identity"):
        raise EdgeSEAError(f"cannot rebuild a reducer named {name!r} from arrays")
    cls = PCAReducer if name == "pca" else IdentityReducer
    keys = ["mean", "scale", *cls._array_attrs]
    missing = [_PREFIX + k for k in keys if _PREFIX + k not in arrays]
    if missing:
        raise EdgeSEAError(f"reducer arrays are missing {missing}")
    opts = {k: settings[k] for k in ("whiten", "random_state", "rotate")
            if k in settings and k in cls._setting_attrs}
    red = cls(settings.get("n_components"), **opts)
    for k in keys:
        setattr(red, k + "_", np.ascontiguousarray(arrays[_PREFIX + k], dtype=np.float64))
    n_in = red.mean_.shape[0]
    red.n_components = int(red.n_components or n_in)
    want = {"scale": (n_in,), "components": (red.n_components, n_in)}
    if any(getattr(red, k + "_").shape != want[k] for k in want if k in keys):
        raise EdgeSEAError(f"reducer arrays have inconsistent shapes for {red.n_components} "
                           f"components of {n_in} features")
    return red
