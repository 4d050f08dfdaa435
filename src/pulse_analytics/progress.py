"""Progress lines for long steps: what is happening and how far along it is."""

from __future__ import annotations

import sys
import time


class Progress:
    """Prints `[task] n/total (pct) message, elapsed` for each unit of work done."""

    def __init__(self, task: str, total: int) -> None:
        self.task = task
        self.total = max(total, 1)
        self.done = 0
        self.started = time.monotonic()

    def advance(self, message: str, amount: int = 1) -> None:
        self.done += amount
        elapsed = time.monotonic() - self.started
        percent = 100 * self.done / self.total
        print(
            f"[{self.task}] {self.done}/{self.total} ({percent:.0f}%) {message} ({elapsed:.1f} s)",
            file=sys.stderr,
            flush=True,
        )


def step(message: str) -> None:
    """Announce one step of a multi-step command."""
    print(f"==> {message}", file=sys.stderr, flush=True)
