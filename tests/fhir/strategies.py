"""Hypothesis strategies for whole patient records, edge cases included."""

from __future__ import annotations

import datetime as dt
from typing import Any, get_args

from hypothesis import strategies as st

from bonemets.core.knowledge import load
from bonemets.core.record import LesionSite, Record
from bonemets.core.units import analyte
from tests.strategies import symptoms

DATES = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 12, 31))
OPT_DATES = st.none() | DATES
# Floats as a lab would report them, plus awkward ones (many digits, tiny, huge within bounds).
SITES = list(get_args(LesionSite))
ROUTES: dict[str, list[str]] = {
    name: entry["routes"] for name, entry in load("agents")["agents"].items()
}
_UNITS = {
    "calcium_total": ["mmol/L", "mg/dL"],
    "calcium_corrected": ["mmol/L", "mg/dL"],
    "calcium_ionized": ["mmol/L", "mg/dL"],
    "albumin": ["g/L", "g/dL"],
    "creatinine": ["umol/L", "mg/dL"],
    "alkaline_phosphatase": ["U/L"],
    "platelets": ["10*9/L"],
    "haemoglobin": ["g/L", "g/dL"],
    "vitamin_d_25oh": ["nmol/L", "ng/mL"],
}
_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30
).filter(lambda s: s.strip() != "")


@st.composite
def labs(draw: st.DrawFn) -> dict[str, Any]:
    code = draw(st.sampled_from([*_UNITS, "ca15_3", "ca27_29", "cea"]))
    if code in _UNITS:
        unit = draw(st.sampled_from(_UNITS[code]))
        entry = analyte(code)
        low, high = entry["plausible"]
        factor = entry["per_unit"][unit]
        value = draw(st.floats(low / factor, high / factor, allow_nan=False).map(lambda v: v))
    else:
        unit = "ng/mL" if code == "cea" else "U/mL"
        value = draw(st.floats(0, 1e5, allow_nan=False))
    out: dict[str, Any] = {"code": code, "unit": unit, "value": value, "date": draw(DATES)}
    if draw(st.booleans()):
        out["lower_limit"] = draw(st.floats(-1e3, 1e3, allow_nan=False))
    if draw(st.booleans()):
        out["upper_limit"] = draw(st.floats(-1e3, 1e5, allow_nan=False))
    return out


def _opt(values: list[Any]) -> st.SearchStrategy[Any]:
    return st.none() | st.sampled_from(values)


@st.composite
def lesions(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {"date": draw(DATES), "site": draw(st.sampled_from(SITES))}
    out["id"] = draw(st.none() | _TEXT)
    out["type"] = draw(_opt(["lytic", "blastic", "mixed"]))
    out["size_fraction"] = draw(st.none() | st.floats(0, 1))
    out["pain"] = draw(_opt(["mild", "moderate", "functional"]))
    if draw(st.booleans()):
        out["sins"] = {
            "pain": draw(_opt(["mechanical", "occasional", "none"])),
            "alignment": draw(_opt(["subluxation", "de_novo_deformity", "normal"])),
            "collapse": draw(_opt(["over_50", "under_50", "none_over_50_involved", "none"])),
            "posterolateral": draw(_opt(["bilateral", "unilateral", "none"])),
        }
    return out


@st.composite
def agent_route(draw: st.DrawFn) -> tuple[str, str | None]:
    agent = draw(st.sampled_from(sorted(ROUTES)))
    return agent, draw(st.none() | st.sampled_from(ROUTES[agent]))


@st.composite
def doses(draw: st.DrawFn) -> dict[str, Any]:
    agent, route = draw(agent_route())
    dose = draw(st.none() | st.floats(0.001, 500))
    return {"agent": agent, "route": route, "date": draw(DATES), "dose": dose}


@st.composite
def plans(draw: st.DrawFn) -> dict[str, Any]:
    agent, route = draw(agent_route())
    return {
        "agent": agent,
        "route": route,
        "date": draw(DATES),
        # Whole, half and quarter weeks are exact in binary: the weekly timing round-trips exactly.
        "interval_weeks": draw(st.none() | st.integers(1, 208).map(lambda q: q / 4)),
        "stop": draw(st.booleans()),
    }


@st.composite
def supplements(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["calcium", "vitamin_d"]))
    return {
        "date": draw(DATES),
        "kind": kind,
        "unit": "mg" if kind == "calcium" else "IU",
        "daily_amount": draw(st.none() | st.floats(0, 1e5)),
        "active": draw(st.none() | st.booleans()),
        "stopped": draw(OPT_DATES),
    }


@st.composite
def records(draw: st.DrawFn) -> Record:
    cancer = None
    if draw(st.booleans()):
        cancer = {
            "primary_site": draw(st.none() | st.sampled_from(["breast", "prostate"]) | _TEXT),
            "er": draw(_opt(["positive", "negative", "low", "unknown"])),
            "pr": draw(_opt(["positive", "negative", "low", "unknown"])),
            "her2": draw(_opt(["positive", "negative", "low", "unknown"])),
            "bone_metastases": draw(st.none() | st.booleans()),
            "bone_metastases_date": draw(OPT_DATES),
        }
    small = {"max_size": 4}
    data = {
        "id": draw(_TEXT),
        "demographics": {
            "birth_date": draw(OPT_DATES),
            "sex": draw(_opt(["female", "male"])),
            "weights": draw(
                st.lists(st.fixed_dictionaries({"date": DATES, "kg": st.floats(1, 999)}), **small)
            ),
            "heights": draw(
                st.lists(st.fixed_dictionaries({"date": DATES, "cm": st.floats(1, 299)}), **small)
            ),
        },
        "cancer": cancer,
        "lesions": draw(st.lists(lesions(), **small)),
        "labs": draw(st.lists(labs(), max_size=8)),
        "bma_doses": draw(st.lists(doses(), **small)),
        "bma_plans": draw(st.lists(plans(), **small)),
        "dental_exams": draw(
            st.lists(
                st.fixed_dictionaries(
                    {"date": DATES, "outcome": _opt(["fit", "treatment_needed", "unknown"])}
                ),
                **small,
            )
        ),
        "dental_procedures": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "date": DATES,
                        "kind": st.sampled_from(
                            ["extraction", "implant", "root_canal", "periodontal_surgery", "other"]
                        ),
                        "invasive": st.none() | st.booleans(),
                    }
                ),
                **small,
            )
        ),
        "imaging": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "date": DATES,
                        "modality": st.sampled_from(
                            ["ct", "bone_scan", "mri", "pet_ct", "x_ray", "other"]
                        ),
                        "finding": _opt(
                            ["progression", "stable", "response", "new_lesion", "other"]
                        ),
                    }
                ),
                **small,
            )
        ),
        "supplements": draw(st.lists(supplements(), **small)),
        "conditions": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "code": st.sampled_from(["heart_failure", "pregnancy", "dialysis"]),
                        "date": DATES,
                        "resolved": OPT_DATES,
                    }
                ),
                **small,
            )
        ),
        "treatments": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "kind": st.sampled_from(
                            [
                                "chemotherapy",
                                "endocrine_therapy",
                                "targeted_therapy",
                                "immunotherapy",
                                "radiotherapy",
                                "opioid",
                                "central_line",
                            ]
                        ),
                        "start": DATES,
                        "stop": OPT_DATES,
                    }
                ),
                **small,
            )
        ),
        "symptom_reports": draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "date": DATES,
                        "symptoms": st.lists(symptoms(), max_size=4),
                        "free_text": st.none() | _TEXT,
                    }
                ),
                max_size=3,
            )
        ),
    }
    return Record.model_validate(data)
