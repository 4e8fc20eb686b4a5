"""Out-of-core stages (:mod:`edgesea.store.arrays`, :mod:`edgesea.specialize.stages`): store columns
read on demand equal the loaded store, and sampling, reducer fitting and target projection
on them give the in-memory results exactly, with memory bounded by the block size."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from sklearn.decomposition import PCA

from edgesea.errors import EdgeSEAError
from edgesea.reduce import PCAReducer, make_reducer
from edgesea.specialize import stages
from edgesea.specialize.config import SpecializeConfig
from edgesea.specialize.stages import fit_reduce, split_and_sample
from edgesea.store.arrays import ConcatRows, RowView, ShardedArray, store_column
from edgesea.store.shards import EmbeddingStore, read_manifest
from edgesea.store.synth import store_prefix, synthetic_store


@pytest.fixture(scope="module", params=["float16", "float32"])
def store(request, tmp_path_factory) -> EmbeddingStore:
    root = tmp_path_factory.mktemp(f"synth-{request.param}") / "store"
    return synthetic_store(root, 6000, emb_dim=48, windows_per_file=37, files_per_shard=9,
                           embedding_dtype=request.param, rank=6)


def test_format_version_and_dtype(store: EmbeddingStore) -> None:
    m = read_manifest(store.root)
    half = store.embedding_dtype == np.float16
    assert m["format_version"] == (2 if half else 1)
    assert store.load(["embedding"])["embedding"].dtype == store.embedding_dtype


def test_sharded_array_equals_load(store: EmbeddingStore) -> None:
    full = store.load()
    for col in ("embedding", "laeq_db", "file_index", "timestamp_s"):
        arr = store_column(store, col)
        assert arr.shape == full[col].shape and arr.dtype == full[col].dtype
        np.testing.assert_array_equal(np.asarray(arr), full[col])
        np.testing.assert_array_equal(arr[100:2345], full[col][100:2345])
        np.testing.assert_array_equal(arr[5990:7000], full[col][5990:])
        rows = np.random.default_rng(0).integers(-len(arr), len(arr), 777)
        np.testing.assert_array_equal(arr[rows], full[col][rows])
        np.testing.assert_array_equal(arr[int(rows[0])], full[col][int(rows[0])])
        blocks = [b for _, b in arr.iter_blocks(1000)]
        np.testing.assert_array_equal(np.concatenate(blocks), full[col])
    emb = store_column(store, "embedding")
    view = RowView(emb, np.arange(10, 3000, 7))
    np.testing.assert_array_equal(view[[3, 1, 2]], full["embedding"][10 + 7 * np.array([3, 1, 2])])
    cat = ConcatRows([view, full["embedding"][:50]])
    got = cat[np.array([len(view) + 4, 2, len(view) - 1])]
    np.testing.assert_array_equal(got, np.stack([full["embedding"][4], view[2],
                                                 view[len(view) - 1]]))


def test_damaged_shard_is_a_clear_error(store: EmbeddingStore, tmp_path: Path) -> None:
    small = store_prefix(store.root, tmp_path / "small", 3)
    arr = store_column(small, "embedding")
    assert len(arr) == len(small) == sum(s["n_rows"] for s in small.manifest["shards"])
    bad = ShardedArray(arr.files, [int(arr.counts[0]) + 1, *arr.counts[1:]], "embedding",
                       arr.dtype, arr.row_shape)
    with pytest.raises(EdgeSEAError, match="corrupt"):
        bad[0:5]
    (tmp_path / "small" / small.manifest["shards"][1]["file"]).unlink()
    with pytest.raises(EdgeSEAError, match="missing"):
        arr[np.array([int(arr.starts[1])])]


@pytest.mark.parametrize("mode", ["diversity+relevance", "random"])
def test_sampling_on_the_store_is_exact(store: EmbeddingStore, tmp_path: Path,
                                        mode: str) -> None:
    cfg = SpecializeConfig(sampling=mode, sample_size="5%", emb_dim=8, seed=3)
    loaded = store.load(["file_index", "embedding", "laeq_db"])
    lazy = {**store.load(["file_index", "laeq_db"]),
            "embedding": store_column(store, "embedding")}
    info_a = split_and_sample(store, loaded, cfg, tmp_path / "a.npz")
    info_b = split_and_sample(store, lazy, cfg, tmp_path / "b.npz")
    assert info_a == info_b
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    for key in ("sample", "train_all", "val"):
        np.testing.assert_array_equal(a[key], b[key])


def test_reduce_on_the_store_is_exact(store: EmbeddingStore, tmp_path: Path,
                                      monkeypatch) -> None:
    monkeypatch.setattr(stages, "BLOCK_ROWS", 1000)  # several blocks
    cfg = SpecializeConfig(emb_dim=8, seed=1)
    emb = store.load(["embedding"])["embedding"]
    sample = np.sort(np.random.default_rng(2).choice(len(emb), 900, replace=False))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    aug = emb[:321] * 0.5
    ia = fit_reduce(emb, sample, cfg, tmp_path / "a", aug_emb=aug)
    ib = fit_reduce(store_column(store, "embedding"), sample, cfg, tmp_path / "b",
                    aug_emb=RowView(emb * 0.5, np.arange(321)))
    assert ia == ib
    for name in ("targets.npy", "aug_targets.npy", "reducer.npz"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    # the targets are the reducer's projection of every window
    red = PCAReducer(8, random_state=1, rotate=True).fit(emb[sample])
    np.testing.assert_allclose(np.load(tmp_path / "a" / "targets.npy"),
                               red.transform(emb).astype(np.float32), rtol=1e-6, atol=1e-6)
    t = np.load(tmp_path / "a" / "targets.npy")
    assert ia["target_variance"] == pytest.approx(float(t.var(0).sum()), rel=1e-6)


def test_streaming_pca_fit_matches_full_svd(store: EmbeddingStore) -> None:
    x = store.load(["embedding"])["embedding"].astype(np.float64)
    blocks = lambda: (x[i:i + 700] for i in range(0, len(x), 700))  # noqa: E731
    stream = PCAReducer(5).fit_streaming(blocks)
    z = (x - x.mean(0)) / x.std(0)
    ref = PCA(5, svd_solver="full").fit(z)
    np.testing.assert_allclose(stream.mean_, x.mean(0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(stream.scale_, x.std(0), rtol=1e-10)
    np.testing.assert_allclose(stream.components_, ref.components_, atol=1e-8)
    np.testing.assert_allclose(stream.explained_variance_, ref.explained_variance_, rtol=1e-9)
    np.testing.assert_allclose(stream.explained_variance_ratio_,
                               ref.explained_variance_ratio_, rtol=1e-9)
    ident = make_reducer("identity").fit_streaming(blocks)
    np.testing.assert_allclose(ident.transform(x[:10]), z[:10], rtol=1e-9, atol=1e-9)
    with pytest.raises(EdgeSEAError, match="too large"):
        PCAReducer(49).fit_streaming(blocks)


def test_large_sample_reduce_streams_with_bounded_memory(tmp_path: Path, monkeypatch) -> None:
    """A sample of 40k x 64 float32 windows: in memory the fit and the projection hold
    float64 copies of all of it (>= 20 MB each); out of core, a block at a time."""
    store = synthetic_store(tmp_path / "s", 40_000, emb_dim=64, windows_per_file=400,
                            files_per_shard=10, embedding_dtype="float32", rank=8)
    monkeypatch.setattr(stages, "BLOCK_ROWS", 2000)
    cfg = SpecializeConfig(emb_dim=16, seed=0, reduction_options={"rotate": False})
    emb = store_column(store, "embedding")
    sample = np.arange(0, 40_000, 2)
    tracemalloc.start()
    try:
        info = fit_reduce(emb, sample, cfg, tmp_path, memory_bytes=1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    ref = PCAReducer(16).fit(np.asarray(emb)[sample].astype(np.float64))
    got = np.load(tmp_path / "targets.npy")
    assert got.shape == (40_000, 16)
    assert info["explained_variance"] == pytest.approx(ref.explained_variance_total_, rel=1e-6)
    # randomized vs exact eigenvectors agree on the leading, well-separated components
    np.testing.assert_allclose(np.abs(got[:200, :4]),
                               np.abs(ref.transform(np.asarray(emb[:200]))[:, :4]),
                               rtol=1e-3, atol=1e-3)
