"""Teacher-embedding stores on disk: sharded stores (:mod:`.shards`), out-of-core column
access (:mod:`.arrays`), writer-side integrity (:mod:`.integrity`) and synthetic stores for
scale tests (:mod:`.synth`).
"""

from edgesea.store.arrays import (
    BLOCK_ROWS,
    ConcatRows,
    RowView,
    ShardedArray,
    augmented_column,
    iter_rows,
    store_column,
)
from edgesea.store.integrity import (
    LOCK_FILE,
    check_manifest_entries,
    content_changed,
    file_content,
    writer_lock,
)
from edgesea.store.shards import (
    COLUMNS,
    EMBEDDING_DTYPES,
    FORMAT,
    FORMAT_VERSION,
    EmbeddingStore,
    FileEntry,
    new_manifest,
    read_manifest,
    settings_differences,
    shard_rows,
    write_manifest,
    write_shard,
)

__all__ = [
    "BLOCK_ROWS",
    "COLUMNS",
    "EMBEDDING_DTYPES",
    "FORMAT",
    "FORMAT_VERSION",
    "LOCK_FILE",
    "ConcatRows",
    "EmbeddingStore",
    "FileEntry",
    "RowView",
    "ShardedArray",
    "augmented_column",
    "check_manifest_entries",
    "content_changed",
    "file_content",
    "iter_rows",
    "new_manifest",
    "read_manifest",
    "settings_differences",
    "shard_rows",
    "store_column",
    "write_manifest",
    "write_shard",
    "writer_lock",
]
