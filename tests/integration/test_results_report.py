"""benchmarks/results.py: the report regenerates from its record once run directories are gone,
refreshes entries from files that exist, and refuses rows it can find nowhere."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "results.py"


@pytest.fixture(scope="module")
def results_mod():
    spec = importlib.util.spec_from_file_location("edgesea_results_report", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _metrics(micro: float) -> dict:
    return {"micro_auprc": {"mean": micro, "std": 0.01, "values": [micro]},
            "macro_auprc": {"mean": micro - 0.05, "std": 0.02, "values": [micro - 0.05]},
            "accuracy": {"mean": 0.5, "std": 0.0, "values": [0.5]}}


def _workspace(root: Path) -> dict:
    """An evaluation folder with a teacher and one run's student, the run directory and a
    footprint file, all as the project's commands write them."""
    run = root / "runs" / "r1"
    (run / "distill").mkdir(parents=True)
    (run / "stages.json").write_text(json.dumps({
        "sample": {"n_sample": 100}, "augment": {"n_augmented": 50},
        "distill": {"n_train": 150, "epochs_run": 7, "best_epoch": 4, "val_r2": 0.41,
                    "val_cosine": 0.66, "wall_s": 12.4}}))
    (run / "config.json").write_text(json.dumps({"arch": "mcu", "head": "linear",
                                                 "augment_factor": 0.5}))
    fp = root / "runs" / "fp.json"
    fp.write_text(json.dumps([{"flash_bytes": 1234, "arena_bytes": 567, "latency_ms": 0.3,
                               "int8_vs_float": {"cosine_mean": 0.99, "cosine_min": 0.98}}]))
    ev = root / "runs" / "eval"
    ev.mkdir()
    models = {"teacher:aisfx": {"identity": "t", "emb_dim": 512, "metrics": _metrics(0.8)},
              "r1/student": {"identity": "s", "path": str(run / "student.safetensors"),
                             "params": 1000, "size_mb": 0.004, "activation_mb": 0.1,
                             "emb_dim": 128, "metrics": _metrics(0.7)}}
    proto = {"dataset": "d", "train_folds": [1, 2], "test_fold": 10, "seeds": 1,
             "hop_size": 0.5, "clip": "mean+max of window embeddings", "selection": "x"}
    (ev / "results.json").write_text(json.dumps({"protocol": proto, "models": models}))
    rng = np.random.default_rng(0)
    labels = np.eye(3)[rng.integers(0, 3, 20)]
    np.savez(ev / "test_scores.npz", labels=labels, **{
        "teacher:aisfx": rng.random((20, 3)), "r1/student": rng.random((20, 3))})
    return {"eval": str(ev), "table_a": ["teacher:aisfx", {"name": "r1/student",
                                                            "note": "7 epochs"}],
            "table_a_plot": {"series": {"students": ["r1/student"]},
                             "lines": ["teacher:aisfx"]},
            "tables": [{"id": "B", "title": "t", "rows": [{"label": "arm", "run": str(run),
                                                          "x": 1}]},
                       {"id": "E", "kind": "int8", "title": "q", "rows": [{
                           "label": "q", "float": str(run / "student.safetensors"),
                           "int8": str(run / "x.tflite"), "footprint": str(fp)}]}]}


@pytest.fixture
def report(results_mod, tmp_path, monkeypatch):
    """``(spec, out, record)`` for a workspace in ``tmp_path`` (the working directory)."""
    monkeypatch.chdir(tmp_path)
    return (_workspace(tmp_path), tmp_path / "docs" / "results.md",
            results_mod.Record(tmp_path / "record.json", tmp_path / "scores.npz"))


def test_report_regenerates_from_the_record_after_runs_are_deleted(results_mod, tmp_path,
                                                                    report):
    import shutil

    spec, out, rec = report
    first = results_mod.build(spec, Path("spec.json"), out, rec)
    rec.save()
    text = "\n".join(first)
    assert "| teacher (aisfx) | 512 | - | - | - | 0.800 ± 0.010 | 0.750 ± 0.020 |" in text
    assert "| r1/student (7 epochs) | 128 | 1,000 | 0.00 | 0.10 | 0.700 ± 0.010 |" in text
    assert "| arm | mcu/linear | 100 + 50 | 7 (4) | 0.410 | 0.660 | 12 | 0.700 ± 0.010 |" in text
    assert "| q | 1,234 | 567 | 0.9900 / 0.9800 | 0.30 | 0.700 ± 0.010 | - | - |" in text
    assert (out.parent / "img" / "pr_curves.png").is_file()
    assert (out.parent / "img" / "table_B.png").is_file()
    assert (out.parent / "img" / "table_A.png").is_file()
    stored = json.loads((tmp_path / "record.json").read_text())
    assert stored["runs"]["runs/r1"]["source"] == "runs/r1/stages.json"
    assert stored["models"]["r1/student"]["path"] == "runs/r1/student.safetensors"

    shutil.rmtree(tmp_path / "runs")  # every source file gone: the record alone
    rec2 = results_mod.Record(tmp_path / "record.json", tmp_path / "scores.npz")
    assert set(rec2.scores) == {"teacher:aisfx", "r1/student"}
    second = results_mod.build(spec, Path("spec.json"), out, rec2)
    assert second == first


def test_report_refreshes_from_files_and_refuses_unknown_rows(results_mod, tmp_path, report):
    spec, out, rec = report
    results_mod.build(spec, Path("spec.json"), out, rec)
    st = json.loads((tmp_path / "runs" / "r1" / "stages.json").read_text())
    st["distill"]["val_r2"] = 0.5
    (tmp_path / "runs" / "r1" / "stages.json").write_text(json.dumps(st))
    lines = results_mod.build(spec, Path("spec.json"), out, rec)
    assert any("| 0.500 |" in line for line in lines)

    spec["tables"][0]["rows"].append({"label": "gone", "run": "runs/never"})
    with pytest.raises(SystemExit, match="runs/never"):
        results_mod.build(spec, Path("spec.json"), out, rec)
    spec["tables"][0]["rows"].pop()
    spec["table_a"].append("nowhere/student")
    with pytest.raises(SystemExit, match="nowhere/student"):
        results_mod.build(spec, Path("spec.json"), out, rec)
