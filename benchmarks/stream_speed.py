"""Stream front end speed: the shipped sea_urban_128 (every window computes its own STFT)
against the same weights with the ``"stream"`` front end (frames computed once on the
continuous signal, sliced per window; only the network runs once per window).

End to end from the array as ``edgesea.get_embedding`` does it (validation, resampling to
8 kHz, front end, network). Prints x real time at hop 0.1 and 0.5 s for both and the ratio,
then the per-window cost of each part (front end window by window, front end frame-once,
network alone, resampling), which bounds what the fast path can reach. The timings of the
things compared are interleaved (one of each per round, best of ``--repeats`` rounds), so a
machine whose load changes favours neither.

Usage: python benchmarks/stream_speed.py [--seconds 60] [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from embed_speed import setup

import edgesea
from edgesea.api import _inference_net
from edgesea.audio import frame_audio, resample
from edgesea.models import EmbeddingModel, ModelConfig, load_model
from edgesea.zoo import pretrained_path

HOPS = (0.1, 0.5)


def stream_copy(model: EmbeddingModel) -> EmbeddingModel:
    """``model``'s weights with the ``"stream"`` front end (same frames as 'same' padding)."""
    data = model.config.to_dict()
    data["frontend"] = {**data["frontend"], "padding": "stream",
                        "window_samples": model.window_samples}
    out = EmbeddingModel(ModelConfig.from_dict(data), dict(model.metadata))
    out.load_state_dict(model.state_dict())
    return out.eval()


def best(fns: dict[str, object], repeats: int) -> dict[str, float]:
    """Best-of-``repeats`` wall time (s) of each ``fns[k]()``, after one warm-up call each;
    the calls are interleaved round by round."""
    for fn in fns.values():
        fn()
    times = {k: float("inf") for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k] = min(times[k], time.perf_counter() - t0)
    return times


def parts(model: EmbeddingModel, stream: EmbeddingModel, audio: np.ndarray, sr: int,
          hop: float, repeats: int, batch_size: int) -> dict[str, float]:
    """Milliseconds per window of each part of the computation at ``hop``."""
    mono = resample(audio, sr, model.sample_rate)
    frames, _ = frame_audio(mono, model.sample_rate, model.window, hop, True)
    wins = torch.from_numpy(np.array(frames, np.float32))
    n = wins.shape[0]
    net = _inference_net(model)
    fe = model.frontend
    hop_len = int(round(hop * model.sample_rate))
    start = -(model.window_samples // 2)

    def fe_windows():
        with torch.inference_mode():
            for i in range(0, n, batch_size):
                fe(wins[i:i + batch_size])

    def fe_stream():
        for _ in stream.frontend.window_logmels(mono, n, hop_len, start=start):
            pass

    with torch.inference_mode():
        logmel = fe(wins)

    def trunk():
        with torch.inference_mode():
            for i in range(0, n, batch_size):
                net.embed_logmel(logmel[i:i + batch_size])

    per = best({"front end, window by window": fe_windows,
                "front end, frame-once (stream)": fe_stream,
                "network alone (trunk + head)": trunk,
                "resampling (whole signal)": lambda: resample(audio, sr, 8000)}, repeats)
    return {k: 1e3 * v / n for k, v in per.items()} | {"windows": n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args, audio, sr = setup(ap)
    shipped = load_model(pretrained_path("sea", 128)).eval()
    stream = stream_copy(shipped)
    seconds = len(audio) / sr
    print(f"audio: {seconds:.1f} s of real UrbanSound8K fold-1 audio at {sr} Hz; torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}")
    print(f"model: sea_urban_128 ({shipped.config.family}), stream context "
          f"{stream.context_samples}")
    a = edgesea.get_embedding(audio[:sr * 5], sr, model=shipped)[0]
    b = edgesea.get_embedding(audio[:sr * 5], sr, model=stream)[0]
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    print(f"shipped vs stream embeddings (5 s, hop 0.1): cosine min {cos.min():.4f}, mean "
          f"{cos.mean():.4f} (the weights were trained with zero context at the edges)")
    print(f"{'hop (s)':>8} {'shipped x RT':>13} {'stream x RT':>12} {'ratio':>7}")
    results = {}
    for hop in HOPS:
        def run(m, hop=hop):
            return lambda: edgesea.get_embedding(audio, sr, model=m, hop_size=hop,
                                                 batch_size=args.batch_size)
        times = best({"shipped": run(shipped), "stream": run(stream)}, args.repeats)
        s, t = seconds / times["shipped"], seconds / times["stream"]
        results[hop] = (s, t)
        print(f"{hop:>8.1f} {s:>13.1f} {t:>12.1f} {t / s:>7.2f}")
    for hop in HOPS:
        p = parts(shipped, stream, audio, sr, hop, args.repeats, args.batch_size)
        n = p.pop("windows")
        print(f"per window at hop {hop} ({n} windows), ms:")
        for k, v in p.items():
            print(f"  {k:34s} {v:8.4f}")
        bound = seconds / (n * p["network alone (trunk + head)"] / 1e3)
        print(f"  network-only bound: {bound:.0f}x RT (the stream path cannot beat it)")
    s, t = results[0.1]
    print(f"target: stream >= 5x the shipped speed at hop 0.1: {t / s:.2f}x "
          f"({'met' if t / s >= 5 else 'not met'})")


if __name__ == "__main__":
    main()
