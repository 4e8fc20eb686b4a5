"""Informed sampling of windows: random, relevance, diversity (exact k-DPP) and both.

SEA fits its reduction on a small subset of teacher embeddings. Four samplers pick it, each
returning ``k`` distinct, sorted row indices:

* :class:`RandomSampler`: uniform without replacement.
* :class:`RelevanceSampler`: probability proportional to relevance, without replacement
  (successive sampling), drawn exactly with Efraimidis-Spirakis keys ``u ** (1 / w)``.
* :class:`DPPSampler`: an exact k-DPP with ``L = diag(q) Phi Phi^T diag(q) + ridge I``, where
  ``Phi`` holds the L2- (default) or L1-normalised embeddings and ``q`` is an optional quality
  (the relevance, for "diversity+relevance"). Spectral algorithm (Kulesza & Taskar 2012,
  Alg. 1 + 8): eigenvalues of the dual ``d x d`` matrix ``B^T B`` (``B = diag(q) Phi``), a
  choice of ``k`` eigenvectors through elementary symmetric polynomials (in log space), then the
  sequential projection phase as an incremental Cholesky on the ``N x k`` eigenvectors
  (``O(N k^2)`` time, ``O(N k)`` memory, never ``N x N``). ``mode="greedy"`` returns the
  greedy MAP set instead (Chen et al. 2018, deterministic).

**Chunks.** A kernel of rank ``r`` (at most ``d``) cannot give more than ``r`` items, and one
kernel over a million rows is slow. When ``k`` exceeds ``max_k_per_chunk`` (default ``min(128,
d)``, ``d`` being the rank bound) or ``N`` exceeds ``max_rows_per_chunk``, the rows are split by a
random partition into chunks of (almost) equal size, ``k`` is split proportionally, and an
exact k-DPP is drawn in each chunk: the result is then a union of independent k-DPPs, not one
k-DPP over all rows.
``ridge > 0`` is handled exactly by the primal ``N_c x N_c`` kernel, so chunks are then capped at
``max_primal`` rows (greedy mode handles the ridge at any size). The chunk size used is in
``info_``. If a chunk's kernel has rank below its share of ``k`` (duplicate rows), the missing
items are drawn uniformly from the rest of the chunk and counted in ``info_["n_filled_random"]``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from edgesea.errors import EdgeSEAError
from edgesea.sampling.kdpp import _greedy, _kdpp_draw, _spectrum

__all__ = ["MODES", "DPPSampler", "RandomSampler", "RelevanceSampler", "make_sampler",
           "relevance_minmax", "relevance_percentile"]

#: Sampling modes, as named on the command line.
MODES = ("random", "relevance", "diversity", "diversity+relevance")


def relevance_percentile(laeq: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """Percentile rank of each window's loudness within its group (louder = more relevant).

    Parameters
    ----------
    laeq : ndarray, shape (N,)
        Loudness (e.g. LAeq in dB) of every window.
    groups : ndarray, shape (N,), optional
        Group label of every window (a recording, a time block); one group if omitted.

    Returns
    -------
    ndarray, shape (N,)
        ``rank / count`` within the group (ties averaged), in ``(0, 1]``.
    """
    x = _vector(laeq, "laeq")
    g = np.zeros(len(x), np.int64) if groups is None else np.asarray(groups)
    if g.shape != x.shape:
        raise EdgeSEAError(f"groups has shape {g.shape}, expected {x.shape}")
    from scipy.stats import rankdata  # here: scipy.stats costs ~1.3 s to import

    out = np.empty(len(x))
    for idx in _group_parts(g):
        out[idx] = rankdata(x[idx], method="average") / len(idx)
    return out


def _group_parts(groups: np.ndarray) -> list[np.ndarray]:
    """Row indices of each group, in order of the sorted group labels."""
    _, codes = np.unique(np.asarray(groups), return_inverse=True)
    order = np.argsort(codes.ravel(), kind="stable")
    return np.split(order, np.flatnonzero(np.diff(codes.ravel()[order])) + 1)


def relevance_minmax(laeq: np.ndarray) -> np.ndarray:
    """Loudness rescaled to ``[0, 1]`` (quietest 0, loudest 1; all ones if constant)."""
    x = _vector(laeq, "laeq")
    span = x.max() - x.min() if len(x) else 0.0
    return np.ones_like(x) if span == 0 else (x - x.min()) / span


def _vector(a: Any, name: str) -> np.ndarray:
    x = np.asarray(a, dtype=np.float64)
    if x.ndim != 1:
        raise EdgeSEAError(f"{name} must be 1-D, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise EdgeSEAError(f"{name} contains NaN or infinite values")
    return x


def _allocate(k: int, sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Split ``k`` proportionally to ``sizes`` (largest remainder, random ties), capped."""
    share = k * sizes / sizes.sum()
    out = np.floor(share).astype(np.int64)
    rest = k - int(out.sum())
    if rest:
        frac = share - out + rng.random(len(sizes)) * 1e-9
        out[np.argsort(-frac, kind="stable")[:rest]] += 1
    return np.minimum(out, sizes)


class _Sampler:
    """Shared validation, random state and per-group (stratified) sampling."""
    mode = ""

    def __init__(self, k: int, random_state: int | np.random.Generator | None = None) -> None:
        self.k, self.random_state = k, random_state
        self.info_: dict[str, Any] = {}

    def _settings(self) -> dict[str, Any]:
        rs = self.random_state
        return {"mode": self.mode, "k": self.k,
                "random_state": rs if rs is None or isinstance(rs, int) else "Generator"}

    def sample(self, X: np.ndarray | None = None, relevance: np.ndarray | None = None,
               groups: np.ndarray | None = None) -> np.ndarray:
        """Draw ``k`` distinct rows.

        Parameters
        ----------
        X : ndarray, shape (N, D), optional
            Embeddings (needed by the DPP samplers; gives ``N`` otherwise).
        relevance : ndarray, shape (N,), optional
            Non-negative relevance (needed by relevance and diversity+relevance).
        groups : ndarray, shape (N,), optional
            If given, ``k`` is split across groups proportionally to their sizes and each group
            is sampled on its own (stratified sampling).

        Returns
        -------
        ndarray of int64, shape (k,)
            Sorted, distinct row indices.

        Raises
        ------
        EdgeSEAError
            Invalid ``k``, missing or invalid inputs.
        """
        if X is not None and np.ndim(X) != 2:
            raise EdgeSEAError(f"X must be 2-D (N, D), got shape {np.shape(X)}")
        if relevance is not None:
            relevance = _vector(relevance, "relevance")
            if np.any(relevance < 0):
                raise EdgeSEAError("relevance must be non-negative")
        sizes = {len(a) for a in (X, relevance, groups) if a is not None}
        if len(sizes) != 1:
            raise EdgeSEAError("give X or relevance, with the same number of rows "
                               f"(and groups): got lengths {sorted(sizes)}")
        n = sizes.pop()
        if not isinstance(self.k, int | np.integer) or not 1 <= self.k <= n:
            raise EdgeSEAError(f"k must be an integer in [1, N={n}], got {self.k!r}")
        rng = np.random.default_rng(self.random_state)
        self.info_ = self._settings() | {"n": n}
        self._stats: dict[str, Any] = {}
        if groups is None:
            out = self._sample(np.arange(n), int(self.k), X, relevance, rng)
        else:
            parts = _group_parts(groups)
            ks = _allocate(int(self.k), np.array([len(p) for p in parts]), rng)
            out = np.concatenate([self._sample(p, int(kg), X, relevance, rng)
                                  for p, kg in zip(parts, ks, strict=True) if kg])
            self.info_["n_groups"] = len(parts)
        self.info_.update(self._stats)
        return np.sort(out).astype(np.int64)

    def _sample(self, idx: np.ndarray, k: int, X: np.ndarray | None,
                rel: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError


class RandomSampler(_Sampler):
    """Uniform sampling of ``k`` rows without replacement."""
    mode = "random"

    def _sample(self, idx, k, X, rel, rng):
        return rng.choice(idx, size=k, replace=False)


class RelevanceSampler(_Sampler):
    """Successive sampling proportional to relevance, without replacement.

    Each row gets the Efraimidis-Spirakis key ``log(u) / w`` (``u`` uniform, ``w`` its
    relevance); the ``k`` largest keys are exactly a draw of ``k`` successive picks with
    probability proportional to the remaining relevance. Rows of zero relevance are never picked.
    """
    mode = "relevance"

    def _sample(self, idx, k, X, rel, rng):
        if rel is None:
            raise EdgeSEAError(f"mode {self.mode!r} needs relevance")
        w = rel[idx]
        if np.count_nonzero(w > 0) < k:
            raise EdgeSEAError(f"only {np.count_nonzero(w > 0)} rows have relevance > 0, "
                               f"fewer than k={k}")
        with np.errstate(divide="ignore"):
            keys = np.log(rng.random(len(idx))) / w
        return idx[np.argpartition(-keys, k - 1)[:k]]


class DPPSampler(_Sampler):
    """Exact k-DPP (or greedy MAP) over normalised embeddings, optionally quality-weighted.

    Parameters
    ----------
    k : int
        Number of rows to draw.
    kernel : {"l2", "l1"}
        Row normalisation of the embeddings (the similarity is their dot product).
    ridge : float
        Added to the kernel's diagonal (``L + ridge I``).
    quality : {None, "relevance"}
        ``"relevance"`` weights row ``i`` by its relevance (``L_ij = q_i S_ij q_j``).
    mode : {"sample", "greedy"}
        Draw from the k-DPP, or build the greedy MAP (most diverse) set.
    chunk_size : int, optional
        Rows per chunk; default: chosen from ``k``, ``D``, ``max_k_per_chunk`` and
        ``max_rows_per_chunk`` (see the module docstring).
    max_k_per_chunk : int or None
        Most items drawn from one kernel; None (default) means ``min(128, D)`` (``D`` is the
        largest possible rank). 128 bounds the sequential ``O(N_c k_c^2)`` projection phase of
        a chunk: N = 1,000,000, k = 50,000, D = 512 then runs in chunks of ~2,560 rows in well
        under a minute on 2 cores (``benchmarks/sampling_scale.py``), where chunks of D items took
        several minutes. Smaller problems (``k <= 128``, ``N <= max_rows_per_chunk``) are
        one exact k-DPP.
    max_rows_per_chunk, max_primal : int
        Row caps of one chunk (any kernel / primal kernel, used when ``ridge > 0``).
    form : {"auto", "dual", "primal"}
        Eigendecomposition of ``B^T B`` (dual) or of ``L`` (primal); auto picks the smaller.
    random_state : int, Generator or None
        Seed (the same sample on every call) or generator; never the global RNG.
    """

    def __init__(self, k: int, kernel: str = "l2", ridge: float = 0.0,
                 quality: str | None = None, mode: str = "sample",
                 chunk_size: int | None = None, max_k_per_chunk: int | None = None,
                 max_rows_per_chunk: int = 100_000, max_primal: int = 2000,
                 form: str = "auto",
                 random_state: int | np.random.Generator | None = None) -> None:
        super().__init__(k, random_state)
        self.kernel, self.ridge, self.quality, self.dpp_mode = kernel, ridge, quality, mode
        self.chunk_size, self.max_k_per_chunk = chunk_size, max_k_per_chunk
        self.max_rows_per_chunk, self.max_primal, self.form = max_rows_per_chunk, max_primal, form
        checks = [(kernel in ("l1", "l2"), f"kernel must be 'l1' or 'l2', got {kernel!r}"),
                  (quality in (None, "relevance"), "quality must be None or 'relevance'"),
                  (mode in ("sample", "greedy"), f"mode must be sample|greedy, got {mode!r}"),
                  (form in ("auto", "dual", "primal"), f"invalid form {form!r}"),
                  (np.isfinite(ridge) and ridge >= 0, f"ridge must be >= 0, got {ridge}"),
                  (chunk_size is None or chunk_size >= 1, "chunk_size must be >= 1")]
        for msg in [msg for ok, msg in checks if not ok][:1]:
            raise EdgeSEAError(msg)

    mode = property(lambda self: "diversity+relevance" if self.quality else "diversity")

    def _settings(self) -> dict[str, Any]:
        return super()._settings() | {"kernel": self.kernel, "ridge": self.ridge, "form": self.form,
                                      "quality": self.quality, "dpp_mode": self.dpp_mode}

    def _sample(self, idx, k, X, rel, rng):
        if X is None:
            raise EdgeSEAError(f"mode {self.mode!r} needs the embeddings X")
        if self.quality and rel is None:
            raise EdgeSEAError(f"mode {self.mode!r} needs relevance")
        n, d = len(idx), X.shape[1]
        kcap = self.max_k_per_chunk or min(128, d)
        rows = self.max_rows_per_chunk
        if self.ridge > 0 and self.dpp_mode == "sample":
            rows = min(rows, self.max_primal)
        size = self.chunk_size or math.ceil(n / max(math.ceil(k / kcap), math.ceil(n / rows)))
        n_chunks = math.ceil(n / size)
        if n_chunks > 1:
            parts = np.array_split(rng.permutation(idx), n_chunks)
            ks = _allocate(k, np.array([len(p) for p in parts]), rng)
        else:
            parts, ks = [idx], np.array([k])
        st = self._stats
        st["chunk_size"] = max(st.get("chunk_size", 0), max(len(p) for p in parts))
        st["n_chunks"] = st.get("n_chunks", 0) + len(parts)
        st["max_k_per_chunk"] = max(st.get("max_k_per_chunk", 0), int(ks.max()))
        st.setdefault("n_filled_random", 0)
        return np.concatenate([self._chunk(p, int(kc), X, rel, rng)
                               for p, kc in zip(parts, ks, strict=True) if kc])

    def _features(self, idx: np.ndarray, X: np.ndarray, rel: np.ndarray | None) -> np.ndarray:
        B = np.asarray(X[idx], dtype=np.float64)
        if not np.all(np.isfinite(B)):
            raise EdgeSEAError("X contains NaN or infinite values")
        norm = np.abs(B).sum(1) if self.kernel == "l1" else np.sqrt(np.einsum("ij,ij->i", B, B))
        scale = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0)
        B *= (scale * rel[idx] if self.quality else scale)[:, None]
        return B

    def _chunk(self, idx, k, X, rel, rng):
        B = self._features(idx, X, rel)
        if self.dpp_mode == "greedy":
            chosen = _greedy(B, k, self.ridge)
        else:
            chosen = _kdpp_draw(_spectrum(B, self.ridge, self.form), k, rng)
        if len(chosen) < k:  # rank below k: fill uniformly from the rest
            rest = np.setdiff1d(np.arange(len(idx)), chosen)
            fill = rng.choice(rest, size=k - len(chosen), replace=False)
            self._stats["n_filled_random"] += len(fill)
            chosen = np.concatenate([chosen, fill])
        return idx[np.asarray(chosen, dtype=np.int64)]


def make_sampler(mode: str, k: int, **kwargs: Any) -> _Sampler:
    """The sampler of a CLI mode: ``random``, ``relevance``, ``diversity``,
    ``diversity+relevance`` (extra keywords go to :class:`DPPSampler`, or ``random_state``)."""
    if mode not in MODES:
        raise EdgeSEAError(f"unknown sampling mode {mode!r}: expected one of {list(MODES)}")
    if mode in ("random", "relevance"):
        return (RandomSampler if mode == "random" else RelevanceSampler)(k, **kwargs)
    return DPPSampler(k, quality="relevance" if mode == "diversity+relevance" else None,
                      **kwargs)
