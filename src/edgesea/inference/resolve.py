"""How a model argument becomes what embeds: loaded models cached by file, the torch-free
embedders (int8 LiteRT, ONNX Runtime; every model without torch), their identities and
batchers. :mod:`edgesea.inference.api` re-exports these names."""

from __future__ import annotations

import json
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from edgesea.core.batches import BatchQueue
from edgesea.core.checks import OneOf, validate_params
from edgesea.core.extras import has_torch, is_torch_module
from edgesea.errors import EdgeSEAError, MissingExtraError
from edgesea.inference.int8 import TFLiteEmbedder, WindowBatcher
from edgesea.light.onnx_models import OnnxEmbedder, OnnxSparseModel
from edgesea.packaged.names import (
    MODEL_TYPES,
    ONNX_SUFFIX,
    ZOO_TIERS,
    pretrained_path,
    resolve_model,
)
from edgesea.sparse.file_checks import is_sparse_file
from edgesea.sparse.packaged import packaged_path

if TYPE_CHECKING:
    from edgesea.models import EmbeddingModel

__all__ = ["RUNTIME_EMBEDDERS", "embedder_identity", "get_embedder", "get_model",
           "make_batcher", "model_identity"]


_CACHE: OrderedDict[tuple, Any] = OrderedDict()  # loaded models and int8 embedders
_CACHE_SIZE = 8
_LOCK = threading.Lock()

ModelLike = Any  # an EmbeddingModel, a path or packaged name, an embedder, or None
#: Embedders run without torch: int8 LiteRT and float ONNX Runtime models.
RUNTIME_EMBEDDERS = (TFLiteEmbedder, OnnxEmbedder, OnnxSparseModel)


def _load_file(path: str) -> Any:
    """An edgesea model file, or a sparse model file (:mod:`edgesea.sparse.storage`)."""
    # torch-using modules, imported when a torch model is loaded (the light install has none)
    from edgesea.models import load_model
    from edgesea.sparse.model import SparseModel

    if is_sparse_file(path):
        return SparseModel.load(path)
    return load_model(path)


def _light_model(path: str) -> Any:
    """A model file as a torch-free embedder: an ONNX student, a sparse model file, an int8
    ``.tflite``; a packaged student's ``.safetensors`` means its packaged ``.onnx``."""
    if path.endswith(".tflite"):
        return _cached(path, TFLiteEmbedder)
    if path.endswith(ONNX_SUFFIX):
        return _cached(path, OnnxEmbedder)
    if is_sparse_file(path):
        return _cached(path, OnnxSparseModel)
    twin = os.path.splitext(path)[0] + ONNX_SUFFIX
    if path.endswith(".safetensors") and os.path.isfile(twin) and _same_dir(
            twin, pretrained_path()):
        return _cached(twin, OnnxEmbedder)
    raise MissingExtraError(
        f"running the edgesea model file {path} needs torch: run `pip install "
        "edgesea[train]`, or export it once with `edgesea export --format onnx` (with the "
        "train extra) and pass the .onnx file, which runs without torch")


def _same_dir(a: str, b: str) -> bool:
    return os.path.dirname(os.path.realpath(a)) == os.path.dirname(os.path.realpath(b))


def get_model(model: ModelLike = None, model_type: str = "sea",
              emb_dim: int = 128, *, tier: str = "mcu", sparsity: float = 95.45,
              retrain_type: str = "kd") -> EmbeddingModel:
    """Resolve a model argument to a loaded :class:`EmbeddingModel` (cached).

    ``model`` may be a loaded model (returned as is, in eval mode), a path to an edgesea
    model file or a sparse model file, or None for the packaged pretrained model
    ``(model_type, emb_dim)`` of the capacity tier ``tier`` (:data:`edgesea.zoo.ZOO_TIERS`:
    ``"mcu"``, the default, or ``"mcu-1m"``; always validated, used only when ``model`` is
    None). ``model_type="sparse"`` gives the packaged sparse aisfx model
    (:class:`~edgesea.sparse.model.SparseModel`, 512-d) of ``sparsity`` and
    ``retrain_type`` (:func:`edgesea.sparse.packaged.packaged_path`; ``emb_dim`` and ``tier``
    are not used). Files are cached by (path, size, mtime), so a changed file is reloaded.

    Without torch (``pip install edgesea`` with no ``train`` extra) the same references give
    torch-free embedders: a packaged student its ONNX file
    (:class:`~edgesea.light.onnx_models.OnnxEmbedder`), a sparse model
    :class:`~edgesea.light.onnx_models.OnnxSparseModel`; other ``.safetensors`` students
    raise :class:`~edgesea.errors.MissingExtraError` naming the extra.
    """
    if not isinstance(tier, str) or tier not in ZOO_TIERS:
        raise EdgeSEAError(f"invalid tier={tier!r}: expected one of {ZOO_TIERS}")
    if isinstance(model, RUNTIME_EMBEDDERS):
        return model
    if is_torch_module(model):
        # torch is imported already (the model is a torch module)
        from edgesea.models import EmbeddingModel
        from edgesea.sparse.model import SparseModel

        if not isinstance(model, EmbeddingModel | SparseModel):
            raise EdgeSEAError(f"model must be an edgesea EmbeddingModel, a SparseModel or a "
                               f"path, got {type(model).__name__}")
        return model.eval()
    if model is None:
        # every packaged type, the sparse models included (the zoo names only the students)
        validate_params({"model_type": model_type},
                        {"model_type": OneOf(*MODEL_TYPES, "sparse")})
        if isinstance(model_type, str) and model_type == "sparse":
            path = packaged_path(sparsity, retrain_type)
        else:
            path = pretrained_path(model_type, emb_dim, tier)
    elif isinstance(model, str | os.PathLike):  # a path or a packaged name (sea_urban_64)

        path = resolve_model(model, kind="float")
    else:
        raise EdgeSEAError(f"invalid model={model!r}: expected an EmbeddingModel, a path to a "
                           "model file, or None for a packaged model")
    if not has_torch():
        return _light_model(path)
    return _cached(path, _load_file)


def _cached(path: str | os.PathLike, load: Callable[[str], Any]) -> Any:
    """``load(real path)``, cached by (path, size, mtime): a changed file is reloaded."""
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except OSError as e:
        raise EdgeSEAError(f"model file not found: {path}") from e
    key = (real, st.st_size, st.st_mtime_ns)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    loaded = load(real)
    with _LOCK:
        _CACHE[key] = loaded
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return loaded


def _as_runtime(model: object) -> Any:
    """A model argument that names a torch-free embedder, as that embedder: an int8
    :class:`~edgesea.inference.int8.TFLiteEmbedder` (a ``.tflite`` path or a packaged
    ``NAME.int8``) or an :class:`~edgesea.light.onnx_models.OnnxEmbedder` (an ``.onnx`` path
    or ``NAME.onnx``), as is or loaded once (cached like float models); None for every other
    argument (torch models, their files and names, None)."""
    if isinstance(model, RUNTIME_EMBEDDERS):
        return model
    if model is None or not isinstance(model, str | os.PathLike):
        return None
    path = resolve_model(model, kind="any")
    if path.endswith(".tflite"):
        return _cached(path, TFLiteEmbedder)
    return _cached(path, OnnxEmbedder) if path.endswith(ONNX_SUFFIX) else None


_as_int8 = _as_runtime  # its name before the ONNX models


def get_embedder(model: ModelLike = None, model_type: str = "sea", emb_dim: int = 128, *,
                 tier: str = "mcu", sparsity: float = 95.45, retrain_type: str = "kd") -> Any:
    """What :func:`get_embedding` runs for these arguments: a torch-free embedder
    (``.tflite``, ``.onnx``, or any model without torch) or a torch model
    (:func:`get_model`)."""
    runtime = _as_runtime(model)
    if runtime is not None:
        return runtime
    return get_model(model, model_type, emb_dim, tier=tier, sparsity=sparsity,
                     retrain_type=retrain_type)


def embedder_identity(net: Any) -> str:
    """The identity of what embeds (:func:`model_identity` of a torch student, the
    ``identity`` attribute of every other embedder)."""
    return model_identity(net) if is_torch_module(net) and hasattr(net, "config") \
        else net.identity


_IDENTITY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def model_identity(model: EmbeddingModel) -> str:
    """A sha256 (hex) over a model's config JSON and all its weights and buffers.

    Two models have the same identity exactly when they compute the same embeddings by
    construction; cached per model object and recomputed when its weights change.
    """
    # a torch model: torch is imported already
    from edgesea.models.inference import weights_signature
    from edgesea.models.io import tensor_hash

    config = json.dumps(model.config.to_dict(), sort_keys=True, default=str)
    state = model.state_dict()
    signature = (config, weights_signature(model))
    with _LOCK:
        cached = _IDENTITY.get(model)
    if cached is not None and cached[0] == signature:
        return cached[1]
    h = tensor_hash(state)
    h.update(b"|config|" + config.encode())
    ident = h.hexdigest()
    with _LOCK:
        _IDENTITY[model] = (signature, ident)
    return ident


def make_batcher(net: Any, batch_size: int, *, logmel: bool = False, verbose: bool = False,
                 total: int | None = None) -> BatchQueue:
    """The batcher of ``net``: :class:`~edgesea.inference.batching.ModelBatcher` for a torch
    model, :class:`~edgesea.inference.int8.WindowBatcher` for every other embedder; with
    ``logmel=True`` it takes log-mel rows (``embed_logmel``)."""
    if is_torch_module(net):
        # torch models only (torch is imported already)
        from edgesea.inference.batching import ModelBatcher

        return ModelBatcher(net, batch_size, verbose, total=total, logmel=logmel)
    return WindowBatcher(net, batch_size, logmel=logmel, verbose=verbose, total=total)
