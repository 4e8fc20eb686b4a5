"""Model families: footprint figures of the paper, shapes, heads, config validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgesea import EdgeSEAError
from edgesea.frontend.presets import kapre_preset
from edgesea.models import SEA_FILTERS, EmbeddingModel, ModelConfig, footprint, l3net, sea_student


@pytest.mark.parametrize(("emb_dim", "size_mb", "act_mb"), [
    (128, 2.34, 0.41),
    (256, 4.70, 0.41),
    (64, 1.60, 0.41),
])
def test_footprint_small_students(emb_dim, size_mb, act_mb):
    fp = footprint(sea_student(emb_dim))
    assert round(fp.size_mb, 2) == size_mb
    assert round(fp.activation_mb, 2) == act_mb
    assert fp.size_mb == pytest.approx(fp.params * 4 / 1e6)
    assert fp.activation_elements == 32 * 64 * 50  # first conv output, (32, 64 mels, 50 frames)


def test_footprint_512_student():
    fp = footprint(sea_student(512))
    assert fp.params == 4_691_908
    assert round(fp.size_mb, 1) == 18.8  # the paper's 18.80 (ours: 18.7676)
    assert round(fp.activation_mb, 2) == 0.82
    assert fp.largest_layer == "features.0"


def test_footprint_l3net():
    fp = footprint(l3net())
    assert round(fp.size_mb, 1) == 18.8
    # L3-Net: first conv output 64 x 256 mels x 199 frames at 48 kHz
    assert fp.activation_elements == 64 * 256 * 199


def test_footprint_counts_bn_moving_stats_and_keeps_mode():
    m = sea_student(128).train()
    fp = footprint(m)
    learned = sum(p.numel() for p in m.parameters())
    bn_stats = sum(b.numel() for n, b in m.named_buffers()
                   if n.endswith(("running_mean", "running_var")))
    assert bn_stats > 0 and fp.params == learned + bn_stats
    assert m.training  # restored
    assert fp.to_dict()["params"] == fp.params


@pytest.mark.parametrize("head", ["paper", "linear"])
@pytest.mark.parametrize("emb_dim", [512, 256, 128, 64])
def test_output_shapes(emb_dim, head):
    torch.manual_seed(0)
    m = sea_student(emb_dim, head=head).eval()
    assert m.emb_dim == emb_dim and m.window_samples == 8000 and m.sample_rate == 8000
    x = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (3, 8000)).astype(np.float32))
    with torch.inference_mode():
        out = m(x)
    assert out.shape == (3, emb_dim)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
    if head == "paper":
        assert (out >= 0).all()


def test_linear_head_can_be_negative():
    torch.manual_seed(0)
    m = sea_student(128, head="linear").eval()
    x = torch.from_numpy(np.random.default_rng(1).uniform(-1, 1, (4, 8000)).astype(np.float32))
    with torch.inference_mode():
        out = m(x)
    assert (out < 0).any()
    assert m.projection is not None and m.projection.out_features == 128


def test_linear_head_meanmax_pool():
    cfg = sea_student(64, head="linear").config.to_dict()
    cfg["global_pool"] = "meanmax"
    m = EmbeddingModel(ModelConfig.from_dict(cfg)).eval()
    assert m.projection.in_features == 2 * SEA_FILTERS[64][-1]
    with torch.inference_mode():
        assert m(torch.zeros(2, 8000)).shape == (2, 64)


def test_embed_logmel_equals_forward():
    torch.manual_seed(0)
    m = sea_student(64).eval()
    x = torch.randn(2, 8000) * 0.1
    with torch.inference_mode():
        assert torch.equal(m.embed_logmel(m.frontend(x)), m(x))
        assert m.frontend(x).shape == (2, 64, 50)


def _cfg(**overrides):
    base = dict(family="test", emb_dim=16, sample_rate=8000, window=1.0,
                frontend=kapre_preset().config(), blocks=[[8], [16]], pool_after=[True, False])
    base.update(overrides)
    return base


def test_small_custom_config_works():
    m = EmbeddingModel(ModelConfig(**_cfg())).eval()
    with torch.inference_mode():
        assert m(torch.zeros(1, 8000)).shape == (1, 16)


@pytest.mark.parametrize(("overrides", "match"), [
    ({"head": "mlp"}, "head"),
    ({"emb_dim": 32}, "emb_dim"),                     # paper head: last width 16 != 32
    ({"pool_after": [True]}, "pool_after"),
    ({"pool_after": [True, False, True]}, "pool_after"),
    ({"kernel_size": 4}, "kernel_size"),
    ({"kernel_size": 0}, "kernel_size"),
    ({"global_pool": "median"}, "global_pool"),
    ({"global_pool": "mean"}, "max pooling"),           # paper head needs max
    ({"blocks": []}, "blocks"),
    ({"blocks": [[8], []]}, "blocks"),
    ({"head": "linear", "emb_dim": 0}, "emb_dim"),
])
def test_model_config_validation(overrides, match):
    with pytest.raises(EdgeSEAError, match=match):
        ModelConfig(**_cfg(**overrides))


def test_model_config_from_dict_errors_and_round_trip():
    cfg = ModelConfig(**_cfg())
    d = cfg.to_dict()
    assert ModelConfig.from_dict(d) == cfg
    d["blocks"][0][0] = 99  # to_dict is a deep copy
    assert cfg.blocks[0][0] == 8
    with pytest.raises(EdgeSEAError, match="configuration"):
        ModelConfig.from_dict({**cfg.to_dict(), "unknown_key": 1})
    bad = cfg.to_dict()
    del bad["blocks"]
    with pytest.raises(EdgeSEAError, match="configuration"):
        ModelConfig.from_dict(bad)


@pytest.mark.parametrize("emb_dim", [100, 0, 1024, 6144])
def test_sea_student_invalid_emb_dim(emb_dim):
    with pytest.raises(EdgeSEAError, match="emb_dim"):
        sea_student(emb_dim)


def test_sea_student_paper_head_needs_matching_filters():
    with pytest.raises(EdgeSEAError, match="paper"):
        sea_student(64, filters=(32, 64, 128, 128))
    m = sea_student(64, head="linear", filters=(8, 8, 16, 32))
    assert m.config.blocks == [[8, 8], [8, 8], [16, 16], [32, 32]]


def test_l3net_invalid_mels():
    with pytest.raises(EdgeSEAError, match="n_mels"):
        l3net(64)


def test_determinism_same_seed():
    torch.manual_seed(123)
    a = sea_student(128).eval()
    torch.manual_seed(123)
    b = sea_student(128).eval()
    torch.manual_seed(124)
    c = sea_student(128).eval()
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    x = torch.from_numpy(np.random.default_rng(2).uniform(-1, 1, (2, 8000)).astype(np.float32))
    with torch.inference_mode():
        assert torch.equal(a(x), b(x))
        assert torch.equal(a(x), a(x))
        assert not torch.equal(a(x), c(x))


def test_mcu_student() -> None:
    from edgesea.models import footprint, load_model, save_model, sea_mcu_student

    torch.manual_seed(0)
    m = sea_mcu_student(128).eval()
    fp = footprint(m)
    assert fp.params < 150_000 and fp.activation_elements == 32 * 25 * 32
    convs = [c for c in m.features if isinstance(c, torch.nn.Conv2d)]
    assert convs[0].stride == (2, 2) and convs[1].groups == 24  # strided stem, depthwise
    x = torch.randn(4, 8000) * 0.1
    with torch.no_grad():
        y = m(x)
        torch.testing.assert_close(m.for_inference()(x), y, rtol=1e-4, atol=1e-5)
    assert y.shape == (4, 128) and (y < 0).any()  # linear head
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        back = load_model(save_model(m, f"{d}/mcu.safetensors"))
        assert back.config.separable and back.config.stem_stride == 2
        with torch.no_grad():
            torch.testing.assert_close(back(x), y)
