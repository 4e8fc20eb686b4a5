"""The edgesea model file: round trip, header, corrupt files, atomic writes."""

from __future__ import annotations

import json
import os
import struct
import warnings

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import edgesea
import edgesea.models.io as model_io
from edgesea import EdgeSEAError, load_model, save_model
from edgesea.models import ModelConfig, read_header, sea_student


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
    assert header["format_version"] == 2
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


def test_directory_is_named_a_directory(tmp_path):
    _assert_both_fail(tmp_path, "is a directory.*expected an edgesea model file")


def _resign(header, tensors):
    """Recompute the checksum after a change, as an attacker (or a careless tool) can."""
    header = json.loads(json.dumps(header))
    header["format_version"] = model_io.FORMAT_VERSION
    if hasattr(model_io, "header_digest"):
        header["sha256"] = model_io.header_digest(tensors, header)
    else:  # the version-1 format: the checksum covers only the tensors
        header["sha256"] = model_io._digest(tensors)
    return header


def _tensors(model=None):
    model = model if model is not None else _trained_like()
    return {k: v.contiguous() for k, v in model.state_dict().items()}


def test_weights_do_not_fit_config(tmp_path, saved, monkeypatch):
    tensors = _tensors(_trained_like(128))
    header = _resign(_good_header(saved), tensors)  # checksum is right, the config is not
    path = tmp_path / "misfit.safetensors"
    _write_with_header(path, header, tensors)
    built = []
    real = model_io.EmbeddingModel
    monkeypatch.setattr(model_io, "EmbeddingModel",
                        lambda *a, **k: built.append(1) or real(*a, **k))
    with pytest.raises(EdgeSEAError, match="do not fit"):
        load_model(path)
    assert built == []  # refused from the header's shapes, before any network is built


def test_bad_config_in_header(tmp_path, saved):
    header = _good_header(saved)
    del header["config"]["blocks"]
    path = tmp_path / "cfg.safetensors"
    tensors = _tensors()
    _write_with_header(path, _resign(header, tensors), tensors)
    with pytest.raises(EdgeSEAError, match="configuration"):
        load_model(path)


def _set(path):
    """A mutation that sets ``config[path[0]][path[1]]... = value``."""
    def mutate(config, value):
        target = config
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


BAD_CONFIGS = [
    (("blocks",), [[-32, 32], [64, 64], [128, 128], [64, 64]], "width"),
    (("blocks",), [[0, 32], [64, 64], [128, 128], [64, 64]], "width"),
    (("blocks",), [[5000, 32], [64, 64], [128, 128], [64, 64]], "4096"),
    (("blocks",), [[8]] * 64 + [[64]], "blocks"),
    (("blocks",), [[30_000_000, 32], [64, 64], [128, 128], [64, 64]], "4096"),  # issue 17
    (("blocks",), [[8]] * 100_000, "blocks"),  # issue 17: 1e5 blocks
    (("blocks",), [[8] * 9, [64, 64], [128, 128], [64, 64]], "convs"),
    (("blocks",), "abc", "blocks"),
    (("blocks",), [[32.5, 32], [64, 64], [128, 128], [64, 64]], "width"),
    (("pool_after",), [1, 1, 1, 0], "pool_after"),
    (("emb_dim",), "64", "emb_dim"),
    (("emb_dim",), True, "emb_dim"),
    (("emb_dim",), 64.0, "emb_dim"),
    (("window",), 0, "window"),
    (("window",), -1.0, "window"),
    (("window",), 1e9, "window"),
    (("window",), "1", "window"),
    (("sample_rate",), 0, "sample_rate"),
    (("sample_rate",), 8000.5, "sample_rate"),
    (("kernel_size",), 3.5, "kernel_size"),
    (("kernel_size",), 99, "kernel_size"),
    (("stem_stride",), 2.0, "stem_stride"),
    (("input_bn",), "yes", "input_bn"),
    (("final_bn_relu",), 1, "final_bn_relu"),
    (("bn_eps",), -1.0, "bn_eps"),
    (("bn_eps",), "0.001", "bn_eps"),
    (("family",), 3, "family"),
    (("head",), ["paper"], "head"),
    (("extra",), [], "extra"),
    (("frontend",), None, "frontend"),
    (("frontend",), [], "frontend"),
    (("frontend", "n_fft"), 1024.5, "n_fft"),
    (("frontend", "n_fft"), 1 << 40, "n_fft"),
    (("frontend", "hop_length"), 0, "hop_length"),
    (("frontend", "hop_length"), "160", "hop_length"),
    (("frontend", "n_mels"), -1, "n_mels"),
    (("frontend", "n_mels"), 100000, "n_mels"),
    (("frontend", "sample_rate"), 0, "sample_rate"),
    (("frontend", "sample_rate"), 16000, "sample_rate"),
    (("frontend", "top_db"), "80", "top_db"),
    (("frontend", "periodic"), "no", "periodic"),
    (("frontend", "db"), 0, "db"),
    (("frontend", "amin"), 0.0, "amin"),
    (("frontend", "power"), [], "power"),
    (("frontend", "fmax"), 1e12, "fmax"),
    (("frontend", "ref"), -1, "ref"),
    (("frontend", "window"), 7, "window"),
    (("frontend", "unknown_key"), 1, "unknown_key"),
]


@pytest.mark.parametrize(("where", "value", "match"), BAD_CONFIGS,
                         ids=[f"{'.'.join(w)}={v!r:.30}" for w, v, _ in BAD_CONFIGS])
def test_out_of_range_or_mistyped_config_is_refused(tmp_path, saved, where, value, match):
    header = _good_header(saved)
    _set(where)(header["config"], value)
    tensors = _tensors()
    path = tmp_path / "cfg.safetensors"
    _write_with_header(path, _resign(header, tensors), tensors)
    with pytest.raises(EdgeSEAError, match=match):
        load_model(path)


@pytest.mark.parametrize("where", ["config", "frontend"])
def test_missing_config_keys_are_refused(tmp_path, saved, where):
    header = _good_header(saved)
    target = header["config"] if where == "config" else header["config"]["frontend"]
    key = "emb_dim" if where == "config" else "n_fft"
    del target[key]
    tensors = _tensors()
    path = tmp_path / "cfg.safetensors"
    _write_with_header(path, _resign(header, tensors), tensors)
    with pytest.raises(EdgeSEAError, match=key):
        load_model(path)


def test_config_whose_feature_map_vanishes_is_refused(tmp_path, saved):
    header = _good_header(saved)
    header["config"]["window"] = 0.05  # 3 frames: 2x2 pools leave nothing
    tensors = _tensors()
    path = tmp_path / "cfg.safetensors"
    _write_with_header(path, _resign(header, tensors), tensors)
    with pytest.raises(EdgeSEAError, match="frames"):
        load_model(path)


@pytest.mark.parametrize("raw", [
    '{"format": "edgesea-model", "format_version": 1, "metadata": ' + "[" * 100_000
    + "]" * 100_000 + "}",
    '{"format": "edgesea-model", "format_version": 1, "metadata": '
    + '{"a": ' * 100 + "1" + "}" * 100 + "}",
    '{"format": "edgesea-model", "format_version": 1, "config": {"bn_eps": NaN}}',
    '{"format": "edgesea-model", "format_version": 1, "config": {"x": ' + "9" * 5000 + "}}",
])
def test_hostile_json_in_header(tmp_path, raw):
    path = tmp_path / "h.safetensors"
    _write_with_header(path, raw)
    _assert_both_fail(path)


def test_oversized_header_is_refused(tmp_path, saved):
    header = _good_header(saved)
    header["metadata"] = {"junk": "x" * (17 << 20)}
    tensors = _tensors()
    path = tmp_path / "big.safetensors"
    _write_with_header(path, _resign(header, tensors), tensors)
    _assert_both_fail(path, "header")


# -- header integrity (format version 2) -------------------------------------------------------

def test_changed_header_byte_is_detected(tmp_path, saved):
    raw = saved.read_bytes()
    assert raw.count(b'top_db\\": 80.0') == 1  # the JSON header sits escaped in a string
    saved.write_bytes(raw.replace(b'top_db\\": 80.0', b'top_db\\": 20.0'))
    with pytest.raises(EdgeSEAError, match="checksum"):
        load_model(saved)


def test_changed_metadata_is_detected(tmp_path):
    m = _trained_like()
    m.metadata = {"teacher": "aisfx"}
    path = tmp_path / "m.safetensors"
    save_model(m, path)
    raw = path.read_bytes()
    assert raw.count(b"aisfx") == 1
    path.write_bytes(raw.replace(b"aisfx", b"openl"))
    with pytest.raises(EdgeSEAError, match="checksum"):
        load_model(path)


def test_version_1_files_load_with_a_warning(tmp_path, saved):
    m = load_model(saved)
    header = _good_header(saved)
    tensors = _tensors(m)
    header["format_version"] = 1
    header["sha256"] = model_io.tensor_digest(tensors)
    path = tmp_path / "v1.safetensors"
    _write_with_header(path, header, tensors)
    with pytest.warns(edgesea.errors.EdgeSEAWarning, match="not integrity-checked.*save_model"):
        old = load_model(path)
    assert old.config == m.config and old.metadata == m.metadata
    for k, v in m.state_dict().items():
        assert torch.equal(v, old.state_dict()[k])
    # a version-1 file re-saved is version 2 and loads without the warning
    save_model(old, path)
    assert read_header(path)["format_version"] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_model(path)


def test_version_1_file_with_wrong_tensor_checksum_is_corrupt(tmp_path, saved):
    header = _good_header(saved)
    header["format_version"] = 1
    path = tmp_path / "v1.safetensors"
    _write_with_header(path, header, _tensors())  # sha256 is a version-2 hash
    with pytest.raises(EdgeSEAError, match="checksum"):
        load_model(path)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_weights_are_refused(tmp_path, bad):
    m = _trained_like()
    with torch.no_grad():
        m.features[0].weight[0, 0, 0, 0] = bad
    path = tmp_path / "nan.safetensors"
    save_model(m, path)
    with pytest.raises(EdgeSEAError, match=r"non-finite.*features\.0\.weight"):
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


def _variants():
    from edgesea.models import l3net, sea_mcu_student
    from edgesea.models.network import EmbeddingModel as EM

    yield sea_student(64)
    yield sea_student(128, head="linear")
    yield sea_mcu_student(128)
    yield l3net(128)
    base = sea_student(64).config.to_dict()
    for change in ({"input_bn": False}, {"final_bn_relu": False},
                   {"head": "linear", "global_pool": "meanmax", "emb_dim": 10},
                   {"separable": True, "stem_stride": 3, "kernel_size": 5},
                   {"blocks": [[8, 8, 8], [16]], "pool_after": [True, False], "emb_dim": 16}):
        yield EM(ModelConfig.from_dict({**base, **change}))


def test_expected_shapes_match_the_real_state_dict():
    from edgesea.models.validate import expected_state_shapes

    for model in _variants():
        want = {k: (tuple(v.shape), "float" if v.is_floating_point() else "int")
                for k, v in model.state_dict().items()}
        assert expected_state_shapes(model.config) == want, model.config


def test_programmatic_configs_are_checked_and_integers_normalised():
    cfg = sea_student(64).config.to_dict()
    cfg["emb_dim"] = np.int64(64)
    cfg["blocks"] = [[np.int32(w) for w in b] for b in cfg["blocks"]]
    made = ModelConfig.from_dict(cfg)
    assert type(made.emb_dim) is int and all(type(w) is int for b in made.blocks for w in b)
    with pytest.raises(EdgeSEAError, match="expected a dict"):
        ModelConfig.from_dict([1, 2])
