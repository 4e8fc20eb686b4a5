"""The ``"stream"`` front end: a window framed as 'same' padding frames it, with the samples
around it taken from the signal; the frame-once fast path of ``get_embedding`` equals the
window-by-window computation; model files, validation, training inputs and the firmware
spec know the padding."""

from __future__ import annotations

import copy
import json
import pickle
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import edgesea.frontend.logmel as frontend_mod
from edgesea import get_embedding
from edgesea.audio.io import load_audio, resample, to_float_mono
from edgesea.audio.windows import n_windows
from edgesea.errors import EdgeSEAError
from edgesea.export import frontend_spec, reference_logmel
from edgesea.frontend.logmel import LogMelSpectrogram
from edgesea.inference.api import model_inputs
from edgesea.inference.batching import _inference_net
from edgesea.models import (
    ModelConfig,
    load_model,
    save_model,
    sea_mcu_student,
    sea_student,
    student_frontend,
)
from edgesea.specialize.stages import student_inputs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "audio" / "fold1"


def _signal(seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    """A gliding tone with noise and a slow envelope (level changes between windows)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * sr))) / sr
    x = 0.3 * np.sin(2 * np.pi * 300 * t * (1 + 0.3 * np.sin(2 * np.pi * 0.4 * t)))
    x = (x + 0.05 * rng.standard_normal(t.size)) * (0.55 + 0.45 * np.sin(2 * np.pi * 0.7 * t))
    return x.astype(np.float32)


@pytest.fixture(scope="module")
def stream_model():
    """A small stream student whose BatchNorm statistics are not the initial ones."""
    torch.manual_seed(0)
    model = sea_mcu_student(16, blocks=[[8, 8], [16], [16, 16]], stream=True)
    with torch.no_grad():
        model.train()
        for _ in range(3):
            model(0.1 * torch.randn(8, model.window_samples))
    return model.eval()


def _context_windows(model, audio: np.ndarray, hop_size: float, center: bool) -> np.ndarray:
    """Each window of ``frame_audio``'s layout with its real context (zeros outside the
    audio), built by hand: ``(T, left + window + right)``."""
    w = model.window_samples
    left, right = model.context_samples
    hop = int(round(hop_size * model.sample_rate))
    n = n_windows(len(audio), model.sample_rate, model.window, hop_size, center)
    front = w // 2 if center else 0
    pad = left + front
    sig = np.zeros(pad + (n - 1) * hop + w + right + len(audio), np.float32)
    sig[pad:pad + len(audio)] = audio
    return np.stack([sig[i * hop:i * hop + left + w + right] for i in range(n)])


# --- (a) the front end ------------------------------------------------------------------

@pytest.mark.parametrize("sr", [8000, 16000])
@pytest.mark.parametrize("level", ["window", "absolute"])
def test_bare_window_equals_same_padding(sr, level):
    same, stream = student_frontend(sr, level), student_frontend(sr, level, stream=True)
    assert stream.padding == "stream" and stream.window_samples == sr
    assert stream.context() == ((432, 432) if sr == 8000 else (352, 352))
    assert same.context() == (0, 0)
    x = torch.from_numpy(np.stack([_signal(1.0, sr, s) for s in range(3)]))
    a, b = same(x), stream(x)
    assert a.shape == b.shape == (3, 64, 50)
    assert torch.equal(a, b)
    assert stream.n_frames(sr) == stream.n_frames(sr + sum(stream.context())) == 50


def test_window_with_context_is_framed_without_padding():
    fe = student_frontend(8000, stream=True)
    left, right = fe.context()
    x = torch.from_numpy(_signal(2.0, 8000)[None, 1000:1000 + 8000 + left + right])
    valid = LogMelSpectrogram.from_config({**student_frontend(8000).config(),
                                           "padding": "valid"})
    assert torch.equal(fe(x), valid(x))
    zero_context = torch.nn.functional.pad(x[:, left:left + 8000], (left, right))
    assert torch.equal(fe(zero_context), student_frontend(8000)(x[:, left:left + 8000]))
    with pytest.raises(EdgeSEAError, match="stream"):
        fe(x[:, :8500])


def test_context_of_windows_that_are_not_hop_multiples():
    fe = LogMelSpectrogram(8000, 1024, 160, 64, padding="stream", window_samples=8100)
    same = LogMelSpectrogram(8000, 1024, 160, 64, padding="same")
    left, right = fe.context()
    assert (left, right) == same._same_padding(8100)
    x = torch.from_numpy(_signal(1.0125, 8000)[None])
    assert torch.equal(fe(x), same(x))


@pytest.mark.parametrize("kwargs,match", [
    ({"padding": "stream"}, "window_samples"),
    ({"padding": "stream", "window_samples": 0}, "window_samples"),
    ({"padding": "stream", "window_samples": True}, "window_samples"),
    ({"padding": "stream", "window_samples": 8000.0}, "window_samples"),
    ({"padding": "same", "window_samples": 8000}, "only used"),
])
def test_bad_stream_settings(kwargs, match):
    with pytest.raises(EdgeSEAError, match=match):
        LogMelSpectrogram(8000, 1024, 160, 64, **kwargs)


@pytest.mark.parametrize("hop", [160, 800, 4000, 8000, 840, 12000])
def test_window_logmels_equal_each_window_alone(hop):
    fe = student_frontend(8000, stream=True)
    sig = _signal(3.3, 8000, 1)
    n = 1 + (len(sig) + 4000 - 8000) // hop + 2
    got = torch.cat(list(fe.window_logmels(sig, n, hop, start=-4000, block=7)))
    left = 432
    padded = np.zeros(left + 4000 + n * hop + 8000 + 432, np.float32)
    padded[left + 4000:left + 4000 + len(sig)] = sig
    want = fe(torch.from_numpy(np.stack([padded[i * hop:i * hop + 8864] for i in range(n)])))
    assert got.shape == (n, 64, 50)
    torch.testing.assert_close(got, want, atol=1e-4, rtol=0)
    # blocks only bound memory
    again = torch.cat(list(fe.window_logmels(sig, n, hop, start=-4000)))
    torch.testing.assert_close(again, got, atol=1e-4, rtol=0)


def test_window_logmels_of_other_paddings_are_the_bare_windows():
    fe = student_frontend(8000)
    sig = _signal(2.5, 8000, 2)
    got = torch.cat(list(fe.window_logmels(sig, 10, 800, n_window=8000, block=3)))
    padded = np.zeros(len(sig) + 10 * 800 + 8000, np.float32)
    padded[:len(sig)] = sig
    want = fe(torch.from_numpy(np.stack([padded[i * 800:i * 800 + 8000] for i in range(10)])))
    assert torch.equal(got, want)


# --- (b) the fast path of get_embedding ---------------------------------------------------

@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("hop_size", [0.1, 0.5, 0.02, 0.105, 1.5])
def test_fast_path_equals_window_by_window(stream_model, hop_size, center):
    audio = _signal(3.37, 8000, 3)  # not a multiple of any hop
    emb, ts = get_embedding(audio, 8000, model=stream_model, hop_size=hop_size,
                            center=center, batch_size=16)
    wins = _context_windows(stream_model, audio, hop_size, center)
    n = n_windows(len(audio), 8000, 1.0, hop_size, center)
    assert emb.shape == (n, 16) and wins.shape == (n, 8864)
    np.testing.assert_allclose(ts, np.arange(n) * hop_size)
    with torch.inference_mode():
        fast_net = _inference_net(stream_model)(torch.from_numpy(wins)).numpy()
        eager = stream_model(torch.from_numpy(wins)).numpy()
    np.testing.assert_allclose(emb, fast_net, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(emb, eager, atol=1e-4, rtol=1e-4)
    # the real context matters: the inputs differ from zero context ('same') at the edges
    logmel, _ = model_inputs(audio, 8000, model=stream_model, hop_size=hop_size, center=center)
    with torch.inference_mode():
        zero_ctx = stream_model.frontend(torch.from_numpy(wins[:, 432:432 + 8000])).numpy()
        with_ctx = stream_model.frontend(torch.from_numpy(wins)).numpy()
    np.testing.assert_allclose(logmel, with_ctx, atol=1e-4, rtol=0)
    assert np.abs(logmel - zero_ctx)[..., [0, 1, -2, -1]].max() > 1.0


@pytest.fixture
def frame_logmel_calls(monkeypatch):
    """The input shapes of every ``LogMelSpectrogram.frame_logmel`` call (a spy)."""
    calls = []
    original = frontend_mod.LogMelSpectrogram.frame_logmel

    def spy(self, x):
        calls.append(tuple(x.shape))
        return original(self, x)

    monkeypatch.setattr(frontend_mod.LogMelSpectrogram, "frame_logmel", spy)
    return calls


def test_fast_path_frames_the_signal_once(stream_model, frame_logmel_calls):
    calls = frame_logmel_calls
    audio = _signal(6.0, 8000, 4)
    get_embedding(audio, 8000, model=stream_model, hop_size=0.1)
    assert calls and all(c[0] == 1 for c in calls)  # one continuous segment per block
    frames = sum(1 + (c[1] - 1024) // 160 for c in calls)
    assert frames < 2 * (len(audio) // 160 + 100)  # not 50 frames per window
    calls.clear()
    get_embedding(audio, 8000, model=stream_model, hop_size=0.105)  # not a frame multiple
    assert all(c[1] == 8864 for c in calls)


def test_fast_path_lists_resampling_and_stereo(stream_model):
    a = _signal(2.2, 16000, 5)
    b = np.stack([_signal(1.7, 22050, 6), _signal(1.7, 22050, 7)], axis=1)
    embs, stamps = get_embedding([a, b], [16000, 22050], model=stream_model, batch_size=8)
    for x, sr, e, t in zip([a, b], [16000, 22050], embs, stamps, strict=True):
        one, ts = get_embedding(x, sr, model=stream_model, batch_size=8)
        np.testing.assert_array_equal(e, one)
        np.testing.assert_array_equal(t, ts)
        mono = resample(to_float_mono(x), sr, 8000)
        wins = _context_windows(stream_model, mono, 0.1, True)
        with torch.inference_mode():
            want = _inference_net(stream_model)(torch.from_numpy(wins)).numpy()
        np.testing.assert_allclose(e, want, atol=1e-5, rtol=1e-5)


def test_short_and_silent_audio_warn_as_before(stream_model):
    with pytest.warns(UserWarning, match="shorter than one window"):
        emb, ts = get_embedding(_signal(0.3, 8000), 8000, model=stream_model)
    assert emb.shape[0] == len(ts) == n_windows(2400, 8000, 1.0, 0.1, True)
    with pytest.warns(UserWarning, match="all zeros"):
        get_embedding(np.zeros(9000, np.float32), 8000, model=stream_model)


#: Fast path (BN folded, oneDNN trunk, frames computed once) vs the unfused eager model on
#: each window alone: max |difference| <= FAST_TOL * (1 + max |reference|). Measured: float
#: rounding 3e-8 (small model) and 9e-6 (shipped, |embedding| up to ~12, allowed 2.6e-4); one
#: BatchNorm folded without its running mean 8e-3, all without their epsilon 3e-4 (allowed
#: 2.5e-5 for the small model).
FAST_TOL = 2e-5


def _shipped_stream():
    from edgesea.packaged.names import pretrained_path

    return load_model(pretrained_path("sea", 128)).eval()


def _fast_vs_unfused(model, seconds: float, batch_size: int = 64) -> tuple[float, float]:
    """(max abs difference, allowed) of get_embedding at hop 0.1 against ``model(window)``
    (the unfused eager model, each window's own STFT with its real context)."""
    sr = model.sample_rate
    audio = _signal(seconds, sr, 11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # shorter than one window
        emb, _ = get_embedding(audio, sr, model=model, hop_size=0.1, batch_size=batch_size)
    wins = _context_windows(model, audio, 0.1, True)
    with torch.inference_mode():
        ref = model.eval()(torch.from_numpy(wins)).numpy()
    assert emb.shape == ref.shape
    return float(np.abs(emb - ref).max()), FAST_TOL * (1.0 + float(np.abs(ref).max()))


@pytest.mark.parametrize("which", ["small", "shipped"])
@pytest.mark.parametrize("seconds", [0.37, 1.0, 2.37, 6.05])
def test_fast_path_equals_unfused_window_by_window(stream_model, which, seconds):
    """Shorter than a window, one window, and lengths that are not a multiple of the hop;
    the small model's BatchNorm statistics are not the initial ones, the shipped model has
    the real widths (24 to 256 channels, 16 kHz)."""
    model = stream_model if which == "small" else _shipped_stream()
    if torch.backends.mkldnn.is_available():
        assert type(_inference_net(model).features).__name__ == "PackedTrunk"
    for batch_size in (64, 5):
        diff, allowed = _fast_vs_unfused(model, seconds, batch_size)
        assert diff <= allowed, (diff, allowed)


def test_fast_path_check_catches_a_wrong_batchnorm_fold(stream_model, monkeypatch):
    """The comparison above fails when a folded BatchNorm is wrong (its running mean or its
    epsilon ignored)."""
    import edgesea.models.inference as inference_mod
    from edgesea.models.inference import fold_batchnorm

    def wrong_fold(features, bug):
        broken = copy.deepcopy(features)
        bns = [m for m in broken if isinstance(m, torch.nn.BatchNorm2d)]
        if bug == "mean":
            bns[len(bns) // 2].running_mean.zero_()  # one BN in the middle of the trunk
        else:
            for bn in bns:
                bn.eps = 0.0
        return fold_batchnorm(broken)

    for bug in ("mean", "eps"):
        monkeypatch.setattr(inference_mod, "fold_batchnorm", lambda f, bug=bug: wrong_fold(f, bug))
        model = copy.deepcopy(stream_model)  # a new object: not the cached inference copy
        diff, allowed = _fast_vs_unfused(model, 2.37)
        assert diff > allowed, (bug, diff, allowed)


def test_inference_copy_leaves_the_model_and_copies(stream_model):
    """for_inference never changes the trainable model; its copies (deepcopy, pickle) run."""
    before = {k: v.clone() for k, v in stream_model.state_dict().items()}
    stream_model.train()
    net = stream_model.for_inference()
    assert stream_model.training
    stream_model.eval()
    for k, v in stream_model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert isinstance(stream_model.features[1], torch.nn.BatchNorm2d)
    x = torch.from_numpy(_context_windows(stream_model, _signal(1.5, 8000), 0.5, True))
    with torch.inference_mode():
        want = net(x)
        assert torch.equal(copy.deepcopy(net)(x), want)
        assert torch.equal(pickle.loads(pickle.dumps(net))(x), want)


def test_non_stream_models_are_unchanged():
    torch.manual_seed(3)
    model = sea_mcu_student(16, blocks=[[8, 8], [16], [16, 16]]).eval()
    assert model.context_samples == (0, 0)
    audio = _signal(2.5, 8000, 8)
    emb, _ = get_embedding(audio, 8000, model=model, hop_size=0.25)
    logmel, _ = model_inputs(audio, 8000, model=model, hop_size=0.25)
    with torch.inference_mode():
        want = _inference_net(model).embed_logmel(torch.from_numpy(logmel)).numpy()
    np.testing.assert_allclose(emb, want, atol=1e-6, rtol=1e-6)


# --- (c) model files and validation -------------------------------------------------------

def test_config_round_trip_through_model_files(stream_model, tmp_path):
    assert stream_model.context_samples == (432, 432)
    path = save_model(stream_model, tmp_path / "stream.safetensors")
    loaded = load_model(path).eval()
    assert loaded.config.to_dict() == stream_model.config.to_dict()
    assert loaded.frontend.config() == stream_model.frontend.config()
    assert loaded.frontend.config()["padding"] == "stream"
    assert loaded.frontend.config()["window_samples"] == 8000
    assert LogMelSpectrogram.from_config(loaded.frontend.config()).config() == \
        loaded.frontend.config()
    assert loaded.context_samples == (432, 432)
    assert loaded.for_inference().context_samples == (432, 432)
    x = torch.from_numpy(_context_windows(stream_model, _signal(2.0, 8000), 0.5, True))
    with torch.inference_mode():
        assert torch.equal(loaded(x), stream_model(x))
        assert torch.equal(loaded(x[:, 432:-432]), stream_model(x[:, 432:-432]))
    audio = _signal(2.0, 8000, 9)
    np.testing.assert_array_equal(get_embedding(audio, 8000, model=path)[0],
                                  get_embedding(audio, 8000, model=stream_model)[0])


def test_builders_and_16k():
    m = sea_student(16, head="linear", filters=(4, 4, 8, 8), sample_rate=16000,
                    stream=True).eval()
    assert m.context_samples == (352, 352)
    assert m(torch.zeros(2, 16000 + 704)).shape == (2, 16)
    assert sea_student(16, head="linear", filters=(4, 4, 8, 8)).context_samples == (0, 0)
    assert student_frontend().config() == student_frontend(stream=False).config()
    assert "window_samples" not in student_frontend().config()
    with pytest.raises(EdgeSEAError, match="stream"):
        student_frontend(stream="yes")


@pytest.mark.parametrize("change,match", [
    ({"window_samples": 4000}, "differs from the model's window"),
    ({"window_samples": 1 << 40}, "window_samples"),
    ({"window_samples": -1}, "window_samples"),
    ({"window_samples": "8000"}, "window_samples"),
    ({"window_samples": None}, "window_samples"),
    ({"padding": "same"}, "only used with padding 'stream'"),
    ({"padding": "STREAM"}, "padding"),
])
def test_hostile_stream_configs_are_refused(stream_model, change, match):
    data = stream_model.config.to_dict()
    data["frontend"] = {**data["frontend"], **change}
    with pytest.raises(EdgeSEAError, match=match):
        ModelConfig.from_dict(data)
    data["frontend"].pop("window_samples")
    if data["frontend"]["padding"] == "stream":
        with pytest.raises(EdgeSEAError, match="window_samples"):
            ModelConfig.from_dict(data)


# --- (d) training inputs ------------------------------------------------------------------

@pytest.mark.parametrize("center,hop_size", [(True, 0.1), (False, 0.25)])
def test_student_inputs_match_the_api(stream_model, tmp_path, center, hop_size):
    clips = sorted(EXAMPLES.glob("*.flac"))[:2]
    assert clips, f"no example audio in {EXAMPLES}"
    entries, want = [], []
    for clip in clips:
        audio, sr = load_audio(clip)
        logmel, _ = model_inputs(audio, sr, model=stream_model, hop_size=hop_size,
                                 center=center)
        entries.append(SimpleNamespace(path=clip.name, status="ok", n_windows=len(logmel)))
        want.append(logmel)
    n = sum(e.n_windows for e in entries)
    store = SimpleNamespace(
        files=entries, root=tmp_path, manifest={"hop_size": hop_size, "center": center},
        load=lambda cols: {"file_index": np.repeat(np.arange(len(entries)),
                                                   [e.n_windows for e in entries])})
    got = student_inputs(store, EXAMPLES, stream_model, tmp_path / "x.npy", progress=False)
    want = np.concatenate(want)
    assert got.shape == want.shape == (n, 64, 50)
    np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float16), atol=0.05)
    # and the API embeds exactly those inputs
    audio, sr = load_audio(clips[0])
    emb, _ = get_embedding(audio, sr, model=stream_model, hop_size=hop_size, center=center)
    with torch.inference_mode():
        from_inputs = _inference_net(stream_model).embed_logmel(
            torch.from_numpy(want[:entries[0].n_windows])).numpy()
    np.testing.assert_allclose(emb, from_inputs, atol=1e-6, rtol=1e-6)


# --- the firmware spec --------------------------------------------------------------------

def test_spec_describes_the_stream():
    fe = student_frontend(8000, stream=True)
    spec = json.loads(json.dumps(frontend_spec(fe, 8000, model={"name": "t"},
                                               input_quant=None, output_quant=None,
                                               emb_dim=16)))
    assert spec["frontend"]["config"] == fe.config()
    assert (spec["frontend"]["pad_before"], spec["frontend"]["pad_after"]) == (432, 432)
    rules = spec["frontend"]["stream"]
    assert (rules["context_before"], rules["context_after"], rules["frame_hop"]) == (
        432, 432, 160)
    assert "last 50 frames" in rules["window"] and "k*160 - 432" in rules["frame"]
    assert "context" in spec["steps"][1]
    sig = _signal(3.0, 8000, 10)
    with torch.inference_mode():
        for s in (0, 800, 8000):
            x = sig[s:s + 8864]
            np.testing.assert_allclose(reference_logmel(spec, x),
                                       fe(torch.from_numpy(x)[None])[0].numpy(), atol=2e-3)
        bare = sig[:8000]
        np.testing.assert_allclose(reference_logmel(spec, bare),
                                   fe(torch.from_numpy(bare)[None])[0].numpy(), atol=2e-3)
    # a ring buffer following the rules: frames of the stream, a window = its slice
    hop, left = rules["frame_hop"], rules["context_before"]
    stream = np.concatenate([np.zeros(left, np.float32), sig])
    frames = fe.frame_logmel(torch.from_numpy(stream)[None])[0]
    s = 1600  # a window starting at sample 1600 (a multiple of 160)
    window_frames = fe.reference(frames[None, :, s // hop:s // hop + 50])[0]
    with torch.inference_mode():
        direct = fe(torch.from_numpy(stream[s:s + 8864])[None])[0]
    torch.testing.assert_close(window_frames, direct, atol=1e-4, rtol=0)
    with pytest.raises(EdgeSEAError, match="with its context"):
        reference_logmel(spec, sig[:9000])


def test_spec_of_other_paddings_is_unchanged():
    spec = frontend_spec(student_frontend(8000), 8000, model={}, input_quant=None,
                         output_quant=None, emb_dim=16)
    assert "stream" not in spec["frontend"]
    assert spec["steps"][1].startswith("2. pad: 432 zeros before and 432 after")


@pytest.mark.parametrize("hop_size", [0.1, 0.25])
def test_process_file_gives_stream_models_their_context(stream_model, tmp_path, hop_size):
    """process_file streams each window with its real context, as get_embedding does (on
    the old code it fed bare windows: zero context, another embedding)."""
    import soundfile as sf

    from edgesea import process_file
    from edgesea.models import save_model

    audio = _signal(3.3, 16000, seed=3)
    wav = tmp_path / "a.wav"
    sf.write(wav, audio, 16000, subtype="FLOAT")
    path = save_model(stream_model, tmp_path / "s.safetensors")
    process_file(str(wav), output_dir=str(tmp_path / "out"), model=str(path),
                 hop_size=hop_size, verbose=False)
    with np.load(tmp_path / "out" / "a.npz") as z:
        got = z["embedding"]
    want, _ = get_embedding(audio, 16000, model=stream_model, hop_size=hop_size,
                            verbose=False)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("workers", [1, 2])
def test_extract_gives_a_stream_model_teacher_its_context(stream_model, tmp_path, workers):
    """Stores (and so `edgesea evaluate`) embed a stream student as get_embedding does: each
    window with the audio around it (on the old code: bare windows, zero context)."""
    import soundfile as sf

    from edgesea.extract.run import extract
    from edgesea.store.shards import EmbeddingStore
    from edgesea.teachers.model import ModelTeacher

    audio_dir = tmp_path / "audio"
    audio_dir.mkdir()
    clips = {f"c{i}.wav": _signal(1.7 + i, 16000, seed=10 + i) for i in range(2)}
    for name, x in clips.items():
        sf.write(audio_dir / name, x, 16000, subtype="FLOAT")
    extract(audio_dir, tmp_path / "store", ModelTeacher(stream_model), hop_size=0.5,
            workers=workers, progress=False)
    store = EmbeddingStore.open(tmp_path / "store")
    cols = store.load(["file_index", "embedding", "laeq_db"])
    for i, f in enumerate(store.files):
        want, _ = get_embedding(clips[f.path], 16000, model=stream_model, hop_size=0.5,
                                center=True, verbose=False)
        got = cols["embedding"][cols["file_index"] == i]
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_process_file_frames_each_block_once(stream_model, tmp_path, frame_logmel_calls,
                                             monkeypatch):
    """process_file computes each streamed block's frames once, on the stretch of signal
    its windows came from (on the old code every window computed its own 50+ frames), and
    its rows then equal get_embedding's over a file of many blocks (25 s: 4 blocks of 64
    windows, 2 decoded stretches)."""
    import soundfile as sf

    from edgesea import process_file
    from edgesea.models import save_model

    audio = _signal(25.0, 8000, seed=5)
    wav = tmp_path / "long.wav"
    sf.write(wav, audio, 8000, subtype="FLOAT")
    path = save_model(stream_model, tmp_path / "s.safetensors")
    calls = frame_logmel_calls
    out = process_file(str(wav), output_dir=str(tmp_path / "o"), model=str(path))[0]
    assert calls and all(c[0] == 1 for c in calls)  # one continuous segment per block
    frames = sum(1 + (c[1] - 1024) // 160 for c in calls)
    n = n_windows(len(audio), 8000, 1.0, 0.1, True)
    assert frames < 1.5 * (len(audio) // 160 + 100) < 50 * n / 4
    monkeypatch.undo()
    with np.load(out) as z:
        got = z["embedding"]
    want, _ = get_embedding(audio, 8000, model=stream_model)
    assert got.shape == want.shape == (n, stream_model.emb_dim)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("hop_size", [0.1, 0.37, 2.5])
def test_frame_once_feeder_equals_each_window_alone(stream_model, hop_size):
    """The feeder's log-mels of windows with context (overlapping, not frame multiples, and
    farther apart than a window and its context: window by window) equal the front end on
    each window alone."""
    from edgesea.inference.process import FrameOnceFeeder

    fe = stream_model.frontend
    wins = _context_windows(stream_model, _signal(9.0, 8000, 6), hop_size, True)
    hop = int(round(hop_size * 8000))
    feeder = FrameOnceFeeder(None, fe, stream_model.window_samples,
                             stream_model.context_samples, hop)
    with torch.no_grad():
        want = fe(torch.from_numpy(wins)).numpy()
    got = feeder.logmels(wins)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-4 * (1 + np.abs(want).max()))
    with pytest.raises(EdgeSEAError, match="with their context"):
        feeder.logmels(wins[:, :-1])
