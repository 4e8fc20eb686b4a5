"""Short clips do not pay for a full batch of padding, and batched calls still equal
one-by-one calls (bit for bit) for every kind of model."""

from __future__ import annotations

import numpy as np
import pytest

import edgesea
from edgesea.core.batches import BatchQueue
from edgesea.inference import api
from edgesea.inference.batching import BATCH_QUANTUM, ModelBatcher

SR = 16000


def _clips(seconds, seed=0):
    rng = np.random.default_rng(seed)
    return [(0.1 * rng.standard_normal(int(s * SR))).astype(np.float32) for s in seconds]


def test_last_batch_is_padded_to_the_quantum_not_the_batch_size(monkeypatch):
    seen = []
    real = BatchQueue._run

    def spy(self):
        seen.append(self.fill)
        out = real(self)
        return out

    sizes = []
    model = api.get_model("sea_urban_64")
    batcher = ModelBatcher(model, 64, logmel=True)
    original = batcher.run
    batcher.run = lambda batch: (sizes.append(len(batch)), original(batch))[1]
    monkeypatch.setattr(BatchQueue, "_run", spy)
    logmel, _ = api.model_inputs(_clips([4.0])[0], SR, model=model, hop_size=0.5)
    batcher.feed(logmel, lambda rows: None)
    batcher.flush()
    assert seen == [len(logmel)]
    assert sizes == [-(-len(logmel) // BATCH_QUANTUM) * BATCH_QUANTUM] and sizes[0] < 64


@pytest.mark.parametrize("kw", [{}, {"tier": "mcu-1m", "emb_dim": 512},
                                {"model": "sea_urban_128.onnx"}, {"model": "sea_urban_64.int8"}],
                         ids=["student", "student-1m-512", "onnx", "int8"])
def test_batched_equals_one_by_one(kw):
    clips = _clips([0.3, 1.0, 1.7, 2.2, 3.9, 4.0, 6.1, 9.4], seed=1)
    for hop in (0.5, 0.25):
        together, _ = edgesea.get_embedding(clips, SR, hop_size=hop, batch_size=64, **kw)
        for clip, rows in zip(clips, together, strict=True):
            alone, _ = edgesea.get_embedding(clip, SR, hop_size=hop, **kw)
            np.testing.assert_array_equal(rows, alone)


@pytest.mark.filterwarnings("ignore::edgesea.EdgeSEAWarning")
def test_sparse_batched_equals_one_by_one():
    clips = _clips([0.4, 1.2, 2.0, 4.0], seed=2)
    together, _ = edgesea.get_embedding(clips, SR, model_type="sparse", hop_size=0.5)
    for clip, rows in zip(clips, together, strict=True):
        alone, _ = edgesea.get_embedding(clip, SR, model_type="sparse", hop_size=0.5)
        np.testing.assert_array_equal(rows, alone)
