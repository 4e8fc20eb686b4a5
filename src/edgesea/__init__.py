"""edgesea: Specialized Embedding Approximation (SEA) of audio embedding models for
microcontrollers.

Public API (edgel3-compatible)::

    emb, ts = edgesea.get_embedding(audio, sr, model="student.safetensors", hop_size=0.1)
    edgesea.process_file("clip.wav", output_dir="out/", model="student.safetensors")

edgel3 code runs unchanged on ``import edgesea.edgel3 as edgel3`` (edgel3 0.2.1's names,
signatures and defaults, and its command line as ``python -m edgesea.edgel3``; see
``docs/edgel3.md``).
"""

from edgesea.audio.io import load_audio
from edgesea.errors import EdgeSEAError, EdgeSEAWarning
from edgesea.inference.api import get_embedding, get_model
from edgesea.inference.process import process_file
from edgesea.models import footprint, load_model, save_model

__version__ = "0.1.0"

__all__ = ["EdgeSEAError", "EdgeSEAWarning", "__version__", "footprint", "get_embedding",
           "get_model", "load_audio", "load_model", "process_file", "save_model"]
