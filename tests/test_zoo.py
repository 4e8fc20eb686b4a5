"""The packaged students: present, documented, and bit-stable on a real clip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import edgesea
from edgesea.audio import load_audio
from edgesea.errors import EdgeSEAError
from edgesea.zoo import PRETRAINED_DIR, available

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = ROOT / "tests" / "data" / "zoo_expected.npz"


def _expected() -> dict[str, np.ndarray]:
    with np.load(EXPECTED) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.skipif(not EXPECTED.is_file(), reason="no zoo regression data")
def test_every_shipped_model_reproduces_its_stored_embedding() -> None:
    exp = _expected()
    dims = sorted(int(k.split("_")[1]) for k in exp if k.startswith("sea_"))
    assert dims and [("sea", d) for d in dims] == sorted(available(), key=lambda t: t[1])
    audio, sr = load_audio(ROOT / str(exp["clip"]))
    for d in dims:
        emb, ts = edgesea.get_embedding(audio, sr, model_type="sea", emb_dim=d, hop_size=0.5)
        want = exp[f"sea_{d}"]
        assert emb.shape == want.shape == (len(ts), d)
        np.testing.assert_allclose(emb, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


@pytest.mark.skipif(not available(), reason="no packaged models")
def test_shipped_files_and_cards() -> None:
    total = 0
    for _, d in available():
        name = f"sea_urban_{d}"
        for suffix in (".safetensors", ".int8.tflite", ".edge.json", ".recipe.json", ".md"):
            f = PRETRAINED_DIR / f"{name}{suffix}"
            assert f.is_file(), f
            total += f.stat().st_size
        card = (PRETRAINED_DIR / f"{name}.md").read_text()
        for needed in ("teacher", "fold 10 micro-AUPRC", "TFLM arena", "CC BY-NC 3.0",
                       "edgesea specialize upstream"):
            assert needed in card, (name, needed)
        assert "not evaluated" not in card
        recipe = json.loads((PRETRAINED_DIR / f"{name}.recipe.json").read_text())
        assert recipe["config"]["emb_dim"] == d
        assert (ROOT / "docs" / "models" / f"{name}.md").read_text() == card
    assert total < 15e6


@pytest.mark.skipif(("sea", 128) not in available(), reason="no packaged 128-d model")
def test_defaults_work_offline_and_bad_choices_are_refused() -> None:
    audio, sr = load_audio(ROOT / "examples" / "audio" / "fold1" / "103074-7-0-2.flac")
    emb, ts = edgesea.get_embedding(audio, sr)
    assert emb.shape == (len(ts), 128) and np.isfinite(emb).all()
    with pytest.raises(EdgeSEAError, match="emb_dim"):
        edgesea.get_embedding(audio, sr, emb_dim=100)
    with pytest.raises(EdgeSEAError, match="model_type"):
        edgesea.get_embedding(audio, sr, model_type="l3")


@pytest.mark.parametrize("emb_dim", [128.0, np.float64(128.0), "128", True, 100, None])
def test_emb_dim_must_be_one_of_the_integer_sizes(emb_dim) -> None:
    from edgesea.zoo import pretrained_path

    with pytest.raises(EdgeSEAError, match=r"emb_dim=.*expected an integer, one of \(512, "
                                           r"256, 128, 64\)"):
        pretrained_path("sea", emb_dim)


def test_integer_types_are_accepted() -> None:
    from edgesea.zoo import pretrained_path

    if ("sea", 128) in available():
        assert pretrained_path("sea", np.int64(128)) == pretrained_path("sea", 128)


@pytest.mark.skipif(not available(), reason="no packaged models")
def test_shipped_models_are_format_2_and_their_edge_specs_name_their_hash() -> None:
    import hashlib
    import warnings

    from edgesea.models import load_model, read_header

    for _, d in available():
        path = PRETRAINED_DIR / f"sea_urban_{d}.safetensors"
        assert read_header(path)["format_version"] == 2
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "not integrity-checked" warning
            load_model(path)
        spec = json.loads((PRETRAINED_DIR / f"sea_urban_{d}.edge.json").read_text())
        assert spec["model"]["source_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
