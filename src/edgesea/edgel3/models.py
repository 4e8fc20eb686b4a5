"""edgel3's ``models``: its model types, sizes and sparsities, the argument checks edgel3
makes, and :func:`load_embedding_model` / :func:`load_embedding_model_path` on edgesea's
packaged students and sparse models."""

from __future__ import annotations

import os
from numbers import Real
from typing import Any

import numpy as np

from edgesea.core.extras import is_torch_module, require_torch
from edgesea.edgel3.edgel3_exceptions import EdgeL3Error
from edgesea.inference import api
from edgesea.packaged import names as zoo

__all__ = ["EMB_DIMS", "MODELS", "MODEL_TYPES", "RETRAIN_TYPES", "SPARSITIES",
           "load_embedding_model", "load_embedding_model_path"]

#: edgel3's model types (``"sparse"``: edgesea's pruned aisfx, :mod:`edgesea.sparse`).
MODEL_TYPES = ("sea", "sparse")
#: edgel3's embedding sizes of the ``"sea"`` models.
EMB_DIMS = (512, 256, 128, 64)
#: edgel3's retraining types of the sparse models: fine-tuning, knowledge distillation.
RETRAIN_TYPES = ("ft", "kd")
#: edgel3's sparsities (percent) of the sparse models.
SPARSITIES = (53.5, 63.5, 72.3, 87.0, 95.45)

ModelArg = Any  # an edgesea model or embedder, a path or packaged name, or None
EmbeddingModel = Any  # (edgesea.models.EmbeddingModel with torch; an embedder without)


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
    # edgel3 tests membership only (``emb_dim not in (512, 256, 128, 64)``): 128.0 and
    # numpy integers pass, '128' and True do not
    if isinstance(emb_dim, str | bytes | bool | np.bool_) or not _member(emb_dim, EMB_DIMS):
        raise EdgeL3Error(f"Invalid embedding dimension emb_dim={emb_dim!r}: expected one of "
                          f"{', '.join(map(str, EMB_DIMS))}")
    return model_type, int(emb_dim)


def _member(value: object, choices: tuple) -> bool:
    """``value in choices`` as edgel3 evaluates it (``==``), False where that fails."""
    try:
        return bool(value in choices)
    except (TypeError, ValueError):  # e.g. an array
        return False


def _flag(value: object, name: str) -> bool:
    """edgel3's ``center`` / ``verbose`` check, ``value in (True, False)``: True, False, 0, 1,
    0.0, 1.0 and NumPy booleans pass; -1, 2, 'x', None and arrays do not."""
    if isinstance(value, str | bytes) or not _member(value, (0, 1)):
        raise EdgeL3Error(f"invalid {name}={value!r}: expected True or False (or 0 or 1)")
    return bool(value)


def _net(model: ModelArg, model_type: str, emb_dim: int, retrain_type: str = "kd",
         sparsity: float = 95.45) -> EmbeddingModel:
    """The model to run: ``model`` when given (the model arguments are then ignored, as in
    edgel3), else the packaged ``(model_type, emb_dim)`` student or the packaged
    ``(sparsity, retrain_type)`` sparse model (``'ft'`` raises)."""

    if model is not None and not isinstance(model, (str, os.PathLike, *api.RUNTIME_EMBEDDERS)
                                            ) and not is_torch_module(model):
        raise EdgeL3Error(f"Invalid model provided. Must be an edgesea EmbeddingModel (from "
                          f"edgel3.load_embedding_model), a model file or a packaged model "
                          f"name, or None, but got {type(model)}")
    return api.get_model(model, model_type, emb_dim, sparsity=float(sparsity),
                         retrain_type=retrain_type)


def load_embedding_model(model_type: str, emb_dim: int, retrain_type: str, sparsity: float
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


def load_embedding_model_path(model_type: str, emb_dim: int, retrain_type: str,
                              sparsity: float) -> str:
    """The path of the packaged file of a model: as edgel3's, it validates nothing and never
    raises (:func:`load_embedding_model` checks the arguments).

    For ``model_type='sea'``: the student of size ``emb_dim``
    (``edgesea/pretrained/sea_urban_<emb_dim>.safetensors``; ``retrain_type`` and
    ``sparsity`` ignored); for any other type: the sparse model
    (``edgesea/pretrained/sparse_aisfx_<sparsity>_<retrain_type>.safetensors``; ``emb_dim``
    ignored), the values written as :func:`str` writes them (87.0 -> ``87.0``, 87 ->
    ``87``), as edgel3 builds its names. edgel3's files were Keras weights named
    ``edgel3_sea_ust_audio_emb_<emb_dim>.h5`` and ``edgel3_<retrain>_audio_sparsity_<s>.h5``;
    edgesea's are ``.safetensors`` model files (docs/edgel3.md). A path is returned whether
    or not the file is installed (the packaged levels: ``edgesea models``).

    Returns
    -------
    str
    """
    folder = zoo.PRETRAINED_DIR
    if model_type == "sea":
        return os.fspath(folder / f"sea_urban_{emb_dim}.safetensors")
    return os.fspath(folder / f"sparse_aisfx_{sparsity}_{retrain_type}.safetensors")


def _sea_network(emb_dim: int = 128, **kwargs: Any) -> EmbeddingModel:
    """An untrained network of the packaged ``'sea'`` students' architecture (``mcu``)."""
    require_torch("building an untrained edgel3 network (edgel3.models.MODELS)")
    # torch models: imported on use (the light install embeds without them)
    from edgesea.models.network import sea_mcu_student

    return sea_mcu_student(int(emb_dim))


def _sparse_network(**kwargs: Any) -> Any:
    """An untrained network of the sparse models' architecture (the dense aisfx CNN9, before
    pruning; edgel3's was L3-Net's audio network)."""
    require_torch("building an untrained edgel3 network (edgel3.models.MODELS)")
    # torch models: imported on use (the light install embeds without them)
    from edgesea.teachers.aisfx_net import AisfxNet

    return AisfxNet()


#: edgel3's model constructors by type (networks with fresh weights, as edgel3's builders
#: return them before ``load_weights``): ``'sea'`` takes ``emb_dim``; keyword arguments
#: edgel3 passes and does not use are ignored.
MODELS = {"sparse": _sparse_network, "sea": _sea_network}
