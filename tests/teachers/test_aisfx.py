"""aisfx teacher: safe checkpoint loading, Essentia front end and CNN vs the package oracle."""

from __future__ import annotations

import collections
import importlib.util
import os

import numpy as np
import pytest
import torch

from edgesea import EdgeSEAError
from edgesea.audio.io import resample, to_float_mono
from edgesea.teachers import Teacher
from edgesea.teachers import aisfx as ax
from edgesea.teachers.aisfx import (
    NATIVE_BLOCK_SAMPLES,
    AisfxFrontend,
    AisfxNet,
    AisfxTeacher,
    aisfx_mel_filterbank,
    load_aisfx_checkpoint,
)


class _SneakyDict(collections.OrderedDict):
    """An OrderedDict subclass: not on the weights-only allow-list."""


class _Payload:
    """Unpickling this would create a marker file (a stand-in for arbitrary code)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture(scope="module")
def checkpoint():
    """Path of the installed aisfx checkpoint; skip if aisfx is not installed."""
    try:
        return ax.default_checkpoint_path()
    except EdgeSEAError as e:
        pytest.skip(f"aisfx not installed: {e}")


@pytest.fixture(scope="module")
def teacher(checkpoint):
    return AisfxTeacher(checkpoint=checkpoint)


@pytest.fixture(scope="module")
def oracle(shared_dir):
    path = shared_dir / "models" / "aisfx" / "aisfx_reference.npz"
    if not path.is_file():
        pytest.skip("aisfx oracle not present")
    return np.load(path)


# -- safe loading ----------------------------------------------------------------------------
def test_checkpoint_keeps_embedding_net_only(checkpoint):
    state = load_aisfx_checkpoint()
    assert state and not any(k.startswith(("fc", "embedding_net")) for k in state)
    assert set(state) == set(AisfxNet().state_dict())
    assert state["conv_block4.conv2.weight"].shape == (512, 512, 3, 3)


@pytest.mark.parametrize("bad", [
    lambda tmp: (_SneakyDict(a=torch.zeros(1)), {}),
    lambda tmp: ({"embedding_net.x": torch.zeros(1)}, os.system),
    lambda tmp: ({"embedding_net.x": torch.zeros(1)}, _Payload(str(tmp / "pwned"))),
], ids=["odict_subclass", "function", "reduce_payload"])
def test_unexpected_object_refused(tmp_path, bad):
    path = tmp_path / "evil.pth"
    torch.save(bad(tmp_path), path)
    with pytest.raises(EdgeSEAError, match="safe"):
        load_aisfx_checkpoint(path)
    assert not (tmp_path / "pwned").exists()


def test_corrupt_truncated_missing(tmp_path, checkpoint):
    data = checkpoint.read_bytes()
    trunc = tmp_path / "trunc.pth"
    trunc.write_bytes(data[: len(data) // 3])
    with pytest.raises(EdgeSEAError):
        load_aisfx_checkpoint(trunc)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint at all" * 10)
    with pytest.raises(EdgeSEAError):
        load_aisfx_checkpoint(junk)
    with pytest.raises(EdgeSEAError, match="not found"):
        load_aisfx_checkpoint(tmp_path / "missing.pth")


def test_wrong_structure(tmp_path):
    for i, obj in enumerate([[1, 2, 3], {"fc.0.weight": torch.zeros(2)}, torch.zeros(3)]):
        path = tmp_path / f"s{i}.pth"
        torch.save(obj, path)
        with pytest.raises(EdgeSEAError):
            load_aisfx_checkpoint(path)
    path = tmp_path / "partial.pth"
    torch.save(({"embedding_net.conv_block1.conv1.weight": torch.zeros(64, 1, 3, 3)}, {}), path)
    assert set(load_aisfx_checkpoint(path)) == {"conv_block1.conv1.weight"}
    with pytest.raises(EdgeSEAError, match="does not fit"):
        AisfxTeacher(checkpoint=path)


def test_aisfx_not_installed(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EdgeSEAError, match=r"pip install --no-deps aisfx==0\.1\.2"):
        load_aisfx_checkpoint()


# -- front end -------------------------------------------------------------------------------
def test_mel_filterbank_unit_sum():
    fb = aisfx_mel_filterbank()
    assert fb.shape == (96, 1025) and (fb >= 0).all()
    np.testing.assert_allclose(fb.sum(axis=1), 1.0, rtol=1e-12)


def test_frontend_frames():
    fe = AisfxFrontend()
    assert fe.n_frames(44100) == 45 and fe.n_frames(NATIVE_BLOCK_SAMPLES) == 100
    assert fe.n_frames(NATIVE_BLOCK_SAMPLES + 1) == 101
    out = fe(torch.zeros(2, 44100))
    assert out.shape == (2, 45, 96) and float(out.abs().max()) == 0.0


@pytest.mark.parametrize("i", range(4))
def test_matches_aisfx_oracle(teacher, oracle, i, record_property):
    wave = oracle[f"clip{i}_wave44k"]
    ref_mel, ref_emb = oracle[f"clip{i}_logmel"], oracle[f"clip{i}_embedding"]
    mel = teacher.logmel(wave)
    emb = teacher.embed_clip_blocks(wave)
    assert mel.shape == ref_mel.shape and emb.shape == ref_emb.shape
    mel_err = float(np.abs(mel - ref_mel).max())
    emb_err = float(np.abs(emb - ref_emb).max() / np.abs(ref_emb).max())
    record_property("logmel_max_abs_err", mel_err)
    record_property("embedding_rel_err", emb_err)
    print(f"\naisfx clip{i} {oracle['clips'][i]}: log-mel max abs err {mel_err:.2e}, "
          f"embedding rel err {emb_err:.2e}")
    assert mel_err <= 1e-4
    assert emb_err <= 1e-4


# -- teacher ---------------------------------------------------------------------------------
def test_teacher_embed(teacher):
    assert isinstance(teacher, Teacher)
    assert (teacher.name, teacher.sample_rate, teacher.emb_dim) == ("aisfx", 44100, 512)
    assert teacher.window == 1.0 and teacher.window_samples == 44100
    rng = np.random.default_rng(0)
    t = np.arange(44100) / 44100
    x = 0.05 * rng.standard_normal((5, 44100)) + 0.3 * np.sin(
        2 * np.pi * rng.uniform(100, 8000, (5, 1)) * t)
    x = x.astype(np.float32)
    emb = teacher.embed(x)
    assert emb.shape == (5, 512) and emb.dtype == np.float32
    assert (emb >= 0).all() and np.isfinite(emb).all()
    np.testing.assert_array_equal(emb, teacher.embed(x))
    small = AisfxTeacher(batch_size=2)
    np.testing.assert_allclose(small.embed(x), emb, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(teacher.embed(x[3:4])[0], emb[3], rtol=1e-5, atol=1e-6)


def test_teacher_embed_rejects_bad_input(teacher):
    with pytest.raises(EdgeSEAError):
        teacher.embed(np.zeros((2, 22050), np.float32))
    with pytest.raises(EdgeSEAError):
        teacher.embed(np.zeros(44100, np.float32))
    bad = np.zeros((1, 44100), np.float32)
    bad[0, 5] = np.nan
    with pytest.raises(EdgeSEAError):
        teacher.embed(bad)


def test_teacher_settings_and_identity(teacher):
    assert AisfxTeacher().identity == teacher.identity
    native = AisfxTeacher(block="native")
    assert native.window_samples == NATIVE_BLOCK_SAMPLES == 101376
    assert round(native.window * native.sample_rate) == native.window_samples
    assert native.identity != teacher.identity
    assert AisfxTeacher(window=0.5).identity != teacher.identity
    assert native.embed(np.zeros((1, 101376), np.float32)).shape == (1, 512)
    for kwargs in ({"block": "clip"}, {"window": 0.1}, {"window": float("nan")},
                   {"batch_size": 0}):
        with pytest.raises(EdgeSEAError):
            AisfxTeacher(**kwargs)


def test_native_block_equals_clip_block(teacher, real_clip):
    """A native-block window embeds like the package's first block of the same audio."""
    audio, sr = real_clip
    wave = resample(to_float_mono(audio), sr, 44100)
    native = AisfxTeacher(block="native")
    win = np.pad(wave, (0, NATIVE_BLOCK_SAMPLES))[:NATIVE_BLOCK_SAMPLES]
    first = teacher.embed_clip_blocks(win)
    np.testing.assert_allclose(native.embed(win[None])[0], first[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("frames", [45, 100])
def test_packed_network_equals_the_eager_network(teacher, frames):
    """The teacher runs its BatchNorm-folded, packed trunk on CPU (about 1.6x faster): equal
    to the eager :class:`AisfxNet` to float rounding, window by window, at both block
    lengths (a 1 s window and the native block), for batches that are not a chunk
    multiple."""
    from edgesea.models.inference import PackedTrunk

    rng = np.random.default_rng(frames)
    logmel = torch.from_numpy(rng.uniform(0, 1, (19, frames, 96)).astype(np.float32))
    with torch.inference_mode():
        want = teacher.net(logmel)
        got = teacher._network(logmel)
        one = teacher._network(logmel[5:6])
    assert isinstance(teacher._packed[frames][1], PackedTrunk)
    scale = float(want.abs().max())
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6 * scale)
    np.testing.assert_allclose(one[0], want[5], rtol=0, atol=2e-6 * scale)


def test_packed_network_follows_weight_changes(teacher):
    """The packed trunk is a cache of the weights: after ``load_state_dict`` (an in-place
    write) or a deep copy given other weights, the teacher computes with the new weights,
    never with the trunk built from the old ones."""
    import copy

    logmel = torch.from_numpy(np.random.default_rng(3).uniform(0, 1, (4, 45, 96))
                              .astype(np.float32))
    with torch.inference_mode():
        before = teacher._network(logmel)  # builds (or reuses) the trunk for 45 frames
    other = copy.deepcopy(teacher)
    state = {k: v * 0.5 if k.endswith("conv1.weight") else v
             for k, v in teacher.net.state_dict().items()}
    other.net.load_state_dict(state)
    with torch.inference_mode():
        want = other.net(logmel)
        got = other._network(logmel)
        again = teacher._network(logmel)
    assert float((want - before).abs().max()) > 1e-3  # the new weights do change the output
    scale = float(want.abs().max())
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6 * scale)
    np.testing.assert_array_equal(again, before)  # the original keeps its own trunk
