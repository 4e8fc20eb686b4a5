"""Build the packaged model zoo (``src/edgesea/pretrained``) and its model cards.

Two steps, each one command::

    # 1. copy the trained students in, export their int8 TFLite files, record their recipes
    python benchmarks/build_zoo.py pack --model 128=runs/zoo128 --model 64=runs/zoo64 \\
        --calibration runs/upstream
    # 2. evaluate them (float and int8) with the harness, then write the cards
    edgesea evaluate --dataset ../shared/data/urbansound8k_subset \\
        --model src/edgesea/pretrained/sea_urban_128.safetensors \\
        --model src/edgesea/pretrained/sea_urban_128.int8.tflite ... --out runs/eval
    python benchmarks/build_zoo.py cards --eval runs/eval \\
        --audio ../shared/data/urbansound8k_subset/audio/fold10

``pack`` writes ``sea_urban_<d>.safetensors`` (the student as trained, float32),
``sea_urban_<d>.int8.tflite`` and ``.edge.json`` (``edgesea export``), and
``sea_urban_<d>.recipe.json`` (the run's settings, sample and training summary, and the
command that rebuilds it). ``cards`` measures each int8 file with ``edgesea footprint``, takes
the fold-10 metrics from the evaluation (matched by model identity), and writes
``sea_urban_<d>.md`` next to the model and in ``docs/models/``, the zoo table
``docs/models/README.md``, and ``tests/data/zoo_expected.npz`` (the embedding of a real clip by
each shipped model, checked by ``tests/test_zoo.py``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from edgesea import get_embedding
from edgesea.audio import load_audio
from edgesea.export import export_model
from edgesea.export.embedder import TFLiteEmbedder
from edgesea.export.footprint import tflite_footprint
from edgesea.fileio import write_json
from edgesea.models import footprint, load_model
from edgesea.teachers.model import ModelTeacher
from edgesea.zoo import PRETRAINED_DIR

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "examples" / "audio" / "fold1" / "103074-7-0-2.flac"
LICENSE = (
    "The weights were learned from UrbanSound8K audio (folds 1 and 2), which is licensed "
    "CC BY-NC 3.0 (Salamon, Jacoby and Bello, 2014). The labels were not used, but the "
    "weights are a derivative of that audio: treat them as CC BY-NC 3.0 as well, i.e. free "
    "to share and adapt with attribution, **not for commercial use**. The teacher (aisfx "
    "0.1.2) has its own license; see its package.")

_FLAGS = [("teacher", "--teacher"), ("hop_size", "--hop-size"), ("emb_dim", "--emb-dim"),
          ("sampling", "--sampling"), ("sample_size", "--sample-size"),
          ("train_on", "--train-on"), ("reduction", "--reduction"), ("arch", "--arch"),
          ("head", "--head"), ("val_fraction", "--val-fraction"), ("group_by", "--group-by"),
          ("seed", "--seed"), ("augment_factor", "--augment-factor")]
_TRAIN_FLAGS = [("epochs", "--epochs"), ("lr", "--lr"), ("schedule", "--schedule"),
                ("loss", "--loss"), ("weight_decay", "--weight-decay"),
                ("spec_mask", "--spec-mask"), ("patience", "--patience")]


def rebuild_command(cfg: dict, out: str) -> str:
    """The ``edgesea specialize`` command that reproduces a run from its ``config.json``."""
    parts = ["edgesea specialize upstream", "--out", out]
    parts += [f"{flag} {cfg[key]}" for key, flag in _FLAGS]
    parts += [f"{flag} {cfg['train'][key]}" for key, flag in _TRAIN_FLAGS]
    if cfg.get("reduction_options"):
        parts.append(f"--reduction-options '{json.dumps(cfg['reduction_options'])}'")
    return " ".join(parts)


def pack(models: list[str], calibration: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for spec in models:
        dim, run = spec.split("=", 1)
        run, name = Path(run), f"sea_urban_{int(dim)}"
        cfg = json.loads((run / "config.json").read_text())
        stages = json.loads((run / "stages.json").read_text())
        if cfg["emb_dim"] != int(dim):
            raise SystemExit(f"{run} has emb_dim {cfg['emb_dim']}, not {dim}")
        shutil.copyfile(run / "student.safetensors", out / f"{name}.safetensors")
        with tempfile.TemporaryDirectory() as tmp:
            res = export_model(out / f"{name}.safetensors", ["tflite-int8"], tmp,
                               calibration_dir=calibration, name=name, progress=True)
            for f in (f"{name}.int8.tflite", f"{name}.edge.json"):
                shutil.copyfile(Path(tmp) / f, out / f)
        d = stages["distill"]
        write_json(out / f"{name}.recipe.json", {
            "run": run.name, "config": {k: v for k, v in cfg.items() if k != "audio_dir"},
            "upstream": "UrbanSound8K folds 1 and 2 (1,761 clips, 6,311 s; labels unused)",
            "n_windows": stages["embed"].get("n_windows"),
            "sample": {k: stages["sample"].get(k) for k in (
                "n_sample", "n_train_windows", "n_val_windows", "n_val_recordings")},
            "augment": stages.get("augment", {}).get("n_augmented", 0),
            "training": {k: d.get(k) for k in ("best_epoch", "epochs_run", "n_train",
                                               "val_r2", "val_cosine", "wall_s")},
            "int8_calibration": res.to_dict().get("quantization"),
            "rebuild": [
                "mkdir upstream && ln -s $DATA/audio/fold1 $DATA/audio/fold2 upstream/",
                rebuild_command(cfg, f"runs/{name}"),
                f"edgesea export runs/{name}/student.safetensors --format tflite-int8 "
                f"--calibration upstream --name {name} --out runs/{name}/export"]})
        print(f"packed {name} from {run}")


def _metrics(results: dict, identity: str) -> dict | None:
    for r in results["models"].values():
        if r["identity"] == identity:
            return r
    return None


def _fmt(r: dict | None, key: str) -> str:
    if r is None:
        return "not evaluated"
    m = r["metrics"][key]
    return f"{m['mean']:.3f} ± {m['std']:.3f}"


def cards(eval_dir: Path, audio: Path, pretrained: Path, docs: Path, expected: Path) -> None:
    results = json.loads((eval_dir / "results.json").read_text())
    docs.mkdir(parents=True, exist_ok=True)
    rows, arrays = [], {}
    clip, sr = load_audio(CLIP)
    for recipe_path in sorted(pretrained.glob("sea_urban_*.recipe.json"),
                              key=lambda p: -int(p.name.split("_")[2].split(".")[0])):
        name = recipe_path.name.removesuffix(".recipe.json")
        rec = json.loads(recipe_path.read_text())
        model_path, tfl = pretrained / f"{name}.safetensors", pretrained / f"{name}.int8.tflite"
        model = load_model(model_path)
        fp = footprint(model)
        f_res = _metrics(results, ModelTeacher(model).identity)
        q_res = _metrics(results, TFLiteEmbedder(tfl).identity)
        q = tflite_footprint(tfl, audio_dir=audio, float_model=model_path).to_dict()
        c, t = rec["config"], rec["training"]
        dim = c["emb_dim"]
        emb, _ = get_embedding(clip, sr, model_type="sea", emb_dim=dim, hop_size=0.5,
                               verbose=False)
        arrays[f"sea_{dim}"] = np.asarray(emb, np.float32)
        card = [
            f"# `{name}`: SEA student, {dim}-d, urban sound", "",
            f"`edgesea.get_embedding(audio, sr, model_type='sea', emb_dim={dim})`; "
            f"`edgesea embed FILE --emb-dim {dim}`. Files: `{name}.safetensors` (float32), "
            f"`{name}.int8.tflite` + `{name}.edge.json` (microcontrollers).", "",
            "| | |", "|---|---|",
            f"| teacher | {c['teacher']} (512-d, 44.1 kHz, 1 s windows) |",
            f"| student | arch `{c['arch']}`, head `{c['head']}`, 8 kHz 64-mel input, "
            f"{fp.params:,} parameters |",
            f"| data | {rec['upstream']}; {rec['n_windows']:,} teacher windows at hop "
            f"{c['hop_size']} s |",
            f"| sample | {c['sampling']} {c['sample_size']} = {rec['sample']['n_sample']:,} "
            f"windows; trained on `{c['train_on']}` "
            f"({t['n_train']:,} windows incl. {rec['augment']:,} augmented) |",
            f"| reduction | {c['reduction']} 512 -> {dim}, fitted on the sample |",
            f"| training | Adam lr {c['train']['lr']}, {c['train']['schedule']}, loss "
            f"{c['train']['loss']}, weight decay {c['train']['weight_decay']}, spec mask "
            f"{c['train']['spec_mask']}, seed {c['seed']}; best epoch {t['best_epoch']} of "
            f"{t['epochs_run']} ({t['wall_s']:.0f} s, 1 thread on a shared 2-core CPU) |",
            f"| validation (held-out recordings of folds 1-2) | R² {t['val_r2']:.3f}, cosine "
            f"{t['val_cosine']:.3f} |",
            f"| fold 10 micro-AUPRC (float / int8) | {_fmt(f_res, 'micro_auprc')} / "
            f"{_fmt(q_res, 'micro_auprc')} |",
            f"| fold 10 macro-AUPRC (float / int8) | {_fmt(f_res, 'macro_auprc')} / "
            f"{_fmt(q_res, 'macro_auprc')} |",
            f"| fold 10 accuracy (float / int8) | {_fmt(f_res, 'accuracy')} / "
            f"{_fmt(q_res, 'accuracy')} |",
            f"| size | {fp.size_mb:.3f} MB float32; largest activation {fp.activation_mb:.3f} "
            "MB |",
            f"| int8 | {q['flash_bytes']:,} B flash, TFLM arena {q['arena_bytes']:,} B; "
            f"cosine to float {q['int8_vs_float']['cosine_mean']:.4f}; LiteRT "
            f"{q['latency_ms']:.2f} ms/window (1 thread) |", "",
            "Evaluation protocol: `docs/results.md` (classifier on mean+max clip embeddings "
            "trained on folds 1+2, chosen by leave-one-fold-out validation; fold 10 only "
            "scored; 5 seeds).", "",
            "## Rebuild", "", "With `DATA=$(realpath ../shared/data/urbansound8k_subset)`:", "",
            "```bash", *rec["rebuild"], "```", "",
            "Training is deterministic for a seed on one machine and thread count (tested "
            "bit for bit); other machines or thread counts change the weights slightly. The "
            "fold-10 metrics move by about 0.01-0.03 between students of equal validation "
            "quality (docs/results.md, Table F), so compare rebuilds at that tolerance.", "",
            "## License", "", LICENSE, ""]
        text = "\n".join(card)
        (pretrained / f"{name}.md").write_text(text)
        (docs / f"{name}.md").write_text(text)
        rows.append(f"| [`{name}`]({name}.md) | {dim} | `{c['arch']}` | {fp.params:,} | "
                    f"{fp.size_mb:.2f} | {fp.activation_mb:.3f} | {q['flash_bytes']:,} | "
                    f"{q['arena_bytes']:,} | {_fmt(f_res, 'micro_auprc')} | "
                    f"{_fmt(q_res, 'micro_auprc')} |")
    table = ["| model | emb dim | arch | params | MB (float32) | activation MB | int8 flash B "
             "| TFLM arena B | fold-10 micro-AUPRC float | int8 |",
             "|---|---|---|---|---|---|---|---|---|---|", *rows]
    (docs / "README.md").write_text("\n".join(
        ["# Model zoo", "", "Students shipped inside the package (`edgesea/pretrained`), "
         "trained by `edgesea specialize` on UrbanSound8K folds 1-2 (fold 10 never used), "
         "written by `python benchmarks/build_zoo.py cards`.", "", *table, "",
         "## License", "", LICENSE, ""]))
    expected.parent.mkdir(parents=True, exist_ok=True)
    np.savez(expected, clip=str(CLIP.relative_to(ROOT)), **arrays)
    print("\n".join(table))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--model", action="append", required=True, help="DIM=RUN_DIR")
    p.add_argument("--calibration", type=Path, required=True)
    p.add_argument("--out", type=Path, default=PRETRAINED_DIR)
    c = sub.add_parser("cards")
    c.add_argument("--eval", type=Path, required=True)
    c.add_argument("--audio", type=Path, required=True, help="audio for the int8 agreement "
                   "and latency (not the calibration audio)")
    c.add_argument("--pretrained", type=Path, default=PRETRAINED_DIR)
    c.add_argument("--docs", type=Path, default=ROOT / "docs" / "models")
    c.add_argument("--expected", type=Path, default=ROOT / "tests" / "data" /
                   "zoo_expected.npz")
    args = ap.parse_args()
    if args.cmd == "pack":
        pack(args.model, args.calibration, args.out)
    else:
        cards(args.eval, args.audio, args.pretrained, args.docs, args.expected)


if __name__ == "__main__":
    main()
