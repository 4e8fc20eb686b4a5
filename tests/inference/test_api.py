"""The edgel3-compatible API: get_embedding, get_model (cache), process_file."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import soundfile as sf
import torch

import edgesea
import edgesea.inference.outputs as outputs
from edgesea import EdgeSEAError, EdgeSEAWarning, get_embedding, get_model, process_file
from edgesea.audio.windows import n_windows
from edgesea.inference.api import iter_process_files, output_path
from edgesea.models import save_model, sea_student
from edgesea.packaged.names import available

SR = 8000


def _noise(n, seed=0, amp=0.3):
    return (amp * np.random.default_rng(seed).uniform(-1, 1, n)).astype(np.float32)


# A mix of lengths and rates: shorter than a window, exactly one, odd lengths, resampled.
MIX = [(_noise(3000, 1), 8000), (_noise(8000, 2), 16000), (_noise(20000, 3), 8000),
       (_noise(12345, 4), 22050), (_noise(30000, 5), 44100), (_noise(8001, 6), 8000)]


@pytest.fixture(autouse=True)
def _quiet_short_audio_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EdgeSEAWarning)
        yield


def test_get_embedding_types_and_shapes(tiny_model_path):
    audio = _noise(20000)
    emb, ts = get_embedding(audio, SR, model=tiny_model_path, hop_size=0.25)
    t = n_windows(20000, SR, 1.0, 0.25, True)
    assert emb.shape == (t, 128) and emb.dtype == np.float32
    assert ts.shape == (t,)
    np.testing.assert_allclose(ts, np.arange(t) * 0.25)
    assert np.isfinite(emb).all() and (emb >= 0).all()
    # distinct windows give distinct embeddings
    assert not np.array_equal(emb[0], emb[2])


def test_center_false(tiny_model_path):
    emb, ts = get_embedding(_noise(20000), SR, model=tiny_model_path, center=False)
    assert emb.shape[0] == n_windows(20000, SR, 1.0, 0.1, False) == 16
    np.testing.assert_allclose(ts, np.arange(16) * 0.1)
    emb_c, _ = get_embedding(_noise(20000), SR, model=tiny_model_path, center=True)
    assert emb_c.shape[0] == 21
    assert not np.array_equal(emb[0], emb_c[0])


def test_embedding_equals_model_on_frames(tiny_model_path):
    """The API output is the model applied to the openl3 frames (no hidden processing)."""
    audio = _noise(12000, 9)
    emb, _ = get_embedding(audio, SR, model=tiny_model_path, hop_size=0.5)
    padded = np.concatenate([np.zeros(4000, np.float32), audio, np.zeros(4000, np.float32)])
    frames = np.stack([padded[i * 4000:i * 4000 + 8000] for i in range(3)])
    net = get_model(tiny_model_path)
    with torch.inference_mode():
        ref = net(torch.from_numpy(frames)).numpy()
    assert emb.shape == (3, 128)
    np.testing.assert_allclose(emb, ref, rtol=1e-4, atol=1e-5)


def _one_by_one(model, batch_size, hop_size=0.1):
    return [get_embedding(a, s, model=model, batch_size=batch_size, hop_size=hop_size)
            for a, s in MIX]


@pytest.mark.parametrize("batch_size", [1, 7, 64])
def test_batched_list_equals_one_by_one_exactly(tiny_model_path, batch_size):
    singles = _one_by_one(tiny_model_path, batch_size)
    embs, stamps = get_embedding([a for a, _ in MIX], [s for _, s in MIX],
                                 model=tiny_model_path, batch_size=batch_size)
    assert isinstance(embs, list) and len(embs) == len(MIX)
    for (e1, t1), e2, t2 in zip(singles, embs, stamps, strict=True):
        assert np.array_equal(t1, t2)
        assert np.array_equal(e1, e2)


@pytest.mark.parametrize("batch_size", [1, 7, 64])
def test_batched_list_matches_one_by_one(tiny_model_path, batch_size):
    singles = _one_by_one(tiny_model_path, 64, hop_size=0.25)
    embs, stamps = get_embedding(tuple(a for a, _ in MIX), [s for _, s in MIX],
                                 model=tiny_model_path, batch_size=batch_size, hop_size=0.25)
    for (e1, t1), e2, t2 in zip(singles, embs, stamps, strict=True):
        assert e1.shape == e2.shape and e1.dtype == e2.dtype == np.float32
        assert np.array_equal(t1, t2)
        np.testing.assert_allclose(e1, e2, rtol=1e-5, atol=1e-5)


def test_list_with_one_sample_rate(tiny_model_path):
    audios = [_noise(10000, 1), _noise(24000, 2), _noise(5000, 3)]
    embs, stamps = get_embedding(audios, 16000, model=tiny_model_path, batch_size=1)
    embs2, _ = get_embedding(audios, [16000] * 3, model=tiny_model_path, batch_size=1)
    for a, e, t, e2 in zip(audios, embs, stamps, embs2, strict=True):
        single, ts = get_embedding(a, 16000, model=tiny_model_path, batch_size=1)
        assert np.array_equal(single, e) and np.array_equal(ts, t) and np.array_equal(e, e2)
    assert [e.shape[0] for e in embs] == [n_windows(len(a) // 2, SR) for a in audios]


def test_determinism(tiny_model_path):
    a1 = get_embedding(MIX[2][0], SR, model=tiny_model_path)
    a2 = get_embedding(MIX[2][0], SR, model=tiny_model_path)
    assert np.array_equal(a1[0], a2[0]) and np.array_equal(a1[1], a2[1])


# -- models ----------------------------------------------------------------------------------

def test_model_cache(tmp_path):
    path = tmp_path / "m.safetensors"
    torch.manual_seed(0)
    save_model(sea_student(64).eval(), path)
    m1 = get_model(path)
    assert get_model(path) is m1
    assert get_model(str(path)) is m1
    mtime = os.stat(path).st_mtime_ns

    torch.manual_seed(1)
    save_model(sea_student(64).eval(), path)  # same size, different weights
    if os.stat(path).st_mtime_ns == mtime:  # coarse file-system clock: make the change visible
        os.utime(path, ns=(mtime + 10**9, mtime + 10**9))
    m2 = get_model(path)
    assert m2 is not m1
    w1, w2 = m1.state_dict()["features.0.weight"], m2.state_dict()["features.0.weight"]
    assert not torch.equal(w1, w2)
    assert get_model(path) is m2


def test_model_loaded_once_across_calls(tmp_path, monkeypatch):
    path = tmp_path / "once.safetensors"
    torch.manual_seed(0)
    save_model(sea_student(64).eval(), path)
    calls = []
    real = edgesea.models.load_model  # what the api loads model files with

    def counting(p):
        calls.append(p)
        return real(p)

    monkeypatch.setattr(edgesea.models, "load_model", counting)
    for _ in range(3):
        get_embedding(_noise(8000), SR, model=path)
    assert len(calls) == 1


def test_model_instance(tiny_model_path):
    torch.manual_seed(0)
    m = sea_student(128)  # training mode: get_model must switch it to eval
    e_inst, _ = get_embedding(_noise(9000), SR, model=m)
    e_path, _ = get_embedding(_noise(9000), SR, model=tiny_model_path)
    assert not m.training
    assert get_model(m) is m
    np.testing.assert_array_equal(e_inst, e_path)


@pytest.mark.parametrize("bad", [torch.nn.Linear(2, 2), 123, 1.5, [1]])
def test_bad_model_argument(bad):
    with pytest.raises(EdgeSEAError, match="model"):
        get_embedding(_noise(8000), SR, model=bad)


def test_missing_model_file(tmp_path):
    with pytest.raises(EdgeSEAError, match="not found"):
        get_embedding(_noise(8000), SR, model=tmp_path / "nope.safetensors")


def test_model_none_explains_how_to_pass_a_model(zoo_of_one):
    # a valid size that no packaged model of the larger tier has (the zoo shipping only
    # its 128-d one)
    assert available(tier="mcu-1m") == [("sea", 128)]
    with pytest.raises(EdgeSEAError) as exc:
        get_embedding(_noise(8000), SR, model=None, emb_dim=512, tier="mcu-1m")
    msg = str(exc.value)
    assert "model=" in msg and "save_model" in msg and "sea/128" in msg


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"model_type": "openl3"}, "model_type"),
    ({"model_type": None}, "model_type"),
    ({"emb_dim": 100}, "emb_dim=100"),
    ({"emb_dim": "128"}, "emb_dim"),
    ({"emb_dim": True}, "emb_dim"),
])
def test_invalid_model_type_and_emb_dim(kwargs, match):
    with pytest.raises(EdgeSEAError, match=match) as exc:
        get_embedding(_noise(8000), SR, model=None, **kwargs)
    assert "content type" not in str(exc.value)  # the edgel3 message


@pytest.mark.parametrize("bs", [0, -1, 1.5, True, "8"])
def test_bad_batch_size(tiny_model_path, bs):
    with pytest.raises(EdgeSEAError, match="batch_size"):
        get_embedding(_noise(8000), SR, model=tiny_model_path, batch_size=bs)


# -- process_file ----------------------------------------------------------------------------

def _write_clip(path, n=8000, sr=SR, seed=0):
    sf.write(path, _noise(n, seed), sr, subtype="FLOAT")
    return path


def test_output_path():
    assert output_path("/a/b/clip.wav") == os.path.join("/a/b", "clip.npz")
    assert output_path("/a/b/clip.wav", "/out", "x") == os.path.join("/out", "clip_x.npz")
    assert output_path("rel/c.d.flac", suffix="") == os.path.join("rel", "c.d.npz")


def test_process_file_writes_npz(tmp_path, tiny_model_path):
    wav = _write_clip(tmp_path / "clip.wav", n=12000, seed=3)
    out = process_file(wav, model=tiny_model_path, hop_size=0.5)
    assert out == [str(tmp_path / "clip.npz")]
    with np.load(out[0]) as data:
        assert set(data.files) == {"embedding", "timestamps", "provenance"}
        emb, ts = data["embedding"], data["timestamps"]
    audio, sr = edgesea.load_audio(wav)
    ref_emb, ref_ts = get_embedding(audio, sr, model=tiny_model_path, hop_size=0.5)
    np.testing.assert_array_equal(emb, ref_emb)
    np.testing.assert_array_equal(ts, ref_ts)
    assert emb.dtype == np.float32 and emb.shape == (3, 128)


def test_process_file_suffix_and_output_dir(tmp_path, tiny_model_path):
    wav = _write_clip(tmp_path / "clip.wav")
    out_dir = tmp_path / "out" / "nested"
    out = process_file(str(wav), output_dir=out_dir, suffix="x", model=tiny_model_path)
    assert out == [str(out_dir / "clip_x.npz")]
    assert os.path.isfile(out[0])
    assert not (tmp_path / "clip.npz").exists() and not (tmp_path / "clip_x.npz").exists()


def test_process_file_skips_existing_unless_overwrite(tmp_path, tiny_model_path):
    wav = _write_clip(tmp_path / "clip.wav", n=16000)
    (out,) = process_file(wav, model=tiny_model_path, hop_size=0.5)
    old = 1_000_000_000 * 10**9  # 2001
    os.utime(out, ns=(old, old))
    content = open(out, "rb").read()

    assert process_file(wav, model=tiny_model_path, hop_size=0.5) == [out]  # same settings
    assert os.stat(out).st_mtime_ns == old
    with pytest.raises(EdgeSEAError, match="overwrite=True"):  # other settings: refused
        process_file(wav, model=tiny_model_path, hop_size=0.25)
    assert os.stat(out).st_mtime_ns == old
    assert open(out, "rb").read() == content

    assert process_file(wav, model=tiny_model_path, hop_size=0.25, overwrite=True) == [out]
    assert os.stat(out).st_mtime_ns != old
    with np.load(out) as data:
        assert len(data["timestamps"]) == n_windows(16000, SR, 1.0, 0.25) == 7
        np.testing.assert_allclose(data["timestamps"], np.arange(7) * 0.25)


def test_process_many_files(tmp_path, tiny_model_path):
    wavs = [_write_clip(tmp_path / f"f{i}.wav", n=4000 + 3000 * i, seed=i) for i in range(5)]
    outs = process_file(wavs, model=tiny_model_path, hop_size=0.5, output_dir=tmp_path / "o")
    assert outs == [str(tmp_path / "o" / f"f{i}.npz") for i in range(5)]
    assert all(os.path.isfile(o) for o in outs)


def test_iter_process_files_flushes_every_buffer(tmp_path, tiny_model_path):
    """openl3 bug: buffered files are left unprocessed (here: files sharing batches, and a
    skipped last file)."""
    wavs = [_write_clip(tmp_path / f"f{i}.wav", n=6000 + 1000 * i, seed=i) for i in range(5)]
    results = list(iter_process_files(wavs, model=tiny_model_path, hop_size=0.5,
                                      batch_size=4))
    assert [r.status for r in results] == ["written"] * 5
    assert sorted(r.path for r in results) == sorted(map(str, wavs))
    for w, r in zip(wavs, sorted(results, key=lambda r: r.path), strict=True):
        assert os.path.isfile(r.output)
        assert r.n_windows == n_windows(sf.info(w).frames, SR, 1.0, 0.5)

    for w in wavs[:4]:
        os.remove(output_path(w))
    results = list(iter_process_files(wavs, model=tiny_model_path, hop_size=0.5,
                                      batch_size=3))
    assert sorted(r.status for r in results) == ["skipped"] + ["written"] * 4
    assert all(os.path.isfile(output_path(w)) for w in wavs)


def test_iter_process_files_equals_single_calls(tmp_path, tiny_model_path):
    wavs = [_write_clip(tmp_path / f"g{i}.wav", n=5000 * (i + 1), sr=16000, seed=i)
            for i in range(3)]
    list(iter_process_files(wavs, model=tiny_model_path, hop_size=0.5, batch_size=1))
    for w in wavs:
        audio, sr = edgesea.load_audio(w)
        ref, _ = get_embedding(audio, sr, model=tiny_model_path, hop_size=0.5, batch_size=1)
        with np.load(output_path(w)) as data:
            np.testing.assert_array_equal(data["embedding"], ref)


def test_corrupt_file_among_good_ones(tmp_path, tiny_model_path):
    good = [_write_clip(tmp_path / f"good{i}.wav", seed=i) for i in range(3)]
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF garbage" * 20)
    missing = tmp_path / "missing.wav"
    with pytest.raises(EdgeSEAError) as exc:
        process_file([good[0], bad, good[1], missing, good[2]], model=tiny_model_path)
    msg = str(exc.value)
    assert "bad.wav" in msg and "missing.wav" in msg and "2 of 5" in msg
    assert not any(os.path.basename(g) in msg for g in good)
    assert all(os.path.isfile(output_path(g)) for g in good)
    assert not os.path.exists(output_path(bad))


def test_empty_audio_file_among_good_ones(tmp_path, tiny_model_path):
    good = [_write_clip(tmp_path / f"good{i}.wav", seed=i) for i in range(2)]
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, np.float32), SR)
    with pytest.raises(EdgeSEAError, match=r"empty\.wav"):
        process_file([good[0], empty, good[1]], model=tiny_model_path)
    assert all(os.path.isfile(output_path(g)) for g in good)


def test_process_file_output_order_with_skipped(tmp_path, tiny_model_path):
    wavs = [_write_clip(tmp_path / f"h{i}.wav", seed=i) for i in range(3)]
    process_file(wavs[1], model=tiny_model_path)  # its output now exists -> skipped below
    outs = process_file(wavs, model=tiny_model_path)
    assert outs == [output_path(w) for w in wavs]


def test_process_file_empty_list():
    with pytest.raises(EdgeSEAError, match="no input files"):
        process_file([])


def test_process_file_bad_hop(tmp_path, tiny_model_path):
    wav = _write_clip(tmp_path / "clip.wav")
    with pytest.raises(EdgeSEAError, match="hop_size"):
        process_file(wav, model=tiny_model_path, hop_size=0)
    assert not os.path.exists(output_path(wav))


def test_npz_write_is_atomic(tmp_path, tiny_model_path, monkeypatch):
    wav = _write_clip(tmp_path / "clip.wav")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    real = outputs._write_npy_rows

    def failing_rows(zf, name, *args, **kwargs):
        if name == "timestamps.npy":  # after the embedding was written
            raise OSError("disk full (simulated)")
        return real(zf, name, *args, **kwargs)

    monkeypatch.setattr(outputs, "_write_npy_rows", failing_rows)
    with pytest.raises(OSError, match="disk full"):
        process_file(wav, output_dir=out_dir, model=tiny_model_path)
    assert os.listdir(out_dir) == []

    # an existing output survives a failed overwrite
    monkeypatch.undo()
    (out,) = process_file(wav, output_dir=out_dir, model=tiny_model_path)
    before = open(out, "rb").read()
    monkeypatch.setattr(outputs, "_write_npy_rows", failing_rows)
    with pytest.raises(OSError):
        process_file(wav, output_dir=out_dir, model=tiny_model_path, overwrite=True)
    assert os.listdir(out_dir) == ["clip.npz"]
    assert open(out, "rb").read() == before


def test_npz_respects_umask(tmp_path, tiny_model_path):
    wav = _write_clip(tmp_path / "clip.wav")
    old = os.umask(0o022)
    try:
        (out,) = process_file(wav, model=tiny_model_path)
    finally:
        os.umask(old)
    assert os.stat(out).st_mode & 0o777 == 0o644


def test_real_clip(real_clip, tiny_model_path):
    audio, sr = real_clip
    emb, ts = get_embedding(audio, sr, model=tiny_model_path, hop_size=0.5)
    n8k = len(audio) * SR / sr
    candidates = {n_windows(int(n8k) + d, SR, 1.0, 0.5) for d in (-1, 0, 1, 2)}
    assert emb.shape[0] in candidates and emb.shape[1] == 128
    assert emb.dtype == np.float32 and np.isfinite(emb).all()
    np.testing.assert_allclose(ts, np.arange(emb.shape[0]) * 0.5)
    assert emb.std(axis=0).max() > 0  # windows differ


def test_list_of_numbers_is_a_clear_error(tiny_model_path) -> None:
    """A list of samples used to fail with 'audio has 0 dimensions' (issue 34)."""
    with pytest.raises(EdgeSEAError, match=r"list of 800 numbers.*np\.asarray\(audio\)"):
        get_embedding([0.1] * 800, 8000, model=tiny_model_path)
    emb, ts = get_embedding(np.asarray([0.1] * 8000), 8000, model=tiny_model_path)
    assert emb.shape[0] == ts.shape[0] >= 1


def test_model_type_error_lists_every_packaged_type() -> None:
    """The error listed only 'sea' although 'sparse' works too (issue 34)."""
    with pytest.raises(EdgeSEAError, match=r"invalid model_type='foo': expected one of "
                       r"\['sea', 'sparse'\]"):
        get_model(None, model_type="foo")
    with pytest.raises(ValueError):  # a ParameterError
        get_embedding(np.zeros(8000), 8000, model_type="foo")
