"""Embed a live-like stream: a file read in 20 ms chunks, as a microphone would deliver them,
each window's embedding printed as soon as its audio has arrived (edgesea.StreamEmbedder).

    python examples/stream_embed.py [AUDIO_FILE] [--hop 0.5]

The rows equal edgesea.get_embedding on the whole file (checked at the end).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf

import edgesea

CLIP = Path(__file__).parent / "audio" / "fold1" / "103074-7-0-2.flac"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("audio", nargs="?", type=Path, default=CLIP)
    ap.add_argument("--hop", type=float, default=0.5)
    args = ap.parse_args()
    info = sf.info(args.audio)
    stream = edgesea.StreamEmbedder(sr=info.samplerate, hop_size=args.hop)
    chunk = int(0.02 * info.samplerate)  # 20 ms, as an audio callback delivers it
    rows = []
    with sf.SoundFile(args.audio) as f:
        for block in f.blocks(blocksize=chunk, dtype="float32"):
            emb, ts = stream.push(block)
            for e, t in zip(emb, ts, strict=True):
                print(f"t={t:6.2f} s  embedding[:4]={np.round(e[:4], 3)}")
            rows.append(emb)
    emb, ts = stream.flush()
    for e, t in zip(emb, ts, strict=True):
        print(f"t={t:6.2f} s  embedding[:4]={np.round(e[:4], 3)}  (flush)")
    got = np.concatenate([*rows, emb])
    audio, sr = sf.read(args.audio, dtype="float32")
    want, _ = edgesea.get_embedding(audio, sr, hop_size=args.hop)
    print(f"{len(got)} windows; max difference to get_embedding on the whole file: "
          f"{np.abs(got - want).max():.2e}")


if __name__ == "__main__":
    main()
