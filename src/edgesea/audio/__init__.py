"""Audio in: decoding, mono and resampling (:mod:`.io`), the window geometry shared by every
stage (:mod:`.windows`), files read as bounded streams (:mod:`.stream`), A-weighted loudness
(:mod:`.loudness`) and audio file listing (:mod:`.files`).
"""

from edgesea.audio.io import (
    AUDIO_EXTENSIONS,
    MAX_LOAD_BYTES,
    load_audio,
    preprocess_audio,
    resample,
    to_float_mono,
)
from edgesea.audio.loudness import (
    a_weighting_gain_db,
    a_weighting_sos,
    laeq,
    laeq_frames,
)
from edgesea.audio.stream import (
    StreamInfo,
    open_info,
    stream_mono,
    stream_windows,
)
from edgesea.audio.windows import frame_audio, n_windows, window_timestamps
from edgesea.core.checks import (
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    check_flag,
    check_hop_size,
    check_sample_rate,
)

__all__ = ["AUDIO_EXTENSIONS", "MAX_LOAD_BYTES", "MAX_SAMPLE_RATE", "MIN_SAMPLE_RATE",
           "StreamInfo", "a_weighting_gain_db", "a_weighting_sos", "check_flag", "check_hop_size",
           "check_sample_rate", "frame_audio", "laeq", "laeq_frames", "load_audio", "n_windows",
           "open_info", "preprocess_audio", "resample", "stream_mono", "stream_windows",
           "to_float_mono", "window_timestamps"]
