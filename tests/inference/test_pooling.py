"""Clip embeddings (issue 36 item 3, pooling): ``process_file(..., pool=...)`` and ``edgesea
embed --pool mean,max`` store the window embeddings' statistics over time as one vector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

import edgesea
from edgesea.errors import EdgeSEAError
from edgesea.inference.pooling import check_pool, pool_embeddings


def _write(path: Path, seconds: float, sr: int = 8000, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    sf.write(path, (0.2 * rng.standard_normal(int(seconds * sr))).astype(np.float32), sr)
    return path


def test_pool_embeddings() -> None:
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_allclose(pool_embeddings(x), np.r_[x.mean(0), x.max(0)])
    np.testing.assert_allclose(pool_embeddings(x, "std,min"), np.r_[x.std(0), x.min(0)],
                               rtol=1e-6)
    assert check_pool(" mean, max ") == ("mean", "max") and check_pool(None) == ()
    for bad in ("mean,mean", "median", ["max", 3]):
        with pytest.raises(EdgeSEAError, match="invalid pool"):
            check_pool(bad)


def test_process_file_stores_the_clip_vector(tmp_path: Path, tiny_model_path: str) -> None:
    clip = _write(tmp_path / "a.wav", 7.3)  # several streamed blocks at hop 0.1
    edgesea.process_file(clip, tmp_path / "o", model=tiny_model_path, pool="mean,max")
    with np.load(tmp_path / "o" / "a.npz") as z:
        emb, clipvec = z["embedding"], z["clip_embedding"]
    np.testing.assert_allclose(clipvec, pool_embeddings(emb), rtol=1e-6, atol=1e-6)
    # the same settings: skipped; another pool: made by other settings
    assert edgesea.process_file(clip, tmp_path / "o", model=tiny_model_path, pool="mean,max")
    with pytest.raises(EdgeSEAError, match="pool"):
        edgesea.process_file(clip, tmp_path / "o", model=tiny_model_path, pool="mean")
    edgesea.process_file(clip, tmp_path / "p", model=tiny_model_path)
    with np.load(tmp_path / "p" / "a.npz") as z:
        assert "clip_embedding" not in z.files


def test_cli_embed_pool(tmp_path: Path, tiny_model_path: str) -> None:
    from edgesea.cli import app

    _write(tmp_path / "b.wav", 2.0, seed=1)
    res = CliRunner().invoke(app, ["embed", str(tmp_path / "b.wav"), "-o", str(tmp_path / "o"),
                                   "--model", tiny_model_path, "--pool", "mean,max,std"])
    assert res.exit_code == 0, res.output
    with np.load(tmp_path / "o" / "b.npz") as z:
        assert z["clip_embedding"].shape == (3 * z["embedding"].shape[1],)
    res = CliRunner().invoke(app, ["embed", str(tmp_path / "b.wav"), "-o", str(tmp_path / "x"),
                                   "--model", tiny_model_path, "--pool", "median"])
    assert res.exit_code == 2 and "invalid pool" in res.output
