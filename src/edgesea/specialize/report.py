"""``report.md`` of a ``specialize`` run directory: settings, stage table, data, reducer,
training summary and curves (written atomically; regenerated on every run)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from edgesea.core.fileio import atomic_path
from edgesea.core.safe_json import read_json
from edgesea.specialize.layout import RunLayout

__all__ = ["write_report"]


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def write_report(run: str | os.PathLike, stages: dict[str, dict[str, Any]],
                 ran: dict[str, str] | None = None) -> Path:
    """Write ``RUN_DIR/report.md`` from ``config.json``, the stage table and the training
    history; returns its path."""
    run = Path(run)
    ran = ran or {}
    cfg = read_json(RunLayout(run).config, "run configuration")
    lines = ["# edgesea specialize report", "",
             f"Upstream audio: `{cfg['audio_dir']}`; teacher `{cfg['teacher']}`; hop "
             f"{cfg['hop_size']} s; emb_dim {cfg['emb_dim']}; sampling `{cfg['sampling']}` "
             f"({cfg['sample_size']}); reduction `{cfg['reduction']}`; arch `{cfg['arch']}`, "
             f"head `{cfg['head']}`; trained on `{cfg['train_on']}`; seed {cfg['seed']}.", "",
             "## Stages", "", "| stage | this run | wall time of its last computation |",
             "|---|---|---|"]
    for name in ("embed", "inputs", "sample", "augment", "reduce", "distill"):
        st = stages.get(name, {})
        lines.append(f"| {name} | {ran.get(name, 'not reached')} | "
                     f"{_fmt(st.get('wall_s'), 1)} s |")
    if "total_s_this_call" in stages:
        lines.append(f"| (this call, all stages) | | {stages['total_s_this_call']['wall_s']:.1f}"
                     " s |")
    s, e, r, d = (stages.get(k, {}) for k in ("sample", "embed", "reduce", "distill"))
    lines += ["", "## Data", "",
              f"- {e.get('n_files', '-')} files ({e.get('n_failed', 0)} unreadable), "
              f"{s.get('n_windows', '-')} windows, {s.get('n_recordings', '-')} recordings.",
              f"- Validation: {s.get('n_val_recordings', '-')} recordings, "
              f"{s.get('n_val_windows', '-')} windows (never sampled, never trained on).",
              f"- Sample: {s.get('n_sample', '-')} of the {s.get('n_train_windows', '-')} "
              "training windows."]
    a = stages.get("augment", {})
    if cfg.get("augment_factor") and a.get("done"):
        lines.append(f"- Augmentation: {a['n_augmented']} teacher-labelled augmented windows "
                     f"(x{cfg['augment_factor']:g}) from {a['n_sources']} training files.")
    lines += ["", "## Reduction", ""]
    ev = r.get("explained_variance")
    lines.append(f"- `{cfg['reduction']}` to {cfg['emb_dim']} dimensions, fitted on the sample"
                 + (f"; explained variance of the standardised teacher embeddings: **{ev:.3f}**"
                    if ev is not None else "") + ".")
    hist_path = RunLayout(run).history
    if d.get("done") and hist_path.is_file():
        hist = read_json(hist_path, "training history")
        best = hist[d["best_epoch"] - 1]
        how = "early stop" if d["stopped_early"] else "max epochs reached"
        lines += ["", "## Training", "",
                  f"- {d['epochs_run']} epochs ({how}), best epoch **{d['best_epoch']}**; "
                  f"{d['n_train']} training windows, {d['n_val']} validation windows; "
                  f"settings: `{json.dumps(cfg['train'])}`.", "",
                  "| split | MSE | MAE | cosine | R^2 |", "|---|---|---|---|---|"]
        for split in ("train", "val"):
            lines.append(f"| {split} (best epoch) | {_fmt(best[f'{split}_mse'])} | "
                         f"{_fmt(best[f'{split}_mae'])} | {_fmt(best[f'{split}_cosine'])} | "
                         f"{_fmt(best[f'{split}_r2'])} |")
        lines += ["", "![training curves](distill/curves.png)", "",
                  "Student: `student.safetensors` (reducer, teacher identity, sampling and "
                  "training metrics in its metadata)."]
    else:
        lines += ["", "## Training", "", "Not finished."]
    path = RunLayout(run).report
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path
