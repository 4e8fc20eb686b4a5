"""Tests of the ``edgesea`` command line (embed, info, --version) and its exit codes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner, Result

from edgesea.audio.io import load_audio, resample, to_float_mono
from edgesea.audio.windows import n_windows
from edgesea.cli import app, find_audio_files
from edgesea.models import footprint, load_model, save_model, sea_student

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
US8K_FOLD1 = SHARED / "data" / "urbansound8k_subset" / "audio" / "fold1"

runner = CliRunner()


def invoke(*args: object, code: int = 0) -> Result:
    """Run the CLI in-process; check the exit code and that nothing crashed."""
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.output
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


def expected_frames(path: Path, center: bool = True, hop: float = 0.1, sr: int = 8000) -> int:
    """Windows the model (8 kHz, 1 s) cuts from an audio file."""
    audio, file_sr = load_audio(path)
    mono = resample(to_float_mono(audio), file_sr, sr)
    return n_windows(mono.shape[0], sr, 1.0, hop, center)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "student.safetensors"
    torch_model = sea_student(128).eval()
    torch_model.metadata = {"note": "random weights"}
    save_model(torch_model, path)
    return path


def write_tone(path: Path, seconds: float, sr: int, channels: int = 1, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    mono = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.shape)
    data = np.stack([mono, np.roll(mono, 7)], axis=1)[:, :channels] if channels > 1 else mono
    sf.write(path, data.astype(np.float32), sr)
    return path


@pytest.fixture
def audio_dir(tmp_path: Path) -> Path:
    d = tmp_path / "audio"
    d.mkdir()
    write_tone(d / "a16k.wav", 1.5, 16000)
    write_tone(d / "b44k_stereo.flac", 2.0, 44100, channels=2, seed=1)
    write_tone(d / "c8k.wav", 2.0, 8000, seed=2)
    (d / "notes.txt").write_text("not audio")
    return d


def test_embed_dir_writes_one_npz_per_file(audio_dir: Path, model_path: Path) -> None:
    result = invoke("embed", audio_dir, "--model", model_path)
    assert "written 3, skipped 0, failed 0" in result.stdout
    assert "3/3" in result.stderr  # progress bar: files done / total
    for wav in sorted(audio_dir.glob("*.wav")) + sorted(audio_dir.glob("*.flac")):
        with np.load(wav.with_suffix(".npz")) as z:
            emb, ts = z["embedding"], z["timestamps"]
        t = expected_frames(wav)
        assert emb.shape == (t, 128) and emb.dtype == np.float32
        assert np.isfinite(emb).all()
        np.testing.assert_allclose(ts, np.arange(t) * 0.1)
    assert not (audio_dir / "notes.npz").exists()


def test_suffix_and_output_dir(audio_dir: Path, model_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "nested"
    invoke("embed", audio_dir, "--model", model_path, "-o", out, "-x", "emb", "-q")
    assert sorted(p.name for p in out.iterdir()) == [
        "a16k_emb.npz", "b44k_stereo_emb.npz", "c8k_emb.npz"]
    assert not list(audio_dir.glob("*.npz"))


def test_skip_existing_and_overwrite(audio_dir: Path, model_path: Path) -> None:
    invoke("embed", audio_dir, "--model", model_path, "-q")
    target = audio_dir / "c8k.npz"
    result = invoke("embed", audio_dir, "--model", model_path)
    assert "written 0, skipped 3, failed 0" in result.stdout
    # a foreign/older output (no provenance) is not taken for ours: refused, kept as it was
    np.savez(target, embedding=np.zeros((1, 1), np.float32), timestamps=np.zeros(1))
    result = invoke("embed", audio_dir, "--model", model_path, code=1)
    assert "written 0, skipped 2, failed 1" in result.stdout
    assert "c8k.wav" in result.stderr and "--overwrite" in result.stderr
    assert np.load(target)["embedding"].shape == (1, 1)
    result = invoke("embed", audio_dir, "--model", model_path, "--overwrite")
    assert "written 3, skipped 0, failed 0" in result.stdout
    assert np.load(target)["embedding"].shape == (expected_frames(audio_dir / "c8k.wav"), 128)


def test_recursive_and_extension_case(tmp_path: Path, model_path: Path) -> None:
    top = tmp_path / "top"
    (top / "sub").mkdir(parents=True)
    write_tone(top / "UPPER.WAV", 1.0, 8000)
    write_tone(top / "sub" / "deep.flac", 1.0, 16000)
    invoke("embed", top, "--model", model_path, "-q", "--no-recursive")
    assert (top / "UPPER.npz").exists() and not (top / "sub" / "deep.npz").exists()
    result = invoke("embed", top, "--model", model_path)  # sub-folders by default
    assert "written 1, skipped 1, failed 0" in result.stdout
    assert (top / "sub" / "deep.npz").exists()


def test_find_audio_files_sorted_and_deduplicated(audio_dir: Path) -> None:
    files = find_audio_files([audio_dir, audio_dir / "c8k.wav", audio_dir])
    assert [f.name for f in files] == ["a16k.wav", "b44k_stereo.flac", "c8k.wav"]


def test_corrupt_file_does_not_stop_the_others(audio_dir: Path, model_path: Path) -> None:
    (audio_dir / "bad.wav").write_bytes(np.random.default_rng(0).bytes(2000))
    result = invoke("embed", audio_dir, "--model", model_path, code=1)
    assert "written 3, skipped 0, failed 1" in result.stdout
    assert "1 of 4 files failed" in result.stderr
    assert "bad.wav" in result.stderr and "could not decode" in result.stderr
    assert len(list(audio_dir.glob("*.npz"))) == 3
    assert not (audio_dir / "bad.npz").exists()


def test_output_name_collision_is_refused(tmp_path: Path, model_path: Path) -> None:
    write_tone(tmp_path / "x.wav", 1.0, 8000)
    write_tone(tmp_path / "x.flac", 1.0, 8000)
    result = invoke("embed", tmp_path, "--model", model_path, code=2)
    assert "would both be written" in result.stderr
    assert not list(tmp_path.glob("*.npz"))


def test_no_audio_files(tmp_path: Path, model_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("hi")
    result = invoke("embed", tmp_path, "--model", model_path, code=2)
    assert "no audio files found in" in result.stderr


def test_nonexistent_input(tmp_path: Path, model_path: Path) -> None:
    invoke("embed", tmp_path / "missing.wav", "--model", model_path, code=2)


def test_missing_model_file(audio_dir: Path, tmp_path: Path) -> None:
    result = invoke("embed", audio_dir, "--model", tmp_path / "nope.safetensors", code=2)
    assert "model file not found" in result.stderr
    assert not list(audio_dir.glob("*.npz"))


def test_no_packaged_model_says_how_to_pass_one(audio_dir: Path, zoo_of_one: Path) -> None:
    # 512 is a valid size that no packaged model of tier mcu-1m has (this zoo ships 128)
    result = invoke("embed", audio_dir, "--model-type", "sea", "--emb-dim", "512", "--tier",
                    "mcu-1m", code=2)
    assert "--model" in result.stderr and "sea/128" in result.stderr
    assert not list(audio_dir.glob("*.npz"))


@pytest.mark.parametrize("args, message", [
    (["--emb-dim", "100"], "emb_dim"),
    (["--model-type", "nope"], "model_type"),
    (["--hop-size", "0"], "hop_size"),
    (["--hop-size", "nan"], "hop_size"),
    (["--hop-size", "1e-6"], "shorter than one sample"),
    (["--batch-size", "0"], "--batch-size"),
])
def test_invalid_settings_exit_2(audio_dir: Path, model_path: Path, args: list[str],
                                 message: str) -> None:
    model_args = [] if "--emb-dim" in args or "--model-type" in args \
        else ["--model", model_path]
    result = invoke("embed", audio_dir, *model_args, *args, code=2)
    assert message in result.stderr
    assert not list(audio_dir.glob("*.npz"))


def test_emb_dim_must_match_model_file(audio_dir: Path, model_path: Path) -> None:
    result = invoke("embed", audio_dir, "--model", model_path, "--emb-dim", "64", code=2)
    assert "does not match" in result.stderr
    invoke("embed", audio_dir, "--model", model_path, "--emb-dim", "128", "-q")


def test_no_centering_and_hop_size(audio_dir: Path, model_path: Path, tmp_path: Path) -> None:
    wav = audio_dir / "c8k.wav"  # 2 s at the model's 8 kHz: no resampling
    invoke("embed", wav, "--model", model_path, "-o", tmp_path / "c", "-q")
    invoke("embed", wav, "--model", model_path, "-o", tmp_path / "n", "--no-centering", "-q")
    invoke("embed", wav, "--model", model_path, "-o", tmp_path / "h", "--hop-size", "0.25",
           "-q")
    centred = np.load(tmp_path / "c" / "c8k.npz")["embedding"]
    uncentred = np.load(tmp_path / "n" / "c8k.npz")["embedding"]
    hop = np.load(tmp_path / "h" / "c8k.npz")
    assert centred.shape[0] == n_windows(16000, 8000, 1.0, 0.1, True) == 16
    assert uncentred.shape[0] == n_windows(16000, 8000, 1.0, 0.1, False) == 11
    assert hop["embedding"].shape[0] == n_windows(16000, 8000, 1.0, 0.25, True)
    np.testing.assert_allclose(hop["timestamps"], np.arange(hop["embedding"].shape[0]) * 0.25)


def test_quiet_prints_nothing_on_success(audio_dir: Path, model_path: Path) -> None:
    result = invoke("embed", audio_dir, "--model", model_path, "-q")
    assert result.output == ""


def test_short_audio_warning_is_reported_once(tmp_path: Path, model_path: Path) -> None:
    write_tone(tmp_path / "s1.wav", 0.5, 8000)
    write_tone(tmp_path / "s2.wav", 0.5, 8000)
    result = invoke("embed", tmp_path, "--model", model_path)
    assert result.stderr.count("shorter than one window") == 1
    assert "(2 files)" in result.stderr


@pytest.mark.skipif(not US8K_FOLD1.is_dir(), reason="shared UrbanSound8K subset not present")
def test_real_urbansound_clips(tmp_path: Path, model_path: Path) -> None:
    clips = sorted(p for p in US8K_FOLD1.iterdir() if p.suffix.lower() in (".wav", ".flac"))
    if len(clips) < 2:
        pytest.skip("fewer than 2 clips in the UrbanSound8K subset")
    result = invoke("embed", *clips[:2], "--model", model_path, "-o", tmp_path)
    assert "written 2, skipped 0, failed 0" in result.stdout
    for clip in clips[:2]:
        with np.load(tmp_path / f"{clip.stem}.npz") as z:
            assert z["embedding"].shape == (expected_frames(clip), 128)
            assert z["embedding"].dtype == np.float32
            assert z["timestamps"].shape == (z["embedding"].shape[0],)


def test_info_text_and_json(model_path: Path) -> None:
    fp = footprint(load_model(model_path))
    text = invoke("info", model_path).stdout
    for needle in ("family:", "sea", "emb_dim:", "128", "8000 Hz", "head:", "paper", "blocks:",
                   "n_mels=64", "note", "random weights", f"{fp.size_mb:.2f} MB",
                   f"{fp.params:,}", fp.largest_layer):
        assert needle in text
    data = json.loads(invoke("info", model_path, "--json").stdout)
    assert data["config"]["emb_dim"] == 128 and data["config"]["family"] == "sea"
    assert data["metadata"] == {"note": "random weights"}
    assert data["footprint"]["params"] == fp.params
    assert data["footprint"]["size_mb"] == pytest.approx(fp.size_mb)


def test_info_bad_model_files(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(os.urandom(300))
    assert "not a readable edgesea model" in invoke("info", corrupt, code=2).stderr
    assert "not found" in invoke("info", tmp_path / "missing.safetensors", code=2).stderr


def test_version() -> None:
    import edgesea

    assert invoke("--version").stdout.strip() == f"edgesea {edgesea.__version__}"


def test_entry_point_script(audio_dir: Path, model_path: Path) -> None:
    script = Path(sys.executable).parent / "edgesea"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "edgesea.cli"]
    (audio_dir / "bad.wav").write_bytes(b"RIFF junk")
    proc = subprocess.run([*cmd, "embed", str(audio_dir), "--model", str(model_path), "-q"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "bad.wav" in proc.stderr and "Traceback" not in proc.stderr
    assert len(list(audio_dir.glob("*.npz"))) == 3


def _npz_width(path: Path) -> int:
    with np.load(path, allow_pickle=False) as z:
        return z["embedding"].shape[1]


def test_embed_with_another_model_is_refused(audio_dir: Path, model_path: Path,
                                             tmp_path: Path) -> None:
    """Issue 17: ``--emb-dim 64`` then ``--model student`` said "skipped 3" and kept 64-d."""
    out = tmp_path / "emb"
    invoke("embed", audio_dir, "-o", out, "--emb-dim", "64", "-q")
    result = invoke("embed", audio_dir, "-o", out, "--model", model_path, code=1)
    assert "written 0, skipped 0, failed 3" in result.stdout
    assert "--overwrite" in result.stderr and "-x" in result.stderr
    assert all(_npz_width(p) == 64 for p in out.glob("*.npz"))
    result = invoke("embed", audio_dir, "-o", out, "--model", model_path, "--overwrite")
    assert "written 3, skipped 0, failed 0" in result.stdout
    assert all(_npz_width(p) == 128 for p in out.glob("*.npz"))
    result = invoke("embed", audio_dir, "-o", out, "--model", model_path)
    assert "written 0, skipped 3, failed 0" in result.stdout


def test_embed_cleans_a_killed_runs_temp_files(audio_dir: Path, model_path: Path,
                                              tmp_path: Path) -> None:
    out = tmp_path / "emb"
    out.mkdir()
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = out / f".tmp-{int(proc.stdout)}-abc.npz"
    stale.write_bytes(b"PK half")
    invoke("embed", audio_dir, "-o", out, "--model", model_path, "-q")
    assert not stale.exists() and len(list(out.glob("*.npz"))) == 3


def test_short_help_flag_is_accepted() -> None:
    """``-h`` works like ``--help``, at the root and on every command."""
    root = runner.invoke(app, ["-h"])
    assert root.exit_code == 0 and "Usage" in root.output
    for command in ("embed", "info", "specialize", "augment", "evaluate", "export",
                    "footprint", "teacher-embed", "sample", "convert-edgel3"):
        result = runner.invoke(app, [command, "-h"])
        assert result.exit_code == 0 and "Usage" in result.output, command


def test_cli_modules_do_not_import_the_package_back() -> None:
    """The command modules take shared helpers from ``cli.common``, never from the package
    ``edgesea.cli`` itself (which imports them: a circle)."""
    import ast

    import edgesea.cli as cli_pkg

    folder = Path(cli_pkg.__file__).parent
    for module in folder.glob("*.py"):
        if module.name in ("__init__.py", "__main__.py"):
            continue
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                assert node.module is not None, f"{module.name}: `from . import`"
            if isinstance(node, ast.ImportFrom) and node.level == 2:
                assert node.module != "cli", module.name
