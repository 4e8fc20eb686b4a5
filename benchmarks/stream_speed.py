"""Stream front end speed: the shipped sea_urban_128 weights window by window (every window
computes its own STFT) against the shipped ``"stream"`` front end (frames computed once on the
continuous signal, sliced per window; only the network runs once per window).

End to end from the array as ``edgesea.get_embedding`` does it (validation, resampling to the
model's rate, front end, network). Three things are timed at hop 0.1 and 0.5 s:

- ``today``: window by window (the same weights with kapre's zero 'same' padding, the wave-1
  front end) through the TorchScript-frozen trunk that ``for_inference`` used before
  :class:`~edgesea.models.inference.PackedTrunk`: the "today's speed" of the issue;
- ``window``: window by window with the current inference trunk;
- ``stream``: the shipped stream model as ``get_embedding`` runs it now (and, for the
  before/after of the trunk alone, ``stream-ts``: the same with the TorchScript trunk);
- ``int8``: the shipped int8 ``sea_urban_128.int8.tflite`` (the model the device runs)
  through ``get_embedding``: the same stream front end (frames computed once), the network
  run by LiteRT (XNNPACK), one window at a time.

It prints x real time and the ratios stream / today (the issue's target: >= 5x at hop 0.1)
and stream / window (the front end's share alone), then the per-window cost of each part
(front end window by window, front end frame-once, network with each trunk, resampling),
which bounds what the fast path can reach. The timings of the things compared are interleaved
(one of each per round, best of ``--repeats`` rounds), so a machine whose load changes
favours none of them.

Usage: python benchmarks/stream_speed.py [--seconds 60] [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
from embed_speed import setup

import edgesea
from edgesea.audio.io import resample
from edgesea.audio.windows import frame_audio
from edgesea.inference.api import _inference_net
from edgesea.models import EmbeddingModel, ModelConfig, load_model
from edgesea.models.inference import InferenceEmbedder, fold_batchnorm, torchscript_trunk
from edgesea.packaged.names import pretrained_path

HOPS = (0.1, 0.5)


def padded_copy(model: EmbeddingModel, padding: str) -> EmbeddingModel:
    """``model``'s weights with the front end's ``padding`` (``"same"``: zero context, each
    window framed alone; ``"stream"``: real context, frames shared between windows)."""
    data = model.config.to_dict()
    fe = {k: v for k, v in data["frontend"].items() if k != "window_samples"}
    fe["padding"] = padding
    if padding == "stream":
        fe["window_samples"] = model.window_samples
    data["frontend"] = fe
    out = EmbeddingModel(ModelConfig.from_dict(data), dict(model.metadata))
    out.load_state_dict(model.state_dict())
    return out.eval()


def torchscript_embedder(model: EmbeddingModel) -> InferenceEmbedder:
    """``model.for_inference()`` with the TorchScript-frozen trunk (the pre-PackedTrunk one)."""
    net = model.for_inference()
    fe = model.frontend
    example = torch.zeros(2, 1, fe.n_mels, fe.n_frames(model.window_samples))
    net.features = torchscript_trunk(fold_batchnorm(model.features), example)
    net.channels_last = False
    return net


def with_today_trunk(model: EmbeddingModel) -> EmbeddingModel:
    """``model`` whose ``get_embedding`` runs :func:`torchscript_embedder` (this object only:
    ``edgesea.inference.api`` caches inference copies per model object)."""
    net = torchscript_embedder(model)
    model.for_inference = lambda: net  # type: ignore[method-assign]
    return model


def best(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
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


def parts(window: EmbeddingModel, stream: EmbeddingModel, audio: np.ndarray, sr: int,
          hop: float, repeats: int, batch_size: int) -> dict[str, float]:
    """Milliseconds per window of each part of the computation at ``hop``."""
    rate = window.sample_rate
    mono = resample(audio, sr, rate)
    frames, _ = frame_audio(mono, rate, window.window, hop, True)
    wins = torch.from_numpy(np.array(frames, np.float32))
    n = wins.shape[0]
    packed, today = _inference_net(stream), torchscript_embedder(stream)
    fe = window.frontend
    hop_len = int(round(hop * rate))
    start = -(window.window_samples // 2)

    def fe_windows() -> None:
        with torch.inference_mode():
            for i in range(0, n, batch_size):
                fe(wins[i:i + batch_size])

    def fe_stream() -> None:
        for _ in stream.frontend.window_logmels(mono, n, hop_len, start=start):
            pass

    with torch.inference_mode():
        logmel = fe(wins)

    def trunk(net: InferenceEmbedder) -> Callable[[], None]:
        def run() -> None:
            with torch.inference_mode():
                for i in range(0, n, batch_size):
                    net.embed_logmel(logmel[i:i + batch_size])
        return run

    from edgesea.inference.api import _as_int8

    int8 = _as_int8("sea_urban_128.int8")
    logmel_np = logmel.numpy()

    def int8_net() -> None:
        for i in range(0, n, batch_size):
            int8.embed_logmel(logmel_np[i:i + batch_size])

    per = best({"front end, window by window": fe_windows,
                "front end, frame-once (stream)": fe_stream,
                "network, packed trunk (now)": trunk(packed),
                "network, TorchScript trunk (today)": trunk(today),
                "network, int8 LiteRT (XNNPACK)": int8_net,
                "resampling (whole signal)": lambda: resample(audio, sr, rate)}, repeats)
    return {k: 1e3 * v / n for k, v in per.items()} | {"windows": n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args, audio, sr = setup(ap)
    shipped = load_model(pretrained_path("sea", 128)).eval()
    stream = padded_copy(shipped, "stream")
    models = {"today": with_today_trunk(padded_copy(shipped, "same")),
              "window": padded_copy(shipped, "same"), "stream": stream,
              "stream-ts": with_today_trunk(padded_copy(shipped, "stream")),
              "int8": "sea_urban_128.int8"}
    seconds = len(audio) / sr
    print(f"audio: {seconds:.1f} s of real UrbanSound8K fold-1 audio at {sr} Hz; torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}")
    print(f"model: sea_urban_128 ({shipped.config.family}, {shipped.sample_rate} Hz, front end "
          f"{shipped.frontend.padding!r}), stream context {stream.context_samples}; inference "
          f"trunk now: {type(_inference_net(stream).features).__name__}")
    a = edgesea.get_embedding(audio[:sr * 5], sr, model=models["today"])[0]
    c = edgesea.get_embedding(audio[:sr * 5], sr, model=models["window"])[0]
    b = edgesea.get_embedding(audio[:sr * 5], sr, model=stream)[0]
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    print(f"window-by-window trunks today vs now (5 s, hop 0.1): max abs diff "
          f"{np.abs(a - c).max():.2e}")
    print(f"zero-context ('same') vs stream embeddings: cosine min {cos.min():.4f}, mean "
          f"{cos.mean():.4f} (real context at the window edges)")
    d = edgesea.get_embedding(audio[:sr * 5], sr, model=models["int8"])[0]
    cos8 = (d * b).sum(1) / np.linalg.norm(d, axis=1) / np.linalg.norm(b, axis=1)
    print(f"int8 (LiteRT) vs float stream embeddings: cosine min {cos8.min():.4f}, mean "
          f"{cos8.mean():.4f}")
    print(f"{'hop (s)':>8} {'today x RT':>11} {'window x RT':>12} {'stream-ts x RT':>15} "
          f"{'stream x RT':>12} {'int8 x RT':>10} {'stream/today':>13} {'stream/window':>14} "
          f"{'int8/today':>11}")
    results = {}
    for hop in HOPS:
        def run(m: EmbeddingModel | str, hop: float = hop) -> Callable[[], object]:
            return lambda: edgesea.get_embedding(audio, sr, model=m, hop_size=hop,
                                                 batch_size=args.batch_size)
        times = best({k: run(m) for k, m in models.items()}, args.repeats)
        x = {k: seconds / v for k, v in times.items()}
        results[hop] = x
        print(f"{hop:>8.1f} {x['today']:>11.1f} {x['window']:>12.1f} {x['stream-ts']:>15.1f} "
              f"{x['stream']:>12.1f} {x['int8']:>10.1f} "
              f"{x['stream'] / x['today']:>13.2f} {x['stream'] / x['window']:>14.2f} "
              f"{x['int8'] / x['today']:>11.2f}")
    for hop in HOPS:
        p = parts(models["window"], stream, audio, sr, hop, args.repeats, args.batch_size)
        n = p.pop("windows")
        print(f"per window at hop {hop} ({n} windows), ms:")
        for k, v in p.items():
            print(f"  {k:36s} {v:8.4f}")
        bound = seconds / (n * p["network, packed trunk (now)"] / 1e3)
        print(f"  network-only bound: {bound:.0f}x RT (the stream path cannot beat it)")
    x = results[0.1]
    ratio = x["stream"] / x["today"]
    print(f"target: stream >= 5x today's window-by-window speed at hop 0.1: {ratio:.2f}x "
          f"({'met' if ratio >= 5 else 'not met'}); "
          f"{x['stream'] / x['window']:.2f}x the window-by-window speed with the same trunk; "
          f"the int8 model through the same front end: {x['int8'] / x['today']:.2f}x")


if __name__ == "__main__":
    main()
