"""Symptom triage per the public contract shared/spec/triage.md."""

from bonemets.core.triage.engine import parse_input, triage, triage_json
from bonemets.core.triage.models import Reason, TriageInput, TriageResult

__all__ = ["Reason", "TriageInput", "TriageResult", "parse_input", "triage", "triage_json"]
