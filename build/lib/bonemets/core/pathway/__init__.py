"""The care pathway on one day: `assess(record, as_of)` per shared/spec/assessment.md."""

from bonemets.core.pathway.assess import assess, assess_with_triage
from bonemets.core.pathway.models import (
    Alert,
    Assessment,
    Bma,
    Check,
    Dose,
    LesionResult,
    MonitoringItem,
    PathwaySettings,
)

__all__ = [
    "Alert",
    "Assessment",
    "Bma",
    "Check",
    "Dose",
    "LesionResult",
    "MonitoringItem",
    "PathwaySettings",
    "assess",
    "assess_with_triage",
]
