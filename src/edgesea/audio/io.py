"""Audio input: decode, validate, downmix, resample and cut 1 s windows.

Pure functions on NumPy arrays. Windowing follows the ``edgel3``/``openl3`` contract:
``center=True`` puts half a window of zeros before the first sample, the tail is
zero-padded so that every sample is covered by a window, and window ``t`` starts
``t * round(hop_size * sr)`` samples into the (centred) signal. Timestamps are the true
window centres (``center=False``: starts) in seconds, ``t * round(hop_size * sr) / sr``
(:func:`window_timestamps`), not ``t * hop_size``: with a hop that is not a whole number of
samples (1/30 s at 16 kHz is 533.33 samples, cut as 533) the latter drifts from where the
windows really are (11.9 ms after 10 s).
"""

from __future__ import annotations

import io
import os
import warnings
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from edgesea.audio.pyav import AvReader, pyav_available
from edgesea.audio.windows import frame_audio, n_windows, window_timestamps
from edgesea.core.checks import (
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    check_flag,
    check_hop_size,
    check_sample_rate,
)
from edgesea.errors import EdgeSEAError, EdgeSEAWarning

__all__ = [
    "AUDIO_EXTENSIONS",
    "MAX_LOAD_BYTES",
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "check_flag",
    "check_hop_size",
    "check_sample_rate",
    "frame_audio",
    "load_audio",
    "n_windows",
    "preprocess_audio",
    "resample",
    "to_float_mono",
    "window_timestamps",
]

#: File extensions that :func:`load_audio` (libsndfile) reads and that directory walks pick up.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".aifc", ".au", ".snd",
                    ".caf", ".w64", ".rf64", ".mp3", ".opus")

#: The sample rates accepted anywhere (Hz): outside them resampling would allocate absurd
#: amounts (1e-6 Hz to 8 kHz is a 8e9x expansion) or the input is not audio.
#: Largest decoded size :func:`load_audio` allocates (float32 samples x channels), checked
#: against the file's header before reading.
MAX_LOAD_BYTES = 2 * 1024**3

_INT_SCALE = {np.dtype(np.int8): 2.0**7, np.dtype(np.int16): 2.0**15,
              np.dtype(np.int32): 2.0**31, np.dtype(np.int64): 2.0**63}


def load_audio(source: str | os.PathLike | BinaryIO) -> tuple[np.ndarray, int]:
    """Read an audio file: any format libsndfile reads (wav, flac, ogg, mp3, ...), and, with
    the ``av`` extra, any format FFmpeg reads (m4a/AAC, mp4, webm/opus, wma, ...; decoded
    by :class:`~edgesea.audio.pyav.AvReader` when libsndfile does not know the file).

    Parameters
    ----------
    source : path or binary file object
        The file to decode.

    Returns
    -------
    audio : np.ndarray [shape=(n_samples, n_channels), dtype=float32]
        Samples scaled to [-1, 1], channels last.
    sr : int
        The file's sample rate.

    Raises
    ------
    EdgeSEAError
        If the file does not exist or cannot be decoded.
    """
    if isinstance(source, str | os.PathLike):
        name = _check_audio_path(source)
    else:
        name = getattr(source, "name", "<file object>")
    try:
        if isinstance(source, str | os.PathLike):
            info = sf.info(name)
            frames, channels = int(info.frames), int(info.channels)
        else:
            pos = source.tell()
            with sf.SoundFile(source) as f:
                frames, channels = int(f.frames), int(f.channels)
            source.seek(pos)
        # the header's length bounds the allocation: checked before anything is read
        if frames * channels * 4 > MAX_LOAD_BYTES:
            raise EdgeSEAError(
                f"{name} holds {frames:,} samples x {channels} channels by its header: more "
                f"than the {MAX_LOAD_BYTES // 2**30} GiB load_audio decodes at once (a corrupt "
                "header, or hours of audio: edgesea embed / process_file stream long files)")
        audio, sr = sf.read(source, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError,
            io.UnsupportedOperation) as e:
        if isinstance(source, str | os.PathLike) and _not_recognised(e) and pyav_available():
            try:
                return _load_with_pyav(name)
            except EdgeSEAError as av_error:  # FFmpeg cannot either: libsndfile's reason
                raise _open_error(name, e, ffmpeg_failed=True) from av_error
        raise _open_error(name, e) from e
    except MemoryError as e:
        raise EdgeSEAError(f"not enough memory to decode {name} at once: edgesea embed / "
                           "process_file stream long files") from e
    check_sample_rate(sr, f"the sample rate of {name}")
    return audio, int(sr)


def _not_recognised(error: BaseException) -> bool:
    """libsndfile does not know the format (where FFmpeg may)."""
    low = str(error).lower()
    return isinstance(error, sf.LibsndfileError) and (
        "format not recognised" in low or "unknown format" in low
        or "unimplemented format" in low)


def _load_with_pyav(name: str) -> tuple[np.ndarray, int]:
    """:func:`load_audio` of a file libsndfile does not read, decoded by PyAV."""
    with AvReader(name) as reader:
        if reader.frames * reader.channels * 4 > MAX_LOAD_BYTES:
            raise EdgeSEAError(
                f"{name} lasts {reader.frames / reader.samplerate:,.0f} s x {reader.channels} "
                f"channels by its header: more than the {MAX_LOAD_BYTES // 2**30} GiB "
                "load_audio decodes at once (edgesea embed / process_file stream long files)")
        audio = reader.read(-1)
        sr = reader.samplerate
    check_sample_rate(sr, f"the sample rate of {name}")
    return audio, int(sr)


def _check_audio_path(source: str | os.PathLike) -> str:
    """``source`` as a string, after checking it exists, is not a folder and is readable."""
    path = os.fspath(source)
    if not os.path.exists(path):
        raise EdgeSEAError(f"audio file not found: {path}")
    if os.path.isdir(path):
        raise EdgeSEAError(f"expected an audio file, got a directory: {path}")
    if not os.access(path, os.R_OK):
        raise EdgeSEAError(f"audio file not readable (permission denied): {path}")
    return path


def _open_error(name: object, error: BaseException, ffmpeg_failed: bool = False
                ) -> EdgeSEAError:
    """A clear :class:`EdgeSEAError` for a file libsndfile could not open or decode (and,
    with ``ffmpeg_failed``, FFmpeg neither)."""
    if isinstance(error, PermissionError):
        return EdgeSEAError(f"audio file not readable (permission denied): {name}")
    text = str(error)
    if isinstance(error, OSError) and not isinstance(error, sf.LibsndfileError):
        return EdgeSEAError(f"could not read audio file {name}: {error.strerror or text}")
    low = text.lower()
    if ("format not recognised" in low or "unknown format" in low) and ffmpeg_failed:
        why = "not an audio format libsndfile or FFmpeg (PyAV) knows (or not audio at all)"
    elif "format not recognised" in low or "unknown format" in low:
        why = ("not an audio format libsndfile knows (or not audio at all); formats such as "
               "m4a/AAC, mp4 and webm are read with FFmpeg once PyAV is installed: "
               "pip install edgesea[av]")
    elif "system error" in low:
        why = "the operating system refused to read it (unreadable or a special file)"
    else:  # lost sync, psf_fseek, "possibly a pipe?", unimplemented format, ...
        why = ("the file is damaged or truncated, or its encoding is one libsndfile does not "
               "decode")
    return EdgeSEAError(
        f"could not decode audio from {name}: {why} [libsndfile: {text}]. Accepted: files "
        "libsndfile reads (wav, flac, ogg/vorbis, aiff, mp3, ...), and with the av extra "
        "what FFmpeg reads")


def to_float_mono(audio: object) -> np.ndarray:
    """Validate an audio array and return it as a mono float32 vector.

    Float input is kept as is (expected in [-1, 1]); integer PCM is scaled to [-1, 1]
    (``int16 / 2**15`` etc.; unsigned 8-bit is centred at 128). 2-D input is
    ``(n_samples, n_channels)`` and is downmixed by the mean over channels.

    Raises
    ------
    EdgeSEAError
        Not an array of numbers, empty, more than 2 dimensions, channels-first layout, or
        NaN/Inf samples.
    """
    try:
        arr = np.asarray(audio)
    except Exception as e:  # ragged lists and the like
        raise EdgeSEAError(f"audio could not be read as an array: {e}") from e
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.floating)
                                    or np.issubdtype(arr.dtype, np.integer)):
        raise EdgeSEAError(
            f"audio has dtype {arr.dtype}: expected float or integer PCM samples")
    if arr.ndim == 0 or arr.ndim > 2:
        raise EdgeSEAError(
            f"audio has {arr.ndim} dimensions (shape {arr.shape}): expected (n_samples,) or "
            "(n_samples, n_channels)")
    if arr.size == 0:
        raise EdgeSEAError(f"audio is empty (shape {arr.shape}): expected at least one sample")
    if arr.ndim == 2 and arr.shape[1] > arr.shape[0]:
        raise EdgeSEAError(
            f"audio of shape {arr.shape} has more channels than samples: expected "
            "(n_samples, n_channels); transpose channels-first arrays (audio.T)")
    if np.issubdtype(arr.dtype, np.integer):
        if arr.dtype == np.uint8:
            arr = (arr.astype(np.float32) - 128.0) / 128.0
        else:
            scale = _INT_SCALE.get(arr.dtype)
            if scale is None:
                raise EdgeSEAError(
                    f"audio has dtype {arr.dtype}: accepted integer PCM is uint8, int8, int16, "
                    "int32 or int64")
            arr = (arr.astype(np.float64) / scale).astype(np.float32)
    if arr.ndim == 2:
        arr = arr.mean(axis=1, dtype=np.float64)
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise EdgeSEAError("audio contains NaN or Inf samples: expected finite values")
    return arr


def resample(audio: np.ndarray, sr_in: float, sr_out: float) -> np.ndarray:
    """Resample a mono float32 signal with soxr (high quality); a no-op if rates match."""
    if sr_in == sr_out:
        return audio
    out = soxr.resample(audio, sr_in, sr_out, quality="HQ")
    return np.ascontiguousarray(out, dtype=np.float32)


def preprocess_audio(audio: object, sr: object, target_sr: float, window: float = 1.0,
                     hop_size: float = 0.1, center: bool = True
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Validate, downmix, resample and window one signal for a model.

    Emits :class:`EdgeSEAWarning` for all-zero audio and for audio shorter than one
    window (it is zero-padded). Returns ``(frames, timestamps)`` as :func:`frame_audio`.
    """
    hop_size = check_hop_size(hop_size)
    mono = prepare_mono(audio, sr, target_sr, window, stacklevel=4)
    return frame_audio(mono, target_sr, window, hop_size, center)


def bandwidth_warning(sr: float, target_sr: float, where: str = "") -> str | None:
    """The warning for audio at ``sr`` embedded by a model at ``target_sr``: below the
    model's rate the audio has nothing above ``sr / 2``, a band the model reads (the same
    clip at 8 kHz and 16 kHz gives embeddings of mean cosine 0.79). None when ``sr`` is not
    below ``target_sr``. ``where`` (e.g. ``"clip.wav: "``) starts the message."""
    if sr >= target_sr:
        return None
    return (f"{where}audio at {sr:g} Hz has no content above {sr / 2:g} Hz, but the model "
            f"reads up to {target_sr / 2:g} Hz: that band is empty, so the embeddings differ "
            f"from those of the same sound with its full band (use audio at {target_sr:g} Hz "
            "or more when you have it)")


def prepare_mono(audio: object, sr: object, target_sr: float, window: float = 1.0,
                 stacklevel: int = 3) -> np.ndarray:
    """Validate, downmix and resample one signal for a model (the part of
    :func:`preprocess_audio` before windowing), with the same warnings: all-zero audio, and
    audio shorter than one ``window`` (it is zero-padded). ``stacklevel`` is passed to
    :func:`warnings.warn` (3: the caller of the function that calls this one)."""
    sr = check_sample_rate(sr)
    mono = to_float_mono(audio)
    if not np.any(mono):
        warnings.warn("audio is all zeros (silent): its embeddings carry no information",
                      EdgeSEAWarning, stacklevel=stacklevel)
    if mono.shape[0] < window * sr:
        warnings.warn(
            f"audio is {mono.shape[0] / sr:.3f} s long, shorter than one window ({window:g} s): "
            "it is zero-padded", EdgeSEAWarning, stacklevel=stacklevel)
    if (message := bandwidth_warning(sr, target_sr)) is not None:
        warnings.warn(message, EdgeSEAWarning, stacklevel=stacklevel)
    return resample(mono, sr, target_sr)
