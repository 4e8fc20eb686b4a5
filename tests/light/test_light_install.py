"""The inference install without torch: the README's embedding samples, the CLI, the edgel3
alias and the HEAR adapter run in a Python where torch, scipy, scikit-learn and matplotlib
cannot be imported (as after ``pip install edgesea`` without extras; the fresh-venv figures
are measured by ``benchmarks/light_install.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import soundfile as sf

#: Makes the train packages unimportable, as in the light install.
BLOCK = ("import sys\n"
         "sys.modules.update(dict.fromkeys(['torch', 'scipy', 'sklearn', 'matplotlib']))\n")


def _run(code: str, *args: str, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", BLOCK + textwrap.dedent(code), *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def _cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return _run("import sys; from edgesea.cli import main; sys.argv = ['edgesea'] + "
                "sys.argv[1:]; main()", *args, cwd=cwd)


def test_python_api_without_torch(tmp_path):
    x = (0.1 * np.random.default_rng(0).standard_normal(16000 * 3)).astype(np.float32)
    wav = tmp_path / "a.wav"
    sf.write(wav, x, 16000, subtype="FLOAT")
    r = _run(f"""
        import numpy as np, soundfile as sf
        import edgesea, edgesea.edgel3 as edgel3
        from edgesea import hear
        audio, sr = sf.read({str(wav)!r})
        emb, ts = edgesea.get_embedding(audio, sr, emb_dim=128, hop_size=0.5)
        assert emb.shape == (6, 128) and type(edgesea.get_model()).__name__ == 'OnnxEmbedder'
        int8, _ = edgesea.get_embedding(audio, sr, model='sea_urban_128.int8', hop_size=0.5)
        sparse, _ = edgesea.get_embedding(audio, sr, model_type='sparse', sparsity=87.0,
                                          hop_size=0.5)
        assert int8.shape == (6, 128) and sparse.shape == (6, 512)
        out = edgesea.process_file({str(wav)!r}, {str(tmp_path / 'out')!r}, hop_size=0.5,
                                   pool='mean,max')
        # the file is read in blocks: the mel matrix product runs on other row counts, which
        # BLAS rounds differently on some CPUs (seen: 3e-6 on an AMD EPYC)
        assert np.abs(np.load(out[0])['embedding'] - emb).max() <= 1e-5
        s = edgesea.StreamEmbedder(sr=sr, hop_size=0.5)
        rows = [s.push(audio[i:i + 320])[0] for i in range(0, len(audio), 320)]
        rows.append(s.flush()[0])
        assert np.abs(np.concatenate(rows) - emb).max() <= 1e-5
        e3, _ = edgel3.get_embedding(audio, sr, model_type='sea', emb_dim=128, hop_size=0.5,
                                     verbose=0)
        np.testing.assert_array_equal(e3, emb)
        m = hear.load_model()
        scene = hear.get_scene_embeddings(np.stack([audio, audio]).astype('float32'), m)
        assert scene.shape == (2, 128)
        assert sys.modules.get('torch') is None, 'torch was imported'
        from edgesea.errors import MissingExtraError
        for name in ('load_model', 'footprint'):
            try:
                getattr(edgesea, name)
                raise AssertionError(name + ' did not say which extra it needs')
            except MissingExtraError as e:
                assert 'pip install edgesea[train]' in str(e), e
        print('ok')
    """)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().endswith("ok")


def test_cli_without_torch(tmp_path):
    x = (0.1 * np.random.default_rng(1).standard_normal(16000 * 2)).astype(np.float32)
    sf.write(tmp_path / "b.wav", x, 16000)
    r = _cli("embed", str(tmp_path / "b.wav"), "-o", str(tmp_path / "emb"), "--hop-size", "0.5")
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "emb" / "b.npz").is_file()
    r = _cli("models")
    assert r.returncode == 0 and "sea_urban_128" in r.stdout, r.stderr[-2000:]
    r = _cli("info", "sea_urban_64")
    assert r.returncode == 0 and "ONNX Runtime" in r.stdout, r.stderr[-2000:]
    r = _cli("info", "sparse_aisfx_87.0_kd")
    assert r.returncode == 0 and "605146" in r.stdout, r.stderr[-2000:]
    r = _cli("export", "sea_urban_64", "--format", "onnx", "-o", str(tmp_path / "x.onnx"))
    assert r.returncode == 2 and "pip install edgesea[train]" in r.stderr, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
