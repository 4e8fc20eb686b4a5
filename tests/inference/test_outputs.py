"""process_file / iter_process_files outputs (issue 17): provenance, refusal of outputs made
by other settings, no-replace publishing under concurrency, input collisions, edgel3's
positional order, streamed writing and stale temp files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
import soundfile as sf
import torch

import edgesea
import edgesea.inference.outputs as outputs
from edgesea import EdgeSEAError, EdgeSEAWarning, get_embedding, process_file
from edgesea.inference.api import iter_process_files, model_identity, output_path
from edgesea.models import save_model, sea_student

SR = 8000


@pytest.fixture(autouse=True)
def _quiet_short_audio_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EdgeSEAWarning)
        yield


@pytest.fixture(scope="module")
def model64_path(tmp_path_factory) -> str:
    """A second, 64-d model: the "other model" of the tests."""
    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("model64") / "sea64.safetensors"
    return save_model(sea_student(64).eval(), path)


def _clip(path, n=9000, sr=SR, seed=0):
    rng = np.random.default_rng(seed)
    sf.write(path, (0.3 * rng.uniform(-1, 1, n)).astype(np.float32), sr, subtype="FLOAT")
    return path


def _provenance(path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return json.loads(str(z["provenance"][()]))


def _width(path) -> int:
    with np.load(path, allow_pickle=False) as z:
        return z["embedding"].shape[1]


def test_provenance_is_recorded(tmp_path, tiny_model_path):
    wav = _clip(tmp_path / "a.wav")
    (out,) = process_file(wav, model=tiny_model_path, hop_size=0.5)
    with np.load(out, allow_pickle=False) as z:
        assert set(z.files) == {"embedding", "timestamps", "provenance"}
        assert z["provenance"].shape == () and z["provenance"].dtype.kind == "U"
    prov = _provenance(out)
    st = os.stat(wav)
    assert prov["model"] == model_identity(edgesea.get_model(tiny_model_path))
    assert prov["emb_dim"] == 128 and prov["hop_size"] == 0.5 and prov["center"] is True
    assert prov["source"]["size"] == st.st_size
    assert prov["source"]["mtime_ns"] == st.st_mtime_ns
    assert prov["edgesea"] == edgesea.__version__


def test_model_identity_follows_weights(tiny_model_path):
    m = sea_student(64).eval()
    ident = model_identity(m)
    assert len(ident) == 64 and model_identity(m) == ident
    with torch.no_grad():
        m.features[0].weight.add_(1.0)
    assert model_identity(m) != ident
    assert model_identity(edgesea.get_model(tiny_model_path)) != ident


def test_other_model_is_refused_then_overwritten(tmp_path, tiny_model_path, model64_path):
    """Issue 17: outputs of a 64-d model were "skipped" by a run with another model."""
    wavs = [_clip(tmp_path / f"c{i}.wav", seed=i) for i in range(3)]
    out = tmp_path / "emb"
    first = process_file(wavs, out, model=model64_path)
    before = [open(p, "rb").read() for p in first]
    with pytest.raises(EdgeSEAError) as exc:
        process_file(wavs, out, model=tiny_model_path)
    msg = str(exc.value)
    assert "3 of 3" in msg and "overwrite=True" in msg and "suffix" in msg
    assert [open(p, "rb").read() for p in first] == before  # untouched
    assert process_file(wavs, out, model=tiny_model_path, overwrite=True) == first
    assert all(_width(p) == 128 for p in first)
    # a different suffix keeps both
    other = process_file(wavs, out, "m64", model=model64_path)
    assert all(_width(p) == 64 for p in other) and all(_width(p) == 128 for p in first)


def test_matching_rerun_skips(tmp_path, tiny_model_path):
    wav = _clip(tmp_path / "a.wav")
    (out,) = process_file(wav, model=tiny_model_path, hop_size=0.5)
    old = 1_000_000_000 * 10**9
    os.utime(out, ns=(old, old))
    results = list(iter_process_files([wav], model=tiny_model_path, hop_size=0.5))
    assert [r.status for r in results] == ["skipped"]
    assert os.stat(out).st_mtime_ns == old


@pytest.mark.parametrize("change", ["hop_size", "center", "source"])
def test_changed_settings_or_source_are_refused(tmp_path, tiny_model_path, change):
    wav = _clip(tmp_path / "a.wav")
    process_file(wav, model=tiny_model_path, hop_size=0.5)
    kwargs = {"hop_size": 0.5}
    if change == "hop_size":
        kwargs["hop_size"] = 0.25
    elif change == "center":
        kwargs["center"] = False
    else:
        _clip(wav, n=12000, seed=5)  # the recording was replaced
    (r,) = iter_process_files([wav], model=tiny_model_path, **kwargs)
    assert r.status == "failed" and "--overwrite" in r.error and change.replace("_", "") in \
        r.error.replace("_", "")


def test_legacy_output_without_provenance_is_refused(tmp_path, tiny_model_path):
    wav = _clip(tmp_path / "a.wav")
    out = output_path(wav)
    np.savez(out, embedding=np.zeros((1, 1), np.float32), timestamps=np.zeros(1))
    with pytest.raises(EdgeSEAError, match="no provenance"):
        process_file(wav, model=tiny_model_path)
    assert _width(out) == 1
    process_file(wav, model=tiny_model_path, overwrite=True)
    assert _width(out) == 128


def test_publish_race_loser(tmp_path):
    """Another writer published the same output between our check and our rename."""
    out = str(tmp_path / "x.npz")
    prov = {"model": "a", "emb_dim": 4}
    for winner, expected in ((prov, "skipped"), ({**prov, "model": "b"}, "failed")):
        if os.path.exists(out):
            os.remove(out)
        outputs.write_npz(out, np.ones((2, 4), np.float32), 0.1, winner)
        fd, tmp = outputs.make_temp(tmp_path, ".npz")
        os.close(fd)
        status, error = outputs.publish(tmp, out, prov, overwrite=False)
        assert status == expected and not os.path.exists(tmp)
        assert (error is None) == (expected == "skipped")
        assert _provenance(out) == winner


def _run(paths, out, model, results, key):
    try:
        process_file(paths, out, model=model, batch_size=4)
        results[key] = "ok"
    except EdgeSEAError as e:
        results[key] = str(e)


def test_concurrent_runs_with_different_models(tmp_path, tiny_model_path, model64_path):
    """Two runs with different models into one folder never leave a silent mix."""
    wavs = [_clip(tmp_path / f"w{i:02d}.wav", n=4000, seed=i) for i in range(20)]
    out = tmp_path / "emb"
    results: dict[str, str] = {}
    ids = {128: model_identity(edgesea.get_model(tiny_model_path)),
           64: model_identity(edgesea.get_model(model64_path))}
    # opposite orders: runs that overlap in time meet in the middle
    threads = [threading.Thread(target=_run, args=(order, out, m, results, k))
               for k, m, order in (("a", tiny_model_path, wavs),
                                   ("b", model64_path, wavs[::-1]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    widths = []
    for w in wavs:
        p = output_path(w, out)
        prov = _provenance(p)
        widths.append(_width(p))
        assert prov["emb_dim"] == widths[-1] and prov["model"] == ids[widths[-1]]
    if 64 in widths:
        assert results["a"] != "ok" and "overwrite" in results["a"]
    if 128 in widths:
        assert results["b"] != "ok" and "overwrite" in results["b"]
    assert [f for f in os.listdir(out) if f.startswith(".tmp-")] == []


def test_same_output_name_is_refused_before_any_work(tmp_path, tiny_model_path):
    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    a = _clip(tmp_path / "d1" / "same.wav", seed=1)
    b = _clip(tmp_path / "d2" / "same.wav", seed=2)
    for call in (lambda: process_file([a, b], output_dir=tmp_path / "out",
                                      model=tiny_model_path),
                 lambda: list(iter_process_files([a, b], tmp_path / "out",
                                                 model=tiny_model_path))):
        with pytest.raises(EdgeSEAError) as exc:
            call()
        assert str(a) in str(exc.value) and str(b) in str(exc.value)
        assert not (tmp_path / "out").exists()


def test_edgel3_positional_order(tmp_path, model64_path):
    """edgel3: process_file(filepath, output_dir, suffix, model, ...)."""
    wav = _clip(tmp_path / "a.wav")
    (out,) = process_file(wav, tmp_path / "o", "pos", model64_path)
    assert out == str(tmp_path / "o" / "a_pos.npz") and _width(out) == 64
    with pytest.raises(TypeError):
        process_file(wav, None, None, model64_path, "sea", 64, True)  # keyword-only rest


def test_output_dir_is_a_file(tmp_path, tiny_model_path):
    wav = _clip(tmp_path / "a.wav")
    not_dir = tmp_path / "file.txt"
    not_dir.write_text("x")
    with pytest.raises(EdgeSEAError, match="output_dir"):
        process_file(wav, not_dir, model=tiny_model_path)
    with pytest.raises(EdgeSEAError, match="output_dir"):
        process_file(wav, not_dir / "sub", model=tiny_model_path)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temps_of_dead_writers_are_removed(tmp_path, tiny_model_path):
    out = tmp_path / "emb"
    out.mkdir()
    dead = out / f".tmp-{_dead_pid()}-x.npz"
    live = out / f".tmp-{os.getppid()}-y.npz"
    dead.write_bytes(b"half written")
    live.write_bytes(b"in flight")
    process_file(_clip(tmp_path / "a.wav"), out, model=tiny_model_path)
    assert not dead.exists() and live.exists()


def test_streamed_blocks_are_bit_identical(tmp_path, tiny_model_path, monkeypatch):
    """Tiny blocks, spill thresholds and cross-file batches give the whole-file results."""
    monkeypatch.setattr(outputs, "BLOCK_WINDOWS", 3)
    monkeypatch.setattr(outputs, "BLOCK_S", 0.7)
    monkeypatch.setattr(outputs, "SPILL_ROWS", 5)
    monkeypatch.setattr(outputs, "COPY_ROWS", 4)
    wavs = [_clip(tmp_path / f"s{i}.wav", n=n, sr=sr, seed=i)
            for i, (n, sr) in enumerate([(3000, 8000), (41000, 16000), (12345, 22050),
                                         (8000, 8000), (70000, 44100)])]
    results = list(iter_process_files(wavs, model=tiny_model_path, hop_size=0.25,
                                      batch_size=7))
    assert [r.status for r in results] == ["written"] * 5
    for w, r in zip(wavs, results, strict=True):
        audio, sr = edgesea.load_audio(w)
        ref, ts = get_embedding(audio, sr, model=tiny_model_path, hop_size=0.25,
                                batch_size=7)
        with np.load(r.output, allow_pickle=False) as z:
            np.testing.assert_array_equal(z["embedding"], ref)
            np.testing.assert_array_equal(z["timestamps"], ts)
        assert r.n_windows == ref.shape[0]
    assert [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")] == []


def test_write_failure_leaves_nothing(tmp_path, tiny_model_path, monkeypatch):
    wav = _clip(tmp_path / "a.wav", n=30000)
    out = tmp_path / "out"
    monkeypatch.setattr(outputs, "SPILL_ROWS", 2)  # rows spilled to a temp file

    def failing(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(outputs, "_write_npy_rows", failing)
    with pytest.raises(OSError, match="disk full"):
        process_file(wav, out, model=tiny_model_path)
    assert os.listdir(out) == []
