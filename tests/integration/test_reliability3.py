"""Reliability, third pass (issue 35): one test per defect D1-D16 of the outside reliability
run, each written to fail on the code before its fix.

The rules they check: every cache is keyed on content (D1, D15); every writer is locked (D2);
every file format is read by a validating reader that bounds sizes, depths and paths before
use (D4, D6, D7, D10, D13, D14, D16); a model configuration is bounded by the activation
memory it implies (D5); a full disk is the same clear error with no temp file left (D3, D11,
D12); argument sizes are bounded by what they can need (D8, D9).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import edgesea
from edgesea.errors import EdgeSEAError
from edgesea.packaged.names import PRETRAINED_DIR

SR = 16000


def _noise(seconds: float, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(
        np.float32)


# D1 -------------------------------------------------------------------------------------
def _evaluated(tmp_path: Path):
    """A tiny student evaluated once on a synthetic dataset: ``(run, root, out, first)``,
    ``run(out)`` evaluating again."""
    from edgesea.evaluate.run import run_evaluation
    from edgesea.models import save_model, sea_student
    from shared_helpers import make_dataset

    torch.manual_seed(0)
    model = Path(save_model(sea_student(16, head="linear", filters=(4, 4, 8, 8)).eval(),
                            tmp_path / "student.safetensors"))
    root = make_dataset(tmp_path / "ds")

    def run(out: Path) -> dict:
        return run_evaluation(root, [model], [], [1, 2], 3, 1, 0.5, out, progress=False)

    out = tmp_path / "eval"
    return run, root, out, run(out)


def test_d1_evaluate_result_cache_follows_the_audio(tmp_path: Path) -> None:
    """Overwriting the test fold's audio under the same names must not reuse the result."""
    run, root, out, first = _evaluated(tmp_path)
    for i in range(2, 36, 3):  # fold 3: the test fold
        sf.write(root / f"audio/c{i}.wav", _noise(1.5, i), SR)
    second = run(out)
    fresh = run(tmp_path / "fresh")
    m = "micro_auprc"
    assert second["models"]["student"]["metrics"][m] == fresh["models"]["student"]["metrics"][m]
    assert second["models"]["student"]["metrics"][m] != first["models"]["student"]["metrics"][m]


# D13 ------------------------------------------------------------------------------------
def test_d13_corrupt_evaluate_cache_is_rebuilt(tmp_path: Path) -> None:
    run, _, out, first = _evaluated(tmp_path)
    (cache,) = list((out / "cache").glob("*.npz"))
    for bad in (cache.read_bytes()[:100],  # truncated
                b"\x80\x04\x95" + b"pickle" * 10):  # not a zip
        cache.write_bytes(bad)
        again = run(out)
        assert again["models"]["student"]["metrics"] == first["models"]["student"]["metrics"]
    np.savez(cache, scores=np.array([object()], dtype=object), result=np.array("{}"))
    again = run(out)
    assert again["models"]["student"]["metrics"] == first["models"]["student"]["metrics"]


# D2 -------------------------------------------------------------------------------------
def test_d2_two_augment_runs_into_one_folder(tmp_path: Path, monkeypatch) -> None:
    """A second augment into a folder another one is writing is refused."""
    import edgesea.augment.bank as augstore
    from edgesea.models import sea_student
    from edgesea.teachers.model import ModelTeacher

    src = tmp_path / "audio"
    src.mkdir()
    sf.write(src / "a.wav", _noise(3.0), SR)
    torch.manual_seed(0)
    teacher = ModelTeacher(sea_student(16, sample_rate=16000, head="linear",
                                       filters=(4, 4, 8, 8)).eval())
    started, release = threading.Event(), threading.Event()
    real = augstore.shard_columns

    def slow(*args, **kwargs):
        started.set()
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(augstore, "shard_columns", slow)
    errors: list[BaseException] = []

    def first() -> None:
        try:
            augstore.make_augmented(src, ["a.wav"], [3.0], tmp_path / "aug", teacher, 4,
                                    seed=0, student_rate=16000, progress=False)
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=first)
    t.start()
    assert started.wait(30)
    try:
        with pytest.raises(EdgeSEAError, match="being written by another process"):
            augstore.make_augmented(src, ["a.wav"], [3.0], tmp_path / "aug", teacher, 2,
                                    seed=1, student_rate=16000, progress=False)
    finally:
        release.set()
        t.join(60)
    assert not errors
    manifest = json.loads((tmp_path / "aug" / "manifest.json").read_text())
    assert manifest["seed"] == 0 and manifest["n_windows"] == 4
    assert not (tmp_path / "aug" / ".writer.lock").exists()  # removed on a clean exit


# D3 / D11 / D12 --------------------------------------------------------------------------
def _disk_full(monkeypatch, module, name):
    """Make ``module.name`` (a writer) fail as a full disk does, after creating its file."""
    import errno

    real = getattr(module, name)

    def full(*args, **kwargs):
        real(*args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(module, name, full)


def test_d12_save_model_disk_full(tmp_path: Path, monkeypatch) -> None:
    import edgesea.models.io as st
    from edgesea.models import save_model, sea_student

    def full(*args, **kwargs):
        from safetensors import SafetensorError
        raise SafetensorError("Error while serializing: IoError(Os { code: 28, kind: "
                              "StorageFull, message: \"No space left on device\" })")

    monkeypatch.setattr(st, "save_file", full)
    with pytest.raises(EdgeSEAError, match="no space left"):
        save_model(sea_student(16, head="linear", filters=(4, 4, 8, 8)), tmp_path / "m.st")
    assert list(tmp_path.iterdir()) == []


def _file_size_limit(nbytes: int):
    """``ulimit -f``: writes past ``nbytes`` fail with EFBIG (Python ignores SIGXFSZ)."""
    import contextlib
    import resource

    @contextlib.contextmanager
    def limit():
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, hard))
        try:
            yield
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))

    return limit()


def test_d11_checkpoint_disk_full(tmp_path: Path) -> None:
    """torch's own writer failing (a real short write: ``unexpected pos``)."""
    from edgesea.distill import checkpoint as distill_checkpoint

    with _file_size_limit(100_000), pytest.raises(EdgeSEAError, match="no space left"):
        distill_checkpoint.save_atomic({"x": torch.zeros(100_000)}, tmp_path / "ckpt.pt")
    assert list(tmp_path.iterdir()) == []


def test_d12_save_model_real_file_size_limit(tmp_path: Path) -> None:
    from edgesea.models import save_model, sea_student

    model = sea_student(128)
    with _file_size_limit(100_000), pytest.raises(EdgeSEAError, match="no space left"):
        save_model(model, tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_d3_tflite_export_disk_full(tmp_path: Path, monkeypatch) -> None:
    """A full disk while the converter writes the .tflite: a clear error, no temp file."""
    pytest.importorskip("litert_torch")
    import resource

    from edgesea.export import tflite as tfl
    from edgesea.models import sea_mcu_student

    monkeypatch.setattr(tfl, "_convert", lambda *a, **k: b"TFL3" * 4096)
    cal = np.random.default_rng(0).normal(-40, 10, (2, 64, 50)).astype(np.float32)
    out = tmp_path / "out"
    out.mkdir()
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))  # `ulimit -f 4`: EFBIG
    try:
        with pytest.raises(EdgeSEAError, match="no space left"):
            tfl.convert_tflite_int8(sea_mcu_student(16).eval(), cal, out / "m.tflite",
                                    progress=False)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert list(out.iterdir()) == []


# D4 -------------------------------------------------------------------------------------
@pytest.fixture()
def int8_copy(tmp_path: Path) -> Path:
    pytest.importorskip("ai_edge_litert")
    for suffix in (".int8.tflite", ".edge.json"):
        shutil.copyfile(PRETRAINED_DIR / f"sea_urban_64{suffix}", tmp_path / f"m{suffix}")
    return tmp_path / "m.int8.tflite"


def _edit_spec(tflite: Path, edit) -> None:
    path = tflite.with_name("m.edge.json")
    spec = json.loads(path.read_text())
    edit(spec)
    path.write_text(json.dumps(spec))


@pytest.mark.parametrize("edit", [
    lambda s: s.pop("frontend"),
    lambda s: s["audio"].__setitem__("sample_rate", 1e12),
    lambda s: s["audio"].__setitem__("window_samples", 10**10),
    lambda s: s["model"].__setitem__("emb_dim", 10**12),
    lambda s: s["frontend"]["config"].update(hop_length=1, n_fft=8192),
    lambda s: s["audio"].__setitem__("window_seconds", -1),
    lambda s: s["model"].__setitem__("name", "\udcff"),
], ids=["no-frontend", "rate", "window", "emb-dim", "hop-1", "negative-window", "surrogate"])
def test_d4_edge_spec_is_validated(int8_copy: Path, edit) -> None:
    from edgesea.inference.int8 import TFLiteEmbedder

    _edit_spec(int8_copy, edit)
    t0 = time.time()
    with pytest.raises(EdgeSEAError, match="edge spec"):
        TFLiteEmbedder(int8_copy)
    assert time.time() - t0 < 5


def test_d4_edge_spec_not_json(int8_copy: Path) -> None:
    from edgesea.inference.int8 import TFLiteEmbedder

    int8_copy.with_name("m.edge.json").write_text("{not json")
    with pytest.raises(EdgeSEAError, match="edge spec"):
        TFLiteEmbedder(int8_copy)


# D5 -------------------------------------------------------------------------------------
def test_d5_config_bounded_by_activation_memory() -> None:
    from edgesea.models.network import ModelConfig, student_frontend

    fe = student_frontend(16000).config()
    fe.update(n_fft=1024, hop_length=1, n_mels=512)
    with pytest.raises(EdgeSEAError, match="activation"):
        ModelConfig(family="x", emb_dim=16, sample_rate=16000, window=1.0, frontend=fe,
                    blocks=[[48]], pool_after=[False], head="linear")


# D6 -------------------------------------------------------------------------------------
def test_d6_tflite_size_is_bounded_before_reading(tmp_path: Path, monkeypatch) -> None:
    from edgesea.runtime import litert as runtime

    big = tmp_path / "big.tflite"
    with open(big, "wb") as f:  # a sparse file: 3 GB claimed, nothing on disk
        f.write(b"\x1c\x00\x00\x00TFL3")
        f.truncate(3 << 30)
    read = []
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self) or b"")
    with pytest.raises(EdgeSEAError, match="bytes"):
        runtime.check_tflite_file(big)
    assert not read


# D7 -------------------------------------------------------------------------------------
def test_d7_audio_header_claiming_huge_length(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "huge.flac"
    sf.write(path, _noise(0.5), SR)

    class Info:  # what soundfile reports for a header claiming 2^36 - 1 samples
        samplerate, channels, frames, duration = SR, 1, (1 << 36) - 1, ((1 << 36) - 1) / SR
        format, subtype = "FLAC", "PCM_16"

    monkeypatch.setattr(sf, "info", lambda *a, **k: Info())
    with pytest.raises(EdgeSEAError, match="samples"):
        edgesea.load_audio(path)


# D8 / D9 --------------------------------------------------------------------------------
def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith(field + ":"))


def _peak_growth_mb(fn):
    """``fn()``'s result and how far the process's peak RSS rose above its RSS before it
    (the peak is reset first through /proc/self/clear_refs, so an earlier test's peak does
    not hide it)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _status_mb("VmRSS")
    out = fn()
    return out, _status_mb("VmHWM") - before


def test_d8_huge_hop_costs_nothing() -> None:
    x = _noise(2.0)
    edgesea.get_embedding(x, SR, hop_size=0.5)  # the model loaded and warm
    (emb, ts), grew_mb = _peak_growth_mb(lambda: edgesea.get_embedding(x, SR, hop_size=2e4))
    (emb2, ts2), grew2 = _peak_growth_mb(lambda: edgesea.get_embedding(x, SR, hop_size=1e9))
    grew_mb = max(grew_mb, grew2)
    # edgel3's framing: the padded signal gives a second window, past the audio (zeros)
    assert len(emb) == len(emb2) == 2 and ts[0] == ts2[0] == 0.0
    np.testing.assert_allclose(emb, emb2, rtol=1e-5, atol=1e-6)
    assert grew_mb < 200


def test_d9_huge_batch_costs_nothing() -> None:
    x = _noise(2.0)
    ref, _ = edgesea.get_embedding(x, SR, hop_size=0.5, batch_size=4)
    (emb, _), grew_mb = _peak_growth_mb(
        lambda: edgesea.get_embedding(x, SR, hop_size=0.5, batch_size=10**5))
    assert grew_mb < 200
    np.testing.assert_allclose(emb, ref, rtol=1e-5, atol=1e-6)


def test_d9_cli_huge_batch_is_fine(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from edgesea.cli import app

    sf.write(tmp_path / "a.wav", _noise(2.0), SR)
    r = CliRunner().invoke(app, ["embed", str(tmp_path / "a.wav"), "--batch-size", "1000000",
                                 "--output-dir", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o" / "a.npz").is_file()


# D10 ------------------------------------------------------------------------------------
def test_d10_lone_surrogate_in_a_model_header(tmp_path: Path) -> None:
    """An escaped lone surrogate (``"\\udcff"``) in a header's JSON: refused when read."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from edgesea.models import load_model
    from edgesea.sparse.model import SparseModel

    src = PRETRAINED_DIR / "sea_urban_64.safetensors"
    with safe_open(str(src), "pt") as f:
        meta = dict(f.metadata())
    assert '"family": "' in meta["edgesea"]
    meta["edgesea"] = meta["edgesea"].replace('"family": "', '"family": "\\udcff', 1)
    save_file(load_file(str(src)), str(tmp_path / "m.safetensors"), metadata=meta)
    with pytest.raises(EdgeSEAError, match="not valid text"):
        load_model(tmp_path / "m.safetensors")
    sparse = PRETRAINED_DIR / "sparse_aisfx_95.45_kd.safetensors"
    with safe_open(str(sparse), "pt") as f:
        meta = dict(f.metadata())
    key = next(k for k, v in meta.items() if v.lstrip().startswith("{"))
    meta[key] = meta[key].replace('"format": "', '"note": "\\udcff", "format": "', 1)
    save_file(load_file(str(sparse)), str(tmp_path / "s.safetensors"), metadata=meta)
    with pytest.raises(EdgeSEAError, match="not valid text"):
        SparseModel.load(tmp_path / "s.safetensors")


# D14 / D16 ------------------------------------------------------------------------------
def _store(tmp_path: Path) -> Path:
    from edgesea.extract.run import extract
    from edgesea.models import sea_student
    from edgesea.teachers.model import ModelTeacher

    (tmp_path / "audio").mkdir()
    sf.write(tmp_path / "audio" / "a.wav", _noise(3.0), SR)
    torch.manual_seed(0)
    teacher = ModelTeacher(sea_student(16, sample_rate=16000, head="linear",
                                       filters=(4, 4, 8, 8)).eval())
    extract(tmp_path / "audio", tmp_path / "store", teacher, hop_size=0.5, progress=False)
    return tmp_path / "store"


def test_d14_deeply_nested_manifest(tmp_path: Path) -> None:
    from edgesea.store.shards import EmbeddingStore

    store = _store(tmp_path)
    (store / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(EdgeSEAError, match="manifest"):
        EmbeddingStore.open(store)


def test_d16_manifest_shard_outside_the_store(tmp_path: Path) -> None:
    from edgesea.store.shards import EmbeddingStore

    store = _store(tmp_path)
    manifest = json.loads((store / "manifest.json").read_text())
    for shard in manifest["shards"]:
        shard["file"] = "../../../../etc/passwd"
    (store / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(EdgeSEAError, match="outside"):
        EmbeddingStore.open(store)


# D15 ------------------------------------------------------------------------------------
def test_d15_embed_recomputes_content_changed_under_same_size_and_mtime(tmp_path: Path) -> None:
    from edgesea.inference.process import process_file

    path = tmp_path / "a.wav"
    sf.write(path, _noise(2.0, 0), SR)
    out = tmp_path / "o"
    process_file(str(path), output_dir=str(out))
    first = np.load(out / "a.npz")["embedding"]
    st = os.stat(path)
    sf.write(path, _noise(2.0, 1), SR)  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # cp -p / rsync keep the mtime
    # detected as changed, as a changed size or mtime is: refused unless overwritten
    with pytest.raises(EdgeSEAError, match="source file changed"):
        process_file(str(path), output_dir=str(out))
    process_file(str(path), output_dir=str(out), overwrite=True)
    second = np.load(out / "a.npz")["embedding"]
    assert not np.allclose(first, second)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched, same bytes
    process_file(str(path), output_dir=str(out))  # reused: the content is the same
