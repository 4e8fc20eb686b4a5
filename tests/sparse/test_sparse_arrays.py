"""Reading sparse files without torch, and float16 values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgesea.errors import EdgeSEAError
from edgesea.packaged.names import PRETRAINED_DIR
from edgesea.sparse.arrays import read_sparse_arrays
from edgesea.sparse.file_checks import architecture
from edgesea.sparse.model import SparseModel
from edgesea.sparse.prune import conv_layers
from edgesea.sparse.storage import load_sparse, save_sparse
from edgesea.teachers.aisfx_net import AisfxNet

PACKAGED = PRETRAINED_DIR / "sparse_aisfx_95.45_kd.safetensors"


def test_written_architecture_is_the_torch_networks():
    with torch.device("meta"):
        net = AisfxNet()
    shapes = {k: (tuple(v.shape), {"torch.float32": "F32", "torch.int64": "I64"}[str(v.dtype)])
              for k, v in net.state_dict().items()}
    assert architecture()[0] == shapes
    assert list(architecture()[0]) == list(shapes)  # state-dict order
    assert architecture()[1] == tuple(f"{n}.weight" for n, _ in conv_layers(net))


def test_numpy_reader_equals_the_torch_reader():
    arrays, ref = read_sparse_arrays(PACKAGED), load_sparse(PACKAGED)
    state = ref.net.state_dict()
    assert set(arrays.state) == set(state) and arrays.values_dtype == "float32"
    for k, v in state.items():
        np.testing.assert_array_equal(arrays.state[k], v.numpy())
    for k, m in ref.masks.items():
        np.testing.assert_array_equal(arrays.masks[k], m.numpy())


def test_float16_values_save_two_bytes_a_weight_and_keep_the_embeddings(tmp_path):
    ref = load_sparse(PACKAGED)
    f16 = save_sparse(ref.net, tmp_path / "h.safetensors", sparsity=95.45, retrain="kd",
                      masks=ref.masks, values_dtype="float16")
    f32 = save_sparse(ref.net, tmp_path / "f.safetensors", sparsity=95.45, retrain="kd",
                      masks=ref.masks)
    size16, size32 = (tmp_path / "h.safetensors").stat().st_size, \
        (tmp_path / "f.safetensors").stat().st_size
    nonzero = ref.header["nonzero"]
    assert abs((size32 - size16) - 2 * nonzero) < 4096  # 2 bytes less per kept weight
    half = read_sparse_arrays(f16)
    assert half.values_dtype == "float16" and half.header["values_dtype"] == "float16"
    x = (0.1 * np.random.default_rng(0).standard_normal((4, 44100))).astype(np.float32)
    a, b = SparseModel.load(f16).embed(x), SparseModel.load(f32).embed(x)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() > 0.9999
    with pytest.raises(EdgeSEAError, match="values_dtype"):
        save_sparse(ref.net, tmp_path / "x.safetensors", sparsity=95.45, retrain="kd",
                    values_dtype="int8")
