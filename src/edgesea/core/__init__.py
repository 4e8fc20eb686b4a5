"""Layer 0 helpers every stage shares: atomic file writing (:mod:`.fileio`), the validating
JSON reader (:mod:`.safe_json`), the settings base class (:mod:`.settings`), declarative
parameter checks (:mod:`.checks`) and the ``OMP_NUM_THREADS`` reader (:mod:`.threads`).
"""

from edgesea.core.fileio import (
    TMP_PREFIX,
    atomic_path,
    chmod_like_new_file,
    clean_stale_temps,
    disk_full_error,
    is_disk_full,
    make_temp,
    pid_alive,
    walk_real_dirs,
    write_json,
)
from edgesea.core.safe_json import (
    MAX_JSON_BYTES,
    MAX_JSON_DEPTH,
    check_shards,
    check_text,
    json_depth,
    member_path,
    read_json,
    read_sharded_manifest,
)
from edgesea.core.settings import (
    Settings,
)

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "TMP_PREFIX",
    "Settings",
    "atomic_path",
    "check_shards",
    "check_text",
    "chmod_like_new_file",
    "clean_stale_temps",
    "disk_full_error",
    "is_disk_full",
    "json_depth",
    "make_temp",
    "member_path",
    "pid_alive",
    "read_json",
    "read_sharded_manifest",
    "walk_real_dirs",
    "write_json",
]
