"""Fuzz every file format edgesea reads back (run by ``test_fuzz_formats.py`` in a child
process, so that its peak memory is its own).

For each of twelve formats a valid file is made (or taken from the packaged models), then Hypothesis
mutates its bytes (flips, overwrites, truncations, insertions of random or huge-number
bytes, block duplications) and, for JSON formats, its structure (values replaced by random
JSON, deep nesting, lone surrogates, absurd numbers), a fixed number of examples per format
with a fixed seed. The reader must either accept the file or raise
:class:`~edgesea.errors.EdgeSEAError`; any other exception fails. Prints one JSON line:
per format, the inputs tried, accepted and refused; the process's RSS after the imports and
at its peak.

    python tests/integration/fuzz_formats.py [EXAMPLES_PER_FORMAT]
"""

from __future__ import annotations

import json
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgesea.errors import EdgeSEAError
from edgesea.packaged.names import PRETRAINED_DIR

N = int(sys.argv[1]) if len(sys.argv) > 1 else 120


def _status_mb(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process in MB, from /proc/self/status:
    the peak of this program's own memory (``getrusage``'s maxrss keeps the parent's across
    fork and exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _rss_mb() -> float:
    return _status_mb("VmRSS")


_BYTE_OPS = st.lists(st.tuples(st.sampled_from(["flip", "set", "cut", "insert", "dup", "big"]),
                               st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=6)


def mutate_bytes(data: bytes, ops: list) -> bytes:
    buf = bytearray(data)
    for op, where, value in ops:
        if not buf:
            break
        i = min(int(where * len(buf)), len(buf) - 1)
        if op == "flip":
            buf[i] ^= 1 << (value % 8)
        elif op == "set":
            buf[i] = value
        elif op == "cut":
            del buf[i:]
        elif op == "insert":
            buf[i:i] = bytes([value]) * (1 + value % 16)
        elif op == "dup":
            buf[i:i] = buf[i:i + 1 + value * 4]
        else:  # a huge little-endian number where a length or offset may be
            buf[i:i + 8] = (0xFFFFFFF0 | value).to_bytes(8, "little")
    return bytes(buf)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats(allow_nan=True)
    | st.text(max_size=20) | st.sampled_from(["\udcff", "../../../../etc/passwd", "/etc/passwd",
                                              "x" * 5000]),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids,
                                                               max_size=4),
    max_leaves=20)


def mutate_json(doc: object, data: st.DataObject) -> str:
    """Replace a few values at random paths of ``doc``; sometimes nest it deeply."""
    doc = json.loads(json.dumps(doc))
    for _ in range(data.draw(st.integers(1, 4))):
        node, path = doc, []
        while isinstance(node, dict | list) and node and data.draw(st.booleans()):
            key = data.draw(st.sampled_from(sorted(node) if isinstance(node, dict)
                                            else range(len(node))))
            path.append(key)
            node = node[key]
        new = data.draw(_JSON)
        if not path:
            doc = new if data.draw(st.integers(0, 9)) == 0 else doc
            continue
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        parent[path[-1]] = new
    text = json.dumps(doc)
    if data.draw(st.integers(0, 19)) == 0:
        text = "[" * 50_000 + text + "]" * 50_000
    return text


class Format:
    def __init__(self, name: str, reader: Callable[[Path], object], sample: bytes,
                 path: Path, json_doc: object = None) -> None:
        self.name, self.reader, self.sample, self.path = name, reader, sample, path
        self.json_doc = json_doc
        self.tried = self.accepted = self.refused = 0

    def check(self, content: bytes) -> None:
        self.path.write_bytes(content)
        self.tried += 1
        try:
            self.reader(self.path)
            self.accepted += 1
        except EdgeSEAError:
            self.refused += 1
        except Exception as e:
            raise AssertionError(f"{self.name}: {type(e).__name__}: {e}\n"
                                 f"{traceback.format_exc()[-1500:]}") from e


def formats(tmp: Path) -> list[Format]:
    from edgesea.augment.bank import read_aug_manifest
    from edgesea.evaluate.run import _cached_result
    from edgesea.extract.run import extract
    from edgesea.firmware.tflite_graph import read_graph
    from edgesea.inference.outputs import read_provenance
    from edgesea.models import load_model, save_model, sea_student
    from edgesea.runtime.litert import check_tflite_file
    from edgesea.runtime.spec_reader import read_edge_spec
    from edgesea.sparse.model import SparseModel
    from edgesea.store.shards import EmbeddingStore
    from edgesea.teachers.model import ModelTeacher

    torch.manual_seed(0)
    tiny = sea_student(16, sample_rate=16000, head="linear", filters=(4, 4, 8, 8)).eval()
    model_file = Path(save_model(tiny, tmp / "model.safetensors"))
    (tmp / "audio").mkdir()
    rng = np.random.default_rng(0)
    sf.write(tmp / "audio" / "a.wav", (0.1 * rng.standard_normal(24000)).astype(np.float32),
             16000)
    sf.write(tmp / "a.flac", (0.1 * rng.standard_normal(8000)).astype(np.float32), 16000)
    extract(tmp / "audio", tmp / "store", ModelTeacher(tiny), hop_size=0.5, progress=False)
    store_manifest = json.loads((tmp / "store" / "manifest.json").read_text())
    (tmp / "aug").mkdir()
    aug_manifest = {"format": "edgesea-augmented-store", "format_version": 1, "shards": [
        {"file": "shards/aug-00000.npz", "status": "complete", "n_rows": 4}]}
    spec = json.loads((PRETRAINED_DIR / "sea_urban_64.edge.json").read_text())
    tflite = (PRETRAINED_DIR / "sea_urban_64.int8.tflite").read_bytes()
    np.savez(tmp / "cache.npz", scores=np.zeros((3, 2)), result=np.array(json.dumps(
        {"metrics": {}})))
    out = tmp / "out.npz"
    np.savez(out, embedding=np.zeros((2, 4), np.float32), timestamps=np.zeros(2),
             provenance=np.array(json.dumps({"model": "x", "source": {"name": "a"}})))

    def store(path: Path) -> None:
        EmbeddingStore.open(path.parent)

    def aug(path: Path) -> None:
        read_aug_manifest(path.parent)

    def provenance(path: Path) -> None:
        read_provenance(path)  # None or a dict: never raises

    from edgesea.distill.checkpoint import _read_checkpoint

    torch.save({"model": tiny.state_dict(), "epoch": 3}, tmp / "ckpt.pt")

    def checkpoint(path: Path) -> None:
        _read_checkpoint(path, 1 << 24, ("model", "epoch"))

    sparse = PRETRAINED_DIR / "sparse_aisfx_95.45_kd.safetensors"
    return [
        Format("float model (.safetensors)", load_model, model_file.read_bytes(),
               tmp / "fz_model.safetensors"),
        Format("sparse model (.safetensors)", SparseModel.load, sparse.read_bytes(),
               tmp / "fz_sparse.safetensors"),
        Format("int8 model (.tflite): graph reader", lambda p: read_graph(p), tflite,
               tmp / "fz.tflite"),
        Format("int8 model (.tflite): file check", check_tflite_file, tflite,
               tmp / "fz2.tflite"),
        Format("edge spec (.edge.json)", read_edge_spec, json.dumps(spec).encode(),
               tmp / "fz.edge.json", spec),
        Format("embedding store manifest", store, json.dumps(store_manifest).encode(),
               tmp / "store" / "manifest.json", store_manifest),
        Format("augmented store manifest", aug, json.dumps(aug_manifest).encode(),
               tmp / "aug" / "manifest.json", aug_manifest),
        Format("audio (wav)", _load_audio, (tmp / "audio" / "a.wav").read_bytes(),
               tmp / "fz.wav"),
        Format("audio (flac)", _load_audio, (tmp / "a.flac").read_bytes(), tmp / "fz.flac"),
        Format("evaluate cache (.npz)", _cached_result, (tmp / "cache.npz").read_bytes(),
               tmp / "fz_cache.npz"),
        Format("embedding output (.npz provenance)", provenance, out.read_bytes(),
               tmp / "fz_out.npz"),
        Format("distillation checkpoint (.pt)", checkpoint, (tmp / "ckpt.pt").read_bytes(),
               tmp / "fz_ckpt.pt"),
    ]


def _load_audio(path: Path) -> None:
    import edgesea

    edgesea.load_audio(path)


def run(fmt: Format) -> None:
    cfg = settings(max_examples=N, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))

    @cfg
    @given(ops=_BYTE_OPS, data=st.data())
    def fuzz(ops: list, data: st.DataObject) -> None:
        if fmt.json_doc is not None and data.draw(st.booleans()):
            fmt.check(mutate_json(fmt.json_doc, data).encode("utf-8", "surrogatepass"))
        else:
            fmt.check(mutate_bytes(fmt.sample, ops))

    fuzz()


def main() -> int:
    with tempfile.TemporaryDirectory() as d:
        fmts = formats(Path(d))
        start = _rss_mb()
        for fmt in fmts:
            run(fmt)
        peak = _status_mb("VmHWM")
    print(json.dumps({"start_rss_mb": start, "peak_rss_mb": peak, "formats": {
        f.name: {"tried": f.tried, "accepted": f.accepted, "refused": f.refused}
        for f in fmts}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
