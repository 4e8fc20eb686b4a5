"""The edgesea demo (``make demo``): the whole SEA story on 40 real UrbanSound8K clips
(``examples/audio``: 2 clips of each of the 10 classes in ``fold1``, 2 in ``fold2``).

1. **specialize** a small microcontroller student on the 20 clips of ``examples/audio/fold1``
   with a reduced recipe (aisfx teacher -> diversity+relevance sample -> PCA -> distillation),
   through :func:`edgesea.specialize.pipeline.specialize`; the student is kept
   (``demo_out/specialize/student.safetensors``, with ``report.md`` and
   ``distill/curves.png``);
2. **embed** one clip with the shipped 128-d student: ``edgesea.get_embedding(audio, sr)``;
3. **export** the shipped student to full-int8 TFLite, calibrated on ``examples/audio/fold1``,
   and measure it (flash, TFLM arena, LiteRT latency, int8-vs-float agreement) on
   ``examples/audio/fold2``;
4. **compare** teacher and the demo student on the 20 ``fold2`` clips it never saw:
   parameters, size, activation memory, speed on this machine, and held-out agreement
   (cosine between the student's embedding and the teacher's embedding projected by the
   reducer stored in the student file);
5. **classify**: what embeddings are for. With the teacher, the shipped 128-d student
   (``model_type='sea', emb_dim=128``) and the demo student side by side, a classifier
   (chosen by cross-validation grouped by recording on fold 1) is trained on the labelled
   ``fold1`` clips and scored on the held-out ``fold2`` clips (:func:`edgesea.evaluate.run.
   run_evaluation`, as ``edgesea evaluate``): accuracy and micro-AUPRC against their chance
   levels, with ``demo_out/evaluate/report.md`` and its PR curves.

Outputs go to ``demo_out/`` (git-ignored; the demo ends by listing them); each run starts
afresh. Usage::

    python examples/demo.py [--out demo_out] [--epochs 30] [--quick]

The functions take their settings as parameters so that ``tests/integration/test_demo.py`` can
run them with a tiny recipe.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.table import Table
from tqdm.auto import tqdm

import edgesea
from edgesea.audio.io import load_audio, preprocess_audio
from edgesea.errors import EdgeSEAError, EdgeSEAWarning
from edgesea.extract.run import list_audio_files
from edgesea.models import footprint
from edgesea.packaged.names import pretrained_path
from edgesea.reduce import reducer_from_arrays
from edgesea.specialize.pipeline import SpecializeConfig, SpecializeResult, specialize
from edgesea.zoo.figures import share_of_teacher

HERE = Path(__file__).resolve().parent
AUDIO_DIR = HERE / "audio"
DEFAULT_OUT = HERE.parent / "demo_out"
MARKER = ".edgesea-demo"
console = Console(highlight=False)


# 1. specialize -------------------------------------------------------------------------------
def specialize_demo(audio_dir: str | Path, run_dir: str | Path, *, emb_dim: int = 128,
                    epochs: int = 30, hop_size: float = 0.1, sample_size: str = "50%",
                    lr: float = 1e-3, batch_size: int = 32, seed: int = 0,
                    augment_factor: float = 0.0, progress: bool = True) -> SpecializeResult:
    """Specialize a microcontroller student (arch ``mcu``, linear head) on ``audio_dir``.

    The reduced recipe: aisfx teacher at ``hop_size``, a ``diversity+relevance`` sample of
    ``sample_size`` of the training windows, PCA to ``emb_dim`` (64 if the sample is too
    small for ``emb_dim``), at most ``epochs`` epochs of Adam (``lr``, ``batch_size``) with
    early stopping (patience 10); no teacher-labelled augmentation unless
    ``augment_factor`` > 0 (the shipped recipe's 5 would make the demo several times
    slower)."""
    def config(dim: int) -> SpecializeConfig:
        return SpecializeConfig(
            teacher="aisfx", hop_size=hop_size, emb_dim=dim, sampling="diversity+relevance",
            sample_size=sample_size, reduction="pca", arch="mcu", head="linear", seed=seed,
            augment_factor=augment_factor,
            train={"epochs": epochs, "lr": lr, "batch_size": batch_size, "patience": 10})

    try:
        return specialize(audio_dir, run_dir, config(emb_dim), progress=progress)
    except EdgeSEAError as e:  # the sample is smaller than emb_dim: fall back to 64-d
        if emb_dim <= 64 or "needs a sample of at least" not in str(e):
            raise
        console.print(f"[yellow]{e}; using emb_dim=64[/]")
        return specialize(audio_dir, run_dir, config(64), progress=progress, force=True)


# 2. embed ------------------------------------------------------------------------------------
def embed_clip(path: str | Path, hop_size: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Embed one file with the shipped default student (``model_type='sea'``,
    ``emb_dim=128``): ``edgesea.get_embedding(audio, sr)``."""
    audio, sr = edgesea.load_audio(path)
    return edgesea.get_embedding(audio, sr, hop_size=hop_size)


# 3. export -----------------------------------------------------------------------------------
def export_int8(model_path: str | Path, out_dir: str | Path, calibration_dir: str | Path,
                audio_dir: str | Path, *, n_calibration: int = 256, n_windows: int = 64,
                repeats: int = 3, progress: bool = True) -> tuple[Any, Any]:
    """Export ``model_path`` to full-int8 TFLite calibrated on ``calibration_dir`` and
    measure it on ``audio_dir``: returns ``(ExportResult, TFLiteFootprint)``."""
    from edgesea.export import export_model, tflite_footprint

    result = export_model(model_path, ["tflite-int8"], out_dir, calibration_dir=calibration_dir,
                          n_calibration=n_calibration, name="sea_urban_128",
                          progress=progress)
    report = tflite_footprint(result.files["tflite-int8"], audio_dir=audio_dir,
                              float_model=model_path, n_windows=n_windows, repeats=repeats,
                              progress=progress)
    return result, report


# 5. classify ---------------------------------------------------------------------------------
def classify_demo(audio_dir: str | Path, out_dir: str | Path, models: list[str | Path],
                  teachers: tuple[str, ...] = ("aisfx",), *, train_fold: int = 1,
                  test_fold: int = 2, seeds: int = 1, hop_size: float = 0.5,
                  progress: bool = True) -> dict[str, Any]:
    """Train a classifier on each embedder's clip embeddings of ``train_fold`` and score it
    on ``test_fold`` of the labelled ``audio_dir`` (its ``metadata.csv``).

    This is ``edgesea evaluate --train-folds 1 --test-fold 2``: clip = mean + max of the
    windows' embeddings; logistic regression or a one-layer MLP and its L2 strength chosen
    by 3-fold cross-validation grouped by recording within ``train_fold`` only; refitted on
    all of it; scored on ``test_fold`` (never used to train or tune). Writes
    ``out_dir/results.json``, ``report.md``, ``pr_curves.png`` and ``per_class_ap.png``.
    BLAS runs on one thread: on these tiny matrices more threads only contend (3x slower
    on a busy 2-core machine)."""
    from threadpoolctl import threadpool_limits

    from edgesea.evaluate.run import run_evaluation

    with threadpool_limits(1, user_api="blas"):
        return run_evaluation(Path(audio_dir), [Path(m) for m in models], list(teachers),
                              [train_fold], test_fold, seeds, hop_size, Path(out_dir),
                              progress=progress)


# 4. compare ----------------------------------------------------------------------------------
class TeacherNet(torch.nn.Module):
    """The teacher as one module (front end + network) on raw windows, for
    :func:`edgesea.models.footprint`."""

    def __init__(self, teacher: Any) -> None:
        super().__init__()
        self.frontend, self.net = teacher.frontend, teacher.net
        self.window_samples = teacher.window_samples

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.frontend(x))


@dataclass
class Comparison:
    """Teacher vs student on the same clips (see :func:`compare`)."""

    teacher: dict[str, Any] = field(default_factory=dict)
    student: dict[str, Any] = field(default_factory=dict)
    audio_s: float = 0.0
    n_clips: int = 0
    hop_size: float = 0.5
    threads: int = 1
    cosine_mean: float = float("nan")
    cosine_min: float = float("nan")
    r2: float = float("nan")


def compare(files: list[Path], *, teacher: Any = None, model: Any = None,
            hop_size: float = 0.5, batch_size: int = 64, progress: bool = True) -> Comparison:
    """Footprint, speed and agreement of the teacher and the student on ``files``.

    Both run end to end from the decoded arrays (resampling, windowing, front end, network)
    at ``hop_size``. Agreement: per window, the cosine between the student's embedding and
    the teacher's embedding mapped by the reducer stored in the student file (the student's
    training target), and R^2 of the student against those targets."""
    from edgesea.distill.train import regression_metrics
    from edgesea.export.exporter import agreement
    from edgesea.teachers import AisfxTeacher

    teacher = teacher if teacher is not None else AisfxTeacher()
    net = edgesea.get_model(model)
    if "reducer" not in net.metadata:
        raise EdgeSEAError("the student file stores no reducer: cannot measure agreement")
    reducer = reducer_from_arrays(net.extras, net.metadata["reducer"])
    clips = [load_audio(f) for f in tqdm(files, desc="decode", unit="file",
                                         disable=not progress)]
    cmp = Comparison(n_clips=len(clips), hop_size=hop_size, threads=torch.get_num_threads(),
                     audio_s=sum(a.shape[0] / sr for a, sr in clips))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EdgeSEAWarning)  # clips under 1 s are zero-padded
        edgesea.get_embedding(clips[0][0], clips[0][1], model=net, hop_size=hop_size)  # warm
        t0 = time.perf_counter()
        student = edgesea.get_embedding([a for a, _ in clips], [sr for _, sr in clips],
                                        model=net, hop_size=hop_size, batch_size=batch_size,
                                        verbose=progress)[0]
        t_student = time.perf_counter() - t0
        t0 = time.perf_counter()
        targets = []
        for a, sr in tqdm(clips, desc="teacher", unit="clip", disable=not progress):
            frames, _ = preprocess_audio(a, sr, teacher.sample_rate, teacher.window, hop_size,
                                         True)
            targets.append(teacher.embed(np.ascontiguousarray(frames)))
        t_teacher = time.perf_counter() - t0
    n_t = sum(len(t) for t in targets)
    n_s = sum(len(s) for s in student)
    # the same window starts: compare the windows both have
    pairs = [(s[:min(len(s), len(t))], reducer.transform(t[:min(len(s), len(t))]))
             for s, t in zip(student, targets, strict=True)]
    s_all = np.concatenate([p[0] for p in pairs]).astype(np.float64)
    y_all = np.concatenate([p[1] for p in pairs])
    agree = agreement(s_all, y_all)
    cmp.cosine_mean, cmp.cosine_min = agree["cosine_mean"], agree["cosine_min"]
    cmp.r2 = regression_metrics(y_all, s_all)["r2"]
    for side, module, n, t, dim, rate in (
            (cmp.teacher, TeacherNet(teacher), n_t, t_teacher, teacher.emb_dim,
             teacher.sample_rate),
            (cmp.student, net, n_s, t_student, net.emb_dim, net.sample_rate)):
        fp = footprint(module)
        side.update(params=fp.params, size_mb=fp.size_mb, activation_mb=fp.activation_mb,
                    windows=n, seconds=t, windows_per_s=n / t, x_realtime=cmp.audio_s / t,
                    emb_dim=dim, sample_rate=rate)
    return cmp


# printing ------------------------------------------------------------------------------------
def _table(title: str, columns: list[str], rows: list[list[str]],
           justify: str = "right") -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    for i, c in enumerate(columns):
        table.add_column(c, justify="left" if i == 0 else justify)
    for r in rows:
        table.add_row(*r)
    return table


def print_specialize(res: SpecializeResult) -> None:
    d = res.stages["distill"]
    s = res.stages["sample"]
    rows = [[name, f"{res.stages[name].get('wall_s', 0):.1f} s", res.ran.get(name, "")]
            for name in ("embed", "inputs", "sample", "reduce", "distill")]
    console.print(_table("specialize: stages", ["stage", "wall", "status"], rows))
    console.print(
        f"{s['n_windows']} teacher windows from {res.stages['embed']['n_files']} clips "
        f"({s['n_recordings']} recordings, {s['n_val_recordings']} held out), sample of "
        f"{s['n_sample']}; best epoch {d['best_epoch']} of {d['epochs_run']}: val R2 "
        f"{d['val_r2']:.3f}, val cosine {d['val_cosine']:.3f} (train R2 {d['train_r2']:.3f})"
        f"\nstudent (kept): {res.student_path}\n  use it: edgesea.get_embedding(audio, sr, "
        f"model=\"{res.student_path}\")\nreport: {res.report_path} (training curves: "
        f"{res.run_dir / 'distill' / 'curves.png'})\n[dim]{res.stages['embed']['n_files']} "
        "clips are far too few for a good student (expect a validation R2 near 0); the "
        "shipped students learn from 1,761 clips of folds 1-2 with the full recipe.[/]")


def print_export(result: Any, report: Any) -> None:
    agree = report.int8_vs_float or {}
    cal = result.calibration
    rows = [["int8 .tflite", result.files["tflite-int8"]],
            ["calibration", f"{cal['n_windows']} windows of {cal['n_files_used']} files "
                            f"({cal['audio_dir']})"],
            ["flash (model bytes)", f"{report.flash_bytes:,}"],
            ["TFLM arena (bytes)", f"{report.arena_bytes:,}"],
            ["int8 vs float cosine", f"mean {agree.get('cosine_mean', float('nan')):.4f}, min "
                                     f"{agree.get('cosine_min', float('nan')):.4f} on "
                                     f"{report.n_windows} windows of {report.audio_dir}"],
            ["LiteRT ms/window", f"{report.latency_ms:.3f} (XNNPACK), "
                                 f"{report.latency_builtin_ms:.3f} (builtin), 1 thread"],
            ["TFLM vs LiteRT", f"max {report.tflm_vs_litert_max_lsb} LSB"]]
    console.print(_table("int8 export of the shipped 128-d student", ["", ""], rows,
                         justify="left"))


def print_comparison(cmp: Comparison, flash_bytes: int | None = None,
                     arena_bytes: int | None = None, student: str = "shipped sea 128",
                     agreement_note: str | None = None) -> None:
    """Print teacher vs ``student`` (its name in the table); ``agreement_note`` says which
    clips the agreement was measured on (default: the shipped student, in-sample)."""
    t, s = cmp.teacher, cmp.student

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.1f}x"

    rows = [["embedding", f"{t['emb_dim']}-d, {t['sample_rate'] / 1000:g} kHz",
             f"{s['emb_dim']}-d, {s['sample_rate'] / 1000:g} kHz", ""],
            ["parameters", f"{t['params']:,}", f"{s['params']:,}",
             ratio(t["params"], s["params"]) + " smaller"],
            ["size (fp32 MB)", f"{t['size_mb']:.2f}", f"{s['size_mb']:.2f}",
             ratio(t["size_mb"], s["size_mb"]) + " smaller"],
            ["largest activation (MB)", f"{t['activation_mb']:.2f}",
             f"{s['activation_mb']:.2f}",
             ratio(t["activation_mb"], s["activation_mb"]) + " smaller"]]
    if flash_bytes is not None:
        rows.append(["int8 flash / TFLM arena (KB)", "-",
                     f"{flash_bytes / 1e3:.0f} / {arena_bytes / 1e3:.0f}", ""])
    rows += [["speed (windows/s)", f"{t['windows_per_s']:.0f}", f"{s['windows_per_s']:.0f}",
              ratio(s["windows_per_s"], t["windows_per_s"]) + " faster"],
             ["speed (x real time)", f"{t['x_realtime']:.0f}", f"{s['x_realtime']:.0f}", ""],
             ["agreement (cosine to target)", "reference",
              f"mean {cmp.cosine_mean:.3f}, min {cmp.cosine_min:.3f}", f"R2 {cmp.r2:.3f}"]]
    console.print(_table(
        f"teacher vs student on {cmp.n_clips} clips ({cmp.audio_s:.0f} s of audio, hop "
        f"{cmp.hop_size:g} s, {cmp.threads} torch thread(s), this machine)",
        ["", "teacher (aisfx)", f"student ({student})", "ratio"], rows))
    console.print("agreement: the student's embedding vs the teacher's embedding projected "
                  "by the PCA stored in the student file (its training target); "
                  + (agreement_note or "the shipped student was trained on folds 1-2, which "
                     "include these clips (in-sample)."))


def print_classification(res: dict[str, Any]) -> None:
    """The held-out classification table: each embedder's accuracy and micro-AUPRC beside
    their chance levels."""
    proto, chance = res["protocol"], res["chance"]
    rows = []
    for name, r in res["models"].items():
        m = r["metrics"]
        c = r["classifier"]
        clf = "logistic regression" if c["hidden"] == 0 else f"MLP ({c['hidden']} hidden)"
        rows.append([name, f"{r['emb_dim']}", clf, f"{m['accuracy']['mean']:.3f}",
                     f"{m['micro_auprc']['mean']:.3f}"])
    rows.append(["chance level", "", "majority class / positive rate",
                 f"{chance['accuracy']:.3f}", f"{chance['micro_auprc']:.3f}"])
    first = next(iter(res["models"].values()))
    console.print(_table(
        f"held-out classification: trained on fold {proto['train_folds'][0]} "
        f"({first['n_train']} clips), scored on fold {proto['test_fold']} "
        f"({first['n_test']} clips), {len(res['classes'])} classes",
        ["embedder", "dim", "classifier", "accuracy", "micro-AUPRC"], rows))
    for w in res.get("warnings", []):
        console.print(f"[yellow]warning:[/] {w}")
    console.print("[dim]The classifier never sees the test fold. The shipped student was "
                  "distilled from the unlabelled audio of folds 1-2 (these clips included, "
                  "no labels); the demo student saw fold 1 only. Two labelled clips per "
                  "class are far too few to compare embeddings (one clip is 0.05 of "
                  "accuracy) and favour the teacher's 512-d embedding; trained on the 1,761 "
                  "clips of folds 1-2 and scored on fold 10 (837 clips), the shipped "
                  f"student keeps {share_of_teacher('sea_urban_128'):.0f} % of the teacher's "
                  "micro-AUPRC (its model card, docs/results.md).[/]\n"
                  f"report: {res['report']} (PR curves, per-class AP)")


#: What the demo's files are, by path relative to its output folder.
OUTPUTS = {
    "specialize/student.safetensors": "the demo student (edgesea model file)",
    "specialize/report.md": "specialize report: data, stages, validation R2, curves",
    "specialize/distill/curves.png": "training curves of the demo student",
    "specialize/config.json": "the demo student's recipe",
    "evaluate/report.md": "classification report: metrics vs chance, figures",
    "evaluate/pr_curves.png": "micro-averaged precision-recall curves, fold 2",
    "evaluate/per_class_ap.png": "per-class average precision, fold 2",
    "evaluate/results.json": "all classification numbers (classifier search included)",
    "evaluate/test_scores.npz": "fold-2 labels and each embedder's class scores",
}


def print_outputs(out: Path) -> list[Path]:
    """List the files the demo wrote under ``out``: the main ones with what they are, the
    rest (stores, caches, checkpoints) counted per folder; returns all of them."""
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != MARKER)
    rel = {p.relative_to(out).as_posix(): p for p in files}
    rows = [[k, v] for k, v in OUTPUTS.items() if k in rel]
    rows += [[k, "int8 model of the shipped student"] for k in rel
             if k.startswith("export/") and k.endswith(".tflite")]
    named = {r[0] for r in rows}
    rest: dict[str, list[str]] = {}  # the other files, by folder (at most 2 levels deep)
    for k, p in rel.items():
        if k not in named:
            rest.setdefault("/".join(k.split("/")[:-1][:2]), []).append(p.name)
    for folder, names in sorted(rest.items()):
        what = ", ".join(names) if len(names) <= 3 else f"{len(names)} files"
        rows.append([f"{folder}/", f"working files: {what}"])
    console.print(_table(f"files written: {len(files)} under {out}/", ["file", "what"], rows,
                         justify="left"))
    return files


# the whole demo ------------------------------------------------------------------------------
def _fresh_dir(path: Path) -> Path:
    """Create ``path``; remove it first only if an earlier demo made it (marker file)."""
    if path.exists():
        if not (path / MARKER).is_file():
            raise EdgeSEAError(f"{path} exists and was not made by the demo: choose another "
                               "--out")
        shutil.rmtree(path)
    path.mkdir(parents=True)
    (path / MARKER).write_text("made by examples/demo.py; removed by its next run\n")
    return path


def run_demo(out: str | Path = DEFAULT_OUT, audio_dir: str | Path = AUDIO_DIR, *,
             emb_dim: int = 128, epochs: int = 30, hop_size: float = 0.1,
             n_calibration: int = 60, n_windows: int = 60, repeats: int = 3,
             compare_hop: float = 0.5, progress: bool = True) -> dict[str, Any]:
    """Run the four steps; returns their results (and prints them)."""
    t_start = time.perf_counter()
    audio_dir = Path(audio_dir)
    model_path = pretrained_path("sea", 128)  # fails clearly if the packaged model is absent
    out = _fresh_dir(Path(out))
    files = [audio_dir / f for f in list_audio_files(audio_dir)]
    timings: dict[str, float] = {}

    console.rule("[bold]1. specialize a small student on the 20 demo clips of fold 1")
    t = time.perf_counter()
    spec = specialize_demo(audio_dir / "fold1", out / "specialize", emb_dim=emb_dim,
                           epochs=epochs, hop_size=hop_size, progress=progress)
    timings["specialize"] = time.perf_counter() - t
    print_specialize(spec)

    console.rule("[bold]2. embed a clip with the shipped student")
    t = time.perf_counter()
    clip = files[0]
    emb, ts = embed_clip(clip)
    timings["embed"] = time.perf_counter() - t
    console.print(f"edgesea.get_embedding(audio, sr, hop_size=0.5) on {clip.name} "
                  f"({clip.parent.name}): embedding {emb.shape} {emb.dtype}, timestamps "
                  f"{np.array2string(ts, precision=1, separator=', ')} s\n"
                  f"first window: {np.array2string(emb[0, :6], precision=3)} ...\n"
                  f"model: {model_path}")

    console.rule("[bold]3. export the shipped student to int8 and measure it")
    t = time.perf_counter()
    result, report = export_int8(model_path, out / "export", audio_dir / "fold1",
                                 audio_dir / "fold2", n_calibration=n_calibration,
                                 n_windows=n_windows, repeats=repeats, progress=progress)
    timings["export"] = time.perf_counter() - t
    print_export(result, report)

    console.rule("[bold]4. teacher vs the demo student, on the fold-2 clips it never saw")
    t = time.perf_counter()
    held_out = [f for f in files if f.parent.name == "fold2"]
    cmp = compare(held_out, model=spec.student_path, hop_size=compare_hop, progress=progress)
    timings["compare"] = time.perf_counter() - t
    print_comparison(cmp, report.flash_bytes, report.arena_bytes, student="demo, fold 1",
                     agreement_note="held out: the demo student was trained on fold 1 only "
                     "(int8 flash / arena: the shipped student, the same architecture).")

    console.rule("[bold]5. classify the demo clips: train on fold 1, score on fold 2")
    t = time.perf_counter()
    cls = classify_demo(audio_dir, out / "evaluate", [model_path, spec.student_path],
                        hop_size=compare_hop, progress=progress)
    timings["classify"] = time.perf_counter() - t
    print_classification(cls)

    total = time.perf_counter() - t_start
    console.rule()
    written = print_outputs(out)
    console.print("wall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
                  + f"; [bold]total {total:.0f} s[/] ({torch.get_num_threads()} torch "
                  f"thread(s)); outputs in {out}")
    return {"specialize": spec, "embedding": (emb, ts), "export": result,
            "footprint": report, "comparison": cmp, "classification": cls,
            "files": written, "timings": timings, "total_s": total}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (replaced)")
    ap.add_argument("--audio", type=Path, default=AUDIO_DIR, help="demo audio folder")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--quick", action="store_true", help="a tiny recipe (smoke test)")
    args = ap.parse_args(argv)
    kw: dict[str, Any] = {"epochs": args.epochs}
    if args.quick:
        kw = {"epochs": 1, "hop_size": 1.0, "emb_dim": 16, "n_calibration": 32,
              "n_windows": 8, "repeats": 1}
    try:
        run_demo(args.out, args.audio, **kw)
    except EdgeSEAError as e:
        console.print(f"[red]error:[/] {e}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
