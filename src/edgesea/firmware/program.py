"""Write the firmware program of a model: front end + generated network + ``main.c`` + board
support + linker script + ``Makefile`` + a short real clip as raw PCM.

:func:`write_program` puts every file ``make`` needs into one folder (the firmware bundle of
``edgesea export MODEL --format firmware``); ``make run-qemu`` then runs raw audio -> C front
end -> generated network -> embeddings on an emulated Cortex-M4F, and ``make run-host`` the
same program on the host. :func:`parse_program_output` reads what the program prints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from edgesea.audio.io import resample
from edgesea.core.fileio import atomic_path
from edgesea.errors import EdgeSEAError
from edgesea.firmware.codegen import FrontendLayout
from edgesea.firmware.csources import c_source
from edgesea.firmware.netgen import NetworkCode, write_network

__all__ = ["CLIP_NAME", "PCM_NAME", "ProgramOutput", "default_clip", "parse_program_output",
           "write_pcm", "write_program"]

#: The real clip every bundle carries (see ``edgesea/firmware/data/LICENSE.txt``).
CLIP_NAME = "clip_103074-7-0-2.flac"
#: Its raw PCM in the bundle (the default input of ``make run-qemu``).
PCM_NAME = "edgesea_clip.pcm"


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write(text)


def default_clip(sample_rate: int) -> np.ndarray:
    """The packaged real clip (2.5 s of UrbanSound8K, CC BY-NC 3.0) as int16 at
    ``sample_rate``."""
    import soundfile as sf

    with resources.as_file(resources.files("edgesea.firmware") / "data" / CLIP_NAME) as p:
        pcm, sr = sf.read(str(p), dtype="int16")
    if sr != sample_rate:
        x = resample(pcm.astype(np.float32) / 32768.0, sr, sample_rate)
        pcm = np.clip(np.round(np.asarray(x) * 32768.0), -32768, 32767).astype(np.int16)
    return np.ascontiguousarray(pcm, dtype=np.int16)


def write_pcm(path: str | os.PathLike, pcm: np.ndarray, hop: int) -> Path:
    """Write int16 PCM (little-endian), cut to whole frame hops, atomically."""
    arr = np.asarray(pcm)
    if arr.dtype != np.int16 or arr.ndim != 1:
        raise EdgeSEAError("the firmware's PCM must be a 1-D int16 array")
    n = arr.size // hop * hop
    if n == 0:
        raise EdgeSEAError(f"the PCM has {arr.size} samples: fewer than one hop ({hop})")
    path = Path(path)
    with atomic_path(path) as tmp:
        arr[:n].astype("<i2").tofile(tmp)
    return path


def write_program(out_dir: str | os.PathLike, model: str, layout: FrontendLayout,
                  net: NetworkCode, hop_frames: int,
                  pcm: np.ndarray | None = None) -> dict[str, Path]:
    """Write the program's files (the front end's are written by
    :func:`edgesea.firmware.write_frontend`).

    Parameters
    ----------
    out_dir : str or PathLike
        The bundle folder (it exists).
    model : str
        The model's name (comments).
    layout : FrontendLayout
        The front end's layout (a stream front end: ``padding='stream'``).
    net : NetworkCode
        The generated network.
    hop_frames : int
        Frames between embeddings.
    pcm : np.ndarray [int16], optional
        The default input (default: :func:`default_clip`).

    Returns
    -------
    dict of str to Path
        By role: ``net-header``, ``net-source``, ``nn-header``, ``nn-source``,
        ``program-main``, ``board-*``, ``linker-script``, ``makefile``, ``pcm``.
    """
    if not layout.stream:
        raise EdgeSEAError(f"{model}: the firmware program streams audio through a stream "
                           "front end (padding 'stream', the shipped students' front end); "
                           "this model's front end works window by window: use "
                           "edgesea_fe_compute with main_tflm.cc or your own main")
    if net.plan.input.size != layout.input_size:
        raise EdgeSEAError(f"{model}: the network takes {net.plan.input.size} values, the "
                           f"front end makes {layout.input_size}")
    out = Path(out_dir)
    net_roles = {"edgesea_net.h": "net-header", "edgesea_net.c": "net-source",
                 "edgesea_nn.h": "nn-header", "edgesea_nn.c": "nn-source"}
    files = {net_roles[name]: path for name, path in write_network(net, out).items()}
    subs = {"@@MODEL@@": model, "@@PCM@@": PCM_NAME, "@@HOP_FRAMES@@": str(int(hop_frames)),
            "@@HOP_S@@": f"{hop_frames * layout.hop / layout.sample_rate:g}"}
    roles = {"main.c": "program-main", "Makefile": "makefile",
             "edgesea_board.h": "board-header", "edgesea_board_mps2.c": "board-mps2",
             "edgesea_board_host.c": "board-host", "edgesea_mps2_an386.ld": "linker-script"}
    for name in roles:
        text = c_source(name + ".in" if name in ("main.c", "Makefile") else name)
        for key, value in subs.items():
            text = text.replace(key, value)
        _write_text(out / name, text)
        files[roles[name]] = out / name
    clip = default_clip(layout.sample_rate) if pcm is None else pcm
    files["pcm"] = write_pcm(out / PCM_NAME, clip, layout.hop)
    return files


@dataclass
class ProgramOutput:
    """What the firmware program printed.

    Attributes
    ----------
    starts : list of int
        Start sample of each window.
    embeddings : np.ndarray [shape=(n, D), int8]
    frontend_ticks, network_ticks : list of int
        Timer counts per window (the front end's: the frames pushed since the previous
        window plus the window itself).
    step_ticks : list of int
        Timer counts per network step, summed over the windows (``PROFILE=1``).
    calibration : tuple of int or None
        ``(ticks, instructions)`` of the known loop (``PROFILE=1``).
    stack_used, stack_size : int
    """

    starts: list[int] = field(default_factory=list)
    embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int8))
    frontend_ticks: list[int] = field(default_factory=list)
    network_ticks: list[int] = field(default_factory=list)
    step_ticks: list[int] = field(default_factory=list)
    calibration: tuple[int, int] | None = None
    stack_used: int = 0
    stack_size: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (embeddings as lists)."""
        return {"starts": self.starts, "embeddings": self.embeddings.tolist(),
                "frontend_ticks": self.frontend_ticks, "network_ticks": self.network_ticks,
                "step_ticks": self.step_ticks, "calibration": self.calibration,
                "stack_used": self.stack_used, "stack_size": self.stack_size}


def parse_program_output(text: str) -> ProgramOutput:
    """Read the ``E``/``T``/``P``/``K``/``S`` lines of the program.

    Raises
    ------
    EdgeSEAError
        When the program did not finish (no ``DONE``) or printed a malformed line.
    """
    if "DONE" not in text:
        raise EdgeSEAError(f"the firmware program did not finish: {text.strip()[-600:]!r}")
    out = ProgramOutput()
    rows = []
    try:
        for line in text.splitlines():
            if not line.strip():
                continue
            tag, *vals = line.split()
            if tag == "E":
                out.starts.append(int(vals[0]))
                rows.append([int(v) for v in vals[1:]])
            elif tag == "T":
                out.frontend_ticks.append(int(vals[0]))
                out.network_ticks.append(int(vals[1]))
            elif tag == "P":
                out.step_ticks.append(int(vals[1]))
            elif tag == "K":
                out.calibration = (int(vals[0]), int(vals[1]))
            elif tag == "S":
                out.stack_used, out.stack_size = int(vals[0]), int(vals[1])
    except (ValueError, IndexError) as e:
        raise EdgeSEAError(f"malformed line in the firmware program's output: {e}") from e
    if rows and len({len(r) for r in rows}) != 1:
        raise EdgeSEAError("the firmware program printed embeddings of different sizes")
    out.embeddings = np.asarray(rows, dtype=np.int8) if rows else np.zeros((0, 0), np.int8)
    return out
