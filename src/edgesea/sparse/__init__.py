"""Sparse models: edgel3's other compression route, the aisfx teacher pruned and retrained.

- :mod:`.prune`: magnitude pruning at edgel3's sparsity levels (layer-wise profiles or one
  global threshold) and fixed masks;
- :mod:`.retrain`: ``kd`` retraining against the dense teacher's embeddings;
- :mod:`.storage`: the sparse model file (bitmask + non-zero values, safetensors);
- :mod:`.model`: :class:`SparseModel`, the embedder / teacher, and its footprint;
- :mod:`.packaged`: the packaged models' names and the ``retrain_type`` rules;
- :mod:`.build`: :func:`build_sparse_model` (``edgesea prune``) and :func:`save_packaged`.

See docs/sparse.md.
"""

from edgesea.prune.build import BuildResult, build_sparse_model, save_packaged
from edgesea.sparse.model import SparseModel, load_sparse_model
from edgesea.sparse.prune import PROFILES, SPARSITY_LEVELS, check_sparsity, magnitude_masks
from edgesea.sparse.storage import load_sparse, save_sparse

__all__ = ["PROFILES", "SPARSITY_LEVELS", "BuildResult", "SparseModel", "build_sparse_model",
           "check_sparsity", "load_sparse", "load_sparse_model", "magnitude_masks",
           "save_packaged", "save_sparse"]
