"""Sparse models: edgel3's other compression route, the aisfx teacher pruned and retrained.

- :mod:`.prune`: magnitude pruning at edgel3's sparsity levels (layer-wise profiles or one
  global threshold) and fixed masks;
- :mod:`.storage`: the sparse model file (bitmask + non-zero values, safetensors);
- :mod:`.model`: :class:`SparseModel`, the embedder / teacher, and its footprint;
- :mod:`.packaged`: the packaged sparse files and their catalog rows.

Building one (``edgesea prune``: prune, then ``kd`` retraining) is :mod:`edgesea.prune`'s.

See docs/sparse.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edgesea._aliases import moved_name
from edgesea.core.lazy import attach

if TYPE_CHECKING:
    from edgesea.sparse.model import SparseModel as SparseModel
    from edgesea.sparse.model import load_sparse_model as load_sparse_model
    from edgesea.sparse.prune import PROFILES as PROFILES
    from edgesea.sparse.prune import SPARSITY_LEVELS as SPARSITY_LEVELS
    from edgesea.sparse.prune import check_sparsity as check_sparsity
    from edgesea.sparse.prune import magnitude_masks as magnitude_masks
    from edgesea.sparse.storage import load_sparse as load_sparse
    from edgesea.sparse.storage import save_sparse as save_sparse

_getattr, __dir__, __all__ = attach(__name__, {
    "model": ["SparseModel", "load_sparse_model"],
    "prune": ["PROFILES", "SPARSITY_LEVELS", "check_sparsity", "magnitude_masks"],
    "storage": ["load_sparse", "save_sparse"],
})


def __getattr__(name: str) -> Any:
    try:
        return _getattr(name)
    except AttributeError:
        # Building sparse models moved to edgesea.prune (a higher layer); the old names are
        # served from the alias table (edgesea._aliases).
        return moved_name(__name__, name)
