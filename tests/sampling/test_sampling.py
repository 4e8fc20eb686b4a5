"""Exactness of the samplers against enumerated probabilities on small ground sets."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import numpy as np
import pytest
from scipy.stats import chisquare

from edgesea.errors import EdgeSEAError
from edgesea.sampling.samplers import (
    DPPSampler,
    RandomSampler,
    RelevanceSampler,
    _kdpp_draw,
    _spectrum,
    make_sampler,
    relevance_minmax,
    relevance_percentile,
)

DRAWS = 10_000  # ~100 expected draws per subset on the 8-item sets; the marginals to 3 sd (0.015)


def _features(X, q=None, kernel="l2"):
    norm = np.abs(X).sum(1) if kernel == "l1" else np.linalg.norm(X, axis=1)
    B = X / norm[:, None]
    return B if q is None else B * q[:, None]


def _kdpp_probs(L, k):
    subsets = list(combinations(range(len(L)), k))
    dets = np.array([np.linalg.det(L[np.ix_(s, s)]) for s in subsets])
    return subsets, np.clip(dets, 0, None) / dets.sum()


def _draw(sampler, n, draws=DRAWS, **kw):
    return Counter(tuple(sampler.sample(**kw)) for _ in range(draws))


def _chi2(counts, subsets, probs):
    keep = probs > 0
    assert sum(c for s, c in counts.items() if s not in set(subsets)) == 0
    obs = np.array([counts.get(s, 0) for s in subsets], float)
    assert obs[~keep].sum() == 0  # zero-probability subsets never drawn
    return chisquare(obs[keep], probs[keep] * obs.sum()).pvalue


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    return rng.normal(size=(8, 4)), rng.uniform(0.2, 1.0, size=8)


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("with_q", [False, True])
def test_kdpp_matches_enumeration(data, k, with_q):
    X, q = data
    B = _features(X, q if with_q else None)
    subsets, probs = _kdpp_probs(B @ B.T, k)
    spec, rng = _spectrum(B), np.random.default_rng(10 * k + with_q)
    counts = Counter(tuple(np.sort(_kdpp_draw(spec, k, rng))) for _ in range(DRAWS))
    assert _chi2(counts, subsets, probs) > 1e-3
    # marginal inclusion probabilities
    marg = np.zeros(8)
    for sub, p in zip(subsets, probs, strict=True):
        marg[list(sub)] += p
    emp = np.zeros(8)
    for sub, c in counts.items():
        emp[list(sub)] += c / DRAWS
    np.testing.assert_allclose(emp, marg, atol=0.015)


def test_public_sampler_matches_enumeration(data):
    X, q = data
    B = _features(X, q)
    subsets, probs = _kdpp_probs(B @ B.T, 3)
    s = DPPSampler(3, quality="relevance", random_state=np.random.default_rng(1))
    assert _chi2(_draw(s, 8, X=X, relevance=q), subsets, probs) > 1e-3
    assert s.info_["n_chunks"] == 1 and s.info_["chunk_size"] == 8


def test_primal_full_rank_l1_and_ridge():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(7, 10))  # D > N: primal form
    B = _features(X, kernel="l1")
    for ridge in (0.0, 0.1):
        subsets, probs = _kdpp_probs(B @ B.T + ridge * np.eye(7), 3)
        spec, rng = _spectrum(B, ridge), np.random.default_rng(5)
        counts = Counter(tuple(np.sort(_kdpp_draw(spec, 3, rng))) for _ in range(DRAWS))
        assert _chi2(counts, subsets, probs) > 1e-3


def test_dual_equals_primal():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(9, 3))  # rank 3 < N
    B = _features(X)
    subsets, probs = _kdpp_probs(B @ B.T, 2)
    for form in ("dual", "primal"):
        spec, rng = _spectrum(B, form=form), np.random.default_rng(7)
        assert (spec[2] is None) == (form == "primal")
        counts = Counter(tuple(np.sort(_kdpp_draw(spec, 2, rng))) for _ in range(DRAWS))
        assert _chi2(counts, subsets, probs) > 1e-3


def test_same_seed_same_sample_and_quality_raises_inclusion():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(300, 16))
    for mode in ("random", "relevance", "diversity", "diversity+relevance"):
        rel = rng.uniform(size=300)
        a = make_sampler(mode, 20, random_state=5).sample(X=X, relevance=rel)
        b = make_sampler(mode, 20, random_state=5).sample(X=X, relevance=rel)
        np.testing.assert_array_equal(a, b)
        assert len(np.unique(a)) == 20 and np.all(np.diff(a) > 0)
    q = np.where(np.arange(300) < 150, 1.0, 0.2)
    s = DPPSampler(10, quality="relevance", random_state=np.random.default_rng(0))
    hits = np.concatenate([s.sample(X, q) for _ in range(200)])
    assert np.mean(hits < 150) > 0.8


def _successive_probs(w, k):
    subsets = list(combinations(range(len(w)), k))
    probs = []
    for sub in subsets:
        total = 0.0
        for perm in _perms(sub):
            p, left = 1.0, w.sum()
            for i in perm:
                p *= w[i] / left
                left -= w[i]
            total += p
        probs.append(total)
    return subsets, np.array(probs)


def _perms(sub):
    from itertools import permutations
    return permutations(sub)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_relevance_sampler_is_successive_sampling(k):
    w = np.array([0.1, 0.5, 1.0, 2.0, 0.3, 0.0, 1.5])
    subsets, probs = _successive_probs(w, k)
    np.testing.assert_allclose(probs.sum(), 1.0)
    s = RelevanceSampler(k, random_state=np.random.default_rng(k))
    counts = _draw(s, 7, relevance=w)
    assert _chi2(counts, subsets, probs) > 1e-3
    if k == 1:
        np.testing.assert_allclose(probs, w / w.sum())


def test_random_sampler_uniform():
    s = RandomSampler(2, random_state=np.random.default_rng(1))
    counts = _draw(s, 6, X=np.zeros((6, 2)))
    subsets = list(combinations(range(6), 2))
    assert _chi2(counts, subsets, np.full(len(subsets), 1 / len(subsets))) > 1e-3


def test_greedy_deterministic_and_beats_random():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 6)) + rng.normal(size=6)
    B = _features(X)
    g1 = DPPSampler(5, mode="greedy").sample(X)
    g2 = DPPSampler(5, mode="greedy", random_state=9).sample(X)
    np.testing.assert_array_equal(g1, g2)

    def logdet(s):
        return np.linalg.slogdet(B[s] @ B[s].T)[1]
    rand = [logdet(rng.choice(40, 5, replace=False)) for _ in range(200)]
    assert logdet(g1) >= max(rand)


def test_chunking_when_k_exceeds_rank():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 4))  # rank 4
    for mode in ("sample", "greedy"):
        s = DPPSampler(30, mode=mode, random_state=1)
        out = s.sample(X)
        assert len(np.unique(out)) == 30
        assert s.info_["n_chunks"] == 8 and s.info_["chunk_size"] == 63
        assert s.info_["max_k_per_chunk"] <= 4 and s.info_["n_filled_random"] == 0
    s = DPPSampler(10, chunk_size=100, random_state=1)
    assert len(np.unique(s.sample(X))) == 10 and s.info_["n_chunks"] == 5


def test_low_rank_chunk_is_filled():
    X = np.repeat(np.eye(2), 10, axis=0)  # rank 2
    s = DPPSampler(5, max_k_per_chunk=5, random_state=0)
    out = s.sample(X)
    assert len(np.unique(out)) == 5 and s.info_["n_filled_random"] == 3


def test_groups_stratify():
    groups = np.repeat([0, 1, 2], [10, 20, 30])
    out = RandomSampler(12, random_state=0).sample(X=np.zeros((60, 1)), groups=groups)
    assert np.bincount(groups[out]).tolist() == [2, 4, 6]


def test_relevance_helpers():
    laeq = np.array([50.0, 60.0, 60.0, 40.0, 70.0, 30.0])
    groups = np.array([0, 0, 0, 0, 1, 1])
    np.testing.assert_allclose(relevance_percentile(laeq, groups),
                               [0.5, 0.875, 0.875, 0.25, 1.0, 0.5])
    np.testing.assert_allclose(relevance_percentile(laeq)[[5, 4]], [1 / 6, 1.0])
    np.testing.assert_allclose(relevance_minmax(laeq), (laeq - 30) / 40)


@pytest.mark.parametrize("bad", [
    lambda: RandomSampler(7).sample(X=np.zeros((5, 2))),
    lambda: RandomSampler(0).sample(X=np.zeros((5, 2))),
    lambda: RelevanceSampler(2).sample(relevance=np.array([1.0, -1.0, 2.0])),
    lambda: RelevanceSampler(2).sample(relevance=np.array([1.0, np.nan, 2.0])),
    lambda: RelevanceSampler(2).sample(relevance=np.array([1.0, 0.0, 0.0])),
    lambda: RelevanceSampler(2).sample(X=np.zeros((3, 2))),
    lambda: DPPSampler(2).sample(X=np.array([[1.0, np.nan], [1.0, 2.0], [0.0, 1.0]])),
    lambda: DPPSampler(2).sample(relevance=np.ones(3)),
    lambda: DPPSampler(2, kernel="cos"),
    lambda: make_sampler("dpp", 3),
    lambda: relevance_percentile(np.array([1.0, np.inf])),
])
def test_errors(bad):
    with pytest.raises(EdgeSEAError):
        bad()


def _sample_store(root):
    """A complete 2-file embedding store of 10 windows (for ``edgesea sample``)."""
    from edgesea.store.shards import new_manifest, write_manifest, write_shard

    settings = {"teacher": {"name": "fake", "identity": "abc", "sample_rate": 8000,
                            "window": 1.0, "emb_dim": 4},
                "hop_size": 0.5, "center": True, "files_per_shard": 2}
    manifest = new_manifest(settings, ["a.wav", "b.wav"], audio_dir="/data")
    rng = np.random.default_rng(0)
    ts = np.concatenate([np.arange(6), np.arange(4)]) * 0.5
    write_shard(root, 0, {"file_index": np.repeat([0, 1], [6, 4]), "timestamp_s": ts,
                          "start_s": ts - 0.5, "embedding": rng.standard_normal((10, 4)),
                          "laeq_db": rng.uniform(-60, 0, 10)})
    manifest["shards"][0].update(status="complete", n_rows=10)
    manifest["files"][0].update(status="ok", duration_s=3.0, n_windows=6)
    manifest["files"][1].update(status="ok", duration_s=2.0, n_windows=4)
    write_manifest(root, manifest)
    return root


@pytest.mark.parametrize("name", ["ids.npz", "ids.json"])
def test_cli_sample_output_mode_and_stale_temps(name, tmp_path):
    """``edgesea sample`` writes atomically with a normal file's mode (not mkstemp's 0600),
    leaves no temporary file, and removes a killed writer's leftovers (a live one's stay)."""
    import json
    import subprocess
    import sys

    from typer.testing import CliRunner

    from edgesea.cli import app

    store = _sample_store(tmp_path / "store")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stale = out_dir / f".tmp-{dead.pid}-x1.npz"
        running = out_dir / f".tmp-{live.pid}-x2.npz"
        for p in (stale, running):
            p.write_bytes(b"half")
        out = out_dir / name
        r = CliRunner().invoke(app, ["sample", str(store), "--mode", "random", "--k", "3",
                                     "--seed", "0", "--out", str(out)])
        assert r.exit_code == 0, r.output
        assert not stale.exists() and running.exists()
        assert sorted(p.name for p in out_dir.iterdir()) == sorted([name, running.name])
    finally:
        live.kill()
        live.wait()
    plain = tmp_path / "plain"
    with open(plain, "w"):
        pass
    assert oct(out.stat().st_mode & 0o777) == oct(plain.stat().st_mode & 0o777)
    if name.endswith(".json"):
        ids = json.loads(out.read_text())["window_ids"]
    else:
        with np.load(out) as z:
            ids = z["window_ids"].tolist()
            assert json.loads(str(z["info"]))["k"] == 3
    assert len(ids) == 3 and ids == sorted(set(ids)) and 0 <= min(ids) and max(ids) < 10

