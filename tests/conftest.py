"""Shared fixtures: the ../shared oracle folder, a tiny saved student, one real clip."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import edgesea
from edgesea.models import load_model, save_model, sea_student
from edgesea.teachers.model import ModelTeacher

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the files holding slow tests first (stable order otherwise), so that with
    ``pytest -n N --dist loadfile`` the longest files start at once instead of last."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ``../shared`` folder (models, oracles, data); skip if absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared not present")
    return SHARED


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> str:
    """A randomly initialised (seed 0) 128-d SEA student saved as an edgesea model file."""
    torch.manual_seed(0)
    model = sea_student(128).eval()
    path = tmp_path_factory.mktemp("models") / "tiny_sea128.safetensors"
    return save_model(model, path)


@pytest.fixture(scope="session")
def real_clip():
    """``(audio, sr)`` of one real UrbanSound8K clip from ../shared; skip if absent."""
    folder = SHARED / "data" / "urbansound8k_subset" / "audio" / "fold1"
    files = sorted(folder.glob("*.*")) if folder.is_dir() else []
    if not files:
        pytest.skip("../shared UrbanSound8K subset not present")
    return edgesea.load_audio(files[0])


@pytest.fixture
def zoo_of_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The packaged zoo narrowed to ``sea_urban_128_mcu1m`` (links to its files): every other
    size of tier ``mcu-1m`` is missing, as for a package that ships one. Skip if absent."""
    import edgesea.packaged.names

    src = edgesea.packaged.names.PRETRAINED_DIR
    files = sorted(src.glob("sea_urban_128_mcu1m.*"))
    if not files:
        pytest.skip("the packaged sea_urban_128_mcu1m is not installed")
    zoo = tmp_path / "zoo_of_one"
    zoo.mkdir()
    for f in files:
        (zoo / f.name).symlink_to(f)
    monkeypatch.setattr(edgesea.packaged.names, "PRETRAINED_DIR", zoo)
    return zoo


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> str:
    """A random (seed 0) 64-d SEA student file, the tiny teacher of the extraction tests."""
    torch.manual_seed(0)
    return save_model(sea_student(64).eval(), tmp_path_factory.mktemp("m") / "t.safetensors")


@pytest.fixture(scope="module")
def teacher(model_path: str) -> ModelTeacher:
    """:func:`model_path` as a :class:`ModelTeacher`."""
    return ModelTeacher(load_model(model_path))
