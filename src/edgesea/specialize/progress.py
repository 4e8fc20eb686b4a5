"""What ``specialize`` shows while it distils: a progress bar over the epochs with the time
left, each epoch's losses, and after the first measured epoch an estimate of the whole
stage (its length is known only then: it depends on the data, the student and the
machine)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tqdm.auto import tqdm

__all__ = ["DistillProgress", "duration"]


def duration(seconds: float) -> str:
    """``seconds`` for a person: ``"45 s"``, ``"12 min"``, ``"2 h 05 min"``."""
    s = max(0, int(round(seconds)))
    if s < 90:
        return f"{s} s"
    if s < 5400:
        return f"{round(s / 60)} min"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


class DistillProgress:
    """The ``on_epoch`` callback of :func:`edgesea.distill.train.train_student` in
    ``specialize``: prints each epoch's line through ``say``, an estimate of the stage after
    the first epoch measured in this call, and moves a bar over the ``epochs``."""

    def __init__(self, epochs: int, say: Callable[[str], None], show: bool) -> None:
        self.epochs, self.say = int(epochs), say
        self.bar = tqdm(total=self.epochs, unit="epoch", desc="distill", disable=not show,
                        leave=False)
        self.measured = 0

    def __call__(self, row: dict[str, Any]) -> None:
        self.say(f"  epoch {row['epoch']}: train loss {row['train_loss']:.4f}, val loss "
                 f"{row['val_loss']:.4f}, val R2 {row['val_r2']:.3f}, val cos "
                 f"{row['val_cosine']:.3f} ({row['epoch_s']:.0f} s)")
        self.measured += 1
        self.bar.update(int(row["epoch"]) - self.bar.n)  # a resumed run starts further on
        if self.measured == 1:
            left = self.epochs - int(row["epoch"])
            self.say(f"[distill] estimate: {row['epoch_s']:.0f} s per epoch, {left} of "
                     f"{self.epochs} epochs left: about {duration(left * row['epoch_s'])} "
                     "more (fewer if early stopping ends it)")

    def close(self) -> None:
        """Close the bar."""
        self.bar.close()
