"""Teacher embeddings of a folder of audio into a store: the run (:mod:`.run`), the audio
side (:mod:`.decode`) and the Ray engine (:mod:`.ray`, optional).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgesea.core.lazy import attach

if TYPE_CHECKING:
    from edgesea.extract.run import (
        TEACHER_SPECS as TEACHER_SPECS,
    )
    from edgesea.extract.run import (
        ExtractReport as ExtractReport,
    )
    from edgesea.extract.run import (
        extract as extract,
    )
    from edgesea.extract.run import (
        list_audio_files as list_audio_files,
    )
    from edgesea.extract.run import (
        resolve_teacher as resolve_teacher,
    )

__getattr__, __dir__, __all__ = attach(__name__, {
    "run": ["TEACHER_SPECS", "ExtractReport", "extract", "list_audio_files", "resolve_teacher"],
})
