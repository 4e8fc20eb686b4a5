"""A drop-in for the ``edgel3`` package (version 0.2.1) on edgesea: ``import edgesea.edgel3
as edgel3`` runs edgel3 code unchanged where the models exist.

It offers edgel3's public names with edgel3's signatures and defaults:
:func:`get_embedding`, :func:`process_file`, :func:`get_output_path`,
``models.load_embedding_model`` / ``models.load_embedding_model_path`` (also at the top
level), :class:`EdgeL3Error`, :class:`EdgeL3Warning`, ``__version__`` (``"0.2.1"``, the edgel3
API followed) and the command line of ``edgel3.cli`` (:func:`main`, :func:`run`,
:func:`parse_args`, :func:`positive_float`, :func:`get_file_list`); ``edgel3.models``,
``edgel3.core``, ``edgel3.cli``, ``edgel3.edgel3_exceptions`` and ``edgel3.edgel3_warnings``
exist as submodules. ``python -m edgesea.edgel3 FILE --model-type sea --emb-dim 128 -o DIR``
is the ``edgel3`` script.

Followed: edgel3 0.2.1's documented API (README and tutorial: ``get_embedding(audio, sr,
model=None, model_type='sparse', emb_dim=128, retrain_type='ft', sparsity=95.45,
center=True, hop_size=0.1, verbose=1)``, ``edgel3.models.load_embedding_model(model_type,
emb_dim, retrain_type, sparsity)``, ``process_file(filepath, output_dir=None, suffix=None,
model=None, ...)``, the CLI flags ``-o/--output-dir -x/--suffix --model-type --emb-dim
-retrain/--retrain-type -sp/--model-sparsity -n/--no-centering -t/--hop-size -q/--quiet``),
its ``models.py`` with the ``sea`` models (the model types, sizes and sparsities), and the
source of ``core.py``/``cli.py`` as of edgel3's sparse-only releases (the argument checks
and their messages, ``get_output_path``, ``process_file``, the CLI's ``run``/``main``/
``positive_float``/``get_file_list``), with ``model_type``/``emb_dim`` added as 0.2.1
documents them. The short flags of ``--model-type`` and ``--emb-dim`` could not be checked
against 0.2.1's ``cli.py``: ``-m``/``-mtype`` and ``-e``/``-emb`` are all accepted, and every
spelling edgel3 documents works.

**Defaults are edgel3's, and edgel3's default model is a sparse model fine-tuned on
L3-Net's audio-visual task** (``model_type='sparse'``, 95.45 % sparse, ``retrain_type='ft'``).
edgesea's sparse models are the aisfx teacher pruned at edgel3's levels and retrained by
distillation (``'kd'``, :mod:`edgesea.sparse`); ``'ft'`` needs video and is not available.
A call with the defaults, ``edgel3.get_embedding(audio, sr)``, therefore raises an
:class:`EdgeL3Error` that says why and gives the fix: ``retrain_type='kd'`` (``-retrain
kd``), or ``model_type='sea'`` for the SEA students. It is never mapped silently to another
model. ``retrain_type`` and ``sparsity`` are validated exactly as edgel3 does
(``'ft'``/``'kd'``; 53.5, 63.5, 72.3, 87.0 or 95.45) and otherwise only matter for sparse
models; a valid level that is not packaged is an error naming the packaged levels.

What differs from edgel3 (on purpose):

- ``model_type='sparse'`` gives edgesea's pruned aisfx (44.1 kHz, 512-d), not edgel3's
  pruned L3-Net; ``emb_dim`` is not used for it (as in edgel3).
- ``model_type='sea'`` gives edgesea's packaged students (``sea_urban_<emb_dim>``, trained on
  UrbanSound8K at 16 kHz), not edgel3's SONYC-UST students: same contract and sizes,
  different weights, so the embeddings are not numerically edgel3's.
- ``model`` is an edgesea :class:`~edgesea.models.EmbeddingModel` (what
  :func:`load_embedding_model` returns), a model file or a packaged name, not a Keras model.
  Models are cached: :func:`load_embedding_model` and the ``model=None`` path never reload.
- Timestamps are the windows' true centres (``center=False``: starts),
  ``t * round(hop_size * sr) / sr`` at the model's rate, rather than ``t * hop_size``
  (equal for hops that are a whole number of samples, such as the default 0.1 s).
- :func:`process_file` replaces an existing output, as edgel3 does, but writes it atomically
  and adds a ``provenance`` array beside ``embedding`` and ``timestamps``; a ``suffix``
  starting with ``"."`` is refused (edgel3 would name the output ``<base><suffix>.npz``).
- Every invalid argument raises :class:`EdgeL3Error` (an alias of
  :class:`~edgesea.errors.EdgeSEAError`, so ``except edgel3.EdgeL3Error`` catches every
  edgesea error), including an invalid sample rate, which edgel3 never checked.
- The CLI takes only audio files from a folder, processes every file even when one fails
  (then raises, naming the failures), and does not print its parsed arguments.
"""

from __future__ import annotations

from edgesea.edgel3 import cli, core, edgel3_exceptions, edgel3_warnings, models
from edgesea.edgel3.cli import (
    get_file_list,
    main,
    parse_args,
    positive_float,
    positive_int,
    run,
)
from edgesea.edgel3.core import get_embedding, get_output_path, process_file
from edgesea.edgel3.edgel3_exceptions import EdgeL3Error
from edgesea.edgel3.edgel3_warnings import EdgeL3Warning
from edgesea.edgel3.models import (
    EMB_DIMS,
    MODEL_TYPES,
    RETRAIN_TYPES,
    SPARSITIES,
    load_embedding_model,
    load_embedding_model_path,
)

__all__ = ["EMB_DIMS", "MODEL_TYPES", "RETRAIN_TYPES", "SPARSITIES", "EdgeL3Error",
           "EdgeL3Warning", "__version__", "cli", "core", "edgel3_exceptions",
           "edgel3_warnings", "get_embedding", "get_file_list", "get_output_path",
           "load_embedding_model", "load_embedding_model_path", "main", "models",
           "parse_args", "positive_float", "positive_int", "process_file", "run"]

#: The edgel3 version whose API this package follows.
__version__ = "0.2.1"
