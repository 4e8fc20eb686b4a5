"""``get_embedding`` with an int8 ``.tflite`` (the model a device runs): the shipped
``sea_urban_128.int8`` through LiteRT on the stream front end, frames computed once.

Checked against the window-by-window computation (each window's own STFT over its context,
what ``edgesea embed --model NAME.int8`` computes), against a fresh interpreter (the cached
one is reused without changing any row), across batching, and against the float model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import edgesea
from edgesea.errors import EdgeSEAError, EdgeSEAWarning
from edgesea.packaged.names import resolve_model

pytest.importorskip("ai_edge_litert")

from edgesea.inference.api import _as_int8 as as_int8_embedder
from edgesea.inference.int8 import TFLiteEmbedder
from edgesea.runtime.litert import run_litert

ROOT = Path(__file__).resolve().parents[2]
CLIPS = [ROOT / "examples/audio/fold1/103074-7-0-2.flac",
         ROOT / "examples/audio/fold2/102871-8-0-10.flac"]
INT8 = "sea_urban_128.int8"


@pytest.fixture(scope="module")
def embedder() -> TFLiteEmbedder:
    return TFLiteEmbedder(resolve_model(INT8, kind="int8"))


@pytest.fixture(scope="module")
def clips() -> list[tuple[np.ndarray, int]]:
    return [sf.read(str(c), dtype="float32") for c in CLIPS]


def window_by_window(emb: TFLiteEmbedder, audio: np.ndarray, sr: int, hop_size: float
                     ) -> np.ndarray:
    """Each centred window cut from the signal with its stream context (zeros outside)
    and embedded alone through :meth:`TFLiteEmbedder.embed` (its own STFT)."""
    from edgesea.inference.api import _signal

    mono, start, hop, n, _ = _signal(audio, sr, emb, hop_size, True)
    left, right = emb.context_samples
    pad = left - start
    signal = np.concatenate([np.zeros(pad, np.float32), mono,
                             np.zeros(emb.window_samples + right + hop * n, np.float32)])
    wins = np.stack([signal[pad + start + i * hop - left:
                            pad + start + i * hop + emb.window_samples + right]
                     for i in range(n)])
    return emb.embed(wins)


@pytest.mark.parametrize("hop_size", [0.1, 0.37])
def test_int8_get_embedding_equals_window_by_window(embedder, clips, hop_size):
    """Frames computed once (hop 0.1: a multiple of the front end's hop) or per window
    (0.37 s): the int8 rows equal the window-by-window computation. Frame-once log-mels
    differ from per-window ones by float rounding, which may move an int8 input by one step
    in rare cells: allow at most 1% of the values to differ, by at most 2 output steps."""
    for audio, sr in clips:
        got, ts = edgesea.get_embedding(audio, sr, model=INT8, hop_size=hop_size)
        _, ts_float = edgesea.get_embedding(audio, sr, model="sea_urban_128",
                                            hop_size=hop_size)
        ref = window_by_window(embedder, audio, sr, hop_size)
        assert got.dtype == np.float32 and got.shape == ref.shape == (len(ts), 128)
        np.testing.assert_array_equal(ts, ts_float)
        step = embedder.quant.output_scale
        assert np.mean(got != ref) <= 0.01
        assert np.abs(got - ref).max() <= 2 * step + 1e-6


def test_int8_model_forms_and_batching(embedder, clips):
    """A packaged name, a path and a TFLiteEmbedder give the same rows; a list of inputs
    equals one-by-one calls exactly (each window runs alone); the cached interpreter's rows
    equal a fresh interpreter's."""
    (a, sr_a), (b, sr_b) = clips
    by_name = edgesea.get_embedding(a, sr_a, model=INT8)[0]
    by_path = edgesea.get_embedding(a, sr_a, model=resolve_model(INT8, kind="int8"))[0]
    by_obj = edgesea.get_embedding(a, sr_a, model=embedder, batch_size=7)[0]
    np.testing.assert_array_equal(by_name, by_path)
    np.testing.assert_array_equal(by_name, by_obj)
    embs, _ = edgesea.get_embedding([a, b], [sr_a, sr_b], model=INT8)
    np.testing.assert_array_equal(embs[0], by_name)
    np.testing.assert_array_equal(embs[1], edgesea.get_embedding(b, sr_b, model=INT8)[0])
    assert as_int8_embedder(INT8) is as_int8_embedder(INT8)  # cached, like float models
    assert as_int8_embedder("sea_urban_128") is None and as_int8_embedder(None) is None

    from edgesea.inference.api import model_inputs

    logmel, _ = model_inputs(a[:40000], sr_a, model="sea_urban_128")
    fresh = run_litert(embedder.data, logmel, xnnpack=True)[1]
    np.testing.assert_array_equal(embedder.embed_logmel(logmel), fresh)
    np.testing.assert_array_equal(embedder.embed_logmel(logmel), fresh)  # reused: same


def test_int8_tracks_the_float_model(clips):
    for audio, sr in clips:
        q = edgesea.get_embedding(audio, sr, model=INT8)[0]
        f = edgesea.get_embedding(audio, sr, model="sea_urban_128")[0]
        cos = (q * f).sum(1) / np.linalg.norm(q, axis=1) / np.linalg.norm(f, axis=1)
        assert cos.min() > 0.98 and cos.mean() > 0.99


def test_int8_errors(embedder, clips):
    audio, sr = clips[0]
    with pytest.raises(EdgeSEAError, match="get_embedding"):
        edgesea.get_model(INT8)  # loading needs a float model; the message says where int8 runs
    with pytest.raises(EdgeSEAError, match="num_threads"):
        TFLiteEmbedder(resolve_model(INT8, kind="int8"), num_threads=0)
    with pytest.raises(EdgeSEAError, match="hop_size"):
        edgesea.get_embedding(audio, sr, model=INT8, hop_size=0)
    with pytest.raises(EdgeSEAError, match="do not fit"):
        embedder.embed_logmel(np.zeros((2, 64, 49), np.float32))
    with pytest.warns(EdgeSEAWarning, match="shorter than one window"):
        assert edgesea.get_embedding(audio[:100], sr, model=INT8)[0].shape == (1, 128)


def test_process_file_with_an_int8_model(clips, tmp_path):
    """``process_file`` takes the int8 model too (as ``edgesea embed --model NAME.int8``):
    its ``.npz`` rows are the window-by-window int8 rows, provenance naming the .tflite;
    a rerun skips the file, another model's output is refused."""
    out = edgesea.process_file(str(CLIPS[0]), output_dir=tmp_path, model=INT8)
    with np.load(out[0]) as z:
        rows, stamps = z["embedding"], z["timestamps"]
        provenance = str(z["provenance"])
    got, ts = edgesea.get_embedding(*clips[0], model=INT8)
    np.testing.assert_allclose(stamps, ts)
    assert rows.shape == got.shape and np.mean(rows != got) <= 0.01
    assert f"\"model\": \"{as_int8_embedder(INT8).identity}\"" in provenance
    assert edgesea.process_file(str(CLIPS[0]), output_dir=tmp_path, model=INT8) == out
    with pytest.raises(EdgeSEAError, match="1 of 1 files failed"):
        edgesea.process_file(str(CLIPS[0]), output_dir=tmp_path, model="sea_urban_128")
