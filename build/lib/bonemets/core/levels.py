"""Triage levels, most to least urgent, and how they compare."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    EMERGENCY = "emergency"
    URGENT = "urgent"
    SOON = "soon"
    ROUTINE = "routine"
    SELF_CARE = "self_care"

    @property
    def rank(self) -> int:
        """Higher is more urgent."""
        return _RANK[self]

    @property
    def alerts_care_team(self) -> bool:
        return self.rank >= _RANK[Level.SOON]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank >= other.rank


_RANK = {
    Level.SELF_CARE: 0,
    Level.ROUTINE: 1,
    Level.SOON: 2,
    Level.URGENT: 3,
    Level.EMERGENCY: 4,
}


def most_urgent(levels: list[Level], floor: Level = Level.SELF_CARE) -> Level:
    """The most urgent of `levels`, never below `floor`."""
    best = floor
    for level in levels:
        if level.rank > best.rank:
            best = level
    return best
