"""Embedding audio with a model: model resolution and the model cache, ``get_embedding``
(:mod:`.api`), batching (:mod:`.batching`), int8 ``.tflite`` models (:mod:`.int8`), files to
``.npz`` (:mod:`.process`, :mod:`.outputs`), output provenance (:mod:`.provenance`) and live
streams (:mod:`.stream`), clip embeddings (:mod:`.pooling`) and one Parquet table for
a dataset (:mod:`.table`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgesea.core.lazy import attach

if TYPE_CHECKING:
    from edgesea.inference.api import (
        FileResult as FileResult,
    )
    from edgesea.inference.api import (
        get_embedding as get_embedding,
    )
    from edgesea.inference.api import (
        get_model as get_model,
    )
    from edgesea.inference.api import (
        model_identity as model_identity,
    )
    from edgesea.inference.api import (
        model_inputs as model_inputs,
    )
    from edgesea.inference.batching import (
        MAX_BATCH_WINDOWS as MAX_BATCH_WINDOWS,
    )
    from edgesea.inference.batching import (
        ModelBatcher as ModelBatcher,
    )
    from edgesea.inference.int8 import (
        TFLiteEmbedder as TFLiteEmbedder,
    )
    from edgesea.inference.int8 import (
        WindowBatcher as WindowBatcher,
    )
    from edgesea.inference.int8 import (
        find_edge_spec as find_edge_spec,
    )
    from edgesea.inference.outputs import (
        BLOCK_S as BLOCK_S,
    )
    from edgesea.inference.outputs import (
        BLOCK_WINDOWS as BLOCK_WINDOWS,
    )
    from edgesea.inference.outputs import (
        COPY_ROWS as COPY_ROWS,
    )
    from edgesea.inference.outputs import (
        SPILL_ROWS as SPILL_ROWS,
    )
    from edgesea.inference.outputs import (
        RowSink as RowSink,
    )
    from edgesea.inference.outputs import (
        check_targets as check_targets,
    )
    from edgesea.inference.outputs import (
        differences as differences,
    )
    from edgesea.inference.outputs import (
        make_provenance as make_provenance,
    )
    from edgesea.inference.outputs import (
        publish as publish,
    )
    from edgesea.inference.outputs import (
        read_provenance as read_provenance,
    )
    from edgesea.inference.outputs import (
        refusal as refusal,
    )
    from edgesea.inference.outputs import (
        source_info as source_info,
    )
    from edgesea.inference.outputs import (
        stream_files as stream_files,
    )
    from edgesea.inference.outputs import (
        write_npz as write_npz,
    )
    from edgesea.inference.process import (
        FrameOnceFeeder as FrameOnceFeeder,
    )
    from edgesea.inference.process import (
        iter_embed_files as iter_embed_files,
    )
    from edgesea.inference.process import (
        iter_process_files as iter_process_files,
    )
    from edgesea.inference.process import (
        output_path as output_path,
    )
    from edgesea.inference.process import (
        process_file as process_file,
    )
    from edgesea.inference.stream import StreamEmbedder as StreamEmbedder

__getattr__, __dir__, __all__ = attach(__name__, {
    "stream": ["StreamEmbedder"],
    "pooling": ["pool_embeddings"],
    "table": ["embed_to_parquet"],
    "api": ["FileResult", "get_embedding", "get_model", "model_identity", "model_inputs"],
    "batching": ["MAX_BATCH_WINDOWS", "ModelBatcher"],
    "int8": ["TFLiteEmbedder", "WindowBatcher", "find_edge_spec"],
    "outputs": ["BLOCK_S", "BLOCK_WINDOWS", "COPY_ROWS", "SPILL_ROWS", "RowSink", "check_targets",
                "differences", "make_provenance", "publish", "read_provenance", "refusal",
                "source_info", "stream_files", "write_npz"],
    "process": ["FrameOnceFeeder", "iter_embed_files", "iter_process_files", "output_path",
                "process_file"],
})
