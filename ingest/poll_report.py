"""What one poll did, counted as it goes: the figures ``poll --once`` prints and the worker logs."""

from __future__ import annotations

from dataclasses import dataclass, field

from notifications import OutboxReport


@dataclass
class PollReport:
    seen: int = 0
    processed: int = 0
    moved: int = 0
    errors: int = 0
    parked: int = 0
    claimed_elsewhere: int = 0  # another worker had the message (PostgreSQL, several workers)
    outcomes: dict[str, int] = field(default_factory=dict)
    outbox: OutboxReport | None = None

    def add(self, other: PollReport) -> None:
        """Count in what ``other`` counted (a chunk prepared on another thread, with its own report)."""
        self.seen += other.seen
        self.processed += other.processed
        self.moved += other.moved
        self.errors += other.errors
        self.parked += other.parked
        self.claimed_elsewhere += other.claimed_elsewhere
        for outcome, count in other.outcomes.items():
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + count
