"""Scale-out throughput, in one run (docs/scaling.md): teacher extraction with the local
engine vs Ray Data with 1 and 2 actors on the same audio, and distillation on 1 vs 2
DistributedDataParallel processes; prints the figures, the ratios, and the cost model.

    OMP_NUM_THREADS=1 python benchmarks/scale.py --audio AUDIO_DIR --n-files 24

``AUDIO_DIR`` defaults to the UrbanSound8K subset's fold1 in ../shared. The teacher is
aisfx (the default teacher; ``--teacher`` takes any spec). Ray runs locally with
``--ray-cpus`` CPUs; its start-up is timed apart. Distillation trains the default student
(``--arch mcu``, 16 kHz) on synthetic, learnable inputs of its real shape, so the step cost
is the real one. Results go to ``WORK/scale_results.json``; WORK is deleted at the end
unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

SHARED = Path(__file__).resolve().parents[2] / "shared"


def _extract(audio: Path, out: Path, teacher, **kw) -> dict:
    from edgesea.extract.run import extract

    t = time.perf_counter()
    rep = extract(audio, out, teacher, files_per_shard=4, batch_size=32, progress=False,
                  overwrite=True, **kw)
    wall = time.perf_counter() - t
    return {"wall_s": wall, "windows": rep.n_windows, "windows_per_s": rep.n_windows / wall,
            "audio_s": rep.audio_s}


def _distill_data(work: Path, n: int, n_val: int) -> tuple[Path, dict]:
    """Synthetic log-mels of the default student's shape; targets a fixed random function
    of their band means (learnable)."""
    from edgesea.specialize.config import SpecializeConfig

    model = SpecializeConfig().build_student()
    n_frames = model.frontend.n_frames(model.window_samples)
    shape = (n + n_val, model.frontend.n_mels, n_frames)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float16)
    w = rng.standard_normal((shape[1], model.emb_dim)) / np.sqrt(shape[1])
    y = np.tanh(x.astype(np.float32).mean(2) @ w).astype(np.float32)
    path = work / "distill"
    path.mkdir(parents=True, exist_ok=True)
    np.save(path / "x.npy", x)
    np.save(path / "y.npy", y)
    return path, {"n_train": n, "n_val": n_val, "input_shape": list(shape[1:])}


def _distill_worker(rank: int, world: int, init: str, path: str, threads: int,
                    epochs: int) -> None:
    from edgesea.distill.train import TrainConfig, train_student
    from edgesea.specialize.config import SpecializeConfig

    torch.set_num_threads(threads)
    if world > 1:
        torch.distributed.init_process_group("gloo", init_method=init, rank=rank,
                                             world_size=world)
    try:
        x = np.load(Path(path) / "x.npy", mmap_mode="r")
        y = np.load(Path(path) / "y.npy")
        n_val = len(x) // 8
        torch.manual_seed(0)
        model = SpecializeConfig().build_student()
        t = time.perf_counter()
        res = train_student(model, x[n_val:], y[n_val:], x[:n_val], y[:n_val],
                            Path(path) / f"run{world}x{threads}",
                            TrainConfig(epochs=epochs, seed=0), progress=False)
        wall = time.perf_counter() - t
        if rank == 0:
            out = {"processes": world, "threads": threads, "wall_s": wall,
                   "epoch_s": [h["epoch_s"] for h in res.history],
                   "val_loss": res.history[-1]["val_loss"],
                   "windows_per_s": (len(x) - n_val) * epochs / wall}
            (Path(path) / f"result{world}x{threads}.json").write_text(json.dumps(out))
    finally:
        if world > 1:
            torch.distributed.destroy_process_group()


def _distill(path: Path, world: int, threads: int, epochs: int) -> dict:
    import torch.multiprocessing as mp

    from edgesea.specialize.ddp_job import _free_port

    mp.start_processes(_distill_worker, args=(world, f"tcp://127.0.0.1:{_free_port()}",
                                              str(path), threads, epochs),
                       nprocs=world, join=True, start_method="spawn")
    return json.loads((path / f"result{world}x{threads}.json").read_text())


def _student_inference(threads: int, n: int = 256) -> float:
    from edgesea.specialize.config import SpecializeConfig

    torch.set_num_threads(threads)
    model = SpecializeConfig().build_student().eval()
    x = torch.from_numpy(np.random.default_rng(0).standard_normal(
        (n, model.window_samples)).astype(np.float32) * 0.1)
    with torch.inference_mode():
        model(x[:8])
        t = time.perf_counter()
        for i in range(0, n, 64):
            model(x[i:i + 64])
    return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--audio", type=Path,
                    default=SHARED / "data" / "urbansound8k_subset" / "audio" / "fold1")
    ap.add_argument("--n-files", type=int, default=24)
    ap.add_argument("--teacher", default="aisfx")
    ap.add_argument("--ray-cpus", type=int, default=2)
    ap.add_argument("--distill-windows", type=int, default=2048)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--work", type=Path, default=Path("runs/scale"))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    from edgesea.extract.run import list_audio_files, resolve_teacher

    work = args.work
    audio = work / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    for f in list_audio_files(args.audio)[:args.n_files]:
        link = audio / Path(f).name
        if not link.exists():
            link.symlink_to((args.audio / f).resolve())
    teacher = resolve_teacher(args.teacher)
    torch.set_num_threads(1)
    res: dict = {"host_cpus": os.cpu_count(), "teacher": args.teacher,
                 "n_files": args.n_files}
    try:
        print(f"extraction: {args.n_files} files of {args.audio}, teacher {args.teacher}, "
              f"1 torch thread per process", flush=True)
        res["local"] = _extract(audio, work / "local", teacher)
        import ray

        t = time.perf_counter()
        ray.init(num_cpus=args.ray_cpus, include_dashboard=False, log_to_driver=False)
        res["ray_start_s"] = time.perf_counter() - t
        for n in (1, 2):
            res[f"ray{n}"] = _extract(audio, work / f"ray{n}", teacher, engine="ray",
                                      engine_options={"num_actors": n})
        ray.shutdown()
        from edgesea.store.shards import EmbeddingStore

        ref = EmbeddingStore.open(work / "local").load()
        for n in (1, 2):
            got = EmbeddingStore.open(work / f"ray{n}").load()
            same_rows = all(np.array_equal(ref[c], got[c]) for c in
                            ("file_index", "timestamp_s", "start_s", "laeq_db"))
            res[f"ray{n}"]["same_rows"] = bool(same_rows)
            res[f"ray{n}"]["max_abs_diff"] = float(np.abs(ref["embedding"]
                                                          - got["embedding"]).max())
        for k in ("local", "ray1", "ray2"):
            r = res[k]
            extra = "" if k == "local" else (f", same rows {r['same_rows']}, max |diff| "
                                             f"{r['max_abs_diff']:.2e}")
            print(f"  {k:<6} {r['windows']} windows in {r['wall_s']:6.1f} s: "
                  f"{r['windows_per_s']:6.1f} windows/s{extra}", flush=True)
        print(f"  Ray start-up {res['ray_start_s']:.1f} s; ratios: ray1/local "
              f"{res['ray1']['windows_per_s'] / res['local']['windows_per_s']:.2f}, "
              f"ray2/ray1 {res['ray2']['windows_per_s'] / res['ray1']['windows_per_s']:.2f}",
              flush=True)
        path, info = _distill_data(work, args.distill_windows, args.distill_windows // 7)
        res["distill_data"] = info
        print(f"distillation: {info}, {args.epochs} epochs", flush=True)
        for world, threads in ((1, 1), (1, 2), (2, 1)):
            r = _distill(path, world, threads, args.epochs)
            res[f"ddp{world}x{threads}"] = r
            print(f"  {world} process(es) x {threads} thread(s): {r['wall_s']:6.1f} s, "
                  f"{r['windows_per_s']:6.1f} windows/s, val loss {r['val_loss']:.5f}",
                  flush=True)
        print(f"  ratios: 2 proc / 1 proc (1 thread) "
              f"{res['ddp2x1']['windows_per_s'] / res['ddp1x1']['windows_per_s']:.2f}, "
              f"2 proc / 1 proc x 2 threads "
              f"{res['ddp2x1']['windows_per_s'] / res['ddp1x2']['windows_per_s']:.2f}",
              flush=True)
        res["student_inference_per_s"] = {t: _student_inference(t) for t in (1, 2)}
        print(f"student inference (audio to embedding): "
              f"{res['student_inference_per_s'][1]:.0f} windows/s on 1 thread", flush=True)
        n30 = 30e6
        teach = res["local"]["windows_per_s"]
        train = res["ddp1x1"]["windows_per_s"]
        print(f"cost of 30M windows at these rates: teacher {n30 / teach / 3600:,.0f} "
              f"core-hours; one student epoch over them {n30 / train / 3600:,.0f} "
              f"core-hours", flush=True)
    finally:
        (work.parent / f"{work.name}_results.json").write_text(json.dumps(res, indent=1))
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
