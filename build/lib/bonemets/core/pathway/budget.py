"""The alert budget: which of an assessment's alerts are news for the care team.

An alert that repeats one the team already has, for the same thing at the same or lower intensity,
is folded into it instead of being raised again: an open alert already says it, and an
acknowledged one for a symptom the patient reports as unchanged or better (or that is still open
from an earlier report) was already dealt with. Anything worse always raises: a new red flag (a
new rule, or a new symptom or site behind a rule), a higher severity, a higher lab grade, a higher
level, or a symptom reported as new or worse (a repeat with no trend given, at the same or a lower
severity, is a repeat: the severity says it is no worse).
Acknowledged alerts older than the fold window (a setting of the service) no longer absorb
anything; the caller leaves them out of `priors`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bonemets.core.levels import Level
from bonemets.core.pathway.models import Alert

# Dates and measured values in a statement: what changes while the fact stays the same. A number
# that is part of a name (T10, CA 15-3's "15-3" aside) is kept: another vertebra is another fact.
_VALUES = re.compile(r"\d{4}-\d{2}-\d{2}|(?<![A-Za-z\d])\d+(?:\.\d+)?(?![A-Za-z\d])")
UNSTABLE_TRENDS = ("new", "worse")


@dataclass(frozen=True, slots=True)
class Signal:
    """What one alert is about, and how strongly."""

    key: str  # the rule, and what it is about (its symptoms and sites, or its statement)
    rule: str
    level: Level
    severity: int  # the worst severity of its symptoms; 0 without symptoms
    grade: int  # the lab grade; 0 without one
    stable: bool  # every symptom reported unchanged or better, or still open from before

    def worse_than(self, other: Signal) -> bool:
        return (
            self.level.rank > other.level.rank
            or self.severity > other.severity
            or self.grade > other.grade
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "rule": self.rule,
            "level": self.level.value,
            "severity": self.severity,
            "grade": self.grade,
            "stable": self.stable,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Signal:
        return cls(
            key=str(data["key"]),
            rule=str(data["rule"]),
            level=Level(data["level"]),
            severity=int(data["severity"]),
            grade=int(data["grade"]),
            stable=bool(data["stable"]),
        )


def signal_of(alert: Alert) -> Signal:
    if alert.symptoms:
        about = ",".join(sorted({f"{s.code}:{s.site or ''}" for s in alert.symptoms}))
        stable = all(s.carried or s.trend not in UNSTABLE_TRENDS for s in alert.symptoms)
    elif alert.grade is not None:
        about, stable = "", True  # a lab: the grade says how bad, not the value or its date
    else:
        # The statement without its dates and values ("overdue: last ..., due ...", "creatinine
        # ... is more than ... days old"), so that the passing of time or a new value of the same
        # finding is not news; another finding (another rule, check, test or site) is.
        about, stable = _VALUES.sub("#", alert.message), True
    return Signal(
        key=f"{alert.rule}|{about}",
        rule=alert.rule,
        level=alert.level,
        severity=max((s.severity for s in alert.symptoms), default=0),
        grade=alert.grade or 0,
        stable=stable,
    )


def signals(alerts: Sequence[Alert], minimum: Level = Level.SOON) -> list[Signal]:
    """The signals of the alerts that call for the care team (at `minimum` or above)."""
    return [signal_of(a) for a in alerts if a.level.rank >= minimum.rank]


@dataclass(frozen=True, slots=True)
class Prior:
    """A signal the team already has, in an alert that is open or was acknowledged."""

    signal: Signal
    acknowledged: bool
    alert_id: int | None = None


def absorbed_by(signal: Signal, priors: Sequence[Prior]) -> Prior | None:
    """The prior alert `signal` folds into, or None when it is news.

    `priors` newest first; only the newest with the same key counts (an older one was
    superseded by it).
    """
    prior = next((p for p in priors if p.signal.key == signal.key), None)
    if prior is None or signal.worse_than(prior.signal):
        return None
    if prior.acknowledged and not signal.stable:
        return None
    return prior
