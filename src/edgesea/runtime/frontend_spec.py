"""The JSON that firmware needs to feed an exported model: front end and quantization.

An exported graph starts at the log-mel, so the device computes the front end itself.
:func:`frontend_spec` writes down every rule of the model's
:class:`~edgesea.frontend.logmel.LogMelSpectrogram` (framing and padding, window values, FFT,
sparse mel matrix, power, dB reference and floor) plus the int8 input/output quantization of
the exported model. :func:`reference_logmel` recomputes the log-mel from that JSON alone, in
NumPy, so tests can check that the file is complete (it matches the PyTorch front end).

A front end with padding ``"stream"`` reads the signal around each window instead of zeros;
its ``frontend.stream`` section gives the rules of a ring-buffer implementation: frame ``k``
of the continuous signal covers samples ``[k*hop - left, k*hop - left + n_fft)``, computed
once, and a window is the last ``n_frames`` frames.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from edgesea.errors import EdgeSEAError

if TYPE_CHECKING:
    from edgesea.frontend.logmel import LogMelSpectrogram

__all__ = ["SPEC_FORMAT", "frontend_spec", "quantize_input", "reference_logmel"]

SPEC_FORMAT = "edgesea-edge-spec"
SPEC_VERSION = 1


def _f32(values: np.ndarray) -> list:
    """float32 values as JSON numbers that round-trip exactly (9 significant digits)."""
    arr = np.asarray(values, dtype=np.float32)
    return [float(f"{v:.9g}") for v in arr.reshape(-1).tolist()]


def _padding(fe: LogMelSpectrogram, n: int) -> tuple[int, int]:
    """Zeros added (before, after) to a window of ``n`` samples, as ``fe._pad`` does (for
    ``"stream"``: the context, which is zeros only for a window alone)."""
    n_out = fe.n_frames(n)
    if fe.padding == "stream":
        return fe.context(n)
    if fe.padding == "same":
        total = max((n_out - 1) * fe.hop_length + fe.n_fft - n, 0)
        return total // 2, total - total // 2
    if fe.padding == "end":
        return 0, max((n_out - 1) * fe.hop_length + fe.n_fft - n, 0)
    if fe.padding == "center":
        return fe.n_fft // 2, fe.n_fft // 2
    return 0, 0


def _sparse_mel(fe: LogMelSpectrogram) -> dict[str, Any]:
    basis = np.asarray(fe.mel_basis).T  # (n_mels, n_bins), float32 as used by the model
    first, weights = [], []
    for row in basis:
        nz = np.flatnonzero(row)
        if nz.size == 0:
            first.append(0)
            weights.append([])
            continue
        first.append(int(nz[0]))
        weights.append(_f32(row[nz[0]:nz[-1] + 1]))
    return {"n_bins": int(basis.shape[1]), "first_bin": first, "weights": weights,
            "layout": "band m uses bins first_bin[m] .. first_bin[m] + len(weights[m]) - 1"}


def frontend_spec(fe: LogMelSpectrogram, window_samples: int, *, model: dict[str, Any],
                  input_quant: dict[str, Any] | None, output_quant: dict[str, Any] | None,
                  emb_dim: int) -> dict[str, Any]:
    """Everything firmware needs to compute the model's input and read its output.

    Parameters
    ----------
    fe : LogMelSpectrogram
        The model's front end (its :meth:`~LogMelSpectrogram.config` is copied verbatim).
    window_samples : int
        Samples per analysis window (1 s at the model rate for SEA students).
    model : dict
        Free-form description of the exported model (name, files, emb_dim...).
    input_quant, output_quant : dict or None
        ``{"scale": float, "zero_point": int, "dtype": "int8"}`` of the int8 model's input and
        output; None for a float model.
    emb_dim : int
        Width of the embedding.

    Returns
    -------
    dict
        A JSON-serialisable document (see ``docs/edge.md``).
    """
    n_frames = fe.n_frames(window_samples)
    left, right = _padding(fe, window_samples)
    cfg = fe.config()
    if fe.padding == "stream":
        pad_step = (f"2. context: the {left} samples before the window and the {right} after "
                    f"it, from the continuous signal (zeros before its first sample and "
                    f"after its last); padded = before + window + after "
                    f"({window_samples + left + right} samples; see frontend.stream)")
    else:
        pad_step = (f"2. pad: {left} zeros before and {right} after the window (padding "
                    f"'{fe.padding}')")
    steps = [
        f"1. audio: mono (mean of channels), float in [-1, 1] (int16 PCM / 32768), resampled "
        f"to {fe.sample_rate} Hz; one window = {window_samples} samples",
        pad_step,
        f"3. frames: frame t = padded[t*{fe.hop_length} : t*{fe.hop_length} + {fe.n_fft}], "
        f"t = 0 .. {n_frames - 1}",
        "4. multiply each frame by window_values, real FFT of n_fft points, "
        "P[k] = re^2 + im^2 for k = 0 .. n_fft/2",
    ]
    if fe.spectrum == "power":
        steps.append(f"5. mel[m] = sum_k mel_matrix[m][k] * P[k], then mel = mel ** "
                     f"({fe.power:g} / 2)")
    else:
        steps.append(f"5. mel[m] = sum_k mel_matrix[m][k] * sqrt(P[k]), then mel = mel ** "
                     f"{fe.power:g}")
    if fe.db:
        ref = ("x -= max over the whole window (0 dB peak)" if fe.ref == "max"
               else f"x -= 10*log10({fe.ref!r})")
        floor = (f"x = max(x, peak - {fe.top_db:g}) where peak is the window maximum after "
                 "the reference step" if fe.top_db is not None else "no floor")
        steps.append(f"6. x = 10*log10(max(mel, {fe.amin:g})); {ref}; {floor}")
    else:
        steps.append("6. x = mel (no dB conversion)")
    steps.append(f"7. input tensor: x as (1, {fe.n_mels}, {n_frames}), row-major: band-major "
                 f"(index = m * {n_frames} + t)")
    if input_quant is not None:
        steps.append("8. quantize: q = clamp(round(x / input.scale) + input.zero_point, "
                     "-128, 127) as int8")
    if output_quant is not None:
        steps.append("9. embedding: e = output.scale * (q_out - output.zero_point)")
    frontend = {
        "config": cfg, "n_frames": int(n_frames), "pad_before": int(left),
        "pad_after": int(right), "window_values": _f32(np.asarray(fe.window)),
        "mel_matrix": _sparse_mel(fe),
    }
    if fe.padding == "stream":
        frontend["stream"] = _stream_rules(fe, window_samples, n_frames, left, right)
    return {
        "format": SPEC_FORMAT, "format_version": SPEC_VERSION,
        "model": model,
        "audio": {"sample_rate": fe.sample_rate, "window_samples": int(window_samples),
                  "window_seconds": window_samples / fe.sample_rate, "channels": "mono"},
        "frontend": frontend,
        "steps": steps,
        "input": {"shape": [1, fe.n_mels, int(n_frames)], "layout": "row-major (mel, frame)",
                  **(input_quant or {"dtype": "float32"})},
        "output": {"shape": [1, int(emb_dim)], **(output_quant or {"dtype": "float32"})},
    }


def _stream_rules(fe: LogMelSpectrogram, window_samples: int, n_frames: int, left: int,
                  right: int) -> dict[str, Any]:
    """The ``frontend.stream`` section: how frames of the continuous signal make windows."""
    hop = fe.hop_length
    return {
        "context_before": int(left), "context_after": int(right), "frame_hop": int(hop),
        "frame": f"frame k of the stream covers samples [k*{hop} - {left}, k*{hop} - {left} "
                 f"+ {fe.n_fft}) of the continuous signal (sample 0 = the first; zeros "
                 f"before it), k = 0, 1, 2, ...; steps 4-6 up to and including the "
                 f"logarithm apply to each frame once",
        "window": f"the window of samples [s, s + {window_samples}) with s a multiple of "
                  f"{hop} is frames s/{hop} .. s/{hop} + {n_frames - 1}: the last "
                  f"{n_frames} frames once the samples up to s + {window_samples + right} "
                  f"have arrived (a latency of {right} samples after the window ends)",
        "reference": "the dB reference and floor of step 6 (when the reference is the "
                     "window maximum) are applied per window, to a copy of its frames",
        "ring_buffer": f"keep the last {fe.n_fft} samples and the last {n_frames} frames "
                       f"(log-mel before the reference step); every {hop} new samples "
                       f"compute one frame; at each window hop (a multiple of {hop} "
                       f"samples) the last {n_frames} frames, after the reference step, "
                       f"are the model input",
        "window_hop_multiple": int(hop),
    }


def reference_logmel(spec: dict[str, Any], window: np.ndarray) -> np.ndarray:
    """Log-mel ``(n_mels, n_frames)`` of one window, computed from ``spec`` alone (NumPy).

    A plain transcription of ``spec["steps"]`` for checking that the JSON is complete; it
    is not used for inference. ``window`` has ``window_samples`` samples (padded with
    zeros), or, for a ``"stream"`` front end, ``pad_before + window_samples + pad_after``:
    the window with its context from the signal.
    """
    fe = spec["frontend"]
    cfg = fe["config"]
    x = np.asarray(window, dtype=np.float64).reshape(-1)
    n_win = spec["audio"]["window_samples"]
    with_context = n_win + fe["pad_before"] + fe["pad_after"]
    if cfg.get("padding") == "stream" and x.shape[0] == with_context:
        padded = x
    elif x.shape[0] != n_win:
        raise EdgeSEAError(f"window has {x.shape[0]} samples: expected {n_win}"
                           + (f" or {with_context} with its context"
                              if cfg.get("padding") == "stream" else ""))
    else:
        padded = np.concatenate([np.zeros(fe["pad_before"]), x, np.zeros(fe["pad_after"])])
    n_fft, hop, n_frames = cfg["n_fft"], cfg["hop_length"], fe["n_frames"]
    win = np.asarray(fe["window_values"], dtype=np.float64)
    frames = np.stack([padded[t * hop:t * hop + n_fft] for t in range(n_frames)])
    power = np.abs(np.fft.rfft(frames * win, axis=1)) ** 2  # (T, n_bins)
    sparse = fe["mel_matrix"]
    mel_m = np.zeros((len(sparse["first_bin"]), sparse["n_bins"]))
    for m, (b, w) in enumerate(zip(sparse["first_bin"], sparse["weights"], strict=True)):
        mel_m[m, b:b + len(w)] = w
    if cfg["spectrum"] == "power":
        mel = (mel_m @ power.T) ** (cfg["power"] / 2.0)
    else:
        mel = (mel_m @ np.sqrt(power).T) ** cfg["power"]
    if not cfg["db"]:
        return mel.astype(np.float32)
    out = 10.0 * np.log10(np.maximum(mel, cfg["amin"]))
    if cfg["ref"] == "max":
        out -= out.max()
        peak = 0.0
    else:
        out -= 10.0 * math.log10(float(cfg["ref"]))
        peak = out.max()
    if cfg["top_db"] is not None:
        out = np.maximum(out, peak - cfg["top_db"])
    return out.astype(np.float32)


def quantize_input(logmel: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """``clamp(round(x / scale) + zero_point, -128, 127)`` as int8 (the TFLite rule)."""
    q = np.round(np.asarray(logmel, dtype=np.float32) / np.float32(scale)) + int(zero_point)
    return np.clip(q, -128, 127).astype(np.int8)
