"""``--exclude`` compares content, not only paths: a copy of an evaluation clip under
another name in the upstream folder is refused (:func:`edgesea.audio.files.check_excluded`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edgesea.audio.files import check_excluded
from edgesea.errors import EdgeSEAError

SR = 16000


def _clip(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, (0.1 * rng.standard_normal(SR)).astype(np.float32), SR)
    return path


@pytest.fixture()
def folders(tmp_path: Path) -> tuple[Path, Path]:
    upstream, evaluation = tmp_path / "upstream", tmp_path / "eval"
    for i in range(3):
        _clip(upstream / f"u{i}.wav", i)
    _clip(evaluation / "fold10" / "e0.wav", 100)
    _clip(evaluation / "fold10" / "e1.wav", 101)
    return upstream, evaluation


def test_a_renamed_copy_of_an_excluded_clip_is_refused(folders) -> None:
    upstream, evaluation = folders
    (upstream / "sub").mkdir()
    shutil.copy(evaluation / "fold10" / "e1.wav", upstream / "sub" / "renamed.wav")
    files = sorted(p.relative_to(upstream).as_posix() for p in upstream.rglob("*.wav"))
    with pytest.raises(EdgeSEAError, match="same content") as e:
        check_excluded(upstream, files, [evaluation])
    assert "sub/renamed.wav" in str(e.value) and "e1.wav" in str(e.value)
    assert "re-encoded" in str(e.value)  # the limitation is stated
    # an excluded file (not only a folder) works the same
    with pytest.raises(EdgeSEAError, match="same content"):
        check_excluded(upstream, files, [evaluation / "fold10" / "e1.wav"])


def test_different_files_pass_even_of_the_same_size(folders) -> None:
    upstream, evaluation = folders
    files = sorted(p.name for p in upstream.glob("*.wav"))
    # the same size as the excluded clips (same length and format), other samples
    assert {(upstream / f).stat().st_size for f in files} == {
        (evaluation / "fold10" / "e0.wav").stat().st_size}
    check_excluded(upstream, files, [evaluation])
    check_excluded(upstream, files, [])


def test_paths_inside_and_missing_excluded_folders(folders) -> None:
    upstream, evaluation = folders
    files = sorted(p.name for p in upstream.glob("*.wav"))
    with pytest.raises(EdgeSEAError, match="lie in the excluded folder"):
        check_excluded(upstream, files, [upstream])
    with pytest.raises(EdgeSEAError, match="does not exist"):
        check_excluded(upstream, files, [evaluation / "fold9"])


def test_augment_refuses_a_copy_of_a_forbidden_clip(folders, tmp_path: Path) -> None:
    from edgesea.augment.bank import make_augmented

    upstream, evaluation = folders
    shutil.copy(evaluation / "fold10" / "e0.wav", upstream / "copy.wav")
    with pytest.raises(EdgeSEAError, match="same content"):
        make_augmented(upstream, ["u0.wav", "copy.wav"], [1.0, 1.0], tmp_path / "aug",
                       object(), 2, forbidden=[evaluation], progress=False)
    assert not (tmp_path / "aug").exists()
