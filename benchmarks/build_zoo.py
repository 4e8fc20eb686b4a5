"""Build the packaged model zoo (``src/edgesea/pretrained``) and its model cards.

Two steps, each one command::

    # 1. copy the trained students in, export their int8 TFLite files, record their recipes
    #    (DIM=RUN: tier mcu, the default; DIM:mcu-1m=RUN: the larger tier)
    python benchmarks/build_zoo.py pack --model 128=runs/zoo128 --model 64=runs/zoo64 \\
        --model 128:mcu-1m=runs/zoo128_1m --calibration runs/upstream
    # 2. evaluate them (float and int8) with the harness, then write the cards
    edgesea evaluate --dataset ../shared/data/urbansound8k_subset \\
        --model src/edgesea/pretrained/sea_urban_128.safetensors \\
        --model src/edgesea/pretrained/sea_urban_128.int8.tflite ... --out runs/eval
    python benchmarks/build_zoo.py cards --eval runs/eval \\
        --audio ../shared/data/urbansound8k_subset/audio/fold10

``pack`` writes, for ``<name>`` = :func:`edgesea.zoo.zoo_name` (``sea_urban_<d>`` for tier
``mcu``, ``sea_urban_<d>_mcu1m`` for tier ``mcu-1m``): ``<name>.safetensors`` (the student
as trained, float32), ``<name>.int8.tflite`` and ``.edge.json`` (``edgesea export``), and
``<name>.recipe.json`` (the run's settings, its tier, sample and training summary, and the
commands that rebuild it). ``cards`` takes every ``*.recipe.json`` of the package (both
tiers), measures each int8 file with ``edgesea footprint`` (flash, TFLM arena, MACs,
int8-vs-float agreement) and checks it against its tier's budget
(:func:`edgesea.packaged.check_budget`), takes the fold-10 metrics from the evaluation (matched
by model identity), and writes ``<name>.md`` next to the model and in ``docs/models/``, the
zoo table ``docs/models/README.md``, and ``tests/data/zoo_expected.npz`` (the embedding of a
real clip by each shipped model: key ``sea_<d>`` for tier ``mcu``, ``sea_<d>_mcu1m`` for
tier ``mcu-1m``; checked by ``tests/zoo/test_zoo.py``).

``onnx`` exports every packaged student to ``<name>.onnx`` (float32, run by ONNX Runtime in
the torch-free install) and checks it against its ``.safetensors`` model.

``--pretrained``, ``--docs`` and ``--expected`` choose the output folders / file (default:
the package, ``docs/models`` and ``tests/data/zoo_expected.npz``), e.g. to build and check a
candidate zoo elsewhere (``EDGESEA_ZOO_DIR=DIR pytest tests/zoo/test_zoo.py``, see that file).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edgesea import get_embedding
from edgesea.audio.io import load_audio
from edgesea.augment.transforms import AugmentConfig
from edgesea.core.fileio import write_json
from edgesea.export import export_model
from edgesea.export.footprint import tflite_footprint
from edgesea.inference.int8 import TFLiteEmbedder
from edgesea.models import footprint, load_model
from edgesea.packaged.names import PRETRAINED_DIR, ZOO_TIERS, parse_zoo_name, zoo_name
from edgesea.packaged.tiers import check_budget, get_tier
from edgesea.specialize.config import SpecializeConfig
from edgesea.teachers.model import ModelTeacher
from edgesea.zoo import catalog as zoo_catalog
from edgesea.zoo.figures import card_figures

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "examples" / "audio" / "fold1" / "103074-7-0-2.flac"
UPSTREAM = "UrbanSound8K folds 1 and 2 (1,761 clips, 6,311 s; labels unused)"
LICENSE = (
    "The weights were learned from UrbanSound8K audio (folds 1 and 2), which is licensed "
    "CC BY-NC 3.0 (Salamon, Jacoby and Bello, 2014). The labels were not used, but the "
    "weights are a derivative of that audio: treat them as CC BY-NC 3.0 as well, i.e. free "
    "to share and adapt with attribution, **not for commercial use**. The teacher (aisfx "
    "0.1.2) has its own license; see its package.")

# Every setting of ``config.json`` that changes the student must be here (or below), with
# its ``edgesea specialize`` option (see src/edgesea/cli/specialize.py), or the rebuild
# command silently falls back to a default: the front-end settings ``--sample-rate``,
# ``--level`` and ``--view`` and the architecture ``--arch`` included; ``stream`` is the
# boolean ``--stream/--no-stream`` (written by :func:`rebuild_command`).
_FLAGS = [("teacher", "--teacher"), ("hop_size", "--hop-size"), ("emb_dim", "--emb-dim"),
          ("sampling", "--sampling"), ("sample_size", "--sample-size"),
          ("train_on", "--train-on"), ("reduction", "--reduction"), ("arch", "--arch"),
          ("head", "--head"), ("sample_rate", "--sample-rate"), ("level", "--level"),
          ("view", "--view"), ("val_fraction", "--val-fraction"),
          ("group_by", "--group-by"), ("seed", "--seed"),
          ("augment_factor", "--augment-factor")]
_TRAIN_FLAGS = [("epochs", "--epochs"), ("lr", "--lr"), ("schedule", "--schedule"),
                ("loss", "--loss"), ("weight_decay", "--weight-decay"),
                ("spec_mask", "--spec-mask"), ("patience", "--patience")]
#: Settings a config.json written before they existed lacks: their defaults (what that run
#: used).
_DEFAULTS = SpecializeConfig().to_dict()
#: What a config.json that lacks a setting was made with, where that differs from today's
#: default: the view settings (wave-1 configs predate them: the wave-1 student) and the
#: settings whose default became the shipped recipe (arch ``mcu``, 5x augmentation, 20 cosine
#: epochs at lr 1e-3 without early stopping); a config lacking them was made with the old
#: defaults.
_LEGACY = {"sample_rate": 8000, "level": "window", "view": "full", "stream": False,
           "arch": "sea", "augment_factor": 0.0}
_LEGACY_TRAIN = {"epochs": 100, "lr": 1e-4, "schedule": "plateau", "patience": 10}

_LEVEL_TEXT = {"window": "each window's maximum at 0 dB, floor -80 dB: level-blind, as kapre",
               "absolute": "fixed 0 dB reference, floor -100 dB: sees the level, as the "
                           "teacher does"}
_VIEW_TEXT = {"full": "the audio as it is",
              "band": "the audio through the student's band",
              "norm": "the audio through the student's band, each window level-normalised"}


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value))


def rebuild_command(cfg: dict, out: str) -> str:
    """The ``edgesea specialize`` command that reproduces a run from its ``config.json``
    (settings missing from an older config take the value that config was made with:
    :data:`_LEGACY` / :data:`_LEGACY_TRAIN` where the default has changed since, else
    today's default)."""
    cfg = {**_DEFAULTS, **_LEGACY, **cfg,
           "train": {**_DEFAULTS["train"], **_LEGACY_TRAIN, **cfg.get("train", {})}}
    q = shlex.quote
    parts = ["edgesea specialize upstream", "--out", q(out)]
    parts += [f"{flag} {q(str(cfg[key]))}" for key, flag in _FLAGS]
    parts.append("--stream" if cfg["stream"] else "--no-stream")
    parts += [f"{flag} {q(str(cfg['train'][key]))}" for key, flag in _TRAIN_FLAGS]
    if cfg.get("train_seed") is not None:  # written only when set
        parts.append(f"--train-seed {cfg['train_seed']}")
    if cfg["train"].get("ema"):  # written only when on (TrainConfig.to_dict)
        parts.append(f"--ema {q(str(cfg['train']['ema']))}")
    options = dict(cfg.get("reduction_options") or {})
    if cfg["reduction"] == "pca" and "rotate" not in options:
        options["rotate"] = False  # made before rotated targets became the default
    if options:
        parts.append(f"--reduction-options {q(json.dumps(options))}")
    if cfg["augment_factor"] and cfg.get("augment"):
        default = _jsonable(AugmentConfig().to_dict())
        changed = {k: v for k, v in _jsonable(cfg["augment"]).items() if default.get(k) != v}
        if changed:
            parts.append(f"--augment-options {q(json.dumps(changed))}")
    return " ".join(parts)


def rebuild_steps(cfg: dict, name: str) -> list[str]:
    """The shell commands that rebuild the packaged model ``name`` (``$DATA``: the data)."""
    return ["mkdir upstream && ln -s $DATA/audio/fold1 $DATA/audio/fold2 upstream/",
            rebuild_command(cfg, f"runs/{name}"),
            f"edgesea export runs/{name}/student.safetensors --format tflite-int8 "
            f"--calibration upstream --name {name} --out runs/{name}/export"]


def parse_model_spec(spec: str) -> tuple[int, str, Path]:
    """``"DIM=RUN"`` (tier ``mcu``) or ``"DIM:TIER=RUN"`` -> ``(dim, tier, run)``."""
    key, sep, run = spec.partition("=")
    dim, _, tier = key.partition(":")
    tier = tier or ZOO_TIERS[0]
    if not sep or not run or not dim.strip().isdigit() or tier not in ZOO_TIERS:
        raise SystemExit(f"invalid --model {spec!r}: expected DIM=RUN_DIR or "
                         f"DIM:TIER=RUN_DIR with TIER one of {', '.join(ZOO_TIERS)}")
    return int(dim), tier, Path(run)


def pack(models: list[str], calibration: Path, out: Path) -> None:
    specs = [parse_model_spec(s) for s in models]  # all checked before any work
    names = [zoo_name("sea", dim, tier) for dim, tier, _ in specs]
    if len(set(names)) != len(names):
        raise SystemExit(f"two --model options for one packaged model: {names}")
    out.mkdir(parents=True, exist_ok=True)
    for (dim, tier, run), name in zip(specs, names, strict=True):
        cfg = json.loads((run / "config.json").read_text())
        stages = json.loads((run / "stages.json").read_text())
        if cfg["emb_dim"] != dim:
            raise SystemExit(f"{run} has emb_dim {cfg['emb_dim']}, not {dim}")
        if cfg.get("arch") in ZOO_TIERS and cfg["arch"] != tier:
            print(f"warning: {run} has --arch {cfg['arch']} but is packed for tier {tier}")
        shutil.copyfile(run / "student.safetensors", out / f"{name}.safetensors")
        with tempfile.TemporaryDirectory() as tmp:
            res = export_model(out / f"{name}.safetensors", ["tflite-int8"], tmp,
                               calibration_dir=calibration, name=name, progress=True)
            for f in (f"{name}.int8.tflite", f"{name}.edge.json"):
                shutil.copyfile(Path(tmp) / f, out / f)
        flash, budget = (out / f"{name}.int8.tflite").stat().st_size, get_tier(tier)
        if flash > budget.flash_bytes:
            print(f"warning: {name}.int8.tflite is {flash:,} bytes, over tier {tier}'s "
                  f"{budget.flash_bytes:,} bytes of flash")
        d = stages["distill"]
        write_json(out / f"{name}.recipe.json", {
            "run": run.name, "tier": tier,
            "config": {k: v for k, v in cfg.items() if k != "audio_dir"},
            "upstream": UPSTREAM,
            "n_windows": stages["embed"].get("n_windows"),
            "sample": {k: stages["sample"].get(k) for k in (
                "n_sample", "n_train_windows", "n_val_windows", "n_val_recordings")},
            "augment": stages.get("augment", {}).get("n_augmented", 0),
            "training": {k: d.get(k) for k in ("best_epoch", "epochs_run", "n_train",
                                               "val_r2", "val_cosine", "wall_s")},
            "int8_calibration": res.to_dict().get("quantization"),
            "rebuild": rebuild_steps(cfg, name)})
        print(f"packed {name} (tier {tier}) from {run}")


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


def _kb(n: int) -> str:
    return f"{n / 1024:,.1f} KB"


def _m(n: int) -> str:
    return f"{n / 1e6:.2f} M"


def student_input(model: Any, cfg: dict) -> dict[str, Any]:
    """The student's input settings, read from the model (its front end and metadata):
    rate, mel shape, level rule, teacher view, streaming. Refuses a recipe whose
    ``config.json`` disagrees with the model file."""
    fe = model.frontend
    view_meta = model.metadata.get("view") or {}
    got = {"sample_rate": int(model.sample_rate),
           "level": "window" if fe.ref == "max" else "absolute",
           "view": view_meta.get("view", cfg.get("view", "full")),
           "stream": fe.padding == "stream"}
    for key, value in got.items():
        recorded = cfg.get(key, {**_DEFAULTS, **_LEGACY}[key])
        if recorded != value:
            raise SystemExit(f"the recipe says {key}={recorded!r} but the model file has "
                             f"{value!r}: repack it")
    if "level" in view_meta and view_meta["level"] != got["level"]:
        raise SystemExit(f"the model's metadata says level={view_meta['level']!r} but its "
                         f"front end has {got['level']!r}")
    fmax = fe.fmax if fe.fmax is not None else fe.sample_rate / 2
    return {**got, "n_mels": fe.n_mels, "n_frames": fe.n_frames(model.window_samples),
            "fmin": fe.fmin, "fmax": fmax, "padding": fe.padding}


def describe(name: str, pretrained: Path, results: dict, audio: Path) -> dict[str, Any]:
    """Everything a card states about the packaged model ``name``: recipe, footprint,
    int8 measurements, tier check and evaluation results."""
    model_type, dim, tier = parse_zoo_name(name)
    rec = json.loads((pretrained / f"{name}.recipe.json").read_text())
    if rec.get("tier", "mcu") != tier:
        raise SystemExit(f"{name}.recipe.json says tier {rec.get('tier')!r}, its name {tier!r}")
    model_path, tfl = pretrained / f"{name}.safetensors", pretrained / f"{name}.int8.tflite"
    model = load_model(model_path)
    if rec["config"]["emb_dim"] != dim or model.emb_dim != dim:
        raise SystemExit(f"{name}: the recipe or model is not {dim}-d")
    q = tflite_footprint(tfl, audio_dir=audio, float_model=model_path).to_dict()
    return {"name": name, "model_type": model_type, "dim": dim, "tier": get_tier(tier),
            "rec": rec, "model": model, "model_path": model_path, "fp": footprint(model),
            "input": student_input(model, rec["config"]), "q": q,
            "over": check_budget(q["flash_bytes"], q["arena_bytes"], tier),
            "f_res": _metrics(results, ModelTeacher(model).identity),
            "q_res": _metrics(results, TFLiteEmbedder(tfl).identity)}


def _usage(info: dict) -> tuple[str, str]:
    """The Python call and the CLI command that use the packaged model."""
    kw, flag = ("", "") if info["tier"].name == "mcu" else (
        f", tier='{info['tier'].name}'", f" --tier {info['tier'].name}")
    return (f"edgesea.get_embedding(audio, sr, model_type='{info['model_type']}', "
            f"emb_dim={info['dim']}{kw})", f"edgesea embed FILE --emb-dim {info['dim']}{flag}")


def _fit_text(info: dict) -> str:
    q = info["q"]
    measured = (f"Measured int8: flash {q['flash_bytes']:,} B ({_kb(q['flash_bytes'])}), "
                f"TFLM arena {q['arena_bytes']:,} B ({_kb(q['arena_bytes'])})")
    if info["over"]:
        return f"{measured}: **does not fit** ({'; '.join(info['over'])})"
    return f"{measured}: fits tier `{info['tier'].name}`"


def _turned_rows(info: dict) -> list[str]:
    """A card row for a student whose head was turned (benchmarks/zoo_rotate.py)."""
    turned = info["model"].metadata.get("turned")
    if not turned:
        return []
    return [f"| this file | the `{turned['from']}` student of the previous zoo, trained on "
            "unrotated PCA targets, its linear head turned exactly (W -> R W, b -> R b): "
            "the same network, its output in the rotated basis; not retrained "
            "(benchmarks/zoo_rotate.py). The rebuild below trains on rotated targets, "
            "which is the same loss |"]


def _relative_rows(res: dict | None) -> list[str]:
    """Card rows for the teacher-relative scores, the cross-check and the LR protocol."""
    if not res or "relative" not in res:
        return []
    rel, ref = res["relative"], res["relative"]["teacher"]
    rows = [f"| fold 10 micro-AUPRC as % of the teacher (`{ref}`, same protocol) | "
            f"{100 * rel['test']['micro_auprc']:.1f} % |"]
    if "cross_fold" in res:
        pairs = res["cross_fold"]["pairs"]
        rows.append("| fold 1<->2 cross-check micro-AUPRC (" + ", ".join(
            f"{k} {v['micro_auprc']:.3f}" for k, v in pairs.items()) + "; mean "
            f"{res['cross_fold']['mean']['micro_auprc']:.3f}) | "
            f"{100 * rel['cross_fold']['micro_auprc']:.1f} % of the teacher's |")
    if "lr" in res:
        rows.append(f"| fold 10 micro-AUPRC, logistic regression (C={res['lr']['C']:g} chosen "
                    f"on fold 1 -> 2) | {res['lr']['metrics']['micro_auprc']['mean']:.3f}, "
                    f"{100 * rel['lr']['micro_auprc']:.1f} % of the teacher's |")
    return rows


def card_text(info: dict) -> str:
    """The model card (markdown) of a :func:`describe` result."""
    name, dim, t, q, fp, i = (info[k] for k in ("name", "dim", "tier", "q", "fp", "input"))
    rec, f_res, q_res = info["rec"], info["f_res"], info["q_res"]
    c, tr = rec["config"], rec["training"]
    train = {**_DEFAULTS["train"], **_LEGACY_TRAIN, **c["train"]}
    teacher = info["model"].metadata.get("teacher") or {}
    if {"name", "emb_dim", "sample_rate", "window"} <= teacher.keys():
        teacher_text = (f"{teacher.get('spec', teacher['name'])} ({teacher['emb_dim']}-d, "
                        f"{teacher['sample_rate'] / 1000:g} kHz, {teacher['window']:g} s "
                        "windows)")
    else:
        teacher_text = c["teacher"]
    py, cli = _usage(info)
    net_macs, fe_macs = fp.macs, fp.frontend_macs
    cos = q.get("int8_vs_float") or {}
    agree = (f"cosine to float {cos['cosine_mean']:.4f} (min {cos['cosine_min']:.4f}), "
             f"relative error {cos['relative_error']:.3f} over {cos['n_windows']} windows"
             if cos else "int8-vs-float agreement not measured")
    latency = (f"; LiteRT {q['latency_ms']:.2f} ms/window (1 thread)"
               if q.get("latency_ms") is not None else "")
    lsb = (f"; TFLM vs LiteRT within {q['tflm_vs_litert_max_lsb']} LSB"
           if q.get("tflm_vs_litert_max_lsb") is not None else "")
    stream = ("frames computed on the continuous signal, so overlapping windows share them"
              if i["stream"] else "each window framed alone, zero-padded at its edges as "
              "kapre")
    card = [
        f"# `{name}`: SEA student, {dim}-d, urban sound, tier `{t.name}`", "",
        f"`{py}`; `{cli}`. Files: `{name}.safetensors` (float32), `{name}.int8.tflite` + "
        f"`{name}.edge.json` (microcontrollers).", "",
        "| | |", "|---|---|",
        f"| tier | `{t.name}`, budget {t.arena_bytes:,} B ({_kb(t.arena_bytes)}) TFLM arena "
        f"and {t.flash_bytes:,} B ({_kb(t.flash_bytes)}) flash: {t.description}. "
        f"{_fit_text(info)} |",
        f"| teacher | {teacher_text} |",
        f"| student | arch `{c['arch']}`, head `{c['head']}`, {fp.params:,} parameters |",
        f"| input | {i['sample_rate'] / 1000:g} kHz, {i['n_mels']} mel bands "
        f"({i['fmin']:g}-{i['fmax']:g} Hz) x {i['n_frames']} frames per 1 s window |",
        f"| front end | level rule `{i['level']}` ({_LEVEL_TEXT[i['level']]}); stream "
        f"`{str(i['stream']).lower()}` ({stream}) |",
        f"| teacher view | `{i['view']}`: the teacher labelled {_VIEW_TEXT[i['view']]} |",
        f"| compute | {net_macs:,} MACs per window (network) + {fe_macs:,} (front end, "
        f"estimate) = {_m(net_macs + fe_macs)} |",
        f"| data | {rec['upstream']}; {rec['n_windows']:,} teacher windows at hop "
        f"{c['hop_size']} s |",
        f"| sample | {c['sampling']} {c['sample_size']} = {rec['sample']['n_sample']:,} "
        f"windows; trained on `{c['train_on']}` "
        f"({tr['n_train']:,} windows incl. {rec['augment']:,} augmented) |",
        f"| reduction | {c['reduction']} {teacher.get('emb_dim', 'teacher')} -> {dim}, "
        "fitted on the sample" + ("; targets turned by `spread_rotation` (every output "
                                  "coordinate carries a share of every component: "
                                  "docs/results.md, the zoo diagnosis)"
                                  if (c.get("reduction_options") or {}).get("rotate")
                                  else "") + " |",
        *_turned_rows(info),
        f"| training | Adam lr {train['lr']}, {train['schedule']}, loss {train['loss']}, "
        f"weight decay {train['weight_decay']}, spec mask {train['spec_mask']}, seed "
        f"{c['seed']}; best epoch {tr['best_epoch']} of {tr['epochs_run']} "
        f"({tr['wall_s']:.0f} s wall) |",
        f"| validation (held-out recordings of folds 1-2) | R² {tr['val_r2']:.3f}, cosine "
        f"{tr['val_cosine']:.3f} |",
        f"| fold 10 micro-AUPRC (float / int8) | {_fmt(f_res, 'micro_auprc')} / "
        f"{_fmt(q_res, 'micro_auprc')} |",
        f"| fold 10 macro-AUPRC (float / int8) | {_fmt(f_res, 'macro_auprc')} / "
        f"{_fmt(q_res, 'macro_auprc')} |",
        f"| fold 10 accuracy (float / int8) | {_fmt(f_res, 'accuracy')} / "
        f"{_fmt(q_res, 'accuracy')} |",
        *_relative_rows(f_res),
        f"| size | {fp.size_mb:.3f} MB float32; largest activation {fp.activation_mb:.3f} "
        "MB |",
        f"| int8 | {q['flash_bytes']:,} B flash, TFLM arena {q['arena_bytes']:,} B; "
        f"{agree}{lsb}{latency} |", "",
        "Evaluation protocol: `docs/results.md` (classifier on mean+max clip embeddings "
        "trained on folds 1+2, chosen by leave-one-fold-out validation; fold 10 only "
        "scored; 5 seeds).", "",
        "## Rebuild", "", "With `DATA` = UrbanSound8K folds 1, 2, 10 at 16 kHz (the `us8k` copy of "
        "docs/data.md):", "",
        "```bash", *rebuild_steps(c, name), "```", "",
        "Training is deterministic for a seed on one machine and thread count (tested "
        "bit for bit); other machines or thread counts change the weights slightly. The "
        "fold-10 metrics move by about 0.01-0.03 between students of equal validation "
        "quality (docs/results.md, Table F), so compare rebuilds at that tolerance.", "",
        "## License", "", LICENSE, ""]
    return "\n".join(card)


TABLE_HEAD = ["| model | tier | emb dim | arch | input | params | MACs/window (net + front "
              "end) | MB (float32) | activation MB | int8 flash B | TFLM arena B | fits tier "
              "| fold-10 micro-AUPRC float | int8 | % of teacher: fold 10 / cross-check / LR |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]


def _shares(res: dict | None) -> str:
    rel = (res or {}).get("relative")
    if not rel:
        return "-"
    return " / ".join(f"{100 * rel[k]['micro_auprc']:.1f}" if k in rel else "-"
                      for k in ("test", "cross_fold", "lr"))


def table_row(info: dict) -> str:
    """The zoo table's row of a :func:`describe` result."""
    name, fp, q, i = info["name"], info["fp"], info["q"], info["input"]
    inp = (f"{i['sample_rate'] / 1000:g} kHz, {i['level']}, {i['view']}"
           f"{', stream' if i['stream'] else ''}")
    return (f"| [`{name}`]({name}.md) | `{info['tier'].name}` | {info['dim']} | "
            f"`{info['rec']['config']['arch']}` | {inp} | {fp.params:,} | "
            f"{_m(fp.macs)} + {_m(fp.frontend_macs)} | {fp.size_mb:.2f} | "
            f"{fp.activation_mb:.3f} | {q['flash_bytes']:,} | {q['arena_bytes']:,} | "
            f"{'no' if info['over'] else 'yes'} | {_fmt(info['f_res'], 'micro_auprc')} | "
            f"{_fmt(info['q_res'], 'micro_auprc')} | {_shares(info['f_res'])} |")


def expected_key(name: str) -> str:
    """The ``zoo_expected.npz`` key of a packaged model: ``sea_urban_128`` -> ``sea_128``,
    ``sea_urban_128_mcu1m`` -> ``sea_128_mcu1m``."""
    return name.replace("_urban_", "_", 1)


def _sort_key(name: str) -> tuple[int, int]:
    _, dim, tier = parse_zoo_name(name)
    return ZOO_TIERS.index(tier), -dim


def read_evaluations(eval_dirs: list[Path]) -> dict:
    """The ``results.json`` of one or more ``edgesea evaluate`` folders, their models merged
    (e.g. the float students with ``--cross-check --lr`` in one, the int8 files in another)."""
    results: dict = {"models": {}}
    for eval_dir in eval_dirs:
        r = json.loads((eval_dir / "results.json").read_text())
        protocol = r.get("protocol", {})
        if protocol.get("test_fold") != 10 or protocol.get("train_folds") != [1, 2]:
            print(f"warning: {eval_dir / 'results.json'} is not the cards' protocol (train "
                  f"folds 1,2, test fold 10): {protocol.get('train_folds')} / "
                  f"{protocol.get('test_fold')}")
        results["models"].update(r["models"])
    return results


def cards(eval_dirs: list[Path], audio: Path, pretrained: Path, docs: Path,
          expected: Path) -> None:
    results = read_evaluations(eval_dirs)
    eval_dir = " / ".join(str(e) for e in eval_dirs)
    names = sorted((p.name.removesuffix(".recipe.json")
                    for p in pretrained.glob("*.recipe.json")), key=_sort_key)
    if not names:
        raise SystemExit(f"no *.recipe.json in {pretrained}: run `pack` first")
    docs.mkdir(parents=True, exist_ok=True)
    rows, arrays, problems = [], {}, []
    clip, sr = load_audio(CLIP)
    for name in names:
        info = describe(name, pretrained, results, audio)
        emb, _ = get_embedding(clip, sr, model=info["model"], hop_size=0.5, verbose=False)
        arrays[expected_key(name)] = np.asarray(emb, np.float32)
        text = card_text(info)
        (pretrained / f"{name}.md").write_text(text)
        (docs / f"{name}.md").write_text(text)
        rows.append(table_row(info))
        problems += [f"{name}: {m}" for m in info["over"]]
        problems += [f"{name}: {what} model not in {eval_dir}"
                     for what, r in (("float", info["f_res"]), ("int8", info["q_res"]))
                     if r is None]
    tiers = []
    for t in ZOO_TIERS:
        b, dims = get_tier(t), [parse_zoo_name(n)[1] for n in names if _sort_key(n)[0] ==
                                ZOO_TIERS.index(t)]
        use = "no models packaged yet"
        if dims:
            d = 128 if 128 in dims else dims[0]
            kw, flag = ("", "") if t == "mcu" else (f", tier='{t}'", f" --tier {t}")
            use = (f"`edgesea.get_embedding(audio, sr, emb_dim={d}{kw})`, `edgesea embed FILE "
                   f"--emb-dim {d}{flag}`{' (the default tier)' if t == 'mcu' else ''}")
        tiers.append(f"- `{t}`: {_kb(b.arena_bytes)} TFLM arena, {_kb(b.flash_bytes)} flash, "
                     f"for {b.description}. Use: {use}.")
    (docs / "README.md").write_text("\n".join(
        ["# Model zoo", "", "Students shipped inside the package (`edgesea/pretrained`), "
         "trained by `edgesea specialize` on UrbanSound8K folds 1-2 (fold 10 never used), "
         "written by `python benchmarks/build_zoo.py cards`. Two capacity tiers "
         "(`edgesea.packaged.TIERS`; flash and arena measured on the int8 models with "
         "`edgesea footprint`):", "", *tiers, "",
         "Input: the student's sample rate, front-end level rule (`window`: level-blind; "
         "`absolute`: sees the level), the view the teacher labelled (`full`, `band`, "
         "`norm`) and `stream` for a streaming front end. MACs are per 1 s window (the "
         "front end's an estimate).", "", *TABLE_HEAD, *rows, "",
         "## License", "", LICENSE, ""]))
    expected.parent.mkdir(parents=True, exist_ok=True)
    np.savez(expected, clip=str(CLIP.relative_to(ROOT)), **arrays)
    print("\n".join(TABLE_HEAD + rows))
    for p in problems:
        print(f"warning: {p}")


#: The README's zoo table sits between these lines; `readme` (and `cards`) rewrite it from
#: the model cards (``edgesea.zoo.catalog``).
README_BEGIN = ("<!-- zoo-table: written by `python benchmarks/build_zoo.py readme` from the "
                "model cards; edit the cards, not this table -->")
README_END = "<!-- /zoo-table -->"


def readme_zoo_table() -> list[str]:
    """The README's table of the packaged students, from their cards."""
    lines = ["| model | tier | params | int8 flash B | TFLM arena B | fold-10 micro-AUPRC "
             "float / int8 |", "|---|---|---|---|---|---|"]
    for m in zoo_catalog():
        if m.kind != "sea":
            continue
        fig = card_figures(m.name)
        micro = fig["micro_auprc"] or {}
        score = (f"{micro['float']:.3f} / {micro['int8']:.3f}"
                 if micro.get("float") is not None and micro.get("int8") is not None else "-")
        lines.append(f"| `{m.name}` | {m.tier} | {fig['params']:,} | {fig['flash_bytes']:,} | "
                     f"{fig['arena_bytes']:,} | {score} |")
    return lines


def write_readme_table(readme: Path = ROOT / "README.md") -> bool:
    """Rewrite the README's zoo table from the cards; True when it changed."""
    text = readme.read_text(encoding="utf-8")
    if README_BEGIN not in text or README_END not in text:
        raise SystemExit(f"{readme} has no zoo-table markers")
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    new = head + README_BEGIN + "\n" + "\n".join(readme_zoo_table()) + "\n" + README_END + tail
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


def onnx_files(pretrained: Path, tolerance: float = 1e-4) -> None:
    """Export every packaged student to ``<name>.onnx`` beside it (the torch-free install's
    float models, :class:`edgesea.light.OnnxEmbedder`) and check each against its
    ``.safetensors`` model on real log-mel inputs: the largest difference relative to the
    largest embedding value must be at most ``tolerance``. A file is rewritten only when
    its source model changed (the identity in its metadata)."""
    import numpy as np
    import torch

    from edgesea.export.onnx import export_onnx
    from edgesea.inference.api import model_identity
    from edgesea.light.onnx_models import OnnxEmbedder
    from edgesea.models import load_model

    rng = np.random.default_rng(0)
    for src in sorted(pretrained.glob("sea_urban_*.safetensors")):
        model = load_model(src).eval()
        out = src.with_suffix(".onnx")
        if not out.is_file() or OnnxEmbedder(out).source_identity != model_identity(model):
            export_onnx(model, out)
        emb = OnnxEmbedder(out)
        n = model.window_samples + sum(model.context_samples)
        windows = (0.1 * rng.standard_normal((16, n))).astype(np.float32)
        with torch.inference_mode():
            ref = model(torch.from_numpy(windows)).numpy()
        got = emb.embed(windows)
        rel = float(np.abs(got - ref).max() / np.abs(ref).max())
        status = "ok" if rel <= tolerance else "FAILED"
        print(f"{out.name}: {out.stat().st_size:,} bytes, max |onnx - torch| / max |torch| = "
              f"{rel:.2e} ({status})")
        if rel > tolerance:
            raise SystemExit(f"{out.name} differs from {src.name} by {rel:.2e} > {tolerance}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--model", action="append", required=True,
                   help="DIM=RUN_DIR (tier mcu) or DIM:TIER=RUN_DIR (TIER: "
                   f"{', '.join(ZOO_TIERS)}); repeatable")
    p.add_argument("--calibration", type=Path, required=True)
    p.add_argument("--pretrained", "--out", dest="out", type=Path, default=PRETRAINED_DIR,
                   help="the package folder to write (default: %(default)s)")
    c = sub.add_parser("cards")
    c.add_argument("--eval", type=Path, action="append", required=True,
                   help="an `edgesea evaluate` folder (repeatable: their models are merged)")
    c.add_argument("--audio", type=Path, required=True, help="audio for the int8 agreement "
                   "and latency (not the calibration audio)")
    c.add_argument("--pretrained", type=Path, default=PRETRAINED_DIR)
    c.add_argument("--docs", type=Path, default=ROOT / "docs" / "models")
    c.add_argument("--expected", type=Path, default=ROOT / "tests" / "data" /
                   "zoo_expected.npz")
    sub.add_parser("readme", help="rewrite README.md's zoo table from the model cards")
    o = sub.add_parser("onnx", help="export every packaged student to <name>.onnx and check "
                       "it against the .safetensors model")
    o.add_argument("--pretrained", type=Path, default=PRETRAINED_DIR)
    args = ap.parse_args()
    if args.cmd == "onnx":
        onnx_files(args.pretrained)
    elif args.cmd == "pack":
        pack(args.model, args.calibration, args.out)
    elif args.cmd == "readme":
        print("README.md zoo table", "rewritten" if write_readme_table() else "unchanged")
    else:
        cards(args.eval, args.audio, args.pretrained, args.docs, args.expected)
        write_readme_table()


if __name__ == "__main__":
    main()
