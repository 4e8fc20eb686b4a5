"""Sparse models: edgel3's other compression route, the aisfx teacher pruned and retrained.

- :mod:`.prune`: magnitude pruning at edgel3's sparsity levels (layer-wise profiles or one
  global threshold) and fixed masks;
- :mod:`.storage`: the sparse model file (bitmask + non-zero values, safetensors);
- :mod:`.model`: :class:`SparseModel`, the embedder / teacher, and its footprint;
- :mod:`.packaged`: the packaged sparse files and their catalog rows.

Building one (``edgesea prune``: prune, then ``kd`` retraining) is :mod:`edgesea.prune`'s.

See docs/sparse.md.
"""

from typing import Any

from edgesea._aliases import moved_name
from edgesea.sparse.model import SparseModel, load_sparse_model
from edgesea.sparse.prune import PROFILES, SPARSITY_LEVELS, check_sparsity, magnitude_masks
from edgesea.sparse.storage import load_sparse, save_sparse

__all__ = ["PROFILES", "SPARSITY_LEVELS", "SparseModel", "check_sparsity", "load_sparse",
           "load_sparse_model", "magnitude_masks", "save_sparse"]


def __getattr__(name: str) -> Any:
    # Building sparse models moved to edgesea.prune (a higher layer); the old names are
    # served from the alias table (edgesea._aliases).
    return moved_name(__name__, name)
