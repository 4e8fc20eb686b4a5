"""Audio in: decoding, mono and resampling (:mod:`.io`), the window geometry shared by every
stage (:mod:`.windows`), files read as bounded streams (:mod:`.stream`), A-weighted loudness
(:mod:`.loudness`) and audio file listing (:mod:`.files`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgesea.core.lazy import attach

if TYPE_CHECKING:
    from edgesea.audio.io import (
        AUDIO_EXTENSIONS as AUDIO_EXTENSIONS,
    )
    from edgesea.audio.io import (
        MAX_LOAD_BYTES as MAX_LOAD_BYTES,
    )
    from edgesea.audio.io import (
        load_audio as load_audio,
    )
    from edgesea.audio.io import (
        preprocess_audio as preprocess_audio,
    )
    from edgesea.audio.io import (
        resample as resample,
    )
    from edgesea.audio.io import (
        to_float_mono as to_float_mono,
    )
    from edgesea.audio.loudness import (
        a_weighting_gain_db as a_weighting_gain_db,
    )
    from edgesea.audio.loudness import (
        a_weighting_sos as a_weighting_sos,
    )
    from edgesea.audio.loudness import (
        laeq as laeq,
    )
    from edgesea.audio.loudness import (
        laeq_frames as laeq_frames,
    )
    from edgesea.audio.stream import (
        StreamInfo as StreamInfo,
    )
    from edgesea.audio.stream import (
        open_info as open_info,
    )
    from edgesea.audio.stream import (
        stream_mono as stream_mono,
    )
    from edgesea.audio.stream import (
        stream_windows as stream_windows,
    )
    from edgesea.audio.windows import (
        frame_audio as frame_audio,
    )
    from edgesea.audio.windows import (
        n_windows as n_windows,
    )
    from edgesea.audio.windows import (
        window_timestamps as window_timestamps,
    )
    from edgesea.core.checks import (
        MAX_SAMPLE_RATE as MAX_SAMPLE_RATE,
    )
    from edgesea.core.checks import (
        MIN_SAMPLE_RATE as MIN_SAMPLE_RATE,
    )
    from edgesea.core.checks import (
        check_flag as check_flag,
    )
    from edgesea.core.checks import (
        check_hop_size as check_hop_size,
    )
    from edgesea.core.checks import (
        check_sample_rate as check_sample_rate,
    )

__getattr__, __dir__, __all__ = attach(__name__, {
    # io also re-exports the parameter checks the old edgesea.audio module defined
    "io": ["AUDIO_EXTENSIONS", "MAX_LOAD_BYTES", "MAX_SAMPLE_RATE", "MIN_SAMPLE_RATE",
           "check_flag", "check_hop_size", "check_sample_rate", "load_audio",
           "preprocess_audio", "resample", "to_float_mono"],
    "loudness": ["a_weighting_gain_db", "a_weighting_sos", "laeq", "laeq_frames"],
    "stream": ["StreamInfo", "open_info", "stream_mono", "stream_windows"],
    "windows": ["frame_audio", "n_windows", "window_timestamps"],
})
