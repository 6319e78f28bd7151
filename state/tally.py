"""What a closed day inside the lateness keeps to be revised in place by late events."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Tally:
    """The sides a partition keeps for each closed day inside the lateness, revised in
    place when a late event changes that day: activity and NPS counts, and the counters
    as they stood when the day closed."""

    dau: int = 0
    wau: int = 0
    mau: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    events: int = 0
    duplicates: int = 0
    dead_letters: int = 0

    def to_list(self) -> list[int]:
        return [
            self.dau, self.wau, self.mau, self.promoters, self.passives, self.detractors,
            self.events, self.duplicates, self.dead_letters,
        ]  # fmt: skip

    @classmethod
    def from_list(cls, raw: list[int]) -> Tally:
        return cls(*raw)

    def add(self, other: Tally) -> None:
        self.dau += other.dau
        self.wau += other.wau
        self.mau += other.mau
        self.promoters += other.promoters
        self.passives += other.passives
        self.detractors += other.detractors
        self.events += other.events
        self.duplicates += other.duplicates
        self.dead_letters += other.dead_letters
