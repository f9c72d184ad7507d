"""Hypothesis strategies for triage reports, drawn from the symptom catalogue itself."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from bonemets.core.triage.models import symptom_catalogue

CATALOGUE = symptom_catalogue()
CODES = sorted(CATALOGUE)
AGENTS = ["zoledronic_acid", "pamidronate", "ibandronate", "clodronate", "denosumab", "none"]
DATES = st.dates(
    min_value=__import__("datetime").date(2026, 1, 1),
    max_value=__import__("datetime").date(2026, 11, 23),
).map(str)


@st.composite
def symptoms(draw: st.DrawFn, min_severity: int = 0) -> dict[str, Any]:
    code = draw(st.sampled_from(CODES))
    entry = CATALOGUE[code]
    out: dict[str, Any] = {"code": code}
    if draw(st.booleans()):
        out["severity"] = draw(st.integers(min_severity, 4))
    elif min_severity > 2:
        out["severity"] = min_severity
    if draw(st.booleans()):
        out["duration_days"] = draw(st.integers(0, 400))
    if draw(st.booleans()):
        out["trend"] = draw(st.sampled_from(["new", "worse", "same", "better"]))
    if entry["sites"] and draw(st.booleans()):
        out["site"] = draw(st.sampled_from(entry["sites"]))
    if entry["features"]:
        out["features"] = draw(st.lists(st.sampled_from(entry["features"]), unique=True))
    # Measured values of the acute-oncology symptoms (each on its own code only).
    if code == "fever" and draw(st.booleans()):
        out["temperature_c"] = draw(
            st.sampled_from([35.0, 35.9, 36.0, 37.0, 37.4, 37.5, 38.0, 39.5])
        )
    measure = entry.get("measure")
    if measure is not None and draw(st.booleans()):
        out[measure] = draw(st.integers(0, 12))
    return out


def tri(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value, or unknown (None)."""
    return st.one_of(st.none(), values)


patients = st.fixed_dictionaries(
    {},
    optional={
        "age": st.integers(18, 100),
        "sex": st.sampled_from(["female", "male"]),
        "spinal_metastases": tri(st.booleans()),
        "bone_metastases": tri(st.booleans()),
        "on_chemotherapy": tri(st.booleans()),
        "on_opioids": tri(st.booleans()),
        "central_line": tri(st.booleans()),
        "on_immunotherapy": tri(st.booleans()),
        "on_targeted_therapy": tri(st.booleans()),
        "on_radiotherapy": tri(st.booleans()),
        "days_since_chemotherapy": tri(st.integers(0, 120)),
        "bma": tri(
            st.fixed_dictionaries({"agent": st.sampled_from(AGENTS)}, optional={"last_dose": DATES})
        ),
    },
)

# Lab values within the plausible ranges, in both unit systems.
LAB_RANGES: dict[str, list[tuple[str, float, float]]] = {
    "calcium_total": [("mmol/L", 1.2, 4.5), ("mg/dL", 5.0, 18.0)],
    "calcium_corrected": [("mmol/L", 1.2, 4.5), ("mg/dL", 5.0, 18.0)],
    "calcium_ionized": [("mmol/L", 0.5, 2.2)],
    "albumin": [("g/L", 15.0, 55.0), ("g/dL", 1.5, 5.5)],
    "platelets": [("10*9/L", 5.0, 600.0)],
    "haemoglobin": [("g/L", 40.0, 180.0), ("g/dL", 4.0, 18.0)],
    "creatinine": [("umol/L", 30.0, 900.0), ("mg/dL", 0.4, 10.0)],
    "alkaline_phosphatase": [("U/L", 20.0, 3000.0)],
    "vitamin_d_25oh": [("nmol/L", 5.0, 250.0), ("ng/mL", 2.0, 100.0)],
    "neutrophils": [("10*9/L", 0.0, 20.0)],
}


@st.composite
def labs(draw: st.DrawFn, codes: list[str] | None = None, dated: bool = False) -> dict[str, Any]:
    code = draw(st.sampled_from(codes or sorted(LAB_RANGES)))
    unit, low, high = draw(st.sampled_from(LAB_RANGES[code]))
    out: dict[str, Any] = {
        "code": code,
        "unit": unit,
        "value": round(draw(st.floats(low, high, allow_nan=False)), 2),
    }
    if dated:
        out["date"] = draw(DATES)
    return out


@st.composite
def reports(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "as_of": "2026-11-23",
        "patient": draw(patients),
        "symptoms": draw(st.lists(symptoms(), max_size=6)),
        "labs": draw(st.lists(labs(), max_size=4)),
    }
