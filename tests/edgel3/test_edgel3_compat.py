"""``edgesea.edgel3``, the edgel3 0.2.1 drop-in: edgel3's documented calls (README, tutorial,
CLI examples) replayed unchanged on real clips, edgel3's argument checks, and the fixes of
edgesea's own API found on the way (0/1 flags, strict ``verbose``, true window timestamps).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from argparse import ArgumentTypeError
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
import soundfile as sf

import edgesea
import edgesea.edgel3 as edgel3
from edgesea.audio.io import prepare_mono
from edgesea.audio.stream import stream_windows
from edgesea.audio.windows import frame_audio, n_windows
from edgesea.errors import EdgeSEAError, EdgeSEAWarning

ROOT = Path(__file__).resolve().parents[2]
FOLD1 = ROOT / "examples" / "audio" / "fold1"
CLIP = FOLD1 / "103074-7-0-2.flac"  # 4 s, 16 kHz, a siren
CLIP2 = FOLD1 / "113205-5-1-3.flac"


@pytest.fixture(scope="module")
def clip() -> tuple[np.ndarray, int]:
    audio, sr = sf.read(CLIP)  # as edgel3's README reads it: float64, no channel axis
    return audio, sr


@pytest.fixture(scope="module")
def sea128():
    return edgel3.models.load_embedding_model(model_type="sea", emb_dim=128, retrain_type="kd",
                                              sparsity=95.45)


@pytest.fixture()
def wav_dir(tmp_path: Path) -> Path:
    """Two real clips in a folder of their own (outputs are written beside them)."""
    folder = tmp_path / "audio"
    folder.mkdir()
    for src in (CLIP, CLIP2):
        shutil.copy(src, folder / src.name)
    (folder / "notes.txt").write_text("not audio")
    return folder


def centres(n: int, hop: float, sr: int = 16000) -> np.ndarray:
    """Where window t really is: it starts t * round(hop * sr) samples in."""
    return np.array([t * round(hop * sr) / sr for t in range(n)])


# --- the public names -----------------------------------------------------------------

def test_public_names_and_submodules():
    for name in ("get_embedding", "process_file", "get_output_path", "load_embedding_model",
                 "load_embedding_model_path", "EdgeL3Error", "EdgeL3Warning", "main", "run",
                 "parse_args", "positive_float", "get_file_list", "__version__"):
        assert hasattr(edgel3, name), name
    assert edgel3.__version__ == "0.2.1"
    from edgesea.edgel3.cli import main, parse_args, run
    from edgesea.edgel3.core import get_embedding, get_output_path, process_file
    from edgesea.edgel3.edgel3_exceptions import EdgeL3Error
    from edgesea.edgel3.edgel3_warnings import EdgeL3Warning
    from edgesea.edgel3.models import load_embedding_model, load_embedding_model_path
    assert (get_embedding, process_file, get_output_path) == (
        edgel3.get_embedding, edgel3.process_file, edgel3.get_output_path)
    assert (main, run, parse_args) == (edgel3.main, edgel3.run, edgel3.parse_args)
    assert load_embedding_model is edgel3.load_embedding_model
    assert load_embedding_model_path is edgel3.load_embedding_model_path
    assert EdgeL3Error is edgel3.EdgeL3Error and issubclass(EdgeL3Error, EdgeSEAError)
    assert issubclass(EdgeL3Warning, EdgeSEAWarning)


def test_signatures_are_edgel3s():
    import inspect

    def params(f):
        return [(p.name, p.default) for p in inspect.signature(f).parameters.values()]

    e = inspect.Parameter.empty
    assert params(edgel3.get_embedding) == [
        ("audio", e), ("sr", e), ("model", None), ("model_type", "sparse"), ("emb_dim", 128),
        ("retrain_type", "ft"), ("sparsity", 95.45), ("center", True), ("hop_size", 0.1),
        ("verbose", 1)]
    assert params(edgel3.process_file) == [
        ("filepath", e), ("output_dir", None), ("suffix", None), ("model", None),
        ("model_type", "sparse"), ("emb_dim", 128), ("sparsity", 95.45), ("center", True),
        ("hop_size", 0.1), ("verbose", True), ("retrain_type", "ft")]  # edgesea's: keyword-only
    assert inspect.signature(edgel3.process_file).parameters["retrain_type"].kind == \
        inspect.Parameter.KEYWORD_ONLY
    assert params(edgel3.get_output_path) == [("filepath", e), ("suffix", e),
                                              ("output_dir", None)]
    assert [n for n, _ in params(edgel3.load_embedding_model)] == [
        "model_type", "emb_dim", "retrain_type", "sparsity"]
    assert [n for n, _ in params(edgel3.run)] == [
        "inputs", "output_dir", "suffix", "model_type", "emb_dim", "retrain_type",
        "sparsity", "center", "hop_size", "verbose"]


# --- edgel3's README and tutorial, replayed -------------------------------------------

def test_readme_get_embedding_sea(clip):
    audio, sr = clip
    emb, ts = edgel3.get_embedding(audio, sr, model_type="sea", emb_dim=128)
    assert emb.dtype == np.float32 and emb.ndim == 2 and emb.shape[1] == 128
    assert ts.shape == (emb.shape[0],) and emb.shape[0] == 36  # 4 s, hop 0.1 s, centred
    np.testing.assert_array_equal(ts, centres(36, 0.1))
    assert np.isfinite(emb).all()
    # the same as edgesea's own call on the same packaged student
    want, _ = edgesea.get_embedding(audio, sr, model_type="sea", emb_dim=128)
    np.testing.assert_array_equal(emb, want)


@pytest.mark.parametrize("emb_dim", [512, 256, 64])
def test_tutorial_every_sea_size(clip, emb_dim):
    """emb_dim 512 is advertised by edgel3 and now shipped (sea_urban_512)."""
    audio, sr = clip
    assert ("sea", emb_dim) in edgesea.packaged.names.available()
    emb, ts = edgel3.get_embedding(audio, sr, model_type="sea", emb_dim=emb_dim, verbose=0)
    assert emb.shape == (36, emb_dim) and ts.shape == (36,)


def test_readme_load_embedding_model(clip, sea128):
    audio, sr = clip
    assert isinstance(sea128, edgesea.models.EmbeddingModel) and sea128.emb_dim == 128
    # cached, not reloaded
    assert edgel3.models.load_embedding_model("sea", 128, "kd", 95.45) is sea128
    # "Since the model is provided, model_type and its parameters are ignored"
    emb1, _ = edgel3.get_embedding(audio, sr, model=sea128)
    emb2, _ = edgel3.get_embedding(audio, sr, model_type="sea", emb_dim=128, verbose=0)
    np.testing.assert_array_equal(emb1, emb2)
    path = edgel3.models.load_embedding_model_path("sea", 128, "ft", 95.45)
    assert os.path.isfile(path) and path.endswith("sea_urban_128.safetensors")


def test_tutorial_options(clip, sea128):
    audio, sr = clip
    emb, ts = edgel3.get_embedding(audio, sr, model=sea128, hop_size=0.5, verbose=0)
    assert emb.shape == (8, 128)
    np.testing.assert_array_equal(ts, centres(8, 0.5))
    emb_nc, ts_nc = edgel3.get_embedding(audio, sr, model=sea128, center=False, verbose=0)
    assert emb_nc.shape == (31, 128) and ts_nc[1] == 0.1  # window starts
    stereo = np.stack([audio, audio], axis=1)
    emb_st, _ = edgel3.get_embedding(stereo, sr, model=sea128, verbose=0)
    np.testing.assert_allclose(emb_st, edgel3.get_embedding(audio, sr, model=sea128,
                                                            verbose=0)[0], atol=1e-5)


def test_tutorial_process_file(wav_dir, tmp_path, sea128):
    wav = str(wav_dir / CLIP.name)
    assert edgel3.process_file(wav, model_type="sea", emb_dim=128, verbose=False) is None
    with np.load(wav_dir / "103074-7-0-2.npz") as data:  # beside the input
        emb, ts = data["embedding"], data["timestamps"]
    assert emb.shape == (36, 128) and ts.shape == (36,)
    want, want_ts = edgel3.get_embedding(sf.read(wav)[0], 16000, model=sea128, verbose=0)
    np.testing.assert_allclose(emb, want, atol=1e-5)
    np.testing.assert_array_equal(ts, want_ts)
    edgel3.process_file(wav, suffix="suffix", model=sea128)
    assert (wav_dir / "103074-7-0-2_suffix.npz").is_file()
    other = tmp_path / "different" / "dir"
    edgel3.process_file(wav, output_dir=str(other), suffix="suffix", model=sea128)
    assert (other / "103074-7-0-2_suffix.npz").is_file()
    # edgel3 replaces an existing output: other settings rewrite it, no refusal
    edgel3.process_file(wav, model=sea128, hop_size=0.5)
    with np.load(wav_dir / "103074-7-0-2.npz") as data:
        assert data["embedding"].shape == (8, 128)
        np.testing.assert_array_equal(data["timestamps"], centres(8, 0.5))
    # output_dir="" means the file's folder, as in edgel3
    edgel3.process_file(wav, output_dir="", suffix="here", model=sea128)
    assert (wav_dir / "103074-7-0-2_here.npz").is_file()


def test_get_output_path_is_edgel3s():
    assert edgel3.get_output_path("/path/to/file.wav", ".npz") == "/path/to/file.npz"
    assert edgel3.get_output_path("/path/to/file.wav", "suffix.npz") == \
        "/path/to/file_suffix.npz"
    assert edgel3.get_output_path("/path/to/file.wav", "suffix.npz", "/different/dir") == \
        "/different/dir/file_suffix.npz"
    assert edgel3.get_output_path("/path/to/file.wav", ".npz", "") == "/path/to/file.npz"
    for bad in ("", None, 3):
        with pytest.raises(edgel3.EdgeL3Error, match="suffix"):
            edgel3.get_output_path("/path/to/file.wav", bad)


# --- the CLI (edgel3.cli) ---------------------------------------------------------------

def test_parse_args_defaults_and_long_flags():
    args = edgel3.parse_args(["/f.wav"])
    assert vars(args) == {"inputs": ["/f.wav"], "output_dir": None, "suffix": None,
                          "model_type": "sparse", "emb_dim": 128, "retrain_type": "ft",
                          "model_sparsity": 95.45, "no_centering": False, "hop_size": 0.1,
                          "quiet": False}
    # the tutorial's full sea and sparse commands (``--output`` abbreviates --output-dir)
    args = edgel3.parse_args(["/f.wav", "--output", "/different/dir", "--suffix", "somesuffix",
                              "--model-type", "sea", "--emb-dim", "64", "--no-centering",
                              "--hop-size", "0.5", "--quiet"])
    assert (args.output_dir, args.suffix, args.model_type, args.emb_dim, args.no_centering,
            args.hop_size, args.quiet) == ("/different/dir", "somesuffix", "sea", 64, True,
                                           0.5, True)
    args = edgel3.parse_args(["/f.wav", "--model-type", "sparse", "--model-sparsity", "53.5",
                              "--retrain-type", "kd"])
    assert (args.model_type, args.model_sparsity, args.retrain_type) == ("sparse", 53.5, "kd")


def test_parse_args_short_flags():
    args = edgel3.parse_args(["/a.wav", "/b.wav", "-o", "out", "-x", "s", "-m", "sea", "-e",
                              "256", "-retrain", "kd", "-sp", "87.0", "-n", "-t", "0.25",
                              "-q"])
    assert (args.inputs, args.output_dir, args.suffix, args.model_type, args.emb_dim,
            args.retrain_type, args.model_sparsity, args.no_centering, args.hop_size,
            args.quiet) == (["/a.wav", "/b.wav"], "out", "s", "sea", 256, "kd", 87.0, True,
                            0.25, True)
    args = edgel3.parse_args(["/a.wav", "-mtype", "sea", "-emb", "512"])
    assert (args.model_type, args.emb_dim) == ("sea", 512)


@pytest.mark.parametrize("argv", [
    ["/f.wav", "--model-type", "big"], ["/f.wav", "--emb-dim", "100"],
    ["/f.wav", "--retrain-type", "xx"], ["/f.wav", "--model-sparsity", "50"],
    ["/f.wav", "--hop-size", "-1"], ["/f.wav", "--hop-size", "abc"], [],
])
def test_parse_args_refuses(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        edgel3.parse_args(argv)
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_positive_float_and_get_file_list(wav_dir):
    assert edgel3.positive_float("1.3") == 1.3 and type(edgel3.positive_float(5)) is float
    for bad in (-5, -1.0, 0, None, "hello"):
        with pytest.raises(ArgumentTypeError):
            edgel3.positive_float(bad)
        with pytest.raises(edgel3.EdgeL3Error):
            edgel3.positive_float(bad)
    files = edgel3.get_file_list([str(wav_dir)])
    assert [os.path.basename(f) for f in files] == sorted([CLIP.name, CLIP2.name])
    assert len(edgel3.get_file_list([str(wav_dir), str(CLIP)])) == 3
    with pytest.raises(ArgumentTypeError):
        edgel3.get_file_list(str(CLIP))
    with pytest.raises(edgel3.EdgeL3Error, match="Could not find"):
        edgel3.get_file_list(["/fake/path/to/file"])


def test_run_edge_cases(tmp_path, capsys):
    for bad in (None, 5, 1.0):
        with pytest.raises(edgel3.EdgeL3Error):
            edgel3.run(bad)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit) as exc:
        edgel3.run([str(empty)])
    assert exc.value.code == -1
    assert capsys.readouterr().out == \
        f"Edgel3: No WAV files found in {[str(empty)]!s}. Aborting.\n"


def test_cli_main_sea(wav_dir, tmp_path, capsys):
    """``edgel3 /path/to/file.wav --model-type sea --emb-dim 128 -o out`` and a folder."""
    out = tmp_path / "out"
    with patch("sys.argv", ["edgel3", str(wav_dir / CLIP.name), "--model-type", "sea",
                            "--emb-dim", "128", "-o", str(out)]):
        assert edgel3.main() is None  # edgel3's main returns; no SystemExit(0)
    printed = capsys.readouterr().out
    assert "Edgel3: Processing: " in printed and printed.endswith("Edgel3: Done!\n")
    with np.load(out / "103074-7-0-2.npz") as data:
        assert data["embedding"].shape == (36, 128) and data["timestamps"].shape == (36,)
    with patch("sys.argv", ["edgel3", str(wav_dir), "-m", "sea", "-e", "64", "-x", "e64",
                            "-n", "-t", "0.5", "-q"]):
        assert edgel3.main() is None
    assert capsys.readouterr().out == ""
    for src in (CLIP, CLIP2):
        with np.load(wav_dir / f"{src.stem}_e64.npz") as data:
            assert data["embedding"].shape == (7, 64)  # 4 s, hop 0.5 s, not centred
            np.testing.assert_array_equal(data["timestamps"], centres(7, 0.5))


def test_cli_defaults_are_sparse_and_say_so(wav_dir):
    """edgel3's default model is sparse and fine-tuned ('ft'), which needs video: refused,
    with the fix (-retrain kd)."""
    with patch("sys.argv", ["edgel3", str(wav_dir / CLIP.name)]), \
            pytest.raises(edgel3.EdgeL3Error, match=r"retrain_type='ft'.*audio-visual.*"
                          r"retrain_type='kd'.*on the command line: --retrain-type kd "
                          r"\(-retrain kd\)"):
        edgel3.main()
    assert not (wav_dir / "103074-7-0-2.npz").exists()


def test_python_dash_m(wav_dir, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ok = subprocess.run([sys.executable, "-m", "edgesea.edgel3", str(wav_dir / CLIP.name),
                         "--model-type", "sea", "-o", str(tmp_path / "o"), "-q"],
                        capture_output=True, text=True, env=env, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "o" / "103074-7-0-2.npz").is_file()
    bad = subprocess.run([sys.executable, "-m", "edgesea.edgel3", str(wav_dir / CLIP.name)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode == 1 and "edgel3: error:" in bad.stderr
    assert "audio-visual" in bad.stderr and "retrain_type='kd'" in bad.stderr
    assert "Traceback" not in bad.stderr


# --- edgel3's argument checks, through the alias ---------------------------------------

def test_sparse_model_type_is_a_clear_error(clip, sea128):
    """The defaults ('sparse', 'ft') say why 'ft' is unavailable and give the fix; a valid
    level that is not packaged names the packaged ones and ``edgesea prune``."""
    audio, sr = clip
    for call in (lambda: edgel3.get_embedding(audio, sr),
                 lambda: edgel3.load_embedding_model("sparse", 128, "ft", 95.45),
                 lambda: edgesea.get_embedding(audio, sr, model_type="sparse",
                                               retrain_type="ft")):
        with pytest.raises(edgel3.EdgeL3Error, match=r"retrain_type='ft'.*video.*"
                           r"retrain_type='kd'"):
            call()
    # every edgel3 level is packaged as kd; a oneshot model is not: the error says how to
    # build one
    for call in (lambda: edgesea.get_embedding(audio, sr, model_type="sparse",
                                               sparsity=72.3, retrain_type="oneshot"),
                 lambda: edgesea.get_model(None, "sparse", sparsity=53.5,
                                           retrain_type="oneshot")):
        with pytest.raises(edgel3.EdgeL3Error, match=r"no sparse model at sparsity.*"
                           r"packaged sparse models.*edgesea prune"):
            call()
    # load_embedding_model_path validates nothing and never raises, as edgel3's
    assert edgel3.load_embedding_model_path("sparse", 128, "ft", 95.45).endswith(
        "sparse_aisfx_95.45_ft.safetensors")
    # with a model, the (default) model type is ignored, as in edgel3
    emb, _ = edgel3.get_embedding(audio, sr, model=sea128, verbose=0)
    assert emb.shape == (36, 128)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"model_type": "big"}, "Invalid model type"),
    ({"model_type": None}, "Invalid model type"),
    ({"retrain_type": "xx"}, "Invalid re-training type"),
    ({"retrain_type": None}, "Invalid re-training type"),
    ({"sparsity": 50.0}, "Invalid sparsity value"),
    ({"sparsity": -1}, "Invalid sparsity value"),
    ({"sparsity": "95.45"}, "Invalid sparsity value"),
    ({"sparsity": True}, "Invalid sparsity value"),
    ({"emb_dim": 100}, "Invalid embedding dimension"),
    ({"emb_dim": "128"}, "Invalid embedding dimension"),
    ({"hop_size": 0}, "hop_size"),
    ({"hop_size": "0.1"}, "hop_size"),
    ({"verbose": -1}, "verbose"),
    ({"verbose": 2}, "verbose"),
    ({"verbose": "x"}, "verbose"),
    ({"verbose": None}, "verbose"),
    ({"center": 2}, "center"),
    ({"center": "x"}, "center"),
    ({"center": None}, "center"),
    ({"model": 5}, "Invalid model provided"),
])
def test_get_embedding_argument_checks(clip, kwargs, match):
    audio, sr = clip
    args = {"model_type": "sea", **kwargs}
    with pytest.raises(edgel3.EdgeL3Error, match=match):
        edgel3.get_embedding(audio, sr, **args)
    with pytest.raises(edgel3.EdgeL3Error, match=match):
        edgel3.process_file(str(CLIP), output_dir="/nonexistent-never-created", **args)
    assert not os.path.exists("/nonexistent-never-created")


def test_valid_edgel3_values_are_accepted(clip, sea128):
    audio, sr = clip
    want, _ = edgel3.get_embedding(audio, sr, model=sea128, verbose=0)
    for kwargs in ({"retrain_type": "kd"}, {"sparsity": 53.5}, {"sparsity": 87},
                   {"sparsity": np.float64(72.3)}, {"verbose": True}, {"verbose": 0},
                   {"verbose": np.int64(1)}, {"center": 1}, {"center": np.bool_(True)},
                   {"emb_dim": 128.0}, {"emb_dim": np.int64(128)}, {"verbose": 1.0},
                   {"center": 1.0}):  # edgel3 tests membership: 128.0, 1.0 pass
        emb, _ = edgel3.get_embedding(audio, sr, model_type="sea", **kwargs)
        np.testing.assert_array_equal(emb, want)
    nc, _ = edgel3.get_embedding(audio, sr, model=sea128, center=False, verbose=0)
    np.testing.assert_array_equal(edgel3.get_embedding(audio, sr, model=sea128, center=0,
                                                       verbose=0)[0], nc)


def test_errors_and_warnings_are_edgel3s(sea128):
    try:
        edgel3.get_embedding(np.ones(16000), -1, model=sea128)  # edgel3 never checked sr
    except edgel3.EdgeL3Error as e:
        assert "sample rate" in str(e)
    else:
        pytest.fail("no EdgeL3Error")
    with pytest.raises(edgel3.EdgeL3Error, match="empty"):
        edgel3.get_embedding(np.zeros(0), 16000, model=sea128)
    with pytest.raises(edgel3.EdgeL3Error, match="dimensions"):
        edgel3.get_embedding(np.zeros((4, 4, 4)), 16000, model=sea128)
    with pytest.warns(edgel3.EdgeL3Warning, match="all zeros"):
        edgel3.get_embedding(np.zeros(16000), 16000, model=sea128, verbose=0)
    with pytest.warns(edgel3.EdgeL3Warning, match="shorter than one window"):
        edgel3.get_embedding(np.full(800, 0.1), 16000, model=sea128, verbose=0)
    with pytest.raises(edgel3.EdgeL3Error, match="not found"):
        edgel3.process_file("/fake/path/file.wav", model=sea128)
    with pytest.raises(edgel3.EdgeL3Error, match="suffix"):
        edgel3.process_file(str(CLIP), suffix=".npz", model=sea128)


# --- edgesea's own API: 0/1 flags, strict verbose, true timestamps ---------------------

def test_edgesea_center_and_verbose_flags(clip, tiny_model_path):
    audio, sr = clip
    on, _ = edgesea.get_embedding(audio, sr, model=tiny_model_path, center=True)
    off, _ = edgesea.get_embedding(audio, sr, model=tiny_model_path, center=False)
    np.testing.assert_array_equal(edgesea.get_embedding(audio, sr, model=tiny_model_path,
                                                        center=1)[0], on)
    np.testing.assert_array_equal(edgesea.get_embedding(audio, sr, model=tiny_model_path,
                                                        center=0)[0], off)
    for bad in (-1, 2, "x", None, 0.5):
        with pytest.raises(EdgeSEAError, match="verbose"):
            edgesea.get_embedding(audio, sr, model=tiny_model_path, verbose=bad)
        with pytest.raises(EdgeSEAError, match="verbose"):
            edgesea.process_file(str(CLIP), model=tiny_model_path, verbose=bad)
    for bad in (2, -1, "yes", 0.0):
        with pytest.raises(EdgeSEAError, match="center"):
            edgesea.get_embedding(audio, sr, model=tiny_model_path, center=bad)


HOP = 1 / 30  # 533.33 samples at 16 kHz: windows advance by 533


@pytest.mark.parametrize("center", [True, False])
def test_timestamps_are_true_window_centres(tmp_path, tiny_model_path, sea128, center):
    """Window t starts t * 533 samples in, so its timestamp is t * 533 / 16000, not t / 30
    (5.6 ms apart at t = 270, 9 s in); every path reports the same values."""
    audio = np.concatenate([sf.read(CLIP)[0], sf.read(CLIP2)[0], sf.read(CLIP)[0]])[:160000]
    mono = prepare_mono(audio, 16000, 16000)
    frames, ts = frame_audio(mono, 16000, 1.0, HOP, center)
    n = frames.shape[0]
    want = np.arange(n) * 533 / 16000
    np.testing.assert_array_equal(ts, want)
    assert abs(ts[270] - 270 * HOP) > 5e-3  # what arange(T) * hop_size reported
    # window 270 really is centred (or starts) at ts[270]
    front = 8000 if center else 0
    start = 270 * 533 - front
    np.testing.assert_array_equal(frames[270], mono[start:start + 16000])
    assert start + 8000 * center == round(ts[270] * 16000)
    for model in (tiny_model_path, sea128):  # 8 kHz "same" and 16 kHz "stream" front ends
        rate = edgesea.get_model(model).sample_rate
        _, got = edgesea.get_embedding(audio, 16000, model=model, hop_size=HOP, center=center)
        k = n_windows(len(audio) * rate // 16000, rate, 1.0, HOP, center)
        np.testing.assert_array_equal(got, np.arange(k) * round(HOP * rate) / rate)
    np.testing.assert_array_equal(got, want)
    wav = tmp_path / "long.wav"
    sf.write(wav, audio, 16000, subtype="FLOAT")
    streamed = np.concatenate([t for _, t in stream_windows(wav, 16000, 1.0, HOP, center,
                                                             block_windows=7)])
    np.testing.assert_array_equal(streamed, want)
    out = edgesea.process_file(wav, output_dir=tmp_path / "o", model=sea128, hop_size=HOP,
                               center=center)[0]
    with np.load(out) as z:
        np.testing.assert_array_equal(z["timestamps"], want)
    # a rerun with the same settings reuses the output (provenance unchanged)
    again = list(edgesea.inference.api.iter_process_files([wav], tmp_path / "o", model=sea128,
                                                hop_size=HOP, center=center))
    assert [r.status for r in again] == ["skipped"]
    _, alias_ts = edgel3.get_embedding(audio, 16000, model=sea128, hop_size=HOP,
                                       center=center, verbose=0)
    np.testing.assert_array_equal(alias_ts, want)


def test_whole_sample_hops_keep_edgel3s_timestamps(clip, sea128):
    """For hops that are whole samples, the values are edgel3's ``arange(T) * hop_size`` up
    to float rounding."""
    audio, sr = clip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for hop in (0.1, 0.25, 0.5, 1.0):
            _, ts = edgesea.get_embedding(audio, sr, model=sea128, hop_size=hop)
            np.testing.assert_allclose(ts, np.arange(len(ts)) * hop, rtol=0, atol=1e-12)
