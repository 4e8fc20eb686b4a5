"""edgel3's ``models``: its model types, sizes and sparsities, the argument checks edgel3
makes, and :func:`load_embedding_model` / :func:`load_embedding_model_path` on edgesea's
packaged students and sparse models."""

from __future__ import annotations

import os
from numbers import Real

import numpy as np

from edgesea.edgel3.edgel3_exceptions import EdgeL3Error
from edgesea.inference import api
from edgesea.models import EmbeddingModel
from edgesea.packaged import names as zoo
from edgesea.sparse.model import SparseModel
from edgesea.sparse.packaged import packaged_path

__all__ = ["EMB_DIMS", "MODEL_TYPES", "RETRAIN_TYPES", "SPARSITIES", "load_embedding_model",
           "load_embedding_model_path"]

#: edgel3's model types (``"sparse"``: edgesea's pruned aisfx, :mod:`edgesea.sparse`).
MODEL_TYPES = ("sea", "sparse")
#: edgel3's embedding sizes of the ``"sea"`` models.
EMB_DIMS = (512, 256, 128, 64)
#: edgel3's retraining types of the sparse models: fine-tuning, knowledge distillation.
RETRAIN_TYPES = ("ft", "kd")
#: edgel3's sparsities (percent) of the sparse models.
SPARSITIES = (53.5, 63.5, 72.3, 87.0, 95.45)

ModelArg = EmbeddingModel | str | os.PathLike | None


def _check_args(model_type: object, emb_dim: object, retrain_type: object,
                sparsity: object) -> tuple[str, int]:
    """edgel3's checks of the model arguments (always made, as edgel3 does)."""
    if not isinstance(model_type, str) or model_type not in MODEL_TYPES:
        raise EdgeL3Error(f"Invalid model type {model_type!r}: expected 'sea' or 'sparse'")
    if not isinstance(retrain_type, str) or retrain_type not in RETRAIN_TYPES:
        raise EdgeL3Error(f"Invalid re-training type {retrain_type!r}: expected 'ft' "
                          "(fine-tuned) or 'kd' (knowledge distilled)")
    if isinstance(sparsity, bool | np.bool_) or not isinstance(sparsity, Real) \
            or sparsity <= 0 or float(sparsity) not in SPARSITIES:
        raise EdgeL3Error(f"Invalid sparsity value {sparsity!r}: expected one of "
                          f"{', '.join(f'{s:g}' for s in SPARSITIES)}")
    if isinstance(emb_dim, bool | np.bool_) or not isinstance(emb_dim, int | np.integer) \
            or int(emb_dim) not in EMB_DIMS:
        raise EdgeL3Error(f"Invalid embedding dimension emb_dim={emb_dim!r}: expected an "
                          f"integer, one of {', '.join(map(str, EMB_DIMS))}")
    return model_type, int(emb_dim)


def _net(model: ModelArg, model_type: str, emb_dim: int, retrain_type: str = "kd",
         sparsity: float = 95.45) -> EmbeddingModel:
    """The model to run: ``model`` when given (the model arguments are then ignored, as in
    edgel3), else the packaged ``(model_type, emb_dim)`` student or the packaged
    ``(sparsity, retrain_type)`` sparse model (``'ft'`` raises)."""

    if model is not None and not isinstance(model, EmbeddingModel | SparseModel | str
                                            | os.PathLike):
        raise EdgeL3Error(f"Invalid model provided. Must be an edgesea EmbeddingModel (from "
                          f"edgel3.load_embedding_model), a model file or a packaged model "
                          f"name, or None, but got {type(model)}")
    return api.get_model(model, model_type, emb_dim, sparsity=float(sparsity),
                         retrain_type=retrain_type)


def load_embedding_model(model_type: str = "sparse", emb_dim: int = 128,
                         retrain_type: str = "ft", sparsity: float = 95.45
                         ) -> EmbeddingModel:
    """The packaged model with edgel3's characteristics, loaded once (cached).

    Parameters
    ----------
    model_type : {'sea', 'sparse'}
        ``'sea'``: edgesea's packaged SEA student of size ``emb_dim``. ``'sparse'`` (edgel3's
        default): edgesea's packaged sparse aisfx model of ``sparsity`` (512-d).
    emb_dim : {512, 256, 128, 64}
        Embedding size of the ``'sea'`` model.
    retrain_type : {'ft', 'kd'}
        Retraining of the sparse model (validated always; used for ``'sparse'``). The
        default ``'ft'`` (edgel3's) raises: it needs L3-Net's audio-visual task (video);
        pass ``'kd'``.
    sparsity : {53.5, 63.5, 72.3, 87.0, 95.45}
        Sparsity of the sparse model (validated always; used for ``'sparse'``).

    Returns
    -------
    EmbeddingModel or SparseModel
        Pass it as ``model=`` to :func:`get_embedding` and :func:`process_file`.

    Raises
    ------
    EdgeL3Error
        An invalid argument; ``model_type='sparse'`` with ``retrain_type='ft'``, or at a
        level that is not packaged.
    """
    model_type, emb_dim = _check_args(model_type, emb_dim, retrain_type, sparsity)
    return _net(None, model_type, emb_dim, retrain_type, sparsity)


def load_embedding_model_path(model_type: str = "sparse", emb_dim: int = 128,
                              retrain_type: str = "ft", sparsity: float = 95.45) -> str:
    """The path of the packaged model file :func:`load_embedding_model` loads.

    Parameters and errors are those of :func:`load_embedding_model`; the file is an edgesea
    ``.safetensors`` model (edgel3's were Keras ``.h5`` weights).

    Returns
    -------
    str
        The installed file of the packaged ``'sea'`` model of size ``emb_dim``, or of the
        ``'sparse'`` model of ``(sparsity, retrain_type)`` (a sparse model file).
    """
    model_type, emb_dim = _check_args(model_type, emb_dim, retrain_type, sparsity)
    if model_type == "sparse":
        return packaged_path(float(sparsity), retrain_type)
    return zoo.pretrained_path(model_type, emb_dim)
