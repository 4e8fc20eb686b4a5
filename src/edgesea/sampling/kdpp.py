"""The k-DPP arithmetic of :class:`edgesea.sampling.samplers.DPPSampler`: the spectrum of a feature
matrix's kernel (primal or dual form), exact k-DPP draws (eigenvector selection by the
elementary symmetric polynomials, then the projection DPP), and the greedy MAP fallback.
"""

from __future__ import annotations

import math

import numpy as np

_TOL = 1e-10


def _spectrum(B: np.ndarray, ridge: float = 0.0, form: str = "auto"
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Eigenvalues of ``L = B B^T + ridge I`` and what gives its eigenvectors.

    Returns ``(lam, U, B)``: primal form (``U`` the N x N eigenvectors, ``B`` None) or dual
    form (``U`` the d x d eigenvectors of ``B^T B``; eigenvector ``j`` of ``L`` is
    ``B U[:, j] / sqrt(lam_j)``). Eigenvalues below ``1e-10 * max`` are set to 0.
    """
    n, d = B.shape
    primal = form == "primal" or (form == "auto" and n <= d) or ridge > 0
    lam, U = np.linalg.eigh(B @ B.T + ridge * np.eye(n) if primal else B.T @ B)
    lam = np.where(lam > _TOL * max(lam.max(), _TOL), lam, 0.0)
    return lam, U, None if primal else B


def _kdpp_draw(spec: tuple[np.ndarray, np.ndarray, np.ndarray | None], k: int,
               rng: np.random.Generator) -> np.ndarray:
    """One k-DPP draw from a :func:`_spectrum` (fewer items if the rank is below ``k``)."""
    lam, U, B = spec
    sel = _select_eigen(lam, min(k, int(np.count_nonzero(lam))), rng)
    return _projection(U[:, sel] if B is None else (B @ U[:, sel]) / np.sqrt(lam[sel]), rng)


def _select_eigen(lam: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Kulesza & Taskar Alg. 8: pick ``k`` eigen-indices with prob. prod(lam_S) / e_k(lam).

    The elementary symmetric polynomials ``e_l^n`` are kept as logs (no overflow).
    """
    d, loglam = len(lam), np.log(np.where(lam > 0, lam, 1.0)) + np.where(lam > 0, 0.0, -np.inf)
    E = np.full((k + 1, d + 1), -np.inf)  # E[l, n] = log e_l(lam_1..lam_n)
    E[0] = 0.0
    for n in range(1, d + 1):
        E[1:, n] = np.logaddexp(E[1:, n - 1], loglam[n - 1] + E[:-1, n - 1])
    sel, left = [], k
    for n in range(d, 0, -1):
        if left == 0:
            break
        p = 1.0 if n == left else np.exp(loglam[n - 1] + E[left - 1, n - 1] - E[left, n])
        if rng.random() < p:
            sel.append(n - 1)
            left -= 1
    return np.array(sel[::-1], dtype=np.int64)


def _projection(V: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sample the projection DPP with kernel ``V V^T`` (orthonormal ``V``, N x k).

    Chain rule: the next item has probability ``K_jj - K_jS K_S^-1 K_Sj`` (normalised),
    updated as an incremental Cholesky: ``O(N k^2)`` time, ``O(N k)`` memory.
    """
    n, k = V.shape
    C, chosen = np.zeros((k, n)), np.zeros(k, np.int64)  # C row t: t-th Cholesky column
    dres = np.einsum("ij,ij->i", V, V)
    for t in range(k):
        np.maximum(dres, 0.0, out=dres)
        cum = np.cumsum(dres)
        j = min(int(np.searchsorted(cum, rng.random() * cum[-1], side="right")), n - 1)
        while dres[j] <= 0:  # rounding at a boundary: step back to a positive weight
            j -= 1
        chosen[t] = j
        e = (V @ V[j] - C[:t, j] @ C[:t]) / math.sqrt(dres[j])
        C[t] = e
        dres -= e * e
        dres[chosen[: t + 1]] = 0.0
    return chosen


def _greedy(B: np.ndarray, k: int, ridge: float) -> np.ndarray:
    """Greedy MAP of ``L = B B^T + ridge I`` (Chen et al. 2018); stops early at the rank."""
    n = len(B)
    C = np.zeros((k, n))
    dres = np.einsum("ij,ij->i", B, B) + ridge
    chosen: list[int] = []
    for t in range(k):
        j = int(np.argmax(dres))
        if dres[j] <= _TOL:
            break
        chosen.append(j)
        e = (B @ B[j] - C[:t, j] @ C[:t]) / math.sqrt(dres[j])
        C[t] = e
        dres -= e * e
        dres[chosen] = -np.inf
    return np.array(chosen, dtype=np.int64)
