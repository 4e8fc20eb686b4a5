"""A warning when the input has less bandwidth than the model reads (issue 36): the same
clip at 8 kHz and at 16 kHz gave embeddings of mean cosine 0.79, silently. Warnings about a
file name the file."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import edgesea
from edgesea.errors import EdgeSEAWarning
from edgesea.packaged.names import PRETRAINED_DIR

MODEL = "sea_urban_64"  # 16 kHz
pytestmark = pytest.mark.skipif(not (PRETRAINED_DIR / f"{MODEL}.safetensors").is_file(),
                                reason="the packaged student is not installed")


def _tone(sr: int, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.3 * np.sin(2 * np.pi * 700 * t)).astype(np.float32)


def test_narrow_band_input_warns() -> None:
    with pytest.warns(EdgeSEAWarning, match=r"audio at 8000 Hz has no content above 4000 Hz, "
                      r"but the model reads up to 8000 Hz"):
        edgesea.get_embedding(_tone(8000), 8000, model=MODEL, hop_size=0.5)
    with pytest.warns(EdgeSEAWarning, match="8000 Hz"):
        edgesea.StreamEmbedder(MODEL, 8000)


@pytest.mark.parametrize("sr", [16000, 22050, 44100])
def test_full_band_input_does_not_warn(sr: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", EdgeSEAWarning)
        edgesea.get_embedding(_tone(sr), sr, model=MODEL, hop_size=0.5)
        edgesea.StreamEmbedder(MODEL, sr)


def test_file_warnings_name_the_file(tmp_path: Path) -> None:
    narrow, silent = tmp_path / "narrow.wav", tmp_path / "silent.wav"
    sf.write(narrow, _tone(8000), 8000)
    sf.write(silent, np.zeros(32000, np.float32), 16000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        edgesea.process_file([narrow, silent], output_dir=tmp_path / "out", model=MODEL)
    messages = [str(w.message) for w in caught if issubclass(w.category, EdgeSEAWarning)]
    assert any(m.startswith(f"{narrow}: audio at 8000 Hz") for m in messages), messages
    assert any(m.startswith(f"{silent}: audio is all zeros") for m in messages), messages


def test_embed_names_the_files_of_each_warning(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from edgesea.cli import app

    for name in ("a.wav", "b.wav"):
        sf.write(tmp_path / name, _tone(8000), 8000)
    sf.write(tmp_path / "c.wav", _tone(16000, 0.5), 16000)
    res = CliRunner().invoke(app, ["embed", str(tmp_path), "-o", str(tmp_path / "o"),
                                   "--model", MODEL])
    assert res.exit_code == 0, res.output
    lines = [x for x in res.stderr.splitlines() if x.startswith("warning:")]
    assert any("8000 Hz" in x and f"(2 files): {tmp_path / 'a.wav'}, {tmp_path / 'b.wav'}"
               in x for x in lines), lines
    assert any("shorter than one window" in x and x.endswith(f"({tmp_path / 'c.wav'})")
               for x in lines), lines
