"""The assessment contract (shared/spec/assessment.md) as pydantic models, and the centre settings.

Field names and codes are public: add, never rename.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bonemets import ENGINE_VERSION
from bonemets.core.knowledge import load
from bonemets.core.levels import Level

BmaStatus = Literal[
    "not_indicated", "not_started", "not_due", "due", "overdue", "withhold", "stopped"
]
CheckStatus = Literal["pass", "fail", "missing", "unknown", "done"]
MonitoringStatus = Literal["ok", "due", "overdue", "never"]
Evidence = Literal["V", "S", "U", "P"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class PatientSummary(_Out):
    id: str
    age: int | None
    sex: Literal["female", "male"] | None


class AlertSymptom(_Out):
    """A reported symptom an alert is about, as reported."""

    code: str
    site: str | None = None
    severity: int
    trend: str | None = None
    reported: dt.date | None = Field(None, description="The date of the report it is from.")
    carried: bool = Field(
        False, description="An open red flag from an earlier report, not today's report."
    )


class Alert(_Out):
    rule: str
    level: Level
    message: str
    sources: list[str]
    evidence: Evidence | None = None
    unverified: bool = Field(
        False, description="True when the rule rests on an unverified number (U) or a policy (P)."
    )
    because: list[str] = Field(default_factory=list)
    symptoms: list[AlertSymptom] = Field(
        default_factory=list, description="The reported symptoms the alert is about."
    )
    grade: int | None = Field(None, description="The CTCAE grade of a lab alert.")


class Dose(_Out):
    value: float | None = Field(
        description="null when it cannot be known (no creatinine clearance)."
    )
    unit: str
    basis: str
    frequency: str | None = None
    crcl_ml_min: float | None = None
    sources: list[str] = Field(default_factory=list)
    evidence: Evidence | None = None


class Check(_Out):
    check: str
    status: CheckStatus
    date: dt.date | None = None
    detail: str | None = None
    sources: list[str] = Field(default_factory=list)
    evidence: Evidence | None = None
    unverified: bool = False


class Suggestion(_Out):
    text: str
    rule: str | None = None
    sources: list[str]
    evidence: Evidence | None = None


class Bma(_Out):
    agent: str | None
    status: BmaStatus
    last_dose: dt.date | None = None
    interval_weeks: float | None = None
    next_due: dt.date | None = None
    dose: Dose | None = None
    checks: list[Check] = Field(default_factory=list)
    suggestions: list[str] = Field(default_factory=list)
    suggestion_details: list[Suggestion] = Field(
        default_factory=list, description="The suggestions with their sources, in the same order."
    )
    warnings: list[Suggestion] = Field(default_factory=list)
    route: str | None = None
    course_start: dt.date | None = Field(None, description="First dose of the current agent.")
    status_reason: str | None = None


class MonitoringItem(_Out):
    test: str
    last: dt.date | None
    due: dt.date | None
    status: MonitoringStatus
    interval_months: float
    guideline_range_months: list[float]
    sources: list[str]
    evidence: Evidence
    unverified: bool
    note: str | None = None


class ScoreSummary(_Out):
    score: int
    band: str
    recommendation: str
    caveats: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    evidence: str | None = None
    unverified: list[str] = Field(default_factory=list)
    surgical_opinion: bool | None = None


class LesionResult(_Out):
    site: str
    type: str | None
    date: dt.date
    id: str | None = None
    mirels: ScoreSummary | None = None
    sins: ScoreSummary | None = None
    note: str | None = None


class Assessment(_Out):
    patient: PatientSummary
    as_of: dt.date
    level: Level
    alerts: list[Alert]
    bma: Bma
    monitoring: list[MonitoringItem]
    lesions: list[LesionResult]
    engine_version: str = ENGINE_VERSION


@cache
def _monitoring_defaults() -> dict[str, Any]:
    tests: dict[str, Any] = load("monitoring")["tests"]
    return tests


def _default(test: str) -> float:
    return float(_monitoring_defaults()[test]["default_months"])


class PathwaySettings(BaseModel):
    """Intervals a centre may change. Defaults come from knowledge/monitoring.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    imaging_months: float = Field(default_factory=lambda: _default("imaging"), gt=0, le=24)
    tumour_markers_months: float = Field(
        default_factory=lambda: _default("tumour_markers"), gt=0, le=24
    )
    blood_chemistry_months: float = Field(
        default_factory=lambda: _default("blood_chemistry"), gt=0, le=24
    )

    def interval_months(self, test: str) -> float:
        value: float = getattr(self, f"{test}_months")
        return value
