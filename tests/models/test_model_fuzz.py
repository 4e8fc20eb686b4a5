"""Fuzzing of the edgesea model file header: hostile headers give EdgeSEAError, fast and in
bounded memory.

Starting from the shipped ``sea_urban_64.safetensors``, the fuzz loop applies seeded random
mutations to the JSON header (values replaced by huge/negative ints, floats, NaN/Infinity,
strings, lists, nested dicts and deep nesting; keys removed or added), each tried three ways:
with the stale checksum, with the format-2 checksum recomputed (as an attacker can), and as a
format-1 file with its tensor checksum; plus byte flips inside the safetensors header, a
corrupted header length and truncations. Every attempt must either load a model whose
configuration and metadata are exactly the mutated ones (only possible with a recomputed
checksum) or raise :class:`~edgesea.errors.EdgeSEAError`; nothing else.

Bounds checked (the loop runs in a child process, ``sys.executable -c``):

- each attempt takes under ``MAX_SECONDS`` = 3 s;
- the child's peak RSS (``ru_maxrss`` of the child, reported by the child itself, since the
  parent's ``RUSAGE_CHILDREN`` maximum also covers every earlier child of the test session)
  stays under its baseline after imports and reading the base file + ``MAX_GROWTH_MB`` =
  300 MB; the child also runs under an address-space limit of its start size + 3 GiB, so a
  regression fails the test with a MemoryError instead of exhausting the machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edgesea.packaged.names import PRETRAINED_DIR

BASE = PRETRAINED_DIR / "sea_urban_64.safetensors"
MAX_SECONDS = 3.0
MAX_GROWTH_MB = 300
ATTEMPTS = 450  # JSON mutations; each is tried 3 ways, plus the byte-level attempts

CHILD = r'''
import copy, json, math, os, resource, struct, sys, time, warnings
def vm_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1])
    return 0
import numpy as np
import torch
torch.set_num_threads(1)
from safetensors import safe_open
from edgesea.errors import EdgeSEAError
from edgesea.models import io as mio
from edgesea.models import load_model

base, workdir, seed, n_attempts = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
raw = open(base, "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
st_header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
header = json.loads(st_header["__metadata__"]["edgesea"])
with safe_open(base, "pt") as f:
    tensors = {k: f.get_tensor(k) for k in f.keys()}
limit = vm_kb() * 1024 + (3 << 30)
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rng = np.random.default_rng(seed)
path = os.path.join(workdir, "fuzz.safetensors")
ORIG = mio.canonical_json({"config": header["config"], "metadata": header["metadata"]})

def file_bytes(h):
    st = dict(st_header)
    st["__metadata__"] = {"edgesea": h if isinstance(h, str) else json.dumps(h)}
    blob = json.dumps(st).encode()
    blob += b" " * (-len(blob) % 8)
    return struct.pack("<Q", len(blob)) + blob + data

def nested(depth):
    v = 1
    for _ in range(depth):
        v = [v] if rng.random() < 0.5 else {"k": v}
    return v

def value():
    r = int(rng.integers(0, 20))
    return [lambda: int(rng.integers(0, 10**12)), lambda: -int(rng.integers(1, 10**6)),
            lambda: float(rng.normal() * 10.0 ** int(rng.integers(-12, 13))), lambda: "NaN",
            lambda: float("nan"), lambda: float("inf"), lambda: 0, lambda: None,
            lambda: bool(rng.random() < 0.5), lambda: "x" * int(rng.integers(0, 2000)),
            lambda: [int(rng.integers(-5, 5000)) for _ in range(int(rng.integers(0, 70)))],
            lambda: [[int(rng.integers(1, 9000))] * 3] * int(rng.integers(1, 100)),
            lambda: {"a": {"b": [1, 2, {"c": None}]}}, lambda: nested(int(rng.integers(2, 60))),
            lambda: 3.0, lambda: 1 << 40, lambda: [], lambda: {},
            lambda: int(rng.integers(1, 5000)), lambda: float(rng.integers(1, 100)) / 7][r]()

def paths(v, prefix=()):
    out = [prefix]
    if isinstance(v, dict):
        for k, c in v.items():
            out += paths(c, prefix + (k,))
    elif isinstance(v, list):
        for i, c in enumerate(v):
            out += paths(c, prefix + (i,))
    return out

def mutate(h):
    h = copy.deepcopy(h)
    for _ in range(int(rng.integers(1, 4))):
        ps = [p for p in paths(h) if p]
        p = ps[int(rng.integers(len(ps)))]
        if rng.random() < 0.7:
            p = p if rng.random() < 0.5 else p[:2] if p[0] == "config" else p
        parent = h
        for k in p[:-1]:
            parent = parent[k]
        op = rng.random()
        if op < 0.7:
            parent[p[-1]] = value()
        elif op < 0.85:
            del parent[p[-1]]
        elif isinstance(parent, dict):
            parent["extra_%d" % rng.integers(100)] = value()
        else:
            parent.append(value())
    return h

stats = {"attempts": 0, "loaded": 0, "refused": 0, "max_s": 0.0, "slowest": None,
         "wrong": []}

def attempt(blob, kind, expect_fail=False, want=None):
    with open(path, "wb") as fh:
        fh.write(blob)
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = load_model(path)
        ok = True
    except EdgeSEAError:
        ok = False
    except BaseException as e:
        stats["wrong"].append(f"{kind}: {type(e).__name__}: {str(e)[:200]}")
        ok = None
    dt = time.perf_counter() - t0
    stats["attempts"] += 1
    if dt > stats["max_s"]:
        stats["max_s"], stats["slowest"] = dt, kind
    if ok:
        stats["loaded"] += 1
        if expect_fail:
            stats["wrong"].append(f"{kind}: loaded with a stale checksum")
        elif want is not None:  # what loaded is what the file says (absent keys: defaults)
            got, exp = model.config.to_dict(), want["config"]
            diff = [k for k in exp
                    if mio.canonical_json(got.get(k)) != mio.canonical_json(exp[k])]
            if diff or mio.canonical_json(model.metadata) != mio.canonical_json(
                    want.get("metadata") or {}):
                stats["wrong"].append(f"{kind}: loaded config/metadata differ from the "
                                      f"file's in {diff}")
    elif ok is False:
        stats["refused"] += 1

for i in range(n_attempts):
    h = mutate(header)
    cfg, meta = h.get("config"), h.get("metadata")
    changed = mio.canonical_json({"config": cfg, "metadata": meta}) != ORIG
    attempt(file_bytes(h), f"stale#{i}", expect_fail=changed)
    if not isinstance(h, dict):
        continue
    h2 = dict(h, format_version=2)
    h2["sha256"] = mio.header_digest(tensors, h2)
    attempt(file_bytes(h2), f"resigned#{i}", want=h2)
    h1 = dict(h, format_version=1, sha256=mio.tensor_digest(tensors))
    attempt(file_bytes(h1), f"v1#{i}", want=h1)
good = file_bytes(header)
for i in range(n_attempts // 2):
    b = bytearray(good)
    for _ in range(int(rng.integers(1, 4))):
        b[int(rng.integers(8, 8 + n))] = int(rng.integers(256))
    attempt(bytes(b), f"flip#{i}")
for i in range(n_attempts // 10):
    b = bytearray(good)
    b[int(rng.integers(0, 8))] = int(rng.integers(256))
    attempt(bytes(b), f"length#{i}")
    attempt(good[:int(rng.integers(0, len(good)))], f"truncated#{i}")
deep = '{"format": "edgesea-model", "format_version": 2, "metadata": ' + "[" * 200000
attempt(file_bytes(deep + "]" * 200000 + "}"), "deep JSON")
attempt(file_bytes('{"format": "edgesea-model", "format_version": 2, "config": '
                   + "9" * 10000 + "}"), "huge int")
stats["baseline_mb"] = baseline / 1024
stats["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(stats))
'''


@pytest.mark.skipif(not BASE.is_file(), reason="no packaged 64-d model")
def test_fuzzed_headers_raise_edgesea_error_quickly_in_bounded_memory(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(BASE), str(tmp_path), "17",
                           str(ATTEMPTS)], capture_output=True, text=True, timeout=240,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"fuzz: {stats['attempts']} attempts ({stats['loaded']} loaded, {stats['refused']} "
          f"refused), slowest {stats['max_s']:.3f} s ({stats['slowest']}), peak RSS "
          f"{stats['peak_mb']:.0f} MB (baseline {stats['baseline_mb']:.0f} MB)")
    assert stats["wrong"] == []
    assert stats["attempts"] >= 2 * ATTEMPTS
    assert stats["loaded"] > 0 and stats["refused"] > stats["loaded"]
    assert stats["max_s"] < MAX_SECONDS, stats["slowest"]
    assert stats["peak_mb"] < stats["baseline_mb"] + MAX_GROWTH_MB
