"""``kd`` retraining of a pruned aisfx on real UrbanSound8K clips (from ../shared): the mask
survives retraining and save/load, an interrupted run resumes exactly, and ``edgesea prune``
runs end to end (oneshot and kd) and refuses bad settings before any work. Tiny on purpose:
four short clips, one epoch, a handful of windows."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from edgesea.cli import app
from edgesea.distill.train import TrainConfig
from edgesea.prune.retrain import kd_data, retrain_kd
from edgesea.sparse.model import SparseModel
from edgesea.sparse.prune import conv_layers
from edgesea.sparse.storage import load_sparse, save_sparse
from sparse_cache import dense_teacher, pruned

FOLD1 = Path(__file__).resolve().parents[3] / "shared" / "data" / "urbansound8k_subset" / \
    "audio" / "fold1"
#: Four short clips (1.4-1.7 s) of four recordings.
CLIPS = ("102106-3-0-0.flac", "147764-4-0-0.flac", "166268-3-1-0.flac", "175851-1-0-0.flac")
CFG = TrainConfig(epochs=1, lr=1e-3, batch_size=4, schedule="cosine", patience=0, seed=0)
runner = CliRunner()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """``(dense teacher, audio folder, work folder, KDData)``; skips without the data or
    the aisfx weights."""
    if not all((FOLD1 / c).is_file() for c in CLIPS):
        pytest.skip("../shared UrbanSound8K subset not present")
    dense = dense_teacher()
    root = tmp_path_factory.mktemp("kd")
    audio = root / "audio"
    audio.mkdir()
    for c in CLIPS:
        shutil.copy(FOLD1 / c, audio / c)
    data = kd_data(audio, root / "work" / "kd_data", dense, hop_size=1.0, progress=False)
    return dense, audio, root / "work", data


def _pruned(_dense):
    return pruned(95.45)


def test_kd_data_is_the_dense_teachers(setup) -> None:
    dense, _, _, data = setup
    assert len(data.targets) == len(data.inputs) == len(data.groups) >= 8
    assert len(np.unique(data.groups)) == 4  # one recording per clip
    x = torch.from_numpy(np.asarray(data.inputs[:2], np.float32))
    with torch.inference_mode():
        y = dense.net(x).numpy()  # the teacher on the stored (float16) inputs
    np.testing.assert_allclose(y, data.targets[:2], rtol=0, atol=2e-2 * data.targets.max())


def test_mask_survives_retraining_and_save_load(setup, tmp_path) -> None:
    dense, _, _, data = setup
    net, masks = _pruned(dense)
    before = copy.deepcopy(net.state_dict())
    res = retrain_kd(net, masks, data, tmp_path / "kd", CFG, val_fraction=0.25,
                     max_windows=6, progress=False)
    assert res.best_epoch == 1 and json.loads((tmp_path / "kd" / "split.json").read_text())[
        "n_train"] == 6
    for name, _ in conv_layers(net):
        w, m, w0 = net.get_submodule(name).weight, masks[f"{name}.weight"], before[
            f"{name}.weight"]
        assert (w[~m] == 0).all(), f"{name}: a pruned weight came back"
        changed = (w[m] != w0[m]).float().mean().item()
        assert changed > 0.9, f"{name}: only {changed:.0%} of the kept weights were trained"
    path = save_sparse(net, tmp_path / "kd.safetensors", sparsity=95.45, retrain="kd",
                       masks=masks, teacher_identity=dense.identity)
    back = load_sparse(path)
    for name, m in masks.items():
        assert not (back.masks[name] & ~m).any()  # nothing outside the mask is stored
        assert torch.equal(back.masks[name], net.get_submodule(name[:-7]).weight != 0)
    x = np.random.default_rng(0).standard_normal((2, 44100)).astype(np.float32) * 0.1
    np.testing.assert_array_equal(SparseModel(net).embed(x), SparseModel(back.net).embed(x))


class _Interrupted(Exception):
    """Stands for a kill at the start of epoch 2."""


def test_resume_continues_exactly(setup, tmp_path) -> None:
    dense, _, _, data = setup
    cfg = TrainConfig(**{**CFG.to_dict(), "epochs": 2})
    full, masks = _pruned(dense)
    retrain_kd(full, masks, data, tmp_path / "full", cfg, val_fraction=0.25, max_windows=6,
               progress=False)
    net, masks = _pruned(dense)
    out = tmp_path / "cut"

    def kill_after_epoch_1(module, _inputs):
        if module.training and (out / "latest.pt").is_file():
            raise _Interrupted

    hook = net.register_forward_pre_hook(kill_after_epoch_1)
    with pytest.raises(_Interrupted):
        retrain_kd(net, masks, data, out, cfg, val_fraction=0.25, max_windows=6,
                   progress=False)
    hook.remove()
    assert len(json.loads((out / "history.json").read_text())) == 1
    net, masks = _pruned(dense)  # a fresh process: the pruned teacher again
    res = retrain_kd(net, masks, data, out, cfg, val_fraction=0.25, max_windows=6,
                     resume=True, progress=False)
    assert res.epochs_run_now == 1 and len(res.history) == 2
    for (k, a), b in zip(full.state_dict().items(), net.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    want = json.loads((tmp_path / "full" / "history.json").read_text())
    for a, b in zip(want, res.history, strict=True):
        assert {k: v for k, v in a.items() if k != "epoch_s"} == {
            k: v for k, v in b.items() if k != "epoch_s"}


def test_cli_prune_oneshot_and_kd_end_to_end(setup, tmp_path) -> None:
    _, audio, work, _ = setup
    model = tmp_path / "oneshot.safetensors"
    res = runner.invoke(app, ["prune", str(audio), "--retrain", "oneshot", "--sparsity",
                              "87.0", "--out", str(model), "--work", str(work),
                              "--hop-size", "1.0", "-q"])
    assert res.exit_code == 0, res.output
    assert "pruned aisfx to 87.08%" in res.stdout and "fidelity to the dense teacher" in \
        res.stdout and f"wrote {model}" in res.stdout
    doc = load_sparse(model).header
    assert (doc["sparsity"], doc["retrain"], doc["recipe"]["train"]) == (87.0, "oneshot",
                                                                         None)
    assert 0 < doc["recipe"]["fidelity"]["cosine"] <= 1
    kd = tmp_path / "kd.safetensors"
    res = runner.invoke(app, ["prune", str(audio), "--out", str(kd), "--work", str(work),
                              "--hop-size", "1.0", "--epochs", "1", "--batch-size", "4",
                              "--max-windows", "4", "--val-fraction", "0.25",
                              "--data-license", "CC BY-NC 3.0 (UrbanSound8K)", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout[res.stdout.index("{"):])
    assert out["retrain"] == "kd" and out["best_epoch"] == 1 and out["n_train"] == 4
    for fid in (out["fidelity"], out["fidelity_oneshot"]):  # after and before kd
        assert np.isfinite(fid["r2"]) and 0 < fid["cosine"] <= 1
    doc = load_sparse(kd).header
    assert doc["retrain"] == "kd" and doc["recipe"]["train"]["epochs"] == 1
    assert doc["licenses"]["training_data"].startswith("CC BY-NC")
    assert doc["training_data"] == str(audio)
    assert kd.stat().st_size < 0.1 * 4 * 4_689_984
    assert not (tmp_path / "kd.work").exists() and (work / "kd" / "history.json").is_file()


@pytest.mark.parametrize(("args", "match"), [
    (["--retrain", "ft"], "audio-visual"),
    (["--sparsity", "50"], "53.5, 63.5, 72.3, 87, 95.45"),
    (["--method", "random"], "unknown pruning method"),
    (["--teacher", "openl3"], "unknown teacher"),
    (["--max-windows", "0"], "max_windows"),
])
def test_cli_prune_refuses_bad_settings(setup, tmp_path, args, match) -> None:
    _, audio, _, _ = setup
    res = runner.invoke(app, ["prune", str(audio), "--out", str(tmp_path / "m.safetensors"),
                              *args])
    assert res.exit_code == 2 and match in res.stderr, res.output
    assert not list(tmp_path.iterdir())  # refused before any work


def test_cli_prune_kd_needs_audio(tmp_path) -> None:
    res = runner.invoke(app, ["prune", "--out", str(tmp_path / "m.safetensors")])
    assert res.exit_code == 2 and "needs in-domain audio" in res.stderr
