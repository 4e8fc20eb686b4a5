"""Teacher embeddings of a folder of audio into a store: the run (:mod:`.run`), the audio
side (:mod:`.decode`) and the Ray engine (:mod:`.ray`, optional).
"""

from edgesea.extract.run import (
    TEACHER_SPECS,
    ExtractReport,
    extract,
    list_audio_files,
    resolve_teacher,
)

__all__ = ["TEACHER_SPECS", "ExtractReport", "extract", "list_audio_files", "resolve_teacher"]
