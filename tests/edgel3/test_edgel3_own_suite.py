"""edgel3 0.2.1's own test suite (tests/test_core.py, test_cli.py, test_models.py of its
public repository), re-written here assertion by assertion (no code copied) and run against
``edgesea.edgel3`` through a plain module alias: ``sys.modules['edgel3'] = edgesea.edgel3``
and each submodule likewise, nothing else. The audio files edgel3's tests read (chirps,
silence, a short and an empty file; not in its source distribution) are made here.

Left out, with the reason (docs/edgel3.md lists them):
- every call with ``retrain_type='ft'`` on a sparse model (edgel3's fine-tuned L3-Net needs
  its audio-visual task, i.e. video); where the assertion is about framing or files, it is
  run with ``'kd'`` instead (marked "ft -> kd" below);
- ``load_embedding_model(...).output_shape`` (a Keras attribute: edgesea's models are torch
  modules, whose ``emb_dim`` is checked instead).
Marked xfail (strict), with the reason: the ``.h5`` file names of
``load_embedding_model_path`` (edgesea ships ``.safetensors`` files under other names).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from argparse import ArgumentTypeError
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
import soundfile as sf

import edgesea.edgel3 as _facade
from edgesea.edgel3 import cli as _cli
from edgesea.edgel3 import core as _core
from edgesea.edgel3 import edgel3_exceptions as _exc
from edgesea.edgel3 import edgel3_warnings as _warn
from edgesea.edgel3 import models as _models

TOL = 1e-5
NAMES = ["chirp_1s", "chirp_44k", "chirp_8k", "chirp_mono", "chirp_stereo", "empty", "short",
         "silence"]


@pytest.fixture(autouse=True)
def edgel3(monkeypatch):
    """``import edgel3`` gives edgesea's facade: a plain alias, no logic of its own."""
    for name, module in {"edgel3": _facade, "edgel3.core": _core, "edgel3.cli": _cli,
                         "edgel3.models": _models, "edgel3.edgel3_exceptions": _exc,
                         "edgel3.edgel3_warnings": _warn}.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delitem(sys.modules, "edgel3.__main__", raising=False)
    import edgel3

    return edgel3


def _chirp(sr: int, seconds: float) -> np.ndarray:
    t = np.arange(int(round(sr * seconds))) / sr
    return (0.5 * np.sin(2 * np.pi * (100 + 1500 * t) * t)).astype(np.float32)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """edgel3's tests/data/audio, made: eight files."""
    folder = tmp_path_factory.mktemp("edgel3_data") / "audio"
    folder.mkdir()
    sf.write(folder / "chirp_mono.wav", _chirp(44100, 3.0), 44100)
    sf.write(folder / "chirp_stereo.wav", np.stack([_chirp(44100, 3.0)] * 2, axis=1), 44100)
    sf.write(folder / "chirp_8k.wav", _chirp(8000, 3.0), 8000)
    sf.write(folder / "chirp_44k.wav", _chirp(44100, 2.0), 44100)
    sf.write(folder / "chirp_1s.wav", _chirp(48000, 1.0), 48000)
    sf.write(folder / "empty.wav", np.zeros(0, np.float32), 44100)
    sf.write(folder / "short.wav", _chirp(44100, 0.5), 44100)
    sf.write(folder / "silence.wav", np.zeros(44100 * 2, np.float32), 44100)
    return folder


def _read(data: Path, name: str) -> tuple[np.ndarray, int]:
    return sf.read(data / f"{name}.wav")


def _check_rows(emb: np.ndarray, ts: np.ndarray, hop: float = 0.1) -> None:
    assert np.all(np.abs(np.diff(ts) - hop) < TOL)
    assert not np.any(np.isnan(emb))


# --- tests/test_core.py -------------------------------------------------------------------

def test_core_sea_sizes(edgel3, data) -> None:
    """'sea' with the other arguments at their defaults ('ft', 95.45: validated, unused)."""
    for emb_dim, name in ((512, "chirp_8k"), (256, "chirp_8k"), (128, "chirp_mono"),
                          (64, "chirp_mono")):
        audio, sr = _read(data, name)
        emb, ts = edgel3.get_embedding(audio, sr, model_type="sea", emb_dim=emb_dim,
                                       center=True, hop_size=0.1, verbose=1)
        _check_rows(emb, ts)
        assert emb.shape[1] == emb_dim


@pytest.mark.parametrize("sparsity", [53.5, 63.5, 72.3, 87.0, 95.45])
def test_core_sparse_kd(edgel3, data, sparsity: float) -> None:
    audio, sr = _read(data, "chirp_mono")
    emb, ts = edgel3.get_embedding(audio, sr, retrain_type="kd", sparsity=sparsity,
                                   center=True, hop_size=0.1, verbose=1)
    _check_rows(emb, ts)


def test_core_model_passed_in_equals_by_arguments(edgel3, data) -> None:
    """ft -> kd: a loaded model gives what the arguments give."""
    audio, sr = _read(data, "chirp_mono")
    ref, ref_ts = edgel3.get_embedding(audio, sr, retrain_type="kd", sparsity=95.45,
                                       center=True, hop_size=0.1, verbose=1)
    model = edgel3.models.load_embedding_model("sparse", 128, "kd", 95.45)
    emb, ts = edgel3.get_embedding(audio, sr, model=model, center=True, hop_size=0.1,
                                   verbose=1)
    assert np.all(np.abs(emb - ref) < TOL) and np.all(np.abs(ts - ref_ts) < TOL)


def test_core_stereo_and_44k(edgel3, data) -> None:
    """ft -> kd."""
    for name in ("chirp_stereo", "chirp_44k"):
        audio, sr = _read(data, name)
        emb, _ = edgel3.get_embedding(audio, sr, retrain_type="kd", center=True,
                                      hop_size=0.1, verbose=1)
        assert not np.any(np.isnan(emb))


def test_core_empty_short_silence(edgel3, data) -> None:
    """ft -> kd for the short and silent files (the empty one fails before any model)."""
    audio, sr = _read(data, "empty")
    with pytest.raises(edgel3.EdgeL3Error):
        edgel3.get_embedding(audio, sr, center=True, hop_size=0.1, verbose=1)
    audio, sr = _read(data, "short")
    with pytest.warns(edgel3.EdgeL3Warning):
        emb, ts = edgel3.get_embedding(audio, sr, retrain_type="kd", center=False,
                                       hop_size=0.1, verbose=1)
    assert emb.shape == (1, 512) and len(ts) == 1 and ts[0] == 0
    assert not np.any(np.isnan(emb))
    audio, sr = _read(data, "silence")
    with pytest.warns(edgel3.EdgeL3Warning):
        emb, _ = edgel3.get_embedding(audio, sr, retrain_type="kd", center=True,
                                      hop_size=0.1, verbose=1)
    assert emb.shape[1] == 512 and not np.any(np.isnan(emb))


def test_core_window_count(edgel3, data) -> None:
    """ft -> kd: edgel3's count of windows of a 1 s file, centred or not, hop 0.1 and 0.2."""
    audio, sr = _read(data, "chirp_1s")
    n = audio.shape[0]
    for center, hop in ((True, 0.1), (False, 0.1), (False, 0.2)):
        emb, _ = edgel3.get_embedding(audio, sr, retrain_type="kd", center=center,
                                      hop_size=hop, verbose=1)
        front = sr // 2 if center else 0
        assert emb.shape[0] == 1 + int((n + front - sr) / int(hop * sr))
    emb, _ = edgel3.get_embedding(audio, sr, retrain_type="kd", verbose=0)
    assert emb.shape[0] >= 1


@pytest.mark.parametrize("kwargs", [
    {"model": "invalid"}, {"model_type": "invalid"}, {"model_type": "sea", "emb_dim": 50},
    {"retrain_type": "invalid"}, {"center": "invalid"}, {"sparsity": 40},
    {"sparsity": -95.45}, {"sparsity": "invalid"}, {"hop_size": -1}, {"hop_size": 0},
    {"verbose": -1}, {"retrain_type": 1},
])
def test_core_argument_errors(edgel3, data, kwargs: dict) -> None:
    audio, sr = _read(data, "chirp_mono")
    with pytest.raises(edgel3.EdgeL3Error):
        edgel3.get_embedding(audio, sr, **{"sparsity": 95.45, "center": False, **kwargs})


def test_core_three_dimensional_audio_is_refused(edgel3) -> None:
    with pytest.raises(edgel3.EdgeL3Error):
        edgel3.get_embedding(np.ones((10, 10, 10)), 44100, retrain_type="kd", center=True)


def test_core_get_output_path(edgel3) -> None:
    path = "/path/to/the/test/file/audio.wav"
    assert edgel3.get_output_path(path, "embedding.npz", "/tmp/test/output/dir") == \
        "/tmp/test/output/dir/audio_embedding.npz"
    assert edgel3.get_output_path(path, "embedding.npz") == \
        "/path/to/the/test/file/audio_embedding.npz"
    assert edgel3.get_output_path(path, ".npz") == "/path/to/the/test/file/audio.npz"


def test_core_process_file(edgel3, data) -> None:
    """ft -> kd (edgel3's process_file has no retrain_type: edgesea's is keyword-only)."""
    tmp = tempfile.mkdtemp()
    try:
        sub = os.path.join(tmp, "subdir")
        os.makedirs(sub)
        src = os.path.join(sub, "chirp_mono.wav")
        shutil.copy(data / "chirp_mono.wav", src)
        invalid = os.path.join(sub, "invalid.wav")
        with open(invalid, "w") as f:
            f.write("not audio")
        edgel3.process_file(str(data / "chirp_mono.wav"), output_dir=tmp, retrain_type="kd")
        edgel3.process_file(str(data / "chirp_mono.wav"), output_dir=tmp, suffix="suffix",
                            retrain_type="kd")
        edgel3.process_file(src, retrain_type="kd")
        with pytest.raises(edgel3.EdgeL3Error):
            edgel3.process_file(invalid, retrain_type="kd")
        for name in ("chirp_mono.npz", "chirp_mono_suffix.npz", "subdir/chirp_mono.npz"):
            assert os.path.exists(os.path.join(tmp, name)), name
        out = np.load(os.path.join(tmp, "chirp_mono.npz"))
        assert "embedding" in out and "timestamps" in out
        assert out["embedding"].ndim == 2 and out["timestamps"].ndim == 1
    finally:
        shutil.rmtree(tmp)
    with pytest.raises(edgel3.EdgeL3Error):
        edgel3.process_file("/fake/directory/asdf.wav", retrain_type="kd")


def test_core_process_file_positional(edgel3, data, tmp_path: Path) -> None:
    """edgel3's positional order: ..., model_type, emb_dim, sparsity, center, hop_size,
    verbose (edgesea's retrain_type used to sit before sparsity)."""
    edgel3.process_file(str(data / "chirp_mono.wav"), str(tmp_path), "pos", None, "sea", 64,
                        95.45, False, 0.5, False)
    out = np.load(tmp_path / "chirp_mono_pos.npz")
    assert out["embedding"].shape[1] == 64
    assert np.allclose(np.diff(out["timestamps"]), 0.5) and out["timestamps"][0] == 0


def test_core_center_and_pad_audio(edgel3) -> None:
    from edgel3.core import _center_audio, _pad_audio

    audio = np.ones(100)
    for frame_len, front in ((50, 25), (49, 24)):
        out = _center_audio(audio, frame_len)
        assert out.size == 100 + front and np.all(out[:front] == 0)
        assert np.array_equal(out[front:], audio)
    for n, size in ((10, 50), (90, 100), (100, 100)):
        x = np.ones(n)
        out = _pad_audio(x, 50, 25)
        assert out.size == size and np.array_equal(out[:n], x) and np.all(out[n:] == 0)
    assert np.array_equal(_pad_audio(np.ones(100), 50, 25), np.ones(100))


def test_core_target_rates(edgel3) -> None:
    from edgel3.core import L3_TARGET_SR, SEA_TARGET_SR

    assert (L3_TARGET_SR, SEA_TARGET_SR) == (48000, 8000)


# --- tests/test_cli.py --------------------------------------------------------------------

def test_cli_positive_float(edgel3) -> None:
    from edgel3.cli import positive_float

    assert positive_float(5) == 5.0 and type(positive_float(5)) is float
    assert positive_float("1.3") == 1.3 and type(positive_float("1.3")) is float
    for bad in (-5, -1.0, None, "hello"):
        with pytest.raises(ArgumentTypeError):
            positive_float(bad)


def test_cli_positive_int(edgel3) -> None:
    from edgel3.cli import positive_int

    assert positive_int(5.0) == 5 and type(positive_int(5.0)) is int
    assert positive_int("1") == 1 and type(positive_int("1")) is int
    for bad in (-5, -1.0, None, "hello"):
        with pytest.raises(ArgumentTypeError):
            positive_int(bad)


def test_cli_get_file_list(edgel3, data) -> None:
    from edgel3.cli import get_file_list

    chirp44, chirp1 = str(data / "chirp_44k.wav"), str(data / "chirp_1s.wav")
    with pytest.raises(ArgumentTypeError):
        get_file_list(chirp44)
    assert get_file_list([chirp44, chirp1]) == [chirp44, chirp1]
    files = get_file_list([str(data)])
    assert len(files) == 8
    assert sorted(files) == sorted(str(data / f"{n}.wav") for n in NAMES)
    assert len(get_file_list([str(data), chirp44])) == 9
    with pytest.raises(edgel3.EdgeL3Error):
        get_file_list(["/fake/path/to/file"])


def test_cli_parse_args(edgel3, data) -> None:
    from edgel3.cli import parse_args

    path = str(data / "chirp_44k.wav")
    a = parse_args([path])
    assert (a.inputs, a.output_dir, a.suffix, a.model_type, a.emb_dim, a.retrain_type,
            a.model_sparsity, a.no_centering, a.hop_size, a.quiet) == (
        [path], None, None, "sparse", 128, "ft", 95.45, False, 0.1, False)
    a = parse_args([path, "-o", "/output/dir", "--suffix", "suffix", "--model-type", "sparse",
                    "--retrain-type", "kd", "--model-sparsity", "53.5", "--no-centering",
                    "--hop-size", "0.5", "--quiet"])
    assert (a.output_dir, a.suffix, a.model_type, a.emb_dim, a.retrain_type,
            a.model_sparsity, a.no_centering, a.hop_size, a.quiet) == (
        "/output/dir", "suffix", "sparse", 128, "kd", 53.5, True, 0.5, True)
    a = parse_args([path, "-o", "/output/dir", "--suffix", "suffix", "--model-type", "sea",
                    "--emb-dim", "256", "--hop-size", "0.5"])
    assert (a.model_type, a.emb_dim, a.retrain_type, a.model_sparsity, a.no_centering,
            a.hop_size, a.quiet) == ("sea", 256, "ft", 95.45, False, 0.5, False)
    assert type(a.emb_dim) is int


def test_cli_run(edgel3, data, capsys) -> None:
    """The last step ft -> kd."""
    from edgel3.cli import run

    for bad in (None, 5, 1.0):
        with pytest.raises(edgel3.EdgeL3Error):
            run(bad)
    empty = tempfile.mkdtemp()
    try:
        with pytest.raises(SystemExit) as e:
            run([empty])
        assert e.value.code == -1
        assert capsys.readouterr().out == \
            f"Edgel3: No WAV files found in {[empty]!s}. Aborting.\n"
    finally:
        shutil.rmtree(empty)
    out = tempfile.mkdtemp()
    try:
        run(str(data / "chirp_44k.wav"), output_dir=out, retrain_type="kd", verbose=True)
        assert os.path.isfile(os.path.join(out, "chirp_44k.npz"))
    finally:
        shutil.rmtree(out)


def test_cli_main_and_script(edgel3, data) -> None:
    """ft -> kd (``--retrain-type kd`` added to edgel3's command line)."""
    from edgel3.cli import main

    for via_script in (False, True):
        out = tempfile.mkdtemp()
        argv = ["edgel3", str(data / "chirp_44k.wav"), "--output-dir", out,
                "--retrain-type", "kd"]
        try:
            with patch("sys.argv", argv):
                if via_script:
                    import edgel3.__main__  # noqa: F401  (runs the script)
                else:
                    main()
            assert os.path.isfile(os.path.join(out, "chirp_44k.npz"))
        finally:
            shutil.rmtree(out)


# --- tests/test_models.py -----------------------------------------------------------------

@pytest.mark.xfail(strict=True, reason="edgesea ships .safetensors model files under "
                   "edgesea/pretrained (sea_urban_<d>, sparse_aisfx_<s>_<retrain>), not "
                   "edgel3's Keras .h5 names (docs/edgel3.md)")
def test_models_load_embedding_model_path_names(edgel3) -> None:
    for retrain in ("ft", "kd"):
        path = edgel3.models.load_embedding_model_path("sea", 512, retrain, 95.45)
        assert "/".join(path.split("/")[-2:]) == "edgel3/edgel3_sea_ust_audio_emb_512.h5"


def test_models_load_embedding_model_path_mapping(edgel3) -> None:
    """The same arguments and the same mapping, edgesea's names: never raises, 'sea' ignores
    retrain_type and sparsity, other types ignore emb_dim, values written as str does."""
    from edgel3.models import load_embedding_model_path

    for emb_dim in (512, 256, 128, 64):
        for retrain in ("ft", "kd"):
            assert load_embedding_model_path("sea", emb_dim, retrain, 95.45).endswith(
                f"pretrained/sea_urban_{emb_dim}.safetensors")
    for retrain in ("ft", "kd"):
        for s in (53.5, 63.5, 72.3, 73.5, 81.0, 87.0, 90.5, 95.45):
            assert load_embedding_model_path("sparse", 128, retrain, s).endswith(
                f"pretrained/sparse_aisfx_{s}_{retrain}.safetensors")


def test_models_load_embedding_model(edgel3) -> None:
    """edgel3 checks ``output_shape[1]`` (Keras); edgesea's models give ``emb_dim``. The
    'ft' sparse rows need video; 'kd' at the packaged levels."""
    for s in (87.0, 95.45):
        assert edgel3.models.load_embedding_model("sparse", 128, "kd", s).emb_dim == 512
    for emb_dim, retrain in ((512, "ft"), (256, "ft"), (128, "kd"), (64, "kd")):
        assert edgel3.models.load_embedding_model("sea", emb_dim, retrain, 95.45).emb_dim \
            == emb_dim
    assert set(edgel3.models.MODELS) == {"sparse", "sea"}
    assert edgel3.models.MODELS["sea"](emb_dim=64).emb_dim == 64
