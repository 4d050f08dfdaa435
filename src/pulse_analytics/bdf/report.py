"""What an import tells its user: BdfError refuses a file, naming file, line and column; a Report says what one import
did (numbers, repairs, flags and derivations)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pulse_analytics.errors import PulseError

if TYPE_CHECKING:
    from pulse_analytics.bdf.files import Identity


class BdfError(PulseError):
    """A file that cannot be imported; the message names the file and, where there is one, the line and column."""


@dataclass
class Report:
    """What one import did: the numbers, the repairs (rule and rows) and the derivations used."""

    path: Path
    identity: Identity
    rows_read: int = 0
    records: int = 0
    steps: int = 0
    cycles: int = 0
    repairs: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # imported as they are, but unlikely to be true: check them
    derivations: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        who = self.identity
        part = f", part {who.part_id}" if who.part_id else ", no part"
        recipe = f", recipe {who.recipe_id}" if who.recipe_id else ", no recipe"
        lines = [
            f"imported {self.path.name}: test {who.test_id} on device {who.device_id}{part}{recipe} "
            f"({who.sources}); {self.records:,} records of {self.rows_read:,} rows, {self.steps} steps, "
            f"{self.cycles} cycles in {self.seconds:.1f} s"
        ]
        lines += [f"  repaired: {repair}" for repair in self.repairs]
        lines += [f"  flagged:  {flag}" for flag in self.flags]
        lines += [f"  derived:  {derivation}" for derivation in self.derivations]
        return "\n".join(lines)
