"""One Parquet table for a folder (issue 36 item 3): ``edgesea embed DIR -o FILE.parquet``
and :func:`edgesea.inference.table.embed_to_parquet` - rows equal the .npz outputs,
resumable, atomic, a table of another model or settings refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

import edgesea
from edgesea.errors import EdgeSEAError

pq = pytest.importorskip("pyarrow.parquet")


def _clips(root: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = [root / "a" / "x.wav", root / "b" / "x.wav", root / "c.wav"]  # two share a name
    for i, p in enumerate(paths):
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(p, (0.2 * rng.standard_normal(8000 * (2 + i))).astype(np.float32), 8000)
    return paths


def test_table_rows_resume_and_refusals(tmp_path: Path, tiny_model_path: str) -> None:
    from edgesea.inference.table import embed_to_parquet

    clips = _clips(tmp_path / "audio")
    out = tmp_path / "emb.parquet"
    res = embed_to_parquet(clips, out, model=tiny_model_path, hop_size=0.5, pool="mean,max")
    assert (res["written"], res["kept"]) == (3, 0)
    rows = pq.read_table(out).to_pylist()
    assert [r["file"] for r in rows] == [str(p) for p in clips]
    for r, clip in zip(rows, clips, strict=True):
        emb, ts = edgesea.get_embedding(sf.read(clip)[0], 8000, model=tiny_model_path,
                                        hop_size=0.5)
        np.testing.assert_allclose(np.array(r["embedding"]), emb, atol=1e-5)
        np.testing.assert_allclose(r["timestamps"], ts)
        assert len(r["clip_embedding"]) == 2 * emb.shape[1]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]
    again = embed_to_parquet(clips, out, model=tiny_model_path, hop_size=0.5, pool="mean,max")
    assert (again["written"], again["kept"]) == (0, 3)  # resumed: nothing recomputed
    sf.write(clips[2], np.zeros(16000, np.float32) + 0.1, 8000)  # one file changed
    changed = embed_to_parquet(clips, out, model=tiny_model_path, hop_size=0.5,
                               pool="mean,max")
    assert (changed["written"], changed["kept"]) == (1, 2)
    with pytest.raises(EdgeSEAError, match=r"another model or settings.*hop_size"):
        embed_to_parquet(clips, out, model=tiny_model_path, hop_size=0.25, pool="mean,max")
    assert len(pq.read_table(out)) == 3  # refused: the table is untouched
    bad = tmp_path / "audio" / "bad.wav"
    bad.write_text("not audio")
    with pytest.raises(EdgeSEAError, match="1 of 4 files could not be embedded"):
        embed_to_parquet([*clips, bad], out, model=tiny_model_path, hop_size=0.25,
                         overwrite=True)
    assert [r["file"] for r in pq.read_table(out).to_pylist()] == [str(p) for p in clips]


def test_cli_embed_to_a_table(tmp_path: Path, tiny_model_path: str) -> None:
    from edgesea.cli import app

    _clips(tmp_path / "audio")
    out = tmp_path / "t.parquet"
    args = ["embed", str(tmp_path / "audio"), "-o", str(out), "--model", tiny_model_path,
            "--hop-size", "0.5"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "3 rows written, 0 kept" in res.stdout and len(pq.read_table(out)) == 3
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0 and "0 rows written, 3 kept" in res.stdout
    res = CliRunner().invoke(app, [*args, "-x", "s"])
    assert res.exit_code == 2 and "--suffix" in res.output
