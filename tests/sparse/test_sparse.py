"""Sparse models (:mod:`edgesea.sparse`): pruning the real aisfx weights at edgel3's levels
gives exactly the requested sparsity, the sparse file round trip is bit-exact and its size
shrinks with sparsity, and damaged or hostile files are refused with a clear error."""

from __future__ import annotations

import copy
import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from edgesea.errors import EdgeSEAError
from edgesea.models import save_model, sea_student
from edgesea.sparse.model import SparseModel
from edgesea.sparse.prune import (
    PROFILES,
    SPARSITY_LEVELS,
    check_sparsity,
    conv_layers,
    magnitude_masks,
    sparsity_report,
)
from edgesea.sparse.storage import (
    MAX_FILE_BYTES,
    is_sparse_file,
    load_sparse,
    read_sparse_header,
    save_sparse,
    sparse_digest,
)
from sparse_cache import dense_teacher, pruned

LEVELS_TEXT = "53.5, 63.5, 72.3, 87, 95.45"


@pytest.fixture(scope="module")
def dense():
    """The dense aisfx teacher (skip when its weights are not installed)."""
    return dense_teacher()


def _pruned(_dense, level: float, **kw):
    return pruned(level, **kw)


@pytest.fixture(scope="module")
def files(dense, tmp_path_factory) -> dict[float, Path]:
    """One-shot pruned aisfx at every edgel3 level, saved as sparse files."""
    root = tmp_path_factory.mktemp("sparse")
    out = {}
    for level in SPARSITY_LEVELS:
        net, masks = _pruned(dense, level)
        out[level] = Path(save_sparse(net, root / f"s{level}.safetensors", sparsity=level,
                                      retrain="oneshot", masks=masks,
                                      teacher_identity=dense.identity))
    return out


# -- pruning ------------------------------------------------------------------------------

@pytest.mark.parametrize("level", [95.45, 53.5])
def test_layer_profile_gives_exactly_the_requested_sparsity(dense, level) -> None:
    net, masks = _pruned(dense, level)
    rep = sparsity_report(net)
    for (name, conv), pct, row in zip(conv_layers(net), PROFILES[level], rep["layers"],
                                      strict=True):
        n = conv.weight.numel()
        zeros = n - int(torch.count_nonzero(conv.weight))
        assert zeros == round(pct / 100 * n), name
        assert int((~masks[f"{name}.weight"]).sum()) == zeros
        assert row["sparsity"] == pytest.approx(pct, abs=100 / n)
        # magnitude pruning: every pruned |w| <= every kept |w|
        w = dense.net.get_submodule(name).weight.detach().abs()
        m = masks[f"{name}.weight"]
        if zeros and zeros < n:
            assert w[~m].max() <= w[m].min()
    assert rep["sparsity"] == pytest.approx(level, abs=0.05)
    assert rep["other_params"] == 7680  # BatchNorm is never pruned
    # the dense teacher is untouched
    assert sparsity_report(dense.net)["nonzero"] == rep["weights"]


def test_global_threshold_gives_exactly_the_requested_sparsity(dense) -> None:
    net, masks = _pruned(dense, 90.0, method="global")
    rep = sparsity_report(net)
    assert rep["weights"] - rep["nonzero"] == round(0.9 * rep["weights"])
    first = conv_layers(net)[0][1]
    assert int(torch.count_nonzero(first.weight)) == first.weight.numel()  # skip_first
    kept = torch.cat([dense.net.get_submodule(n).weight.detach().abs()[masks[f"{n}.weight"]]
                      for n, _ in conv_layers(net)[1:]])
    dropped = torch.cat([dense.net.get_submodule(n).weight.detach().abs()[
        ~masks[f"{n}.weight"]] for n, _ in conv_layers(net)[1:]])
    assert dropped.max() <= kept.min()  # one threshold over the layers
    small = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Conv2d(4, 4, 3))
    masks = magnitude_masks(small, 50.0, method="global", skip_first=False)
    assert int((~masks["0.weight"]).sum()) + int((~masks["1.weight"]).sum()) == 90
    assert int((~masks["0.weight"]).sum()) > 0  # the first layer pruned too
    with pytest.raises(EdgeSEAError, match="only"):  # 95 % of all, first layer kept
        magnitude_masks(small, 95.0, method="global")


@pytest.mark.parametrize("bad", [50, 95.4, 0, 100, "95.45", True, None, float("nan")])
def test_invalid_levels_are_refused_edgel3_style(bad) -> None:
    with pytest.raises(EdgeSEAError, match="invalid sparsity value") as err:
        check_sparsity(bad)
    assert LEVELS_TEXT in str(err.value)
    if bad is not None:  # None: no level given at all (another message)
        with pytest.raises(EdgeSEAError, match=LEVELS_TEXT):
            magnitude_masks(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3)), bad)
    assert check_sparsity(87) == 87.0 and check_sparsity(np.float64(72.3)) == 72.3


# -- the sparse file ------------------------------------------------------------------------

def test_round_trip_is_bit_exact(dense, files, tmp_path) -> None:
    net, masks = _pruned(dense, 95.45)
    back = load_sparse(files[95.45])
    for (k, a), (k2, b) in zip(net.state_dict().items(), back.net.state_dict().items(),
                               strict=True):
        assert k == k2 and a.dtype == b.dtype and torch.equal(a, b), k
    for name, m in masks.items():  # kept weights are non-zero: the stored mask is the mask
        assert torch.equal(back.masks[name], m)
    # pruned weights read back as +0.0 (w * 0 gave -0.0 for negative w)
    w = back.net.conv_block4.conv2.weight
    assert not torch.signbit(w[w == 0]).any()
    x = np.random.default_rng(0).standard_normal((2, 44100)).astype(np.float32) * 0.1
    a, b = SparseModel(net), SparseModel.load(files[95.45])
    assert a.identity == b.identity
    np.testing.assert_array_equal(a.embed(x), b.embed(x))
    ref = copy.deepcopy(dense)
    ref.net.load_state_dict(net.state_dict())
    np.testing.assert_array_equal(ref.embed(x), b.embed(x))  # exactly the aisfx teacher's
    # saved again from the loaded model: the same bytes
    again = save_sparse(b, tmp_path / "again.safetensors", sparsity=95.45, retrain="oneshot",
                        teacher_identity=dense.identity)
    assert Path(again).read_bytes() == files[95.45].read_bytes()
    doc = read_sparse_header(files[95.45])
    assert doc["format"] == "edgesea-sparse" and doc["architecture"] == "aisfx-cnn9"
    assert doc["teacher"]["identity"] == dense.identity and "CC BY 4.0" in doc["licenses"][
        "teacher_weights"]
    assert [r["sparsity"] for r in doc["layers"]] == pytest.approx(PROFILES[95.45], abs=0.01)


def test_file_size_shrinks_with_sparsity(files) -> None:
    sizes = [files[s].stat().st_size for s in SPARSITY_LEVELS]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 5
    for s in SPARSITY_LEVELS:
        doc = read_sparse_header(files[s])
        # 4 bytes per kept weight and BatchNorm number + 1 bit per weight + the header
        payload = 4 * (doc["nonzero"] + 7680) + math.ceil(doc["weights"] / 8)
        assert payload < files[s].stat().st_size < payload + 64_000
        assert doc["measured_sparsity"] == pytest.approx(s, abs=0.1)
    assert sizes[-1] < 0.08 * 4 * 4_689_984  # 95.45 %: < 8 % of the dense float32 size


def test_save_refuses_weights_outside_the_mask(dense, tmp_path) -> None:
    net, masks = _pruned(dense, 87.0)
    with torch.no_grad():
        net.conv_block2.conv1.weight[~masks["conv_block2.conv1.weight"]] += 1e-3
    with pytest.raises(EdgeSEAError, match="outside its pruning mask"):
        save_sparse(net, tmp_path / "x.safetensors", sparsity=87.0, retrain="kd", masks=masks)
    with pytest.raises(EdgeSEAError, match="retrain"):
        save_sparse(net, tmp_path / "x.safetensors", sparsity=87.0, retrain="ft")
    with pytest.raises(EdgeSEAError, match="aisfx-cnn9"):
        save_sparse(sea_student(64), tmp_path / "x.safetensors", sparsity=None,
                    retrain="oneshot")
    assert not (tmp_path / "x.safetensors").exists()


# -- damaged and hostile files ----------------------------------------------------------------

def _resign(src: Path, dst: Path, change_tensors=None, change_doc=None, sign=True) -> Path:
    """Rewrite a sparse file with changed tensors / document, re-signed so that only the
    structural checks can catch it."""
    with safe_open(src, framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        doc = json.loads(f.metadata()["edgesea-sparse"])
    if change_tensors:
        change_tensors(tensors)
    if change_doc:
        change_doc(doc)
    if sign:
        doc["sha256"] = sparse_digest(tensors, doc)
    save_file(tensors, dst, metadata={"edgesea-sparse": json.dumps(doc)})
    return dst


def _set(d: dict, key: str, value) -> None:
    d[key] = value


HOSTILE = {
    "wrong mask length": (lambda t: _set(t, "sparse/conv_block2.conv1.weight.mask",
                                         t["sparse/conv_block2.conv1.weight.mask"][:-1]),
                          None, "do not fit"),
    "more values than the mask keeps": (
        lambda t: _set(t, "sparse/conv_block3.conv2.weight.values",
                       torch.cat([t["sparse/conv_block3.conv2.weight.values"],
                                  torch.ones(3)])), None, "values are stored"),
    "more values than weights": (
        lambda t: _set(t, "sparse/conv_block1.conv1.weight.values", torch.ones(577)), None,
        "k <= 576"),
    "NaN values": (lambda t: t["sparse/conv_block4.conv1.weight.values"].__setitem__(
        0, float("nan")), None, "NaN"),
    "dense tensor of another shape": (
        lambda t: _set(t, "dense/conv_block1.bn1.weight", torch.ones(65)), None,
        "do not fit"),
    "values stored as float64": (
        lambda t: _set(t, "sparse/conv_block1.conv1.weight.values",
                       t["sparse/conv_block1.conv1.weight.values"].double()), None,
        "expected F32"),
    "an unexpected tensor": (lambda t: _set(t, "dense/evil", torch.ones(2)), None,
                             "unexpected"),
    "a missing tensor": (lambda t: t.pop("dense/conv_block4.bn2.running_var"), None,
                         "missing"),
    "a newer format version": (None, lambda d: _set(d, "format_version", 99), "upgrade"),
    "another architecture": (None, lambda d: _set(d, "architecture", "l3-net"), "aisfx-cnn9"),
    "retrain ft": (None, lambda d: _set(d, "retrain", "ft"), "retrain"),
    "per-layer counts that lie": (None, lambda d: d["layers"][3].__setitem__("nonzero", 1),
                                  "per-layer counts"),
    "deeply nested metadata": (None, lambda d: _set(d, "metadata", json.loads(
        "[" * 40 + "]" * 40)), "not an 'edgesea-sparse' document"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_files_are_refused(files, tmp_path, case) -> None:
    change_tensors, change_doc, match = HOSTILE[case]
    bad = _resign(files[95.45], tmp_path / "bad.safetensors", change_tensors, change_doc)
    with pytest.raises(EdgeSEAError, match=match):
        load_sparse(bad)


def test_damaged_files_are_refused(files, tmp_path) -> None:
    good = files[95.45].read_bytes()
    n = struct.unpack("<Q", good[:8])[0]
    cases = {}
    cases["truncated"] = good[:len(good) // 2]
    cases["8 bytes"] = good[:8]
    cases["empty"] = b""
    cases["random bytes"] = np.random.default_rng(0).bytes(5000)
    cases["huge header size"] = struct.pack("<Q", 1 << 40) + good[8:]
    cases["header over the cap"] = struct.pack("<Q", (2 << 20)) + good[8:] + bytes(3 << 20)
    cases["header not JSON"] = good[:8] + b"\xff" * n + good[8 + n:]
    begin = json.loads(good[8:8 + n])["dense/conv_block1.bn1.weight"]["data_offsets"][0]
    flipped = bytearray(good)
    flipped[8 + n + begin] ^= 0x01  # one bit of one BatchNorm weight
    cases["one flipped bit"] = bytes(flipped)
    for name, data in cases.items():
        path = tmp_path / f"{name}.safetensors"
        path.write_bytes(data)
        with pytest.raises(EdgeSEAError) as err:
            load_sparse(path)
        assert str(path) in str(err.value), name
    with pytest.raises(EdgeSEAError, match="checksum"):
        load_sparse(tmp_path / "one flipped bit.safetensors")
    unsigned = _resign(files[95.45], tmp_path / "unsigned.safetensors",
                       lambda t: t["dense/conv_block1.bn1.bias"].__setitem__(0, 9.0),
                       sign=False)
    with pytest.raises(EdgeSEAError, match="checksum"):
        load_sparse(unsigned)
    big = tmp_path / "big.safetensors"
    with open(big, "wb") as f:
        f.write(good)
        f.truncate(MAX_FILE_BYTES + 1)  # sparse on disk: costs no space
    with pytest.raises(EdgeSEAError, match="more than"):
        load_sparse(big)
    with pytest.raises(EdgeSEAError, match="directory"):
        load_sparse(tmp_path)
    with pytest.raises(EdgeSEAError, match="not found"):
        load_sparse(tmp_path / "missing.safetensors")
    student = save_model(sea_student(64).eval(), tmp_path / "student.safetensors")
    with pytest.raises(EdgeSEAError, match="not an edgesea sparse model"):
        load_sparse(student)
    assert not is_sparse_file(student) and not is_sparse_file(tmp_path / "8 bytes.safetensors")
    # a damaged sparse file whose header is intact is still recognised (and then refused)
    assert is_sparse_file(tmp_path / "truncated.safetensors") and is_sparse_file(unsigned)


def test_save_packaged_checks_the_profile(dense, files, tmp_path) -> None:
    """The packaging function: the packaged name, the recorded licenses, and a state that
    is not the level's pruning is refused."""
    from edgesea.prune.build import save_packaged

    net, _ = _pruned(dense, 95.45)
    path = save_packaged(net.state_dict(), 95.45, recipe={"epochs": 0}, teacher=dense,
                         retrain="oneshot", out_dir=tmp_path)
    assert Path(path).name == "sparse_aisfx_95.45_oneshot.safetensors"
    doc = load_sparse(path).header
    assert doc["recipe"] == {"epochs": 0} and doc["teacher"]["identity"] == dense.identity
    assert "UrbanSound8K" in doc["training_data"]
    assert doc["licenses"]["training_data"].startswith("CC BY-NC 3.0")
    other, _ = _pruned(dense, 87.0)  # fewer zeros than the 95.45 profile
    with pytest.raises(EdgeSEAError, match="outside its pruning mask"):
        save_packaged(other.state_dict(), 95.45, recipe={}, teacher=dense, out_dir=tmp_path)
    with pytest.raises(EdgeSEAError, match="invalid sparsity"):
        save_packaged(other.state_dict(), 90.0, recipe={}, teacher=dense, out_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [Path(path).name]
