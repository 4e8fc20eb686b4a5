"""The batch feed/flush protocol, in one place: windows of any number of inputs packed into
batches of a fixed size, each batch run once, and each input's rows handed back to it in
order. Every batcher of edgesea is a :class:`BatchQueue` with its own ``run`` (a float
student, an int8 LiteRT model, a teacher)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from tqdm.auto import tqdm

from edgesea.core.checks import check_int

__all__ = ["MAX_BATCH_WINDOWS", "BatchQueue", "Sink", "array_sink", "check_batch_size"]

#: Receives the rows of the windows it fed, in order, possibly over several calls.
Sink = Callable[[np.ndarray], None]


class BatchQueue:
    """Windows into batches of ``batch_size``, rows back to their sinks.

    Parameters
    ----------
    run : callable
        ``run(batch) -> rows``: one row per window of ``batch`` (float32, ``(n, ...)``).
    batch_size : int
        Windows per run.
    zero_fill : bool or int
        ``True``: pad the last batch with zero windows to a full ``batch_size`` (the rows of
        a window then never depend on how many others share its batch). An integer ``q``:
        pad it only to the next multiple of ``q``, for a network whose rows are the same in
        every batch of a multiple of ``q`` windows (a short clip then pays for at most
        ``q - 1`` extra windows, not ``batch_size - 1``). ``False``: run it as it is.
    verbose, total, desc
        A progress bar over ``total`` windows.

    Notes
    -----
    ``feed(frames, sink)`` copies windows into one buffer (its width is that of the first
    windows fed); each full buffer is run at once and its rows go to the sinks of the windows
    they came from. ``flush()`` runs the rest. ``truncate(n)`` forgets queued windows after
    the first ``n`` still queued (those of an input that failed).
    """

    def __init__(self, run: Callable[[np.ndarray], np.ndarray], batch_size: int,
                 zero_fill: bool | int = False, verbose: bool = False,
                 total: int | None = None,
                 desc: str = "embedding") -> None:
        self.run, self.size, self.zero_fill = run, int(batch_size), zero_fill
        self.buf: np.ndarray | None = None
        self.fill = 0
        self.owners: list[tuple[Sink, int]] = []
        self.bar = tqdm(total=total, unit="win", disable=not verbose, desc=desc)

    def feed(self, frames: np.ndarray, sink: Sink) -> None:
        """Queue ``frames`` ``(n, ...)``; ``sink`` receives their ``n`` rows, in order."""
        if len(frames) and (self.buf is None or (
                frames.shape[1:] != self.buf.shape[1:] and not self.fill)):
            self.buf = np.empty((self.size, *frames.shape[1:]), dtype=np.float32)
        start = 0
        while start < frames.shape[0]:
            take = min(self.size - self.fill, frames.shape[0] - start)
            self.buf[self.fill:self.fill + take] = frames[start:start + take]
            self.owners.append((sink, take))
            self.fill += take
            start += take
            if self.fill == self.size:
                self._run()

    def truncate(self, keep: int) -> None:
        """Forget the queued windows after the first ``keep`` still queued."""
        keep = max(0, min(int(keep), self.fill))
        owners, left = [], keep
        for sink, k in self.owners:
            if left <= 0:
                break
            owners.append((sink, min(k, left)))
            left -= k
        self.owners, self.fill = owners, keep

    def flush(self) -> None:
        """Run the windows still queued, and close the progress bar."""
        if self.fill:
            self._run()
        self.bar.close()

    def _run(self) -> None:
        n = self.fill
        if self.zero_fill and n < self.size:
            q = self.size if self.zero_fill is True else int(self.zero_fill)
            m = min(self.size, -(-n // q) * q)  # n up to the next multiple of q
            self.buf[n:m] = 0.0
            batch = self.buf[:m]
        else:
            batch = self.buf[:n]
        out = self.run(batch)
        pos = 0
        for sink, k in self.owners:
            sink(out[pos:pos + k])
            pos += k
        self.bar.update(n)
        self.fill, self.owners = 0, []


#: Largest batch a batcher allocates: a larger ``batch_size`` is run as batches of this many
#: windows (the rows are the same; the buffers and the network's activations stay bounded).
MAX_BATCH_WINDOWS = 256


def check_batch_size(batch_size: object) -> int:
    """``batch_size`` checked (an integer >= 1) and capped at :data:`MAX_BATCH_WINDOWS`."""
    return min(check_int(batch_size, "batch_size"), MAX_BATCH_WINDOWS)


def array_sink(out: np.ndarray) -> Sink:
    """A sink filling ``out`` row by row."""
    pos = 0

    def sink(rows: np.ndarray) -> None:
        nonlocal pos
        out[pos:pos + rows.shape[0]] = rows
        pos += rows.shape[0]

    return sink
