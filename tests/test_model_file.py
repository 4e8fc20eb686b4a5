"""The edgesea model file: round trip, header, corrupt files, atomic writes."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import edgesea
import edgesea.models.io as model_io
from edgesea import EdgeSEAError, load_model, save_model
from edgesea.models import read_header, sea_student


@pytest.fixture(scope="module")
def x():
    rng = np.random.default_rng(0)
    return torch.from_numpy(rng.uniform(-1, 1, (3, 8000)).astype(np.float32))


def _trained_like(emb_dim=64, head="paper", seed=0):
    """A student whose BN statistics are not the defaults (so they must round-trip)."""
    torch.manual_seed(seed)
    m = sea_student(emb_dim, head=head)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
    return m.eval()


EXTRAS = {
    "pca_mean": np.linspace(-1, 1, 64, dtype=np.float64),
    "pca_components": np.random.default_rng(1).standard_normal((64, 32)).astype(np.float32),
    "indices": np.arange(10, dtype=np.int64),
}


@pytest.mark.parametrize("head", ["paper", "linear"])
def test_round_trip(tmp_path, x, head):
    m = _trained_like(head=head)
    m.metadata = {"teacher": "aisfx", "metrics": {"acc": 0.78}, "note": "ünïcode", "n": [1, 2]}
    path = tmp_path / "model.safetensors"
    assert save_model(m, path, extras=EXTRAS) == str(path)
    loaded = load_model(path)
    assert isinstance(loaded, edgesea.models.EmbeddingModel)
    assert not loaded.training
    assert loaded.config == m.config
    assert loaded.metadata == m.metadata
    sd, sd2 = m.state_dict(), loaded.state_dict()
    assert sd.keys() == sd2.keys()
    for k in sd:
        assert sd[k].dtype == sd2[k].dtype and torch.equal(sd[k], sd2[k]), k
    with torch.inference_mode():
        assert torch.equal(m(x), loaded(x))
    assert loaded.extras.keys() == EXTRAS.keys()
    for k, v in EXTRAS.items():
        assert loaded.extras[k].dtype == v.dtype
        np.testing.assert_array_equal(loaded.extras[k], v)
    assert loaded.source_path == os.path.abspath(path)


def test_extras_default_to_model_extras(tmp_path):
    m = _trained_like()
    m.extras = {"w": np.ones((2, 3), np.float32)}
    path = tmp_path / "m.safetensors"
    save_model(m, path)
    np.testing.assert_array_equal(load_model(path).extras["w"], np.ones((2, 3)))
    # and a loaded model saves its extras again
    save_model(load_model(path), tmp_path / "m2.safetensors")
    assert load_model(tmp_path / "m2.safetensors").extras.keys() == {"w"}


def test_non_contiguous_extra(tmp_path):
    arr = np.arange(20, dtype=np.float32).reshape(4, 5).T
    path = tmp_path / "m.safetensors"
    save_model(_trained_like(), path, extras={"t": arr})
    np.testing.assert_array_equal(load_model(path).extras["t"], arr)


def test_read_header(tmp_path):
    m = _trained_like()
    m.metadata = {"provenance": "unit test"}
    path = tmp_path / "m.safetensors"
    save_model(m, path)
    header = read_header(path)
    assert header["format"] == "edgesea-model"
    assert header["format_version"] == 1
    assert header["config"] == m.config.to_dict()
    assert header["metadata"] == {"provenance": "unit test"}
    assert isinstance(header["sha256"], str) and len(header["sha256"]) == 64


def test_save_rejects_bad_inputs(tmp_path):
    with pytest.raises(EdgeSEAError, match="EmbeddingModel"):
        save_model(torch.nn.Linear(2, 2), tmp_path / "x.safetensors")
    m = _trained_like()
    m.metadata = {"bad": object()}
    with pytest.raises(EdgeSEAError, match="JSON"):
        save_model(m, tmp_path / "y.safetensors")
    assert os.listdir(tmp_path) == []


def test_save_creates_parent_dirs(tmp_path):
    path = tmp_path / "a" / "b" / "m.safetensors"
    save_model(_trained_like(), path)
    assert load_model(path).emb_dim == 64


# -- corrupt / foreign files -------------------------------------------------------------------

@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "good.safetensors"
    save_model(_trained_like(), path)
    return path


def _data_offset(raw: bytes) -> int:
    (n,) = struct.unpack("<Q", raw[:8])
    return 8 + n


def _assert_both_fail(path, match=None):
    with pytest.raises(EdgeSEAError, match=match):
        load_model(path)
    with pytest.raises(EdgeSEAError, match=match):
        read_header(path)


def test_truncated_file(saved):
    raw = saved.read_bytes()
    for cut in (len(raw) // 2, len(raw) - 1, _data_offset(raw) - 5, 4):
        saved.write_bytes(raw[:cut])
        _assert_both_fail(saved)


def test_flipped_byte_in_tensor_data(saved):
    raw = bytearray(saved.read_bytes())
    start = _data_offset(bytes(raw))
    for pos in (start, (start + len(raw)) // 2, len(raw) - 1):
        bad = bytearray(raw)
        bad[pos] ^= 0x40
        saved.write_bytes(bytes(bad))
        with pytest.raises(EdgeSEAError, match="checksum"):
            load_model(saved)


def test_flipped_byte_in_header(saved):
    raw = bytearray(saved.read_bytes())
    raw[10] ^= 0xFF  # inside the JSON header
    saved.write_bytes(bytes(raw))
    _assert_both_fail(saved)


@pytest.mark.parametrize("content", [b"", b"\x00", bytes(range(256)) * 40,
                                     b"not a model at all\n" * 100])
def test_random_and_empty_files(tmp_path, content):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(content)
    _assert_both_fail(path)


def test_random_bytes_seeded(tmp_path):
    rng = np.random.default_rng(7)
    path = tmp_path / "junk.safetensors"
    for _ in range(5):
        path.write_bytes(rng.bytes(int(rng.integers(1, 5000))))
        _assert_both_fail(path)


def test_plain_safetensors_without_edgesea_header(tmp_path):
    path = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(3)}, str(path))
    _assert_both_fail(path, "edgesea")
    save_file({"w": torch.zeros(3)}, str(path), metadata={"other": "x"})
    _assert_both_fail(path, "edgesea")


def _write_with_header(path, header, tensors=None):
    tensors = tensors if tensors is not None else {"w": torch.zeros(3)}
    save_file(tensors, str(path), metadata={"edgesea": header if isinstance(header, str)
                                            else json.dumps(header)})


def _good_header(saved):
    return read_header(saved)


def test_newer_format_version(tmp_path, saved):
    header = _good_header(saved)
    header["format_version"] = 999
    path = tmp_path / "future.safetensors"
    _write_with_header(path, header)
    _assert_both_fail(path, "version 999")


@pytest.mark.parametrize("version", [None, "1", 1.0])
def test_bad_format_version(tmp_path, saved, version):
    header = _good_header(saved)
    header["format_version"] = version
    path = tmp_path / "bad.safetensors"
    _write_with_header(path, header)
    _assert_both_fail(path, "version")


@pytest.mark.parametrize("fmt", ["other-model", None, 1])
def test_wrong_format_name(tmp_path, saved, fmt):
    header = _good_header(saved)
    header["format"] = fmt
    path = tmp_path / "wrong.safetensors"
    _write_with_header(path, header)
    _assert_both_fail(path, "not an edgesea model")


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", "null"])
def test_header_not_json_or_not_object(tmp_path, raw):
    path = tmp_path / "h.safetensors"
    _write_with_header(path, raw)
    _assert_both_fail(path)


def test_missing_file(tmp_path):
    _assert_both_fail(tmp_path / "missing.safetensors", "not found")
    _assert_both_fail(tmp_path, "not found")  # a directory is not a model file


def test_weights_do_not_fit_config(tmp_path, saved):
    header = _good_header(saved)
    tensors = {k: v.contiguous() for k, v in _trained_like(128).state_dict().items()}
    header["sha256"] = model_io._digest(tensors)  # checksum is right, the config is not
    path = tmp_path / "misfit.safetensors"
    _write_with_header(path, header, tensors)
    with pytest.raises(EdgeSEAError, match="do not fit"):
        load_model(path)


def test_bad_config_in_header(tmp_path, saved):
    header = _good_header(saved)
    del header["config"]["blocks"]
    path = tmp_path / "cfg.safetensors"
    tensors = {k: v.contiguous() for k, v in _trained_like().state_dict().items()}
    header["sha256"] = model_io._digest(tensors)
    _write_with_header(path, header, tensors)
    with pytest.raises(EdgeSEAError, match="configuration"):
        load_model(path)


def test_missing_checksum(tmp_path, saved):
    header = _good_header(saved)
    del header["sha256"]
    path = tmp_path / "nosum.safetensors"
    _write_with_header(path, header, dict(_trained_like().state_dict()))
    with pytest.raises(EdgeSEAError, match="checksum"):
        load_model(path)


# -- atomic writes -------------------------------------------------------------------------------

def test_save_is_atomic(tmp_path, monkeypatch):
    real_save_file = model_io.save_file

    def failing_save_file(tensors, filename, metadata=None):
        with open(filename, "wb") as fh:
            fh.write(b"\x08\x00\x00\x00\x00\x00\x00\x00{partial")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(model_io, "save_file", failing_save_file)
    with pytest.raises(OSError, match="disk full"):
        save_model(_trained_like(), tmp_path / "new.safetensors")
    assert os.listdir(tmp_path) == []

    # an existing file is left intact when overwriting fails
    monkeypatch.setattr(model_io, "save_file", real_save_file)
    good = tmp_path / "model.safetensors"
    save_model(_trained_like(seed=0), good)
    before = good.read_bytes()
    monkeypatch.setattr(model_io, "save_file", failing_save_file)
    with pytest.raises(OSError):
        save_model(_trained_like(seed=1), good)
    assert os.listdir(tmp_path) == ["model.safetensors"]
    assert good.read_bytes() == before
    load_model(good)


def test_saved_file_respects_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "m.safetensors"
        save_model(_trained_like(), path)
    finally:
        os.umask(old)
    assert os.stat(path).st_mode & 0o777 == 0o644
