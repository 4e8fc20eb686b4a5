"""Running int8 models: the LiteRT interpreter and TFLite file checks (:mod:`.litert`), the
front end an int8 model expects (:mod:`.frontend_spec`) and its edge spec file
(:mod:`.spec_reader`).
"""

from edgesea.runtime.frontend_spec import (
    SPEC_FORMAT,
    frontend_spec,
    quantize_input,
    reference_logmel,
)
from edgesea.runtime.litert import (
    TFLiteQuant,
    capture_fds,
    check_tflite_file,
    litert_interpreter,
    parse_arena_total,
    require,
    run_litert,
    run_tflm,
    silenced,
    tflite_quant,
)
from edgesea.runtime.spec_reader import (
    MAX_SPEC_BYTES,
    check_edge_spec,
    read_edge_spec,
)

__all__ = ["MAX_SPEC_BYTES", "SPEC_FORMAT", "TFLiteQuant", "capture_fds", "check_edge_spec",
           "check_tflite_file", "frontend_spec", "litert_interpreter", "parse_arena_total",
           "quantize_input", "read_edge_spec", "reference_logmel", "require", "run_litert",
           "run_tflm", "silenced", "tflite_quant"]
