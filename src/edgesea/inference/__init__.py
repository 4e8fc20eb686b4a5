"""Embedding audio with a model: model resolution and the model cache, ``get_embedding``
(:mod:`.api`), batching (:mod:`.batching`), int8 ``.tflite`` models (:mod:`.int8`), files to
``.npz`` (:mod:`.process`, :mod:`.outputs`) and output provenance (:mod:`.provenance`).
"""

from edgesea.inference.api import (
    FileResult,
    get_embedding,
    get_model,
    model_identity,
    model_inputs,
)
from edgesea.inference.batching import (
    MAX_BATCH_WINDOWS,
)
from edgesea.inference.int8 import (
    TFLiteEmbedder,
    WindowBatcher,
    find_edge_spec,
)
from edgesea.inference.outputs import (
    BLOCK_S,
    BLOCK_WINDOWS,
    COPY_ROWS,
    SPILL_ROWS,
    RowSink,
    check_targets,
    differences,
    make_provenance,
    publish,
    read_provenance,
    refusal,
    source_info,
    stream_files,
    write_npz,
)
from edgesea.inference.process import (
    FrameOnceFeeder,
    iter_embed_files,
    iter_process_files,
    output_path,
    process_file,
)

__all__ = [
    "BLOCK_S",
    "BLOCK_WINDOWS",
    "COPY_ROWS",
    "MAX_BATCH_WINDOWS",
    "SPILL_ROWS",
    "FileResult",
    "FrameOnceFeeder",
    "RowSink",
    "TFLiteEmbedder",
    "WindowBatcher",
    "check_targets",
    "differences",
    "find_edge_spec",
    "get_embedding",
    "get_model",
    "iter_embed_files",
    "iter_process_files",
    "make_provenance",
    "model_identity",
    "model_inputs",
    "output_path",
    "process_file",
    "publish",
    "read_provenance",
    "refusal",
    "source_info",
    "stream_files",
    "write_npz",
]
