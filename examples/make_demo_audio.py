"""Build ``examples/audio``: the small real-audio demo set of ``make demo``.

40 UrbanSound8K clips, 4 per class (2 from fold 1, 2 from fold 2; fold 10, the evaluation
test fold, is never read), from the project's shared subset
(``../shared/data/urbansound8k_subset``: 16 kHz mono FLAC). The selection is deterministic:
within each (class, fold), candidates are ordered by the SHA-256 of their file name,
foreground clips of (almost) 4 s first, and at most one clip per Freesound recording is taken
(so the demo's validation split, grouped by recording, has many recordings to choose from).
Clips over ``MAX_CLIP_BYTES`` are skipped to keep the folder under 4 MB.

Each clip is decoded, downmixed to mono and resampled to 16 kHz (soxr HQ) if it is not at
16 kHz already, with ``edgesea.audio.io``, and written as 16-bit FLAC under its original stem
(``FSID-CLASS-OCC-SLICE``, which ``edgesea.audio.files.recording_groups`` relies on).

Usage: python examples/make_demo_audio.py [--source DIR] [--out examples/audio]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import shutil
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from edgesea.audio.io import load_audio, resample, to_float_mono

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[1] / "shared" / "data" / "urbansound8k_subset"
DEFAULT_OUT = HERE / "audio"
FOLDS = (1, 2)  # never 10: it is the evaluation test fold
PER_CLASS_FOLD = 2
N_CLASSES = 10
RATE = 16000
MAX_CLIP_BYTES = 100_000
MAX_TOTAL_BYTES = 4_000_000
LICENSE_TEXT = """\
Demo audio of edgesea (`make demo`): {n} clips of UrbanSound8K
==============================================================

These {n} audio clips are excerpts of the UrbanSound8K dataset:

    J. Salamon, C. Jacoby and J. P. Bello,
    "A Dataset and Taxonomy for Urban Sound Research",
    22nd ACM International Conference on Multimedia (ACM MM 2014), Orlando, USA,
    November 2014. https://urbansounddataset.weebly.com/urbansound8k.html

License: Creative Commons Attribution-NonCommercial 3.0 Unported (CC BY-NC 3.0),
https://creativecommons.org/licenses/by-nc/3.0/. You may copy, redistribute and adapt
them for non-commercial purposes only, giving appropriate credit (cite the paper above)
and indicating changes. UrbanSound8K's clips are cut from Freesound recordings
(https://freesound.org); each file name starts with the Freesound id of its source
recording (FSID-CLASSID-OCCURRENCE-SLICE), which identifies its author (the original
FREESOUNDCREDITS.txt of UrbanSound8K lists them). This license covers these audio files
only, not the edgesea code.

Origin and changes
------------------
- Source: the UrbanSound8K subset (folds 1, 2 and 10) kept in the project's shared data
  folder (../shared/data/urbansound8k_subset, its README.md gives the provenance). Only
  folds 1 and 2 are used here; fold 10, the evaluation test fold, is not included.
- Changes relative to the original UrbanSound8K WAV files: converted to mono, resampled
  to 16 kHz (soxr, through an intermediate 22,050 Hz copy), 16-bit samples, stored as FLAC
  (lossless). Durations are the original ones (an intermediate copy had looped the short
  clips to 4 s; that was undone). No gain normalisation. The original stem of each file
  name is kept; the files are grouped in fold1/ and fold2/ folders.
- Selection (reproducible): examples/make_demo_audio.py picks {per} clips of each of the 10
  classes from each of folds 1 and 2 (at most one per Freesound recording);
  metadata.csv lists them (filename, label, fold, class_id, freesound_id).
"""


def _order_key(row: dict[str, str]) -> tuple[bool, str]:
    long_fg = row["salience"] == "1" and float(row["duration_s"]) >= 3.9
    return (not long_fg, hashlib.sha256(Path(row["filename"]).name.encode()).hexdigest())


def select(source: Path) -> list[dict[str, str]]:
    """The deterministic selection: metadata rows of the chosen clips (folds 1 and 2)."""
    with open(source / "metadata.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if int(r["fold"]) in FOLDS]
    chosen: list[dict[str, str]] = []
    used_fsids: set[str] = set()
    for class_id in range(N_CLASSES):
        for fold in FOLDS:
            cands = sorted((r for r in rows if int(r["class_id"]) == class_id
                            and int(r["fold"]) == fold), key=_order_key)
            picked = 0
            for r in cands:
                if picked == PER_CLASS_FOLD:
                    break
                if r["freesound_id"] in used_fsids or \
                        (source / r["filename"]).stat().st_size > MAX_CLIP_BYTES:
                    continue
                chosen.append(r)
                used_fsids.add(r["freesound_id"])
                picked += 1
            if picked < PER_CLASS_FOLD:
                sys.exit(f"class {class_id} fold {fold}: only {picked} usable clips")
    return chosen


def build(source: Path, out: Path) -> list[dict[str, str]]:
    """Write the clips, ``metadata.csv`` and ``LICENSE`` to ``out`` (replacing it)."""
    chosen = select(source)
    if out.exists():
        shutil.rmtree(out)
    meta = []
    for r in chosen:
        audio, sr = load_audio(source / r["filename"])
        mono = resample(to_float_mono(audio), sr, RATE)
        rel = f"fold{r['fold']}/{Path(r['filename']).stem}.flac"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(out / rel, np.clip(mono, -1.0, 1.0 - 2.0 ** -15), RATE, format="FLAC",
                 subtype="PCM_16")
        meta.append({"filename": rel, "label": r["label"], "fold": r["fold"],
                     "class_id": r["class_id"], "freesound_id": r["freesound_id"]})
    with open(out / "metadata.csv", "w", newline="") as f:
        w = csv.DictWriter(f, ["filename", "label", "fold", "class_id", "freesound_id"],
                           lineterminator="\n")
        w.writeheader()
        w.writerows(meta)
    (out / "LICENSE").write_text(LICENSE_TEXT.format(n=len(meta), per=PER_CLASS_FOLD))
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    if total > MAX_TOTAL_BYTES:
        sys.exit(f"{out} holds {total:,} bytes, over the {MAX_TOTAL_BYTES:,} budget")
    print(f"wrote {len(meta)} clips ({len({m['label'] for m in meta})} classes), "
          f"{total:,} bytes, to {out}")
    return meta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    if not (args.source / "metadata.csv").is_file():
        sys.exit(f"needs the UrbanSound8K subset at {args.source}")
    build(args.source, args.out)


if __name__ == "__main__":
    main()
