"""Scale-out engines (optional): teacher extraction and augmentation on Ray Data
(:mod:`.ray_engine`, ``pip install edgesea[ray]``) and distillation with PyTorch
DistributedDataParallel (:mod:`.ddp`). Core modules import these lazily, only when the
option that needs them is given (``--engine ray``, ``--nproc N``)."""
