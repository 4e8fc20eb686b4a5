"""Ray Data plumbing shared by the Ray engines of teacher extraction
(:mod:`edgesea.extract.ray`) and of the augmentation bank (:mod:`edgesea.augment.ray`):
importing Ray with a clear error, its options, connecting, actor resources and ordered
results. Ray is an optional extra: ``pip install edgesea[ray]``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from edgesea.core.checks import check_int
from edgesea.errors import EdgeSEAError, MissingExtraError

__all__ = ["RayOptions", "connect", "import_ray", "ray_options", "resources", "results"]

#: Options of the Ray engine: ``address`` (None: a local Ray, or the cluster of
#: ``RAY_ADDRESS``), ``num_actors``, ``num_gpus_per_actor``.
RayOptions = dict[str, Any]


def import_ray() -> Any:
    """The ``ray`` module, or an :class:`EdgeSEAError` saying how to install it."""
    try:
        import ray
        import ray.data
    except ImportError as e:
        raise MissingExtraError("--engine ray needs Ray Data: pip install edgesea[ray] "
                           f"(or pip install 'ray[data]'); {e}") from e
    return ray


def ray_options(options: RayOptions | None) -> tuple[str | None, int, float]:
    opts = dict(options or {})
    unknown = sorted(set(opts) - {"address", "num_actors", "num_gpus_per_actor"})
    if unknown:
        raise EdgeSEAError(f"unknown Ray engine options {unknown}")
    n = opts.get("num_actors", 1)
    g = opts.get("num_gpus_per_actor", 0.0)
    check_int(n, "num_actors")
    if isinstance(g, bool) or not isinstance(g, int | float) or not math.isfinite(g) or g < 0:
        raise EdgeSEAError(f"invalid num_gpus_per_actor={g!r}: expected a number >= 0")
    return opts.get("address"), int(n), float(g)


def connect(address: str | None) -> tuple[Any, bool]:
    """Ray, connected (to ``address`` or a new local instance); whether we started it."""
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise EdgeSEAError(f"cannot connect to the Ray cluster at {address!r}: {e}") from e
    return ray, True


def resources(ray: Any, num_actors: int, gpus: float) -> tuple[float, float]:
    """CPUs reserved per embedding actor and per decoding task: an actor takes one CPU,
    fewer when the cluster has too few for the actors plus one decoding task."""
    cpus = float(ray.cluster_resources().get("CPU", 1.0))
    if gpus > 0:
        return 1.0 if cpus >= num_actors + 1 else 0.5, 0.5
    decode = 0.25
    per_actor = min(1.0, (cpus - decode) / num_actors)
    if per_actor <= 0:
        raise EdgeSEAError(f"the Ray cluster has {cpus:g} CPUs, too few for {num_actors} "
                           "embedding actors: ask for fewer --num-actors")
    return per_actor, decode


def results(ds: Any) -> Iterator[dict[str, np.ndarray]]:
    """The dataset's output batches in order; a failure in a task or an actor (a teacher
    error, a lost node) is an :class:`EdgeSEAError` (complete shards are kept)."""
    try:
        yield from ds.iter_batches(batch_size=None, batch_format="numpy")
    except EdgeSEAError:
        raise
    except Exception as e:  # RayTaskError, UserCodeException, ActorDiedError, ...
        first = (str(e).strip().splitlines() or [""])[-1][:300]
        raise EdgeSEAError(f"the Ray pipeline failed ({type(e).__name__}: {first}); the "
                           "complete shards are kept: rerun to resume") from e


