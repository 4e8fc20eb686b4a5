"""Log-mel windows of real audio, computed by a model's own front end, for calibrating
int8 quantization and for measuring an exported model's agreement with the float one.

audio file -> mono -> resampled to the model rate -> non-overlapping windows of the model's
length -> the model's :class:`~edgesea.frontend.logmel.LogMelSpectrogram` -> ``(n_mels, n_frames)``.
Files are visited in a seeded random order so that the first windows already span the
folder; all-zero windows (silence, tail padding) are skipped because they carry nothing.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from edgesea.audio.io import AUDIO_EXTENSIONS, load_audio, resample, to_float_mono
from edgesea.audio.windows import frame_audio
from edgesea.errors import EdgeSEAError
from edgesea.extract.run import list_audio_files
from edgesea.frontend.logmel import LogMelSpectrogram

__all__ = ["LogmelWindows", "logmel_windows"]


@dataclass
class LogmelWindows:
    """Result of :func:`logmel_windows`.

    Attributes
    ----------
    logmels : np.ndarray [shape=(N, n_mels, n_frames), dtype=float32]
        One log-mel per window.
    waveforms : np.ndarray [shape=(N, window_samples), dtype=float32]
        The windows themselves, at the model rate.
    sources : list of str
        ``"<relative file>@<start seconds>"`` of each window.
    n_files_used, n_files_failed : int
        Files that gave windows / could not be decoded.
    """

    logmels: np.ndarray
    waveforms: np.ndarray
    sources: list[str]
    n_files_used: int
    n_files_failed: int


def logmel_windows(audio_dir: str | os.PathLike, frontend: LogMelSpectrogram,
                   window_samples: int, n_windows: int, *, seed: int = 0,
                   max_per_file: int | None = None, progress: bool = True,
                   desc: str = "calibration") -> LogmelWindows:
    """Collect ``n_windows`` log-mel windows of the audio under ``audio_dir``.

    Parameters
    ----------
    audio_dir : str or PathLike
        Folder walked recursively (:func:`edgesea.extract.run.list_audio_files`).
    frontend : LogMelSpectrogram
        The model's front end; its ``sample_rate`` is the target rate.
    window_samples : int
        Samples per window at that rate.
    n_windows : int
        How many windows to return (>= 1).
    seed : int
        Seed of the file order.
    max_per_file : int, optional
        Cap on windows taken from one file (None: all of them).
    progress : bool
        Show a tqdm bar.
    desc : str
        Label of the bar.

    Raises
    ------
    EdgeSEAError
        No such folder, no audio files in it, or fewer usable windows than ``n_windows``
        (the message says how many were found).
    """
    if isinstance(n_windows, bool) or not isinstance(n_windows, int) or n_windows < 1:
        raise EdgeSEAError(f"invalid number of windows {n_windows!r}: expected an integer >= 1")
    root = Path(audio_dir)
    if not root.is_dir():
        raise EdgeSEAError(f"audio folder not found (or not a folder): {audio_dir}")
    files = list_audio_files(root)
    if not files:
        raise EdgeSEAError(f"no audio files found in {audio_dir}: expected files with one of "
                           f"the extensions {', '.join(AUDIO_EXTENSIONS)}")
    random.Random(seed).shuffle(files)
    sr = frontend.sample_rate
    waves: list[np.ndarray] = []
    sources: list[str] = []
    used = failed = 0
    bar = tqdm(total=n_windows, unit="win", desc=desc, disable=not progress)
    try:
        for rel in files:
            try:
                audio, file_sr = load_audio(root / rel)
                mono = resample(to_float_mono(audio), file_sr, sr)
            except EdgeSEAError:
                failed += 1
                continue
            frames, starts = frame_audio(mono, sr, window_samples / sr,
                                         hop_size=window_samples / sr, center=False)
            took = 0
            for frame, start in zip(frames, starts, strict=True):
                if not np.any(frame):
                    continue
                waves.append(np.array(frame, dtype=np.float32))
                sources.append(f"{rel}@{start:g}")
                took += 1
                bar.update(1)
                if len(waves) >= n_windows or (max_per_file is not None
                                               and took >= max_per_file):
                    break
            used += took > 0
            if len(waves) >= n_windows:
                break
    finally:
        bar.close()
    if len(waves) < n_windows:
        raise EdgeSEAError(
            f"{audio_dir} gave only {len(waves)} usable {window_samples / sr:g} s windows "
            f"({len(files)} audio files, {failed} undecodable): {n_windows} are needed. Add "
            "more in-domain audio or ask for fewer windows")
    wave_arr = np.stack(waves)
    with torch.inference_mode():
        logmels = np.concatenate([frontend(torch.from_numpy(wave_arr[i:i + 64])).numpy()
                                  for i in range(0, len(wave_arr), 64)])
    return LogmelWindows(logmels=logmels.astype(np.float32), waveforms=wave_arr,
                         sources=sources, n_files_used=int(used), n_files_failed=int(failed))
